package attacker_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// TestAttackTable: the table is the one list of attacks, and Lookup
// answers for it.
func TestAttackTable(t *testing.T) {
	t.Parallel()
	t.Run("every attack has a unique name and a summary", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		var names []string
		for _, a := range attacker.Attacks() {
			if a.Name == "" || seen[a.Name] {
				t.Errorf("attack name %q is empty or listed twice", a.Name)
			}
			seen[a.Name] = true
			names = append(names, a.Name)
			if a.Summary == "" {
				t.Errorf("%s has no summary", a.Name)
			}
		}
		if got := attacker.Names(); !slices.Equal(got, names) {
			t.Errorf("Names() = %q, want the table's order %q", got, names)
		}
		for _, n := range []string{attacker.Passive, attacker.SwapRSAKey, attacker.DoubleECDH, attacker.Impersonate,
			attacker.SubstituteShares, attacker.StripOffer, attacker.DoubleHandshake, attacker.Truncate, attacker.MutateName,
			attacker.TerminateTLS, attacker.MisIssuedCert} {
			if !seen[n] {
				t.Errorf("the table has no %s", n)
			}
		}
	})
	t.Run("Lookup finds every attack in the table", func(t *testing.T) {
		t.Parallel()
		for _, n := range attacker.Names() {
			if a, err := attacker.Lookup(n); err != nil || a.Name != n {
				t.Errorf("Lookup(%q) = %v, %v", n, a, err)
			}
		}
	})
	tests := []struct {
		name, lookup string
		want         []string // in the error
	}{
		{"a typo gets a suggestion", "pasive", []string{`unknown attack "pasive"`, `did you mean "passive"?`, "attacks: passive, swap-rsa-key,"}},
		{"a near miss of a longer name", "double-ecdhe", []string{`did you mean "double-ecdh"?`}},
		{"a name far from all gets the list only", "telepathy", []string{`unknown attack "telepathy" (attacks: passive,`}},
		{"an empty name is unknown", "", []string{`unknown attack ""`}},
	}
	for _, tt := range tests {
		t.Run("Lookup/"+tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := attacker.Lookup(tt.lookup)
			if !errors.Is(err, attacker.ErrUnknownAttack) {
				t.Fatalf("Lookup(%q) = %v, %v; want ErrUnknownAttack", tt.lookup, a, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.lookup == "telepathy" && strings.Contains(err.Error(), "did you mean") {
				t.Errorf("error %q suggests a name far from %q", err, tt.lookup)
			}
		})
	}
}

