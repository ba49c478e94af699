package scenarios_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// TestLessonsBBrokenDesigns:
//
// ATTACK SCENARIO: Mallory injects g = 1, g = p or g = p − 1 into a group
// Bob takes at its word; strips the strong group from a signed DH offer
// and solves the 40-bit discrete log; or replays yesterday's server
// signature, which covers Bob's key share alone, with yesterday's leaked
// ephemeral key.
//
// THIS TEST VERIFIES: he recovers every message each victim sent, byte for
// byte, in both directions and over both transports, every message still
// arrives intact, and neither victim notices.
func TestLessonsBBrokenDesigns(t *testing.T) {
	t.Parallel()
	msgs := []string{"hi Bob, it's Alice", "", "ünïcödé ✓", "my card PIN is 4921"}
	tests := []struct{ scenario, attack string }{
		{"dh-param-injection", attacker.InjectG1},
		{"dh-param-injection", attacker.InjectGP},
		{"dh-param-injection", attacker.InjectGPMinus1},
		{"export-downgrade", ""},
		{"signature-replay", ""},
	}
	for _, tt := range tests {
		for _, tr := range scenarios.Transports() {
			t.Run(tt.scenario+"/"+orNone(tt.attack)+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				attack := tt.attack
				if attack == "" {
					sc, _ := scenarios.Lookup(tt.scenario)
					attack = sc.Attack
				}
				skipLongUnderRace(t, attack)
				o := run(t, tt.scenario, &scenarios.Options{Transport: tr, Attack: tt.attack, Messages: msgs})
				readEverything(t, o, msgs)
			})
		}
	}
}

// TestLessonsBFixes:
//
// ATTACK SCENARIO: the same Mallory against the fixed designs: a server
// that speaks ffdhe2048 only, a signature over both hellos with Alice's
// fresh nonce in them, and a finished MAC under the new key.
//
// THIS TEST VERIFIES: the victim that checks refuses before a single
// record, with the named error of the check that stopped him, and he
// reads nothing.
func TestLessonsBFixes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, scenario, attack string
		want                   error
	}{
		{"dh-fixed-group/g = 1", "dh-fixed-group", attacker.InjectG1, kex.ErrBadGroup},
		{"dh-fixed-group/g = p", "dh-fixed-group", attacker.InjectGP, kex.ErrBadGroup},
		{"dh-fixed-group/g = p − 1", "dh-fixed-group", attacker.InjectGPMinus1, kex.ErrBadGroup},
		{"signature-replay-refused/yesterday's signature", "signature-replay-refused", "", kex.ErrBadSignature},
		{"misbinding-refused/Eve's certificate and signature", "misbinding-refused", "", kex.ErrBadFinished},
	}
	for _, tt := range tests {
		for _, tr := range scenarios.Transports() {
			t.Run(tt.name+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, tt.scenario, &scenarios.Options{Transport: tr, Attack: tt.attack})
				if tt.scenario == "dh-fixed-group" {
					bobRefused(t, o, tt.want)
					return
				}
				refusedBeforeData(t, o, tt.want, tt.want.Error())
			})
		}
	}
}

