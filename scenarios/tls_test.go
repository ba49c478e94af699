package scenarios_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/tlslab"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// The TLS scenarios and what each must show.
var tlsCases = []struct {
	name   string
	reason string // "" means the attacker reads everything
	refuse func(err error) bool
}{
	{"https-key-skipverify", "", nil},
	{"https-key-verified", tlslab.ReasonUnknownAuthority, isUnknownAuthority},
	{"wss-skipverify", "", nil},
	{"wss-ca-verified", tlslab.ReasonUnknownAuthority, isUnknownAuthority},
	{"wss-pinned", tlslab.ReasonPinMismatch, isPinMismatch},
}

// isUnknownAuthority: crypto/tls's own error, with crypto/x509's inside.
func isUnknownAuthority(err error) bool {
	var cve *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	return errors.As(err, &cve) && errors.As(err, &unknown)
}

// isPinMismatch: the pin refused a certificate the CA check accepted.
func isPinMismatch(err error) bool {
	var cve *tls.CertificateVerificationError
	return errors.Is(err, kex.ErrPinMismatch) && !errors.As(err, &cve)
}

var tlsScript = []string{"hi Bob, it's Alice", "my card PIN is 4921", "see you at 6"}

func tlsRun(t *testing.T, name string, opts scenarios.Options) *scenarios.Outcome {
	t.Helper()
	if opts.Messages == nil {
		opts.Messages = tlsScript
	}
	o, err := scenarios.Run(t.Context(), name, &opts)
	if err != nil {
		t.Fatalf("Run(%q): %v", name, err)
	}
	return o
}

// tlsDelivered checks the ground truth: every message and reply sent and
// accepted intact, and Bob's replies are victim.DefaultReply's.
func tlsDelivered(t *testing.T, o *scenarios.Outcome) {
	t.Helper()
	if o.ClientErr != nil || o.ServerErr != nil || o.Detected || o.Reason != "" {
		t.Fatalf("chat failed: client %v, server %v, reason %q", o.ClientErr, o.ServerErr, o.Reason)
	}
	if len(o.Messages) != 2*len(tlsScript) {
		t.Fatalf("%d messages, want %d", len(o.Messages), 2*len(tlsScript))
	}
	for i, text := range tlsScript {
		alice, bob := o.Messages[i], o.Messages[len(tlsScript)+i]
		if alice.From != "client" || !bytes.Equal(alice.Text, []byte(text)) || !alice.Delivered() {
			t.Errorf("Alice's message %d: %+v; want %q sent and accepted intact", i, alice, text)
		}
		if bob.From != "server" || !bytes.Equal(bob.Text, victim.DefaultReply([]byte(text))) || !bob.Delivered() {
			t.Errorf("Bob's reply %d: %+v", i, bob)
		}
	}
}

