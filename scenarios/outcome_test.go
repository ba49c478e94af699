package scenarios_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// TestHonestyCheckCanFail proves that the checks the other tests rely on
// can fail: an attacker's claim to have read a frame whose bytes differ from
// what the victim sent is counted as a misread, not as a read, both by the
// Outcome's own counters and by this package's ledger checker.
func TestHonestyCheckCanFail(t *testing.T) {
	t.Parallel()

	t.Run("an Outcome built by hand", func(t *testing.T) {
		t.Parallel()
		o := &scenarios.Outcome{Messages: []scenarios.Message{
			{From: "client", Seq: 0, Text: []byte("PIN 4921"), Sent: true, Accepted: []byte("PIN 4921"), Recovered: []byte("PIN 4921")},
			{From: "client", Seq: 1, Text: []byte("PIN 4921"), Sent: true, Accepted: []byte("PIN 4921"), Recovered: []byte("PIN 4922")}, // one byte off
			{From: "client", Seq: 2, Text: []byte("PIN 4921"), Sent: true, Accepted: []byte("PIN 4921"), Recovered: []byte("PIN 492")},  // truncated
			{From: "client", Seq: 3, Text: []byte("PIN 4921"), Sent: true, Accepted: []byte("PIN 4921")},                                // not read
			{From: "client", Seq: 4, Text: []byte("PIN 4921"), Sent: false, Recovered: []byte("PIN 4921")},                              // "read" but never sent
			{From: "server", Seq: 0, Text: []byte("ok"), Sent: true, Accepted: []byte("ko"), Recovered: []byte("ok")},                   // tampered on delivery
		}}
		if got := o.AttackerRead(); got != 2 {
			t.Errorf("AttackerRead() = %d, want 2 (messages 0 and 5 only)", got)
		}
		if got := o.Misread(); got != 3 {
			t.Errorf("Misread() = %d, want 3 (messages 1, 2 and 4)", got)
		}
		if got := o.MessagesDelivered(); got != 4 {
			t.Errorf("MessagesDelivered() = %d, want 4 (message 5 arrived changed)", got)
		}
		if got := o.MessagesSent(); got != 5 {
			t.Errorf("MessagesSent() = %d, want 5", got)
		}
	})

	t.Run("a real run with one recovered byte flipped", func(t *testing.T) {
		t.Parallel()
		o := run(t, "unauth-ecdh", nil)
		c := chatFor(scenarios.DefaultScript())
		if o.AttackerRead() != c.frames() || o.Misread() != 0 {
			t.Fatalf("unmutated run: read %d, misread %d; want %d and 0", o.AttackerRead(), o.Misread(), c.frames())
		}
		if p := readProblems(o.Events, c, trace.Forged, false); len(p) != 0 {
			t.Fatalf("unmutated run: the ledger checker complains: %q", p)
		}

		// Flip one bit in what the attacker recovered from Alice's second
		// message, in the Outcome and, separately, in the ledger.
		mo := *o
		mo.Messages = slices.Clone(o.Messages)
		mo.Messages[1].Recovered = flip(o.Messages[1].Recovered)
		if got := mo.AttackerRead(); got != c.frames()-1 {
			t.Errorf("mutated: AttackerRead() = %d, want %d", got, c.frames()-1)
		}
		if got := mo.Misread(); got != 1 {
			t.Errorf("mutated: Misread() = %d, want 1", got)
		}
		if p := messageProblems(&mo, c, true); len(p) != 1 || !strings.Contains(p[0], "attacker recovered") {
			t.Errorf("mutated: the outcome checker found %q, want one recovered-bytes problem", p)
		}

		events := slices.Clone(o.Events)
		mutated := false
		for i, e := range events {
			if e.Leg == trace.LegA && e.Dir == wire.ClientToServer && e.Verdict == trace.Read && e.Seq != nil && *e.Seq == 1 {
				events[i].Recovered = flip(e.Recovered)
				mutated = true
			}
		}
		if !mutated {
			t.Fatal("no read event for c2s seq 1 on leg A to mutate")
		}
		if p := readProblems(events, c, trace.Forged, false); len(p) != 1 || !strings.Contains(p[0], "recovered") {
			t.Errorf("mutated ledger: the checker found %q, want one recovered-bytes problem", p)
		}

		// A ledger that quietly loses a frame is caught too.
		var dropped []trace.Event
		for _, e := range o.Events {
			if !(e.Leg == trace.LegB && e.Dir == wire.ServerToClient && e.Type == string(wire.TypeData) && *e.Seq == 2) {
				dropped = append(dropped, e)
			}
		}
		if p := readProblems(dropped, c, trace.Forged, false); len(p) == 0 {
			t.Error("a ledger missing Bob's third reply on leg B passed the checker")
		}

		// And so is a ledger that claims a read the attacker could not make.
		if p := opaqueProblems(o.Events, c, []trace.Leg{trace.LegA, trace.LegB}); len(p) == 0 {
			t.Error("the opaque checker passed a ledger full of reads")
		}
	})
}

func flip(b []byte) []byte {
	out := bytes.Clone(b)
	out[len(out)/2] ^= 0x01
	return out
}

func TestSummary(t *testing.T) {
	t.Parallel()
	msgs := []scenarios.Message{
		{From: "client", Text: []byte("a"), Sent: true, Accepted: []byte("a"), Recovered: []byte("a")},
		{From: "server", Text: []byte("b"), Sent: true, Accepted: []byte("b")},
	}
	for _, tc := range []struct {
		name string
		o    scenarios.Outcome
		want string
	}{
		{"attacker reads, nobody notices", scenarios.Outcome{Attack: "double-ecdh", Messages: msgs},
			"attacker read 1/2 messages · victims noticed nothing"},
		{"no attacker", scenarios.Outcome{Messages: msgs[1:]},
			"no attacker; an eavesdropper read 0/1 messages · victims noticed nothing"},
		{"client refuses", scenarios.Outcome{Attack: "impersonate", Detected: true, DetectedBy: "client", Reason: "key does not match pin"},
			"client refused the server: key does not match pin · attacker read 0/0 messages"},
		{"server refuses", scenarios.Outcome{Attack: "passive", Detected: true, DetectedBy: "server", Reason: "finished MAC does not verify"},
			"server refused the client: finished MAC does not verify · attacker read 0/0 messages"},
		{"chat fails", scenarios.Outcome{Attack: "passive", Reason: "dial: refused"},
			"attacker read 0/0 messages · the chat failed: dial: refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.o.Summary(); got != tc.want {
				t.Errorf("Summary() = %q, want %q", got, tc.want)
			}
		})
	}
}