// TestNonceReuse:
//
// ATTACK SCENARIO: Alice keeps one RSA key for good. Mallory recorded
// yesterday's conversation and knows what she said in it. Today he answers
// her key with yesterday's key_transport, XORs each of her records with
// yesterday's record of the same number and what she said then, replays
// Bob's old replies to her, and talks to Bob as an ordinary client.
//
// THIS TEST VERIFIES: over both transports, he recovers each of Alice's
// new messages byte for byte with no key for her leg, and Bob receives
// them intact; Alice accepts yesterday's replies, byte for byte, in place
// of Bob's; and a message longer than yesterday's is not claimed as read.
func TestNonceReuse(t *testing.T) {
	t.Parallel()
	for _, tr := range scenarios.Transports() {
		t.Run("three short messages/"+string(tr), func(t *testing.T) {
			t.Parallel()
			msgs := []string{"hi Bob, it's Alice", "", "ünïcödé ✓"}
			o := run(t, "nonce-reuse", &scenarios.Options{Transport: tr, Messages: msgs})
			acceptsYesterdaysReplies(t, o, msgs)
		})
	}
	t.Run("a message longer than yesterday's is not read", func(t *testing.T) {
		t.Parallel()
		long := strings.Repeat("a message longer than anything Alice said yesterday ", 2)
		o := run(t, "nonce-reuse", &scenarios.Options{Messages: []string{"hi Bob", long, "bye"}})
		if o.Misread() != 0 {
			t.Fatalf("Misread() = %d", o.Misread())
		}
		if m := o.Messages[1]; m.Recovered != nil || m.Delivered() {
			t.Errorf("the long message: recovered %q, Bob accepted %q; want it neither read nor passed on", m.Recovered, m.Accepted)
		}
		if !o.Messages[0].Read() || !o.Messages[2].Read() {
			t.Errorf("the short messages were not read: %s", o.Summary())
		}
	})
	t.Run("with no attacker both conversations are clean", func(t *testing.T) {
		t.Parallel()
		o := run(t, "nonce-reuse", &scenarios.Options{NoAttacker: true})
		if o.MessagesDelivered() != len(o.Messages) || o.AttackerRead() != 0 || o.Detected {
			t.Errorf("%s", o.Summary())
		}
	})
}

// TestMisbinding:
//
// ATTACK SCENARIO: Alice trusts two servers, Bob and Eve. Eve sits on the
// path, relays Alice's hello to Bob, and sends Alice Bob's hello with her
// own certificate in it and her own signature over both hellos.
//
// THIS TEST VERIFIES: over both transports, under sign-only Alice accepts
// a handshake whose certificate is Eve's while every record she sends is
// opened by Bob, who answers her, and Eve reads nothing. Under pinned-ecdh
// the same swap is refused by Alice's check of the finished MAC; and Eve
// presenting herself openly (impersonate) is simply a server Alice
// trusts, which reads the chat Alice sends it.
func TestMisbinding(t *testing.T) {
	t.Parallel()
	for _, tr := range scenarios.Transports() {
		t.Run("sign-only/"+string(tr), func(t *testing.T) {
			t.Parallel()
			msgs := []string{"for Eve's eyes only: my card PIN is 4921", ""}
			o := run(t, "misbinding", &scenarios.Options{Transport: tr, Messages: msgs})
			misbound(t, o, msgs)
		})
	}
	t.Run("Eve in the open is a server Alice chose to trust", func(t *testing.T) {
		t.Parallel()
		o := run(t, "misbinding", &scenarios.Options{Attack: attacker.Impersonate})
		readEverything(t, o, scenarios.DefaultScript())
		if got := certificateOn(t, o, trace.LegA); got != "eve" {
			t.Errorf("Alice was shown %q, want eve", got)
		}
	})
	t.Run("with no attacker Alice talks to Bob and knows it", func(t *testing.T) {
		t.Parallel()
		o := run(t, "misbinding", &scenarios.Options{NoAttacker: true})
		if o.MessagesDelivered() != len(o.Messages) || o.Detected {
			t.Fatalf("%s", o.Summary())
		}
		if got := certificateOn(t, o, trace.LegWire); got != "bob" {
			t.Errorf("Alice was shown %q, want bob", got)
		}
	})
}

