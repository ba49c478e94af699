package attacker_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// TestTruncate:
//
// ATTACK SCENARIO: Mallory, holding no key, withholds one of Alice's
// records (or her end record) and forges an ordinary close to each side:
// "1000 bye" to Bob, as if Alice had left, and "1001 server shutting down"
// to Alice.
//
// THIS TEST VERIFIES: the withheld record is DROPPED on leg A and never
// reaches leg B; both forged closes are SUBSTITUTED; and both victims,
// who require the sealed end record, report the conversation cut short
// (channel.ErrTruncated), with Bob holding only what came before the cut.
func TestTruncate(t *testing.T) {
	t.Parallel()
	msgs := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	tests := []struct {
		name string
		at   int // Options.TruncateAt
	}{
		{"attacker cuts at the second message", 2},
		{"attacker cuts at the first message", 1},
		{"attacker cuts at the client's end record", 0},
	}
	for _, su := range setups() {
		for _, tt := range tests {
			t.Run(su.scheme.Name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				l := newLab(t, su, lookup(t, attacker.Truncate), func(o *attacker.Options) { o.TruncateAt = tt.at }, nil)
				res := l.alice().Chat(testContext(t), l.url(), msgs)
				l.settle()
				events := l.log.Events()
				if !errors.Is(res.Err, channel.ErrTruncated) {
					dump(t, events)
					t.Fatalf("Alice's chat ended with %v, want ErrTruncated", res.Err)
				}
				delivered := len(msgs) // messages Bob gets
				if tt.at > 0 {
					delivered = tt.at - 1
				}
				sess := l.bobSession(t)
				if sess.Ending != victim.EndTruncated || !errors.Is(sess.Err, channel.ErrTruncated) {
					t.Errorf("Bob's session ended %q with %v, want truncated", sess.Ending, sess.Err)
				}
				if len(sess.Received) != delivered || (delivered > 0 && !bytes.Equal(sess.Received[delivered-1], msgs[delivered-1])) {
					t.Errorf("Bob received %q, want the first %d messages", sess.Received, delivered)
				}
				if len(res.Replies) != delivered {
					t.Errorf("Alice got %d replies, want %d", len(res.Replies), delivered)
				}

				dropped := eventsWhere(events, func(e trace.Event) bool { return e.Verdict == trace.Dropped })
				wantType := string(wire.TypeData)
				if tt.at == 0 {
					wantType = string(wire.TypeEnd)
				}
				if len(dropped) != 1 || dropped[0].Leg != trace.LegA || dropped[0].Dir != wire.ClientToServer || dropped[0].Type != wantType {
					dump(t, events)
					t.Fatalf("dropped %d frames, want Alice's %s on leg A", len(dropped), wantType)
				}
				if tt.at > 0 && (dropped[0].Seq == nil || *dropped[0].Seq != uint64(tt.at-1)) {
					t.Errorf("dropped record seq %v, want %d", dropped[0].Seq, tt.at-1)
				}
				if n := len(records(events, trace.LegB, wire.ClientToServer)); n != delivered {
					t.Errorf("%d of Alice's records reached leg B, want %d", n, delivered)
				}
				for leg, want := range map[trace.Leg]string{trace.LegB: "1000 StatusNormalClosure: bye", trace.LegA: "1001 StatusGoingAway: server shutting down"} {
					if e, ok := closeFrom(events, leg); !ok || e.Verdict != trace.Substituted || e.Note != want {
						t.Errorf("leg %s: Mallory's close %+v (%v), want %q, SUBSTITUTED", leg, e, ok, want)
					}
				}
			})
		}
	}
}

// mutated is one frame the mutation touched: where it was recorded, and
// with which verdict.
type mutated struct {
	leg trace.Leg
	dir wire.Direction
	v   trace.Verdict
}

