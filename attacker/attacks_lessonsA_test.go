package attacker_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// TestRecordThenSteal:
//
// ATTACK SCENARIO: Mallory relays a whole conversation unchanged and keeps
// a copy. After both legs have closed, he is handed the server's
// long-term keys and goes back to his recording.
//
// THIS TEST VERIFIES: under static-rsa the stolen RSA key unwraps the
// recorded key_transport, and the keys it gives open every recorded
// record: each message and reply comes out byte for byte, as a read on
// the leg it arrived on, after the session's last close. Under
// pinned-ecdh the stolen Ed25519 identity opens nothing. With no key
// stolen, or before the theft, every record stays opaque.
func TestRecordThenSteal(t *testing.T) {
	t.Parallel()
	pin, err := kex.RSAKeyPin(&victimRSA().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	staticRSA := setup{kex.StaticRSA(), &kex.ServerConfig{RSAKey: victimRSA()}, &kex.ClientConfig{Pin: pin}}
	tests := []struct {
		name   string
		su     setup
		stolen *attacker.Stolen
		reads  bool
	}{
		{"static-rsa/the stolen RSA key opens the recording", staticRSA, &attacker.Stolen{RSAKey: victimRSA()}, true},
		{"static-rsa/with no key stolen the recording stays opaque", staticRSA, nil, false},
		{"static-rsa/someone else's RSA key opens nothing", staticRSA, &attacker.Stolen{RSAKey: malloryRSA()}, false},
		{"pinned-ecdh/the stolen identity opens nothing", setupFor(t, kex.NamePinnedECDH), &attacker.Stolen{Identity: bobIdentity()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, tt.su, lookup(t, attacker.RecordThenSteal), func(o *attacker.Options) { o.Stolen = tt.stolen }, nil)
			events := chatThrough(t, l, l.alice(), chat)
			lastClose := -1
			for _, e := range events {
				if e.Type == trace.TypeClose {
					lastClose = e.Index
				}
			}
			var reads []trace.Event
			for _, e := range events {
				if e.Verdict == trace.Read {
					reads = append(reads, e)
					if e.Index < lastClose {
						t.Errorf("event %d: read during the session, before the theft", e.Index)
					}
					if !strings.HasPrefix(e.Note, "offline, after the theft") {
						t.Errorf("event %d: a read not marked offline: %q", e.Index, e.Note)
					}
				}
			}
			if !tt.reads {
				if len(reads) != 0 {
					dump(t, events)
					t.Fatalf("%d reads, want none", len(reads))
				}
				return
			}
			for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
				leg := trace.LegA
				if dir == wire.ServerToClient {
					leg = trace.LegB
				}
				var got [][]byte
				for _, e := range reads {
					if e.Type == string(wire.TypeData) && e.Dir == dir {
						if e.Leg != leg {
							t.Errorf("event %d: read on leg %s, want the leg it arrived on, %s", e.Index, e.Leg, leg)
						}
						got = append(got, e.Recovered)
					}
				}
				for i, m := range chat {
					want := m
					if dir == wire.ServerToClient {
						want = victim.DefaultReply(m)
					}
					if i >= len(got) || !bytes.Equal(got[i], want) {
						t.Errorf("%s message %d: recovered %q, the sender sent %q", dir, i, got, want)
					}
				}
			}
			kt := eventsWhere(reads, func(e trace.Event) bool { return e.Type == "key_transport" })
			if len(kt) != 1 || len(kt[0].Recovered) != kex.SecretSize {
				t.Errorf("key_transport reads %v, want one carrying the 32-byte secret", kt)
			}
		})
	}
}

// TestStolenKeysOnlyForAThief: the node hands the server's keys to an
// attack that steals them, and refuses to be given them for any other.
func TestStolenKeysOnlyForAThief(t *testing.T) {
	t.Parallel()
	steals := map[string]bool{}
	for _, a := range attacker.Attacks() {
		steals[a.Name] = a.Steals
	}
	if !steals[attacker.RecordThenSteal] {
		t.Errorf("%s does not declare that it steals", attacker.RecordThenSteal)
	}
	for name, s := range steals {
		if s && name != attacker.RecordThenSteal {
			t.Errorf("%s steals the server's keys", name)
		}
	}
	_, err := attacker.New(attacker.Options{
		Scheme: kex.StaticRSA(), Upstream: "ws://bob.invalid/", Attack: lookup(t, attacker.Passive),
		Stolen: &attacker.Stolen{RSAKey: victimRSA()},
	})
	if err == nil || !strings.Contains(err.Error(), "does not steal") {
		t.Errorf("stolen keys for passive: %v, want a refusal", err)
	}
}
