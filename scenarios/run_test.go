package scenarios_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/tlslab"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// run runs a scenario and fails the test if it cannot be run at all.
func run(t *testing.T, name string, opts *scenarios.Options) *scenarios.Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	o, err := scenarios.Run(ctx, name, opts)
	if err != nil {
		t.Fatalf("Run(%s): %v", name, err)
	}
	return o
}

// script is Alice's chat and the replies Bob's default answer makes.
func script(msgs []string) (sent, replies [][]byte) {
	for _, m := range msgs {
		sent = append(sent, []byte(m))
		replies = append(replies, []byte("got it: "+m))
	}
	return sent, replies
}

// readEverything checks, byte for byte, that the attacker recovered every
// message each victim sent, in both directions, and that each arrived
// intact with neither victim noticing.
func readEverything(t *testing.T, o *scenarios.Outcome, msgs []string) {
	t.Helper()
	sent, replies := script(msgs)
	want := append(sent, replies...)
	if len(o.Messages) != len(want) {
		t.Fatalf("%d messages in the outcome, want %d: %s", len(o.Messages), len(want), o.Summary())
	}
	for i, m := range o.Messages {
		if !bytes.Equal(m.Text, want[i]) || !m.Sent {
			t.Errorf("message %d is %q (sent %v), want %q sent", i, m.Text, m.Sent, want[i])
		}
		if !bytes.Equal(m.Recovered, want[i]) {
			t.Errorf("message %d: the attacker recovered %q, the sender sent %q", i, m.Recovered, want[i])
		}
		if !bytes.Equal(m.Accepted, want[i]) {
			t.Errorf("message %d: the receiver accepted %q, the sender sent %q", i, m.Accepted, want[i])
		}
	}
	if o.Detected || o.ClientErr != nil || o.ServerErr != nil {
		t.Errorf("a victim noticed: %s (client %v, server %v)", o.Summary(), o.ClientErr, o.ServerErr)
	}
	// The ledger on its own: every message read on the leg it came in on.
	for _, w := range want {
		if !ledgerRead(o.Events, w) {
			t.Errorf("the ledger has no read event carrying %q", w)
		}
	}
}

func ledgerRead(events []trace.Event, b []byte) bool {
	for _, e := range events {
		if e.Verdict == trace.Read && e.Type == string(wire.TypeData) && bytes.Equal(e.Recovered, b) {
			return true
		}
	}
	return false
}

// refusedBeforeData checks the client refused, with want, and sent no
// message, while the attacker read nothing.
func refusedBeforeData(t *testing.T, o *scenarios.Outcome, want error, reason string) {
	t.Helper()
	if !o.Detected || (o.DetectedBy != "client" && o.DetectedBy != "both") {
		t.Fatalf("not refused by the client: %s", o.Summary())
	}
	if want != nil && !errors.Is(o.ClientErr, want) {
		t.Errorf("client error %v, want %v", o.ClientErr, want)
	}
	if reason != "" && o.Reason != reason {
		t.Errorf("Reason %q, want %q", o.Reason, reason)
	}
	if n := o.MessagesSent(); n != 0 {
		t.Errorf("the client sent %d messages after refusing", n)
	}
	if n := o.AttackerRead(); n != 0 {
		t.Errorf("the attacker read %d messages", n)
	}
	// The conversation the outcome is about is the last connection: with
	// a prelude, the trace also holds an earlier one.
	last := 0
	for _, e := range o.Events {
		last = max(last, e.Conn)
	}
	for _, e := range o.Events {
		if e.Type == string(wire.TypeData) && e.Conn == last {
			t.Errorf("a data record crossed a leg: event %d", e.Index)
		}
	}
}

// TestAttackerReadsTheBrokenDesigns:
//
// ATTACK SCENARIO: Mallory runs each broken design's own attack: he swaps
// RSA keys, runs one ECDH exchange with each side, signs with his own key
// for a client that checks no pin, strips the signed scheme from the
// offer, or terminates TLS for a client that checks no certificate.
//
// THIS TEST VERIFIES: he recovers every message each victim sent, byte for
// byte, in both directions and over both transports, every message still
// arrives intact, and neither victim notices.
func TestAttackerReadsTheBrokenDesigns(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"plaintext-rsa", "unauth-ecdh", "signed-unpinned", "downgrade", "https-key-skipverify", "wss-skipverify"} {
		for _, tr := range scenarios.Transports() {
			t.Run(name+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				msgs := []string{"hi Bob, it's Alice", "", "ünïcödé ✓", "my card PIN is 4921"}
				o := run(t, name, &scenarios.Options{Transport: tr, Messages: msgs})
				readEverything(t, o, msgs)
			})
		}
	}
}

