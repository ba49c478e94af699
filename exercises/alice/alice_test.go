package alice_test

import (
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/exercises"
	"github.com/mitmlab/mitmlab/exercises/alice"
	"github.com/mitmlab/mitmlab/exercises/mallory"
)

// TestReferencePiecesPass:
//
// ATTACK SCENARIO: Alice with the reference record layer, under every
// attack of the exam for pinned-ecdh.
//
// THIS TEST VERIFIES: the pieces an exercise does not hand out are right:
// with all of them, Alice passes; with a nonce that never changes, the
// lab's server refuses her second record and the check fails.
func TestReferencePiecesPass(t *testing.T) {
	t.Parallel()
	ex, err := exercises.Lookup("check-sequence-numbers")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("reference pieces pass", func(t *testing.T) {
		t.Parallel()
		r, err := mallory.Run(t.Context(), ex, alice.Client(alice.Pieces{}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Passed {
			t.Errorf("Alice with the reference pieces fails:\n%s", r)
		}
	})
	t.Run("one nonce for every record fails", func(t *testing.T) {
		t.Parallel()
		same := func(iv [channel.IVSize]byte, _ uint64) [channel.IVSize]byte { return iv }
		r, err := mallory.Run(t.Context(), ex, alice.Client(alice.Pieces{Nonce: same}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Passed || r.Attempts[0].Attack != "passive" || r.Attempts[0].Passed {
			t.Errorf("a reused nonce passes the passive chat:\n%s", r)
		}
	})
}