// overWS says, for each attack and scheme over ws://, whether the attack
// applies ("") or what its NotApplicableError's Why names.
var overWS = map[string]map[string]string{
	attacker.Passive:          {"plaintext-rsa": "", "unauth-ecdh": "", "pinned-ecdh": "", "static-rsa": "", "plain": ""},
	attacker.SwapRSAKey:       {"plaintext-rsa": "", "unauth-ecdh": "rsa_public_key.spki, key_transport.wrapped", "pinned-ecdh": "rsa_public_key.spki, key_transport.wrapped", "static-rsa": "", "plain": "rsa_public_key.spki, key_transport.wrapped"},
	attacker.DoubleECDH:       {"plaintext-rsa": "client_hello.key_share, server_hello.key_share", "unauth-ecdh": "", "pinned-ecdh": "the server signs its hello", "static-rsa": "client_hello.key_share, server_hello.key_share", "plain": "client_hello.key_share, server_hello.key_share"},
	attacker.Impersonate:      {"plaintext-rsa": "server_hello.certificate", "unauth-ecdh": "the server proves no identity", "pinned-ecdh": "", "static-rsa": "server_hello.certificate", "plain": "server_hello.certificate"},
	attacker.SubstituteShares: {"plaintext-rsa": "server_hello.certificate, server_verify.signature, client_finished.mac", "unauth-ecdh": "it needs server_verify.signature, client_finished.mac,", "pinned-ecdh": "", "static-rsa": "server_hello.certificate, server_verify.signature", "plain": "server_hello.certificate, server_verify.signature"},
	attacker.StripOffer:       {"plaintext-rsa": "client_hello.offered, server_hello.chosen", "unauth-ecdh": "the server proves no identity", "pinned-ecdh": "", "static-rsa": "client_hello.offered, server_hello.chosen", "plain": "client_hello.offered, server_hello.chosen"},
	// double-handshake is for schemes of the learner's own; plain has no
	// handshake messages at all, so it runs there too.
	attacker.DoubleHandshake: {"plaintext-rsa": "attacks on rsa_public_key cover it", "unauth-ecdh": "attacks on client_hello cover it", "pinned-ecdh": "attacks on client_hello cover it", "static-rsa": "attacks on rsa_public_key cover it", "plain": ""},
	attacker.Truncate:        {"plaintext-rsa": "", "unauth-ecdh": "", "pinned-ecdh": "", "static-rsa": "", "plain": ""},
	attacker.MutateName:      {"plaintext-rsa": "", "unauth-ecdh": "", "pinned-ecdh": "", "static-rsa": "", "plain": ""},
	attacker.TerminateTLS:    {"plaintext-rsa": "ws:// with no TLS", "unauth-ecdh": "ws:// with no TLS", "pinned-ecdh": "ws:// with no TLS", "static-rsa": "ws:// with no TLS", "plain": "ws:// with no TLS"},
	attacker.MisIssuedCert:   {"plaintext-rsa": "ws:// with no TLS", "unauth-ecdh": "ws:// with no TLS", "pinned-ecdh": "ws:// with no TLS", "static-rsa": "ws:// with no TLS", "plain": "ws:// with no TLS"},
	// The browser lesson (attacks_browser.go): impersonate, with the pin in the victim page rewritten first.
	attacker.RewritePin: {"plaintext-rsa": "server_hello.certificate", "unauth-ecdh": "the server proves no identity", "pinned-ecdh": "", "static-rsa": "server_hello.certificate", "plain": "server_hello.certificate"},
	// The lessons on forward secrecy, SAS and records (attacks_lessonsA.go).
	attacker.RecordThenSteal:   {"plaintext-rsa": "", "unauth-ecdh": "", "pinned-ecdh": "", "static-rsa": "", "plain": ""},
	attacker.SASGrind:          {"plaintext-rsa": "client_hello.key_share, server_hello.key_share", "unauth-ecdh": "compare no short authentication string", "pinned-ecdh": "compare no short authentication string", "static-rsa": "client_hello.key_share, server_hello.key_share", "plain": "client_hello.key_share, server_hello.key_share"},
	attacker.FlipBits:          {"plaintext-rsa": "", "unauth-ecdh": "", "pinned-ecdh": "", "static-rsa": "", "plain": ""},
	attacker.ReplayKnownRecord: {"plaintext-rsa": "", "unauth-ecdh": "", "pinned-ecdh": "", "static-rsa": "", "plain": ""},
	// The lessons on groups, freshness and misbinding (attacks_lessonsB.go).
	attacker.ReplayKeyTransport: {"plaintext-rsa": "", "unauth-ecdh": "key_transport.wrapped", "pinned-ecdh": "key_transport.wrapped", "static-rsa": "the client wraps the secret", "plain": "key_transport.wrapped"},
	attacker.InjectG1:           {"plaintext-rsa": "dh_hello.g, dh_reply.key_share", "unauth-ecdh": "dh_hello.g, dh_reply.key_share", "pinned-ecdh": "dh_hello.g, dh_reply.key_share", "static-rsa": "dh_hello.g, dh_reply.key_share", "plain": "dh_hello.g, dh_reply.key_share"},
	attacker.InjectGP:           {"plaintext-rsa": "dh_hello.g, dh_reply.key_share", "unauth-ecdh": "dh_hello.g, dh_reply.key_share", "pinned-ecdh": "dh_hello.g, dh_reply.key_share", "static-rsa": "dh_hello.g, dh_reply.key_share", "plain": "dh_hello.g, dh_reply.key_share"},
	attacker.InjectGPMinus1:     {"plaintext-rsa": "dh_hello.g, dh_reply.key_share", "unauth-ecdh": "dh_hello.g, dh_reply.key_share", "pinned-ecdh": "dh_hello.g, dh_reply.key_share", "static-rsa": "dh_hello.g, dh_reply.key_share", "plain": "dh_hello.g, dh_reply.key_share"},
	attacker.SwapIdentity:       {"plaintext-rsa": "server_hello.certificate", "unauth-ecdh": "the server signs nothing here", "pinned-ecdh": "", "static-rsa": "server_hello.certificate", "plain": "server_hello.certificate"},
	attacker.StripToExport:      {"plaintext-rsa": "dh_offer.offered", "unauth-ecdh": "dh_offer.offered", "pinned-ecdh": "dh_offer.offered", "static-rsa": "dh_offer.offered", "plain": "dh_offer.offered"},
	attacker.ReplaySignature:    {"plaintext-rsa": "server_hello.certificate, server_verify.signature, client_finished.mac", "unauth-ecdh": "server_verify.signature, client_finished.mac", "pinned-ecdh": "", "static-rsa": "server_hello.certificate, server_verify.signature", "plain": "server_hello.certificate, server_verify.signature"},
}

