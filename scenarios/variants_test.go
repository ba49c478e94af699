package scenarios_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// TestSchemeVariants covers pinned-ecdh's near misses.
//
// ATTACK SCENARIO: signed-unpinned: Alice checks the signature against the
// certificate she was sent, not against a pin; Mallory signs with his own
// key. downgrade: Alice offers pinned-ecdh and unauth-ecdh and accepts the
// fallback; Mallory strips pinned-ecdh from the offer. downgrade-refused: the
// same, but Alice requires authentication.
//
// THIS TEST VERIFIES: where Mallory wins, the bytes he recovered equal every
// message both victims sent; where he loses, Alice refuses with the named
// error before sending anything and no frame is read.
func TestSchemeVariants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, scenario string
		refused        error // nil: the attacker wins
	}{
		{"signed-unpinned/attacker signs with his own key", "signed-unpinned", nil},
		{"downgrade/attacker strips pinned-ecdh and the client falls back", "downgrade", nil},
		{"downgrade-refused/client that requires authentication refuses", "downgrade-refused", kex.ErrDowngrade},
	} {
		for _, tr := range scenarios.Transports() {
			t.Run(tc.name+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				msgs := []string{"my card PIN is 4921", "naïve ✓"}
				o, err := scenarios.Run(context.Background(), tc.scenario, &scenarios.Options{Transport: tr, Messages: msgs})
				if err != nil {
					t.Fatal(err)
				}
				if tc.refused == nil {
					if o.Detected || o.ClientErr != nil || o.ServerErr != nil {
						t.Fatalf("victims noticed: %v / %v", o.ClientErr, o.ServerErr)
					}
					if len(o.Messages) != 2*len(msgs) {
						t.Fatalf("%d messages, want %d", len(o.Messages), 2*len(msgs))
					}
					for _, m := range o.Messages {
						if !bytes.Equal(m.Recovered, m.Text) || !bytes.Equal(m.Accepted, m.Text) {
							t.Errorf("%s seq %d: sent %q, accepted %q, attacker recovered %q", m.From, m.Seq, m.Text, m.Accepted, m.Recovered)
						}
					}
					return
				}
				if !errors.Is(o.ClientErr, tc.refused) {
					t.Fatalf("client error %v, want %v", o.ClientErr, tc.refused)
				}
				if o.DetectedBy != "client" || o.Reason != kex.Reason(tc.refused) {
					t.Errorf("detected by %q for %q", o.DetectedBy, o.Reason)
				}
				for _, e := range o.Events {
					if e.Verdict == trace.Read || e.Type == string(wire.TypeData) {
						t.Errorf("event %d: %s %s on leg %s after a refusal", e.Index, e.Verdict, e.Type, e.Leg)
					}
				}
				if o.MessagesSent() != 0 || o.AttackerRead() != 0 {
					t.Errorf("sent %d, read %d; want 0 and 0", o.MessagesSent(), o.AttackerRead())
				}
			})
		}
	}
}

// TestDowngradeStripsTheOffer checks the ledger shows the stripped offer:
// the client_hello Bob received lists only unauth-ecdh and is marked
// substituted, while the one Alice sent lists both.
func TestDowngradeStripsTheOffer(t *testing.T) {
	t.Parallel()
	o, err := scenarios.Run(context.Background(), "downgrade", nil)
	if err != nil {
		t.Fatal(err)
	}
	offered := map[trace.Leg][]string{}
	for _, e := range o.Events {
		if e.Type != string(wire.TypeClientHello) {
			continue
		}
		ch, err := wire.DecodeAs[*wire.ClientHello](e.Raw)
		if err != nil {
			t.Fatal(err)
		}
		offered[e.Leg] = ch.Offered
		if e.Leg == trace.LegB && e.Verdict != trace.Substituted {
			t.Errorf("client_hello to Bob is %s, want substituted", e.Verdict)
		}
	}
	if got := offered[trace.LegA]; len(got) != 2 || got[0] != kex.NamePinnedECDH || got[1] != kex.NameUnauthECDH {
		t.Errorf("Alice offered %q", got)
	}
	if got := offered[trace.LegB]; len(got) != 1 || got[0] != kex.NameUnauthECDH {
		t.Errorf("Bob was offered %q, want only unauth-ecdh", got)
	}
}

// TestDowngradeNeedsTheAttacker checks the variants are sound on their own:
// with no attacker, Bob chooses pinned-ecdh and the chat works.
func TestDowngradeNeedsTheAttacker(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"signed-unpinned", "downgrade", "downgrade-refused"} {
		o, err := scenarios.Run(context.Background(), name, &scenarios.Options{NoAttacker: true})
		if err != nil {
			t.Fatal(err)
		}
		if o.ClientErr != nil || o.MessagesDelivered() != len(o.Messages) || o.AttackerRead() != 0 {
			t.Errorf("%s without attacker: %s (%v)", name, o.Summary(), o.ClientErr)
		}
		for _, e := range o.Events {
			if e.Type == string(wire.TypeServerHello) {
				sh, err := wire.DecodeAs[*wire.ServerHello](e.Raw)
				if err != nil {
					t.Fatal(err)
				}
				if sh.Chosen != kex.NamePinnedECDH {
					t.Errorf("%s: Bob chose %q with no attacker, want pinned-ecdh", name, sh.Chosen)
				}
			}
		}
	}
	// strip-offer applies to pinned-ecdh only.
	if err := attacker.StripOffer.Check(kex.NameUnauthECDH); err == nil {
		t.Error("strip-offer accepted for unauth-ecdh")
	}
}