// TestTLSAttackerTerminatesTLS runs each TLS scenario with its own attack,
// over both transports.
//
// ATTACK SCENARIO: Mallory terminates Alice's TLS with a certificate he
// signed himself (wss-pinned: one a compromised CA signed for him) and
// opens his own TLS connection to Bob.
// THIS TEST VERIFIES: where Alice skips the certificate check, Mallory
// recovers every message and reply byte for byte and nobody notices;
// where she checks, she refuses with the real crypto/tls, x509 or pin
// error, sends nothing, and the ledger holds no read frame and no chat
// message at all.
func TestTLSAttackerTerminatesTLS(t *testing.T) {
	t.Parallel()
	for _, tc := range tlsCases {
		for _, tr := range scenarios.Transports() {
			t.Run(tc.name+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := tlsRun(t, tc.name, scenarios.Options{Transport: tr})
				if o.Transport != tr || o.Scenario != tc.name {
					t.Errorf("outcome says %s over %s", o.Scenario, o.Transport)
				}
				if o.Misread() != 0 {
					t.Fatalf("%d messages recovered with the wrong bytes", o.Misread())
				}
				if tc.reason == "" {
					tlsDelivered(t, o)
					for _, m := range o.Messages {
						if !bytes.Equal(m.Recovered, m.Text) || !bytes.Equal(m.Recovered, m.Accepted) {
							t.Errorf("%s message %d: attacker recovered %q; sent %q, accepted %q", m.From, m.Seq, m.Recovered, m.Text, m.Accepted)
						}
					}
					if o.AttackerRead() != len(o.Messages) {
						t.Errorf("attacker read %d/%d", o.AttackerRead(), len(o.Messages))
					}
					return
				}
				if !o.Detected || o.DetectedBy != "client" || o.Reason != tc.reason {
					t.Errorf("detected %v by %q: %q; want the client, %q", o.Detected, o.DetectedBy, o.Reason, tc.reason)
				}
				if !tc.refuse(o.ClientErr) {
					t.Errorf("Alice's error %v (%T) is not the expected refusal", o.ClientErr, o.ClientErr)
				}
				if o.MessagesSent() != 0 || o.AttackerRead() != 0 || o.ServerErr != nil {
					t.Errorf("sent %d, read %d, server error %v; want nothing", o.MessagesSent(), o.AttackerRead(), o.ServerErr)
				}
				for _, e := range o.Events {
					if e.Verdict == trace.Read || e.Recovered != nil || e.Leg != trace.LegA || !strings.HasPrefix(e.Type, "tls_") {
						t.Errorf("after a refusal the ledger holds %+v", e)
					}
				}
				if !strings.HasPrefix(o.Summary(), "client refused the server: "+tc.reason) {
					t.Errorf("summary %q", o.Summary())
				}
			})
		}
	}
}

// TestTLSPassiveRelaySeesOnlyRecords:
//
// ATTACK SCENARIO: Mallory copies bytes between Alice and Bob and keeps
// no keys.
// THIS TEST VERIFIES: every chat arrives intact; Mallory's ledger is TLS
// records only: the hellos public, everything else opaque; he read nothing.
func TestTLSPassiveRelaySeesOnlyRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range tlsCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := tlsRun(t, tc.name, scenarios.Options{Attack: attacker.Passive})
			tlsDelivered(t, o)
			if o.Attack != attacker.Passive || o.AttackerRead() != 0 {
				t.Errorf("attack %q read %d", o.Attack, o.AttackerRead())
			}
			hellos, opaque := 0, 0
			for _, e := range o.Events {
				switch {
				case e.Type == "tls_client_hello" || e.Type == "tls_server_hello":
					hellos++
					if e.Verdict != trace.Public {
						t.Errorf("hello %+v", e)
					}
				case e.Verdict == trace.Opaque:
					opaque++
				case e.Verdict != trace.Public:
					t.Errorf("a passive relay recorded %s: %+v", e.Verdict, e)
				}
				if !strings.HasPrefix(e.Type, "tls_") || e.Recovered != nil || e.Seq != nil {
					t.Errorf("a passive relay saw inside TLS: %+v", e)
				}
			}
			if hellos < 4 || opaque == 0 {
				t.Errorf("%d hellos, %d opaque records; want the hellos on both legs and opaque records", hellos, opaque)
			}
		})
	}
}

// TestTLSNoAttacker: Alice talks straight to Bob; an eavesdropper on the
// wire holds no keys.
func TestTLSNoAttacker(t *testing.T) {
	t.Parallel()
	for _, tc := range tlsCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := tlsRun(t, tc.name, scenarios.Options{NoAttacker: true, Transport: scenarios.Loopback})
			tlsDelivered(t, o)
			if o.Attack != "" || o.AttackerRead() != 0 {
				t.Errorf("attack %q read %d", o.Attack, o.AttackerRead())
			}
			for _, e := range o.Events {
				if e.Leg != trace.LegWire || (e.Verdict != trace.Public && e.Verdict != trace.Opaque) || e.Recovered != nil {
					t.Errorf("eavesdropper event %+v", e)
				}
			}
		})
	}
}