// overWSS is overWS for victims that speak wss://: only the attacks that
// copy bytes or work on TLS itself apply, to every scheme.
func overWSS(attack string) string {
	switch attack {
	case attacker.Passive, attacker.TerminateTLS, attacker.MisIssuedCert:
		return ""
	}
	return "terminate TLS first (terminate-tls)"
}

// TestApplies: every attack of the table against every scheme, over ws://
// and wss://, applies or says which field or transport it lacks.
func TestApplies(t *testing.T) {
	t.Parallel()
	for _, a := range attacker.Attacks() {
		for _, su := range setups() {
			for _, tls := range []bool{false, true} {
				want, over := overWS[a.Name][su.scheme.Name], "ws"
				if tls {
					want, over = overWSS(a.Name), "wss"
				}
				t.Run(su.scheme.Name+"/"+a.Name+" over "+over, func(t *testing.T) {
					t.Parallel()
					if _, ok := overWS[a.Name][su.scheme.Name]; !ok {
						t.Fatalf("the test's table has no %s against %s", a.Name, su.scheme.Name)
					}
					checkApplies(t, a, su.scheme, tls, want)
				})
			}
		}
	}
}

func checkApplies(t *testing.T, a *attacker.Attack, scheme *kex.Scheme, tls bool, want string) {
	t.Helper()
	err := a.Applies(scheme, tls)
	if want == "" {
		if err != nil {
			t.Errorf("Applies = %v, want nil", err)
		}
		return
	}
	var na *attacker.NotApplicableError
	if !errors.As(err, &na) {
		t.Fatalf("Applies = %v, want a *NotApplicableError", err)
	}
	if na.Attack != a.Name || na.Scheme != scheme.Name || !strings.Contains(na.Why, want) {
		t.Errorf("NotApplicableError{Attack: %q, Scheme: %q, Why: %q}, want %s, %s and a Why that says %q", na.Attack, na.Scheme, na.Why, a.Name, scheme.Name, want)
	}
	if msg := err.Error(); !strings.Contains(msg, "attack "+a.Name+" does not apply to "+scheme.Name) {
		t.Errorf("error %q does not name the attack and the scheme", msg)
	}
}

// TestFor: For lists exactly the attacks that apply, in the table's order.
func TestFor(t *testing.T) {
	t.Parallel()
	for _, su := range setups() {
		for _, tls := range []bool{false, true} {
			var want []string
			for _, a := range attacker.Attacks() {
				if a.Applies(su.scheme, tls) == nil {
					want = append(want, a.Name)
				}
			}
			var got []string
			for _, a := range attacker.For(su.scheme, tls) {
				got = append(got, a.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("For(%s, tls %v) = %q, want %q", su.scheme.Name, tls, got, want)
			}
			if len(got) == 0 || got[0] != attacker.Passive {
				t.Errorf("For(%s, tls %v) = %q, want passive first", su.scheme.Name, tls, got)
			}
		}
	}
}

// noteHello is a learner's hello: unauth-ecdh's, with a note of the
// client's beside the key share, under a type name of its own.
type noteHello struct {
	Nonce, KeyShare []byte
	Note            string
}

func (*noteHello) MessageType() wire.Type { return "note_hello" }
func (m *noteHello) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("nonce", &m.Nonce, kex.NonceSize, kex.NonceSize),
		wire.Bytes("key_share", &m.KeyShare, kex.KeyShareSize, kex.KeyShareSize),
		wire.Text("note", &m.Note, 1, 64),
	}
}

// noteReply is the learner's server hello.
type noteReply struct{ Nonce, KeyShare []byte }

func (*noteReply) MessageType() wire.Type { return "note_reply" }
func (m *noteReply) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("nonce", &m.Nonce, kex.NonceSize, kex.NonceSize),
		wire.Bytes("key_share", &m.KeyShare, kex.KeyShareSize, kex.KeyShareSize),
	}
}

