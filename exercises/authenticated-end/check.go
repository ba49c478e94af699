//go:build exercise

package exercise

import (
	"github.com/mitmlab/mitmlab/exercises/alice"
	"github.com/mitmlab/mitmlab/exercises/mallory"
)

// Under is what Mallory checks: Alice's client with your Finish in her
// record layer.
func Under() mallory.Client { return alice.Client(alice.Pieces{Finish: Finish}) }
