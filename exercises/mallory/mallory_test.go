package mallory

import (
	"context"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/exercises"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

func lookup(t *testing.T, name string) exercises.Exercise {
	t.Helper()
	ex, err := exercises.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// TestLabClientPasses:
//
// ATTACK SCENARIO: the lab's own pinned-ecdh client, with Bob's pin, under
// every attack of the exam.
//
// THIS TEST VERIFIES: the check passes a client that is right (the
// positive control for every exercise), and fails the same client with
// its pin check switched off, with Mallory really reading.
func TestLabClientPasses(t *testing.T) {
	t.Parallel()
	ex := lookup(t, "check-the-pin")
	t.Run("with the pin it passes", func(t *testing.T) {
		t.Parallel()
		r, err := Run(t.Context(), ex, Half(kex.PinnedECDH().Client), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Passed {
			t.Errorf("the lab's client fails:\n%s", r)
		}
	})
	t.Run("without it Mallory reads", func(t *testing.T) {
		t.Parallel()
		noPin := func(ctx context.Context, conn *wire.Conn, cfg *kex.ClientConfig) (*channel.Secrets, error) {
			// The negative control: any key that signs will do.
			return kex.PinnedECDH().Client(ctx, conn, &kex.ClientConfig{SkipPinCheck: true})
		}
		r, err := Run(t.Context(), ex, Half(noPin), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range r.Attempts {
			if a.Attack == "impersonate" && (a.Passed || a.Read == 0 || a.Example == "") {
				t.Errorf("impersonate: %+v, want Mallory reading", a)
			}
		}
		if r.Passed {
			t.Errorf("a client with no pin check passes:\n%s", r)
		}
	})
}

// TestHonestCatchesAMisread checks that a read whose bytes are nothing the
// client sent or received is an error, not a verdict.
func TestHonestCatchesAMisread(t *testing.T) {
	t.Parallel()
	chat := Chat{Sent: [][]byte{[]byte("hi")}, Received: [][]byte{[]byte("got it: hi")}}
	read := func(b string) trace.Event {
		return trace.Event{Leg: trace.LegA, Dir: wire.ClientToServer, Type: string(wire.TypeData), Verdict: trace.Read, Recovered: []byte(b)}
	}
	var a exercises.Attempt
	if err := honest("x", []trace.Event{read("hi")}, chat, &a); err != nil || a.Example != "hi" {
		t.Errorf("a true read: err %v, example %q", err, a.Example)
	}
	err := honest("x", []trace.Event{read("hj")}, chat, &a)
	if err == nil || !strings.Contains(err.Error(), "lab bug") {
		t.Errorf("a read of bytes nobody sent: err %v, want a lab bug", err)
	}
}