// TestTheFixesRefuseTheAttacker:
//
// ATTACK SCENARIO: the same Mallory against each fixed design.
//
// THIS TEST VERIFIES: the client refuses before it sends a single record,
// with the named error of the check that stopped him, and he reads nothing.
func TestTheFixesRefuseTheAttacker(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, scenario, attack string
		want                   error
		reason                 string
	}{
		{"pinned-ecdh/attacker presents own certificate", "pinned-ecdh", "", kex.ErrPinMismatch, "key does not match pin"},
		{"pinned-ecdh/attacker keeps the certificate and swaps key shares", "pinned-ecdh", attacker.SubstituteShares, kex.ErrBadSignature, "server signature does not verify"},
		{"downgrade-refused/attacker strips the offer", "downgrade-refused", "", kex.ErrDowngrade, ""},
		{"https-key-verified/attacker's self-signed certificate", "https-key-verified", "", nil, tlslab.ReasonUnknownAuthority},
		{"wss-ca-verified/attacker's self-signed certificate", "wss-ca-verified", "", nil, tlslab.ReasonUnknownAuthority},
		{"wss-ca-verified/a certificate the compromised CA issued", "wss-ca-verified", attacker.MisIssuedCert, nil, ""},
		{"wss-pinned/a certificate the compromised CA issued", "wss-pinned", "", kex.ErrPinMismatch, tlslab.ReasonPinMismatch},
	}
	for _, tt := range tests {
		for _, tr := range scenarios.Transports() {
			t.Run(tt.name+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, tt.scenario, &scenarios.Options{Transport: tr, Attack: tt.attack})
				if tt.scenario == "wss-ca-verified" && tt.attack == attacker.MisIssuedCert {
					// The CA check alone cannot tell: the compromised CA's
					// certificate verifies, and Mallory reads everything.
					readEverything(t, o, scenarios.DefaultScript())
					return
				}
				refusedBeforeData(t, o, tt.want, tt.reason)
			})
		}
	}
}

// TestPassiveRelaySeesOnlyCiphertext:
//
// ATTACK SCENARIO: Mallory only relays, for every ws:// scheme.
//
// THIS TEST VERIFIES: the chat works, every record is opaque to him, and
// the handshake frames cross unchanged (public).
func TestPassiveRelaySeesOnlyCiphertext(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"plaintext-rsa", "unauth-ecdh", "pinned-ecdh", "signed-unpinned", "downgrade", "truncation-refused"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := run(t, name, &scenarios.Options{Attack: attacker.Passive})
			if o.AttackerRead() != 0 || o.MessagesDelivered() != len(o.Messages) || o.ClientErr != nil || o.ServerErr != nil {
				t.Fatalf("passive relay: %s (client %v, server %v)", o.Summary(), o.ClientErr, o.ServerErr)
			}
			for _, e := range o.Events {
				if (e.Type == string(wire.TypeData) || e.Type == string(wire.TypeEnd)) && e.Verdict != trace.Opaque {
					t.Errorf("event %d: a record is %s to a relay with no key", e.Index, e.Verdict)
				}
			}
		})
	}
}

// TestEveryScenarioWorksWithNoAttacker: with Alice straight to Bob, every
// message arrives, the conversation ends cleanly, and an eavesdropper with
// no keys reads nothing.
func TestEveryScenarioWorksWithNoAttacker(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios.Catalogue() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			o := run(t, sc.Name, &scenarios.Options{NoAttacker: true})
			if o.MessagesDelivered() != len(o.Messages) || o.ClientErr != nil || o.ServerErr != nil || o.ServerEnding != "clean" {
				t.Fatalf("no attacker: %s (client %v, server %v, ending %q)", o.Summary(), o.ClientErr, o.ServerErr, o.ServerEnding)
			}
			if o.AttackerRead() != 0 {
				t.Errorf("an eavesdropper with no keys read %d messages", o.AttackerRead())
			}
		})
	}
}

