package scenarios_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// broken lists the schemes the attacker really breaks, with what it does to
// each data frame on the receiver's leg: with swap-rsa-key it holds the
// victims' own keys and forwards their ciphertext untouched (read on both
// legs); with double-ecdh it shares one key with each victim and seals the
// plaintext again (forged).
var broken = []struct {
	name     string // as a trainer would say it
	scenario string
	onward   trace.Verdict
	sameRaw  bool
}{
	{"plaintext-rsa/attacker swaps in its own RSA key", "plaintext-rsa", trace.Read, true},
	{"unauth-ecdh/attacker runs one key exchange with each side", "unauth-ecdh", trace.Forged, false},
}

// TestAttackerReadsTheBrokenSchemes:
//
// ATTACK SCENARIO: Mallory sits between Alice and Bob on plaintext-rsa and
// on unauth-ecdh and runs the scenario's attack.
//
// THIS TEST VERIFIES: the plaintext Mallory recovered equals every message
// Alice sent and every reply Bob sent, byte for byte, both in the Outcome and
// in the ledger on its own; every message still arrives intact; neither
// victim notices anything.
func TestAttackerReadsTheBrokenSchemes(t *testing.T) {
	t.Parallel()
	for _, tc := range broken {
		for _, tr := range scenarios.Transports() {
			t.Run(tc.name+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, tc.scenario, &scenarios.Options{Transport: tr})
				c := chatFor(scenarios.DefaultScript())
				checkBroken(t, o, c, tc.onward, tc.sameRaw)
			})
		}
	}
}

func checkBroken(t *testing.T, o *scenarios.Outcome, c chat, onward trace.Verdict, sameRaw bool) {
	t.Helper()
	report(t, "victims", quietProblems(o))
	report(t, "outcome", messageProblems(o, c, true))
	report(t, "ledger", readProblems(o.Events, c, onward, sameRaw))
	if got, want := o.AttackerRead(), c.frames(); got != want {
		t.Errorf("AttackerRead() = %d, want %d", got, want)
	}
	if got, want := o.MessagesDelivered(), c.frames(); got != want {
		t.Errorf("MessagesDelivered() = %d, want %d", got, want)
	}
	if got := o.Misread(); got != 0 {
		t.Errorf("Misread() = %d, want 0", got)
	}
}

// pinnedAttacks are the two ways Mallory tries pinned-ecdh, each with the
// check that stops it and the step of the client's handshake that makes it.
var pinnedAttacks = []struct {
	name   string
	attack attacker.Attack
	want   error
	step   string
}{
	{"pinned-ecdh/attacker presents own certificate", attacker.Impersonate, kex.ErrPinMismatch, "check pin"},
	{"pinned-ecdh/attacker keeps the certificate and swaps key shares", attacker.SubstituteShares, kex.ErrBadSignature, "verify signature"},
}

// TestPinnedECDHRefusesTheAttacker:
//
// ATTACK SCENARIO: Mallory answers Alice with his own certificate, or keeps
// Bob's certificate and signature and swaps both key shares.
//
// THIS TEST VERIFIES: Alice refuses at the named check with the named error
// and closes with 1008 before she sends any data or her finished message;
// Mallory recovers nothing, and no data frame crosses either leg.
func TestPinnedECDHRefusesTheAttacker(t *testing.T) {
	t.Parallel()
	for _, tc := range pinnedAttacks {
		for _, tr := range scenarios.Transports() {
			t.Run(tc.name+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, "pinned-ecdh", &scenarios.Options{Attack: tc.attack, Transport: tr})
				if !errors.Is(o.ClientErr, tc.want) {
					t.Fatalf("ClientErr = %v, want %v", o.ClientErr, tc.want)
				}
				var he *kex.HandshakeError
				if !errors.As(o.ClientErr, &he) || he.Side != kex.ClientSide || he.Step != tc.step {
					t.Errorf("ClientErr = %#v, want a client HandshakeError at step %q", o.ClientErr, tc.step)
				}
				if !o.Detected || o.DetectedBy != "client" || o.Reason != tc.want.Error() {
					t.Errorf("Detected=%v DetectedBy=%q Reason=%q, want the client to name %q", o.Detected, o.DetectedBy, o.Reason, tc.want)
				}
				if o.Attack != tc.attack {
					t.Errorf("Outcome.Attack = %q, want %q", o.Attack, tc.attack)
				}
				checkNothingSent(t, o)

				// Alice's side of leg A: her hello, then her close with
				// 1008, and nothing else; Mallory passes the close to Bob.
				var aliceSent []string
				for _, e := range o.Events {
					if e.Leg == trace.LegA && e.Dir == wire.ClientToServer {
						aliceSent = append(aliceSent, e.Type)
					}
				}
				if got := strings.Join(aliceSent, " "); got != "client_hello close" {
					t.Errorf("Alice sent %q on leg A, want %q", got, "client_hello close")
				}
				for _, leg := range []trace.Leg{trace.LegA, trace.LegB} {
					if !hasClose(o.Events, leg, wire.ClientToServer, "1008 ") {
						t.Errorf("no 1008 close from the client on leg %s", leg)
					}
				}
			})
		}
	}
}