// TestMutate:
//
// ATTACK SCENARIO: Mallory holds no key and changes one message of an
// unauth-ecdh chat in flight, in each way an attacker on the path can.
//
// THIS TEST VERIFIES: the frame he touched is in the ledger with the
// verdict for what he did (TAMPERED, DROPPED or REPLAYED), on the leg
// where he did it; the forged closes are SUBSTITUTED; the victim the
// changed frame was for notices; and neither victim accepts a message the
// other did not send, or one out of order.
func TestMutate(t *testing.T) {
	t.Parallel()
	var (
		c2s, s2c = wire.ClientToServer, wire.ServerToClient
		a, b     = trace.LegA, trace.LegB
	)
	tests := []struct {
		name   string
		m      attacker.Mutation
		want   []mutated
		closes bool // Mallory forges a close on both legs
	}{
		// A change on its way to Bob is Bob's to notice, one on its way to
		// Alice hers (the ServerToClient cases); a cut or a forged close,
		// both.
		{"one bit of the first record's bytes flipped",
			attacker.Mutation{Dir: c2s, Records: true, Kind: attacker.FlipRaw, Param: 300},
			[]mutated{{b, c2s, trace.Tampered}}, false},
		{"one bit of the first record's ct flipped",
			attacker.Mutation{Dir: c2s, Records: true, Kind: attacker.FlipField, Param: 7 * 9},
			[]mutated{{b, c2s, trace.Tampered}}, false},
		{"the first record dropped",
			attacker.Mutation{Dir: c2s, Records: true, Kind: attacker.Drop},
			[]mutated{{a, c2s, trace.Dropped}}, false},
		{"the message after the hello dropped",
			attacker.Mutation{Dir: c2s, Index: 1, Kind: attacker.Drop},
			[]mutated{{a, c2s, trace.Dropped}}, false},
		{"the first record delivered twice",
			attacker.Mutation{Dir: c2s, Records: true, Kind: attacker.Duplicate},
			[]mutated{{b, c2s, trace.Replayed}}, false},
		{"the first record held back until after the second",
			attacker.Mutation{Dir: c2s, Records: true, Kind: attacker.Reorder},
			[]mutated{{a, c2s, trace.Dropped}, {b, c2s, trace.Replayed}}, false},
		{"the first record sent back to Alice",
			attacker.Mutation{Dir: c2s, Records: true, Kind: attacker.Reflect},
			[]mutated{{a, c2s, trace.Dropped}, {a, s2c, trace.Replayed}}, false},
		{"the first record again in place of the second",
			attacker.Mutation{Dir: c2s, Records: true, Index: 1, Kind: attacker.ReplayOld},
			[]mutated{{a, c2s, trace.Dropped}, {b, c2s, trace.Replayed}}, false},
		{"an ordinary close forged in place of the first record",
			attacker.Mutation{Dir: c2s, Records: true, Kind: attacker.ForgeClose},
			[]mutated{{a, c2s, trace.Dropped}}, true},
		{"both connections cut at the first record",
			attacker.Mutation{Dir: c2s, Records: true, Kind: attacker.Cut},
			[]mutated{{a, c2s, trace.Dropped}}, false},
		{"Alice's key share swapped for a fresh one",
			attacker.Mutation{Dir: c2s, Index: 0, Kind: attacker.SwapShare},
			[]mutated{{b, c2s, trace.Tampered}}, false},
		{"Alice's key share swapped for a low-order point",
			attacker.Mutation{Dir: c2s, Index: 0, Kind: attacker.LowOrder},
			[]mutated{{b, c2s, trace.Tampered}}, false},
		{"Alice's hello re-encoded",
			attacker.Mutation{Dir: c2s, Index: 0, Kind: attacker.Reencode},
			[]mutated{{b, c2s, trace.Tampered}}, false},
		{"Bob's first reply dropped",
			attacker.Mutation{Dir: s2c, Records: true, Kind: attacker.Drop},
			[]mutated{{b, s2c, trace.Dropped}}, false},
		{"Bob's first reply with a flipped bit",
			attacker.Mutation{Dir: s2c, Records: true, Kind: attacker.FlipField},
			[]mutated{{a, s2c, trace.Tampered}}, false},
		{"Alice's end record withheld, then an ordinary close",
			attacker.Mutation{Dir: c2s, Kind: attacker.WithholdEnd},
			[]mutated{{a, c2s, trace.Dropped}}, true},
	}
	covered := map[attacker.MutationKind]bool{}
	for _, tt := range tests {
		covered[tt.m.Kind] = true
	}
	for _, k := range append(attacker.MutationKinds(), attacker.WithholdEnd) {
		if !covered[k] {
			t.Errorf("no test case for the mutation %s", k)
		}
	}
	msgs := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	for _, tt := range tests {
		t.Run("unauth-ecdh/"+tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, setupFor(t, "unauth-ecdh"), attacker.Mutate(tt.m), nil, nil)
			ctx := testContext(t)
			// Alice sends everything without waiting for replies, then ends
			// the conversation: each mutation is noticed at once, with no
			// timeout to wait out.
			s, aliceErr := l.alice().Dial(ctx, l.url())
			var replies [][]byte
			if aliceErr == nil {
				for _, m := range msgs {
					if aliceErr = s.Send(ctx, m); aliceErr != nil {
						break
					}
				}
				if err := s.Close(ctx); aliceErr == nil {
					aliceErr = err
				}
				replies = s.Late()
				s.Drop()
			}
			l.settle()
			events := l.log.Events()

			var got []mutated
			for _, e := range events {
				switch e.Verdict {
				case trace.Tampered, trace.Replayed, trace.Dropped:
					got = append(got, mutated{e.Leg, e.Dir, e.Verdict})
				}
			}
			if !slices.Equal(got, tt.want) {
				dump(t, events)
				t.Fatalf("mutated frames %v, want %v", got, tt.want)
			}
			for _, e := range events {
				if e.Verdict == trace.Tampered && slices.ContainsFunc(events, func(o trace.Event) bool {
					return o.Leg != e.Leg && o.Dir == e.Dir && bytes.Equal(o.Raw, e.Raw)
				}) {
					t.Errorf("event %d is TAMPERED but carries the bytes its sender sent", e.Index)
				}
			}
			for _, leg := range []trace.Leg{a, b} {
				e, ok := closeFrom(events, leg)
				forged := ok && e.Verdict == trace.Substituted && strings.HasSuffix(e.Note, ": bye")
				if forged != tt.closes {
					t.Errorf("leg %s: Mallory's close %+v (%v); a forged \"bye\" is %v, want %v", leg, e, ok, forged, tt.closes)
				}
			}
			sess := l.bobSession(t)
			for i, m := range sess.Received {
				if i >= len(msgs) || !bytes.Equal(m, msgs[i]) {
					t.Errorf("Bob accepted %q as message %d; Alice sent %q", m, i, msgs)
				}
			}
			for i, r := range replies {
				if i >= len(msgs) || !bytes.Equal(r, victim.DefaultReply(msgs[i])) {
					t.Errorf("Alice accepted %q as reply %d", r, i)
				}
			}
			if tt.m.Dir == wire.ClientToServer && sess.Ending == victim.EndClean {
				t.Errorf("Bob's session ended clean despite a change to what Alice sent (%d messages)", len(sess.Received))
			}
			if aliceErr == nil && (tt.m.Dir == wire.ServerToClient || tt.closes || tt.m.Kind == attacker.Cut) {
				t.Error("Alice's conversation ended clean despite the mutation")
			}
		})
	}
}