// TestTruncation:
//
// ATTACK SCENARIO: Mallory holds no key. He drops Alice's last message and
// forges an ordinary close to each side.
//
// THIS TEST VERIFIES: victims that take a close at its word lose the
// message and notice nothing (the lesson); victims that require the
// sealed end record both detect the cut with ErrTruncated; and the same
// attack run on pinned-ecdh by name is detected too.
func TestTruncation(t *testing.T) {
	t.Parallel()
	for _, tr := range scenarios.Transports() {
		t.Run("truncation/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "truncation", &scenarios.Options{Transport: tr})
			lost := o.Lost()
			if len(lost) != 1 || string(lost[0].Text) != "see you at 6" || lost[0].From != "client" {
				t.Fatalf("lost %v, want Alice's last message: %s", lost, o.Summary())
			}
			if o.Detected || o.ServerErr != nil || o.ServerEnding != "clean" {
				t.Errorf("Bob noticed (%v, %q), but these victims take a close at its word", o.ServerErr, o.ServerEnding)
			}
			if !strings.Contains(o.Summary(), `1 lost ("see you at 6")`) {
				t.Errorf("the summary does not name the lost message: %s", o.Summary())
			}
		})
		for _, name := range []string{"truncation-refused", "pinned-ecdh"} {
			t.Run(name+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, name, &scenarios.Options{Transport: tr, Attack: attacker.Truncate})
				if !o.Detected || o.DetectedBy != "both" {
					t.Fatalf("not detected by both: %s", o.Summary())
				}
				for who, err := range map[string]error{"client": o.ClientErr, "server": o.ServerErr} {
					if !errors.Is(err, channel.ErrTruncated) {
						t.Errorf("%s error %v, want ErrTruncated", who, err)
					}
				}
				if o.ServerEnding != "truncated" || o.AttackerRead() != 0 {
					t.Errorf("ending %q, read %d", o.ServerEnding, o.AttackerRead())
				}
			})
		}
	}
}

// TestMessageSizes: a message of exactly MaxPlaintext crosses every
// scheme; one byte more is refused before it is sent.
func TestMessageSizes(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("z", channel.MaxPlaintext)
	o := run(t, "unauth-ecdh", &scenarios.Options{Messages: []string{big}})
	if !o.Messages[0].Delivered() || !o.Messages[0].Read() {
		t.Errorf("a %d-byte message: %s", len(big), o.Summary())
	}
	if r := o.Messages[1].Accepted; len(r) != channel.MaxPlaintext {
		t.Errorf("the reply to it is %d bytes, want %d (cut to fit one record)", len(r), channel.MaxPlaintext)
	}
	o = run(t, "unauth-ecdh", &scenarios.Options{Messages: []string{big + "z"}})
	if !errors.Is(o.ClientErr, channel.ErrTooLarge) || o.MessagesSent() != 0 {
		t.Errorf("one byte too many: sent %d, error %v; want ErrTooLarge and nothing sent", o.MessagesSent(), o.ClientErr)
	}
}

// TestOnEventSeesEveryEvent: the callback sees the ledger as it grows,
// in order.
func TestOnEventSeesEveryEvent(t *testing.T) {
	t.Parallel()
	var seen []trace.Event
	o := run(t, "unauth-ecdh", &scenarios.Options{OnEvent: func(e trace.Event) { seen = append(seen, e) }})
	if len(seen) != len(o.Events) {
		t.Fatalf("OnEvent saw %d events, the outcome has %d", len(seen), len(o.Events))
	}
	for i := range seen {
		if seen[i].Index != i || o.Events[i].Index != i {
			t.Fatalf("event %d has index %d / %d", i, seen[i].Index, o.Events[i].Index)
		}
	}
}

// TestRandomnessSeam: with the same Rand, two runs of unauth-ecdh send
// byte-identical handshakes; with another, different ones.
func TestRandomnessSeam(t *testing.T) {
	t.Parallel()
	hello := func(seedByte byte) []byte {
		o := run(t, "unauth-ecdh", &scenarios.Options{NoAttacker: true, Rand: &counter{b: seedByte}})
		return o.Events[0].Raw
	}
	if a, b := hello(1), hello(1); !bytes.Equal(a, b) {
		t.Errorf("same seed, different client_hello:\n%s\n%s", a, b)
	}
	if a, b := hello(1), hello(2); bytes.Equal(a, b) {
		t.Error("different seeds, same client_hello")
	}
}

// counter is a deterministic byte stream for the randomness seam.
type counter struct{ b byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		c.b = c.b*31 + 7
		p[i] = c.b
	}
	return len(p), nil
}

// TestRunRefusesWhatCannotRun: errors, never panics, for an unknown
// scenario, an unknown attack, one that does not apply, and a
// contradiction.
func TestRunRefusesWhatCannotRun(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts *scenarios.Options
		want string
	}{
		{"pinned-ecd", nil, `did you mean "pinned-ecdh"`},
		{"pinned-ecdh", &scenarios.Options{Attack: "telepathy"}, "unknown attack"},
		{"pinned-ecdh", &scenarios.Options{Attack: attacker.SwapRSAKey}, "does not apply to pinned-ecdh"},
		{"wss-skipverify", &scenarios.Options{Attack: attacker.DoubleECDH}, "does not apply"},
		{"unauth-ecdh", &scenarios.Options{Attack: attacker.TerminateTLS}, "TLS"},
		{"unauth-ecdh", &scenarios.Options{Attack: attacker.Passive, NoAttacker: true}, "contradict"},
		{"unauth-ecdh", &scenarios.Options{Transport: "carrier-pigeon"}, "unknown transport"},
	} {
		_, err := scenarios.Run(t.Context(), tt.name, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%s, %+v) = %v, want an error containing %q", tt.name, tt.opts, err, tt.want)
		}
	}
	var unknown *scenarios.UnknownScenarioError
	if _, err := scenarios.Run(t.Context(), "nope", nil); !errors.As(err, &unknown) {
		t.Errorf("unknown scenario: %T", err)
	}
	if _, err := scenarios.Run(t.Context(), "pinned-ecdh", &scenarios.Options{Attack: "telepathy"}); !errors.Is(err, attacker.ErrUnknownAttack) {
		t.Errorf("unknown attack is not ErrUnknownAttack: %v", err)
	}
}