// checkNothingSent asserts that no data was sent, delivered or read.
func checkNothingSent(t *testing.T, o *scenarios.Outcome) {
	t.Helper()
	for i, m := range o.Messages {
		if m.Sent || m.Accepted != nil || m.Recovered != nil {
			t.Errorf("message %d: Sent=%v Accepted=%q Recovered=%q, want none", i, m.Sent, m.Accepted, m.Recovered)
		}
	}
	if o.MessagesSent() != 0 || o.MessagesDelivered() != 0 || o.AttackerRead() != 0 || o.Misread() != 0 {
		t.Errorf("sent %d, delivered %d, read %d, misread %d; want all 0",
			o.MessagesSent(), o.MessagesDelivered(), o.AttackerRead(), o.Misread())
	}
	for _, e := range o.Events {
		if e.Verdict == trace.Read || e.Recovered != nil {
			t.Errorf("event %d (leg %s %s %s): verdict %s, recovered %q", e.Index, e.Leg, e.Dir, e.Type, e.Verdict, e.Recovered)
		}
		if e.Type == string(wire.TypeData) {
			t.Errorf("event %d: a data frame on leg %s %s", e.Index, e.Leg, e.Dir)
		}
	}
}

func hasClose(events []trace.Event, leg trace.Leg, dir wire.Direction, notePrefix string) bool {
	for _, e := range events {
		if e.Type == trace.TypeClose && e.Leg == leg && e.Dir == dir && strings.HasPrefix(e.Note, notePrefix) {
			return true
		}
	}
	return false
}

// TestPassiveRelaySeesOnlyCiphertext:
//
// ATTACK SCENARIO: Mallory relays every frame unchanged and keeps no keys
// of his own.
//
// THIS TEST VERIFIES: for every scheme, the chat works and Mallory's ledger
// holds only ciphertext: every data frame is opaque on both legs, nothing is
// recovered, and no message appears in clear in any frame. Sniffing is not
// enough even against the weak schemes; their weakness needs an active man in
// the middle.
func TestPassiveRelaySeesOnlyCiphertext(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"plaintext-rsa", "unauth-ecdh", "pinned-ecdh"} {
		for _, tr := range scenarios.Transports() {
			t.Run(name+"/attacker only relays/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, name, &scenarios.Options{Attack: attacker.Passive, Transport: tr})
				c := chatFor(scenarios.DefaultScript())
				report(t, "victims", quietProblems(o))
				report(t, "outcome", messageProblems(o, c, false))
				report(t, "ledger", opaqueProblems(o.Events, c, []trace.Leg{trace.LegA, trace.LegB}))
				if o.AttackerRead() != 0 || o.MessagesDelivered() != c.frames() {
					t.Errorf("read %d, delivered %d; want 0 and %d", o.AttackerRead(), o.MessagesDelivered(), c.frames())
				}
				// A relay forwards each frame's bytes untouched.
				frames, _ := dataFrames(o.Events)
				for _, d := range directions {
					for i := range c.byDir(d) {
						in, out := frames[frameKey{senderLeg(d), d, uint64(i)}], frames[frameKey{receiverLeg(d), d, uint64(i)}]
						if len(in) == 1 && len(out) == 1 && !bytes.Equal(in[0].Raw, out[0].Raw) {
							t.Errorf("%s seq %d: the relay changed the frame", d, i)
						}
					}
				}
			})
		}
	}
}

