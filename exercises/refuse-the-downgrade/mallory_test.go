//go:build exercise

package exercise

import (
	"testing"

	"github.com/mitmlab/mitmlab/exercises/mallory"
)

// TestMallory puts Under() through every attack of `mitmlab exam`, one
// connection each. `mitmlab exercise check refuse-the-downgrade` runs it.
func TestMallory(t *testing.T) { mallory.Check(t, "refuse-the-downgrade", Under()) }