// noteECDH is a learner's whole scheme: a copy of unauth-ecdh with its own
// message types, built from the exported steps.
func noteECDH() *kex.Scheme {
	return &kex.Scheme{
		Name:     "note-ecdh",
		Summary:  "a learner's unauth-ecdh with a note in the hello",
		Messages: []wire.Message{&noteHello{}, &noteReply{}},
		Client: func(ctx context.Context, conn *wire.Conn, _ *kex.ClientConfig) (*channel.Secrets, error) {
			ks, err := kex.NewKeyShare(nil)
			if err != nil {
				return nil, err
			}
			ch, err := conn.WriteMessage(ctx, &noteHello{Nonce: ks.Nonce, KeyShare: ks.Public(), Note: "from Alice"})
			if err != nil {
				return nil, err
			}
			sh, err := conn.Read(ctx)
			if err != nil {
				return nil, err
			}
			m, err := wire.DecodeAs[*noteReply](conn.Codec(), sh)
			if err != nil {
				return nil, conn.Fail(err)
			}
			shared, err := ks.Shared(m.KeyShare)
			if err != nil {
				return nil, conn.Fail(err)
			}
			return kex.UnauthSecrets(shared, ch, sh), nil
		},
		Server: func(ctx context.Context, conn *wire.Conn, _ *kex.ServerConfig) (*channel.Secrets, error) {
			ch, err := conn.Read(ctx)
			if err != nil {
				return nil, err
			}
			m, err := wire.DecodeAs[*noteHello](conn.Codec(), ch)
			if err != nil {
				return nil, conn.Fail(err)
			}
			ks, err := kex.NewKeyShare(nil)
			if err != nil {
				return nil, err
			}
			shared, err := ks.Shared(m.KeyShare)
			if err != nil {
				return nil, conn.Fail(err)
			}
			sh, err := conn.WriteMessage(ctx, &noteReply{Nonce: ks.Nonce, KeyShare: ks.Public()})
			if err != nil {
				return nil, err
			}
			return kex.UnauthSecrets(shared, ch, sh), nil
		},
	}
}

// TestAppliesToALearnersScheme: a scheme with message types of its own
// gets the attacks that need no field of a known message (double-handshake
// among them: the scheme's own halves, run with each side), and a reason
// for each of the others.
func TestAppliesToALearnersScheme(t *testing.T) {
	t.Parallel()
	scheme := noteECDH()
	if err := scheme.Check(); err != nil {
		t.Fatal(err)
	}
	applies := []string{attacker.Passive, attacker.DoubleHandshake, attacker.Truncate, attacker.MutateName,
		attacker.RecordThenSteal, attacker.FlipBits, attacker.ReplayKnownRecord}
	for _, a := range attacker.Attacks() {
		t.Run("note-ecdh/"+a.Name, func(t *testing.T) {
			t.Parallel()
			want := "which the scheme does not have"
			switch {
			case slices.Contains(applies, a.Name):
				want = ""
			case a.Layer == attacker.TLSLayer:
				want = "ws:// with no TLS"
			}
			checkApplies(t, a, scheme, false, want)
		})
	}
	var got []string
	for _, a := range attacker.For(scheme, false) {
		got = append(got, a.Name)
	}
	if !slices.Equal(got, applies) {
		t.Errorf("For(note-ecdh) = %q, want %q", got, applies)
	}
}

// TestNewRefusesBadOptions: a node that could not run is refused before it
// listens.
func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts attacker.Options
		want string
	}{
		{"no scheme", attacker.Options{Upstream: "ws://bob/unauth-ecdh"}, "no scheme"},
		{"no upstream", attacker.Options{Scheme: kex.UnauthECDH()}, "no upstream"},
		{"an attack that does not apply", attacker.Options{Scheme: kex.PinnedECDH(), Attack: lookup(t, attacker.SwapRSAKey), Upstream: "ws://bob/pinned-ecdh", Identity: malloryIdentity()},
			"attack swap-rsa-key does not apply to pinned-ecdh"},
		{"a TLS attack over ws://", attacker.Options{Scheme: kex.UnauthECDH(), Attack: lookup(t, attacker.TerminateTLS), Upstream: "ws://bob/unauth-ecdh"}, "ws:// with no TLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := attacker.New(tt.opts)
			if err == nil {
				n.Close()
				t.Fatalf("New succeeded, want an error saying %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error saying %q", err, tt.want)
			}
			var na *attacker.NotApplicableError
			if strings.Contains(tt.name, "attack") && !errors.As(err, &na) {
				t.Errorf("New = %v, want it to wrap a *NotApplicableError", err)
			}
		})
	}
	t.Run("no attack means passive, and a ledger of its own", func(t *testing.T) {
		t.Parallel()
		n, err := attacker.New(attacker.Options{Scheme: kex.UnauthECDH(), Upstream: "ws://bob/unauth-ecdh"})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		if n.Attack() == nil || n.Attack().Name != attacker.Passive {
			t.Errorf("Attack() = %v, want passive", n.Attack())
		}
		if n.Log() == nil {
			t.Error("a node with no Log option has no ledger")
		}
	})
}