// TestEveryScenarioWorksWithNoAttacker:
//
// ATTACK SCENARIO: none; Alice talks straight to Bob while an eavesdropper
// with no keys records the wire.
//
// THIS TEST VERIFIES: every scenario in the catalogue delivers every message
// intact, and the eavesdropper reads none of them.
func TestEveryScenarioWorksWithNoAttacker(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios.Catalogue() {
		for _, tr := range scenarios.Transports() {
			t.Run(sc.Name+"/no attacker/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, sc.Name, &scenarios.Options{NoAttacker: true, Transport: tr})
				c := chatFor(scenarios.DefaultScript())
				report(t, "victims", quietProblems(o))
				report(t, "outcome", messageProblems(o, c, false))
				if labWire(sc) {
					report(t, "ledger", opaqueProblems(o.Events, c, []trace.Leg{trace.LegWire}))
				} else {
					report(t, "ledger", ciphertextProblems(o.Events, c))
				}
				if o.Attack != "" {
					t.Errorf("Outcome.Attack = %q with no attacker", o.Attack)
				}
				for _, e := range o.Events {
					if e.Leg != trace.LegWire {
						t.Errorf("event %d on leg %s with no attacker", e.Index, e.Leg)
					}
				}
				if o.MessagesDelivered() != c.frames() || o.AttackerRead() != 0 {
					t.Errorf("delivered %d, read %d; want %d and 0", o.MessagesDelivered(), o.AttackerRead(), c.frames())
				}
			})
		}
	}
}

// TestCustomMessagesAreReadByteExact:
//
// ATTACK SCENARIO: the broken schemes again, with a class's own messages.
//
// THIS TEST VERIFIES: any bytes a student types, unicode, a single byte,
// bytes that are not UTF-8 and the longest message whose reply still fits one
// record, round-trip intact and are read byte-exact by the attacker.
func TestCustomMessagesAreReadByteExact(t *testing.T) {
	t.Parallel()
	longest := strings.Repeat("L", channel.MaxPlaintext-len("got it: "))
	script := []string{
		"Grüße, Боб! 秘密のPIN は 4921 🔐",
		"x",
		"\x00\xff\xfe not UTF-8 \xc3\x28",
		longest,
	}
	for _, tc := range broken {
		for _, tr := range scenarios.Transports() {
			t.Run(tc.name+"/custom messages/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, tc.scenario, &scenarios.Options{Messages: script, Transport: tr})
				checkBroken(t, o, chatFor(script), tc.onward, tc.sameRaw)
			})
		}
	}
}

// TestMessageOfMaxPlaintextRoundTrips:
//
// ATTACK SCENARIO: the broken schemes with one 32 KiB message, the most one
// record carries (channel.MaxPlaintext).
//
// THIS TEST VERIFIES: the largest message Alice may send round-trips, Bob's
// reply included, and the attacker reads both byte-exact.
func TestMessageOfMaxPlaintextRoundTrips(t *testing.T) {
	t.Parallel()
	script := []string{strings.Repeat("M", channel.MaxPlaintext)}
	for _, tc := range broken {
		for _, tr := range scenarios.Transports() {
			t.Run(tc.name+"/32 KiB message/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, tc.scenario, &scenarios.Options{Messages: script, Transport: tr})
				checkBroken(t, o, chatFor(script), tc.onward, tc.sameRaw)
			})
		}
	}
}