// acceptsYesterdaysReplies is the outcome of nonce-reuse: Alice's messages
// read byte for byte with no key for her leg and delivered to Bob intact,
// Bob's replies read on his leg, and yesterday's replies accepted by
// Alice in their place, byte for byte, with nobody noticing.
func acceptsYesterdaysReplies(t *testing.T, o *scenarios.Outcome, msgs []string) {
	t.Helper()
	yesterday := bobSays(scenarios.YesterdayScript())
	today := bobSays(msgs)
	if len(o.Messages) != 2*len(msgs) {
		t.Fatalf("%d messages, want %d: %s", len(o.Messages), 2*len(msgs), o.Summary())
	}
	for i, m := range o.Messages {
		want := []byte(append(msgs, today...)[i])
		if !bytes.Equal(m.Text, want) || !m.Read() {
			t.Errorf("message %d %q: the attacker recovered %q", i, want, m.Recovered)
		}
		switch m.From {
		case "client":
			if !m.Delivered() {
				t.Errorf("message %d %q: Bob accepted %q", i, want, m.Accepted)
			}
		case "server":
			if old := []byte(yesterday[m.Seq]); !bytes.Equal(m.Accepted, old) {
				t.Errorf("reply %d: Alice accepted %q, want yesterday's %q", m.Seq, m.Accepted, old)
			}
		}
	}
	if o.Detected || o.ClientErr != nil || o.ServerErr != nil || o.MessagesAltered() != len(msgs) {
		t.Errorf("%s (client %v, server %v)", o.Summary(), o.ClientErr, o.ServerErr)
	}
	// Her leg: records read with no key of Mallory's, and old replies.
	for _, e := range o.Events {
		if e.Conn != 2 || e.Leg != trace.LegA || e.Type != string(wire.TypeData) {
			continue
		}
		switch {
		case e.Dir == wire.ClientToServer && e.Verdict != trace.Read:
			t.Errorf("event %d: Alice's record is %s, want read by XOR", e.Index, e.Verdict)
		case e.Dir == wire.ServerToClient && e.Verdict != trace.Replayed:
			t.Errorf("event %d: a record to Alice is %s, want replayed", e.Index, e.Verdict)
		}
	}
}

// misbound is the outcome of misbinding: every message delivered intact
// to and from Bob, nothing read, nobody noticing, while the certificate
// Alice accepted is Eve's.
func misbound(t *testing.T, o *scenarios.Outcome, msgs []string) {
	t.Helper()
	sent, repl := script(msgs)
	for i, want := range append(sent, repl...) {
		if m := o.Messages[i]; !bytes.Equal(m.Text, want) || !m.Delivered() || m.Recovered != nil {
			t.Errorf("message %d %q: delivered %v, recovered %q", i, want, m.Delivered(), m.Recovered)
		}
	}
	if o.Detected || o.ClientErr != nil || o.ServerErr != nil || o.AttackerRead() != 0 || o.ServerEnding != victim.EndClean {
		t.Errorf("%s (client %v, server %v, ending %q)", o.Summary(), o.ClientErr, o.ServerErr, o.ServerEnding)
	}
	if a, b := certificateOn(t, o, trace.LegA), certificateOn(t, o, trace.LegB); a != "eve" || b != "bob" {
		t.Errorf("Alice accepted the certificate of %q, Bob sent %q; want eve and bob", a, b)
	}
	for _, e := range o.Events {
		if e.Type == string(wire.TypeData) && e.Verdict != trace.Opaque {
			t.Errorf("event %d: a record is %s; Eve holds no key", e.Index, e.Verdict)
		}
	}
}

// certificateOn returns the common name in the server_hello that crossed
// leg toward Alice.
// bobSays is what Bob answers to msgs.
func bobSays(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(victim.DefaultReply([]byte(m))))
	}
	return out
}

func certificateOn(t *testing.T, o *scenarios.Outcome, leg trace.Leg) string {
	t.Helper()
	for _, e := range o.Events {
		if e.Leg == leg && e.Dir == wire.ServerToClient && e.Type == "server_hello" {
			sh, err := wire.DecodeAs[*kex.ServerHello](kex.SignOnly().Codec(), e.Raw)
			if err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(sh.Certificate)
			if err != nil {
				t.Fatal(err)
			}
			return c.Subject.CommonName
		}
	}
	t.Fatalf("no server_hello on leg %s", leg)
	return ""
}

// bobRefused checks that Bob refused with want before a single record,
// and the attacker read nothing.
func bobRefused(t *testing.T, o *scenarios.Outcome, want error) {
	t.Helper()
	if o.DetectedBy != "server" || !errors.Is(o.ServerErr, want) || o.Reason != want.Error() || o.MessagesSent() != 0 || o.AttackerRead() != 0 {
		t.Errorf("%s (server %v); want Bob to refuse with %v", o.Summary(), o.ServerErr, want)
	}
	for _, e := range o.Events {
		if e.Type == string(wire.TypeData) || e.Type == string(wire.TypeEnd) {
			t.Errorf("a record crossed a leg: event %d", e.Index)
		}
	}
}