// TestTLSMisIssuedCertBeatsTheCACheck: a CA check is as strong as every
// CA the client trusts. The certificate wss-pinned refuses reads every
// message when only the CA is checked.
func TestTLSMisIssuedCertBeatsTheCACheck(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"wss-ca-verified", "https-key-verified"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := tlsRun(t, name, scenarios.Options{Attack: tlslab.MisIssuedCert})
			tlsDelivered(t, o)
			if o.AttackerRead() != len(o.Messages) || o.Misread() != 0 {
				t.Errorf("attacker read %d/%d (misread %d)", o.AttackerRead(), len(o.Messages), o.Misread())
			}
		})
	}
}

// TestTLSCustomMessages: the attacker's bytes are the victim's bytes,
// whatever they are.
func TestTLSCustomMessages(t *testing.T) {
	t.Parallel()
	msgs := []string{"", "naïve ☕ \x00 bytes", strings.Repeat("A", 20000)}
	for _, name := range []string{"wss-skipverify", "https-key-skipverify"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := tlsRun(t, name, scenarios.Options{Messages: msgs})
			if o.ClientErr != nil || o.AttackerRead() != 2*len(msgs) || o.MessagesDelivered() != 2*len(msgs) || o.Misread() != 0 {
				t.Fatalf("client error %v, read %d/%d, delivered %d, misread %d", o.ClientErr, o.AttackerRead(), 2*len(msgs), o.MessagesDelivered(), o.Misread())
			}
		})
	}
}

// TestTLSCatalogue: the five scenarios are in the catalogue with their
// attacks, and an attack that does not apply is refused before anything
// runs.
func TestTLSCatalogue(t *testing.T) {
	t.Parallel()
	want := map[string]attacker.Attack{
		"https-key-skipverify": tlslab.TerminateTLS,
		"https-key-verified":   tlslab.TerminateTLS,
		"wss-skipverify":       tlslab.TerminateTLS,
		"wss-ca-verified":      tlslab.TerminateTLS,
		"wss-pinned":           tlslab.MisIssuedCert,
	}
	for name, attack := range want {
		sc, err := scenarios.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Attack != attack || sc.Title == "" || strings.Count(sc.Lesson, "\n") != 1 || sc.Expect == "" {
			t.Errorf("%s: %+v", name, sc)
		}
		if !slices.Contains(scenarios.Names(), name) {
			t.Errorf("%s not in Names()", name)
		}
	}
	_, err := scenarios.Run(t.Context(), "wss-pinned", &scenarios.Options{Attack: attacker.Impersonate})
	if err == nil || !strings.Contains(err.Error(), "does not apply") {
		t.Errorf("wss-pinned with impersonate: %v", err)
	}
}

// TestTLSOnEventStreamsTheLedger: the CLI and TUI get every event live,
// in order, the same as Outcome.Events.
func TestTLSOnEventStreamsTheLedger(t *testing.T) {
	t.Parallel()
	var got []trace.Event
	o := tlsRun(t, "wss-skipverify", scenarios.Options{OnEvent: func(e trace.Event) { got = append(got, e) }})
	if len(got) != len(o.Events) || len(got) == 0 {
		t.Fatalf("OnEvent saw %d events, the outcome has %d", len(got), len(o.Events))
	}
	for i := range got {
		if got[i].Index != i || got[i].Type != o.Events[i].Type {
			t.Fatalf("event %d: streamed %+v, outcome %+v", i, got[i], o.Events[i])
		}
	}
	var sawHello, sawCert, sawText bool
	for _, e := range got {
		sawHello = sawHello || e.Type == "tls_client_hello"
		sawCert = sawCert || (e.Type == "tls_certificate" && e.Verdict == trace.Substituted && e.Leg == trace.LegA)
		sawText = sawText || (e.Type == "ws_text" && e.Verdict == trace.Read && e.Dir == wire.ClientToServer)
	}
	if !sawHello || !sawText {
		t.Errorf("ledger lacks the ClientHello (%v) or a read chat message (%v)", sawHello, sawText)
	}
	if !sawCert && !strings.Contains(strings.Join(notes(got), " "), "CHACHA20") {
		t.Error("ledger lacks Mallory's certificate on leg A")
	}
}

func notes(events []trace.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Note)
	}
	return out
}