// TestEveryScenarioDoesWhatItsEntrySays runs each catalogue entry and
// holds the outcome to its Expect line.
func TestEveryScenarioDoesWhatItsEntrySays(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios.Catalogue() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			skipLongUnderRace(t, sc.Attack)
			o := run(t, sc.Name, nil)
			switch {
			case strings.HasPrefix(sc.Expect, "the attacker reads every message"):
				readEverything(t, o, scenarios.DefaultScript())
			case strings.HasPrefix(sc.Expect, "the client refuses"):
				want := ""
				if r, ok := strings.CutPrefix(sc.Expect, "the client refuses the server: "); ok {
					want, _, _ = strings.Cut(r, ";")
				}
				refusedBeforeData(t, o, nil, want)
			case strings.HasPrefix(sc.Expect, "both victims detect"):
				if o.DetectedBy != "both" || o.AttackerRead() != 0 {
					t.Errorf("%s", o.Summary())
				}
			case strings.HasPrefix(sc.Expect, "the last message is lost and no one detects the cut"):
				if len(o.Lost()) != 1 || o.Detected {
					t.Errorf("%s", o.Summary())
				}
			case strings.HasPrefix(sc.Expect, "the attacker reads nothing, even with"):
				deliveredUnread(t, o)
			case strings.HasPrefix(sc.Expect, "both victims refuse: "):
				bothRefuse(t, o, expectedReason(sc.Expect))
			case strings.HasPrefix(sc.Expect, "the server accepts a message the attacker altered"):
				acceptedAltered(t, o)
			case strings.HasPrefix(sc.Expect, "the server accepts the same message twice"):
				acceptedTwice(t, o)
			case strings.HasPrefix(sc.Expect, "the server refuses the "):
				serverRefuses(t, o, expectedReason(sc.Expect))
			case strings.HasPrefix(sc.Expect, "Alice accepts yesterday's replies as fresh, and the attacker reads every message by XOR"):
				acceptsYesterdaysReplies(t, o, scenarios.DefaultScript())
			case strings.HasPrefix(sc.Expect, "Alice believes Eve answers while Bob does"):
				misbound(t, o, scenarios.DefaultScript())
			default:
				t.Fatalf("Expect %q names no outcome this test knows; teach it", sc.Expect)
			}
			if o.Scenario != sc.Name || o.Scheme != sc.Scheme.Name || o.Attack != sc.Attack {
				t.Errorf("Outcome names %s/%s/%s", o.Scenario, o.Scheme, o.Attack)
			}
		})
	}
}

func ExampleRun() {
	o, err := scenarios.Run(context.Background(), "unauth-ecdh", &scenarios.Options{Messages: []string{"my card PIN is 4921"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := o.Messages[0]
	fmt.Printf("Alice sent %q; Mallory recovered %q\n", m.Text, m.Recovered)
	fmt.Println(o.Summary())
	// Output:
	// Alice sent "my card PIN is 4921"; Mallory recovered "my card PIN is 4921"
	// attacker read 2/2 messages · victims noticed nothing
}

// TestPrelude: a scenario with a prelude runs two conversations with the
// same Bob; the outcome is about the second, the trace holds both.
func TestPrelude(t *testing.T) {
	t.Parallel()
	for _, p := range []*scenarios.Prelude{{}, {Attack: attacker.Passive, Messages: []string{"first"}}} {
		sc, _ := scenarios.Lookup("unauth-ecdh")
		sc.Prelude = p
		o, err := scenarios.RunScenario(t.Context(), sc, nil)
		if err != nil {
			t.Fatal(err)
		}
		readEverything(t, o, scenarios.DefaultScript())
		// Without Mallory on the path the prelude is nobody's to record;
		// with him, it is his connection 1.
		conns := map[int]bool{}
		for _, e := range o.Events {
			conns[e.Conn] = true
		}
		if p.Attack != "" && !conns[1] || !conns[len(conns)] {
			t.Errorf("prelude %+v: connections in the trace %v", p, conns)
		}
	}
}
