//go:build exercise

package exercise

import (
	"testing"

	"github.com/mitmlab/mitmlab/exercises/mallory"
)

// TestMallory puts Under() through every attack of `mitmlab exam`, one
// connection each. `mitmlab exercise check check-sequence-numbers` runs it.
func TestMallory(t *testing.T) { mallory.Check(t, "check-sequence-numbers", Under()) }
