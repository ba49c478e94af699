//go:build exercise

package exercise

import (
	"testing"

	"github.com/mitmlab/mitmlab/exercises/mallory"
)

// TestMallory puts Under() through every attack of `mitmlab exam`, one
// connection each. `mitmlab exercise check verify-the-signature` runs it.
func TestMallory(t *testing.T) { mallory.Check(t, "verify-the-signature", Under()) }