// TestMessageOverMaxPlaintextIsRefused: one byte more than a record holds
// is refused by Alice's own record layer; nothing goes out.
func TestMessageOverMaxPlaintextIsRefused(t *testing.T) {
	t.Parallel()
	for _, tr := range scenarios.Transports() {
		t.Run("unauth-ecdh/message one byte too long/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "unauth-ecdh", &scenarios.Options{Messages: []string{strings.Repeat("O", channel.MaxPlaintext+1)}, Transport: tr})
			if !errors.Is(o.ClientErr, channel.ErrTooLarge) {
				t.Fatalf("ClientErr = %v, want %v", o.ClientErr, channel.ErrTooLarge)
			}
			if o.Detected {
				t.Errorf("Detected = true (%s); a local size limit is not an attack", o.Reason)
			}
			checkNothingSent(t, o)
		})
	}
}

// TestOnEventSeesEveryEvent: the live callback gets the same events, in the
// same order, as the Outcome.
func TestOnEventSeesEveryEvent(t *testing.T) {
	t.Parallel()
	var live []trace.Event // OnEvent is called one event at a time
	o := run(t, "unauth-ecdh", &scenarios.Options{OnEvent: func(e trace.Event) { live = append(live, e) }})
	if len(live) != len(o.Events) || len(live) == 0 {
		t.Fatalf("OnEvent saw %d events, the Outcome holds %d", len(live), len(o.Events))
	}
	for i := range live {
		if live[i].Index != i || o.Events[i].Index != i || !bytes.Equal(live[i].Raw, o.Events[i].Raw) || live[i].Type != o.Events[i].Type {
			t.Errorf("event %d: live %d %s, outcome %d %s", i, live[i].Index, live[i].Type, o.Events[i].Index, o.Events[i].Type)
		}
	}
}

// TestEveryScenarioDoesWhatItsEntrySays:
//
// ATTACK SCENARIO: every scenario in the catalogue, with its own attack.
//
// THIS TEST VERIFIES: the lab never lies and the catalogue never promises
// what does not happen. Whatever the attacker claims to have read is
// exactly what was sent (no misreads), and a run is all or nothing: the
// attacker reads every message and both victims see a normal chat, or the
// client refuses the server, names the check that failed, and the attacker
// reads nothing. Which of the two it is must match the entry's Expect line.
func TestEveryScenarioDoesWhatItsEntrySays(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios.Catalogue() {
		for _, tr := range scenarios.Transports() {
			t.Run(sc.Name+"/"+string(sc.Attack)+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, sc.Name, &scenarios.Options{Transport: tr})
				c := chatFor(scenarios.DefaultScript())
				if o.Misread() != 0 {
					t.Errorf("Misread() = %d: the attacker claims bytes that were never sent", o.Misread())
				}
				reads := strings.HasPrefix(sc.Expect, "the attacker reads every message")
				refused := strings.Contains(sc.Expect, "the attacker reads nothing")
				switch {
				case reads:
					report(t, "victims", quietProblems(o))
					report(t, "outcome", messageProblems(o, c, true))
					if labWire(sc) {
						onward, sameRaw := trace.Forged, false
						if sc.Attack == attacker.SwapRSAKey {
							onward, sameRaw = trace.Read, true
						}
						report(t, "ledger", readProblems(o.Events, c, onward, sameRaw))
					}
				case refused:
					if !o.Detected || o.DetectedBy != "client" || o.ClientErr == nil {
						t.Fatalf("Detected=%v DetectedBy=%q ClientErr=%v; the entry expects %q", o.Detected, o.DetectedBy, o.ClientErr, sc.Expect)
					}
					if r, ok := strings.CutPrefix(sc.Expect, "the client refuses the server: "); ok {
						if want, _, _ := strings.Cut(r, ";"); o.Reason != want {
							t.Errorf("Reason = %q, the entry expects %q", o.Reason, want)
						}
					}
					checkNothingSent(t, o)
				default:
					t.Logf("Expect %q names neither outcome; checked only that nothing was misread", sc.Expect)
				}
				if o.Scenario != sc.Name || o.Scheme != sc.Scheme || o.Attack != sc.Attack || o.Transport != tr {
					t.Errorf("Outcome names %s/%s/%s/%s, want %s/%s/%s/%s", o.Scenario, o.Scheme, o.Attack, o.Transport, sc.Name, sc.Scheme, sc.Attack, tr)
				}
			})
		}
	}
}