// TestRandomMutation: the table's mutate draws its change from the node's
// random source, so a fixed source gives the same run again.
func TestRandomMutation(t *testing.T) {
	t.Parallel()
	draw := func(seed byte) []attacker.Mutation {
		r := rand.NewChaCha8([32]byte{seed})
		var out []attacker.Mutation
		for range 50 {
			m, err := attacker.RandomMutation(r, 12)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		return out
	}
	first, again := draw(1), draw(1)
	if !slices.Equal(first, again) {
		t.Error("the same source drew different mutations")
	}
	if slices.Equal(first, draw(2)) {
		t.Error("another source drew the same 50 mutations")
	}
	kinds := map[attacker.MutationKind]bool{}
	for _, m := range first {
		if !slices.Contains(attacker.MutationKinds(), m.Kind) || m.Index < 0 || m.Index >= 12 ||
			(m.Dir != wire.ClientToServer && m.Dir != wire.ServerToClient) {
			t.Errorf("drew %v: kind, index or direction out of range", m)
		}
		kinds[m.Kind] = true
	}
	if len(kinds) < 2 {
		t.Errorf("50 draws gave only the kinds %v", kinds)
	}
	if _, err := attacker.RandomMutation(failingReader{}, 12); err == nil {
		t.Error("RandomMutation with a failing source returned no error")
	}
	if m := (attacker.Mutation{Dir: wire.ClientToServer, Index: 3, Kind: attacker.Drop}); !strings.Contains(fmt.Sprint(m), "drop of c2s message #3") {
		t.Errorf("Mutation.String() = %q", m)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
