package kex_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// schemes are every scheme the package defines.
func schemes() []*kex.Scheme {
	return []*kex.Scheme{kex.PlaintextRSA(), kex.UnauthECDH(), kex.PinnedECDH(), kex.StaticRSA(), kex.Plain()}
}

func TestSchemesCheck(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, s := range schemes() {
		if err := s.Check(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		if names[s.Name] {
			t.Errorf("two schemes are called %s", s.Name)
		}
		names[s.Name] = true
		if s.Summary == "" || strings.Contains(s.Summary, "\n") {
			t.Errorf("%s: summary %q is not one line", s.Name, s.Summary)
		}
		// The codec knows the handshake's messages and the record layer's.
		c := s.Codec()
		for _, m := range append(s.Messages, &wire.Data{}, &wire.End{}) {
			if !c.Knows(m.MessageType()) {
				t.Errorf("%s codec does not know %s", s.Name, m.MessageType())
			}
		}
		if len(c.Types()) != len(s.Messages)+2 {
			t.Errorf("%s codec knows %q", s.Name, c.Types())
		}
		if s.Identity && s.RSAIdentity {
			t.Errorf("%s needs two kinds of identity", s.Name)
		}
	}
	for name, want := range map[string]string{
		kex.NamePlaintextRSA: "plaintext-rsa", kex.NameUnauthECDH: "unauth-ecdh", kex.NamePinnedECDH: "pinned-ecdh",
		kex.NameStaticRSA: "static-rsa", kex.NamePlain: "plain",
	} {
		if !names[name] || name != want {
			t.Errorf("no scheme called %s", want)
		}
	}
	if !kex.PinnedECDH().Identity || !kex.StaticRSA().RSAIdentity || kex.UnauthECDH().Identity || kex.PlaintextRSA().RSAIdentity {
		t.Errorf("Identity and RSAIdentity do not say which server half needs a key")
	}
	for _, s := range schemes() {
		if want := s.Name == kex.NamePlain; (s.Suite == channel.Null) != want {
			t.Errorf("%s uses suite %q", s.Name, s.Suite)
		}
	}
}

// clashHello is a learner's message that takes the name client_hello.
type clashHello struct{ Greeting string }

func (*clashHello) MessageType() wire.Type { return "client_hello" }
func (m *clashHello) Fields() []wire.Field {
	return []wire.Field{wire.Text("greeting", &m.Greeting, 1, 64)}
}

// myData is a learner's handshake message called "data", the record
// layer's name.
type myData struct{ Blob []byte }

func (*myData) MessageType() wire.Type { return "data" }
func (m *myData) Fields() []wire.Field {
	return []wire.Field{wire.Bytes("blob", &m.Blob, 1, 64)}
}

// twoNonces declares the same field twice.
type twoNonces struct{ A, B []byte }

func (*twoNonces) MessageType() wire.Type { return "two_nonces" }
func (m *twoNonces) Fields() []wire.Field {
	return []wire.Field{wire.Bytes("nonce", &m.A, 32, 32), wire.Bytes("nonce", &m.B, 32, 32)}
}

// valueHello is a message that is not a pointer to a struct.
type valueHello struct{}

func (valueHello) MessageType() wire.Type { return "value_hello" }
func (valueHello) Fields() []wire.Field   { return nil }

// typeMessage is called "type", the name of the type field itself.
type typeMessage struct{}

func (*typeMessage) MessageType() wire.Type { return "type" }
func (*typeMessage) Fields() []wire.Field   { return nil }

func noClient(context.Context, *wire.Conn, *kex.ClientConfig) (*channel.Secrets, error) {
	return nil, errors.New("unused")
}

func noServer(context.Context, *wire.Conn, *kex.ServerConfig) (*channel.Secrets, error) {
	return nil, errors.New("unused")
}

// TestSchemeCheckRefuses: Check stops a learner's scheme that cannot run,
// and says why.
func TestSchemeCheckRefuses(t *testing.T) {
	t.Parallel()
	valid := func(edit func(*kex.Scheme)) *kex.Scheme {
		s := &kex.Scheme{Name: "my-scheme", Messages: []wire.Message{&kex.ClientHello{}, &kex.ServerHello{}}, Client: noClient, Server: noServer}
		edit(s)
		return s
	}
	if err := valid(func(*kex.Scheme) {}).Check(); err != nil {
		t.Fatalf("the valid base scheme fails Check: %v", err)
	}
	named := func(name string) *kex.Scheme { return valid(func(s *kex.Scheme) { s.Name = name }) }
	tests := []struct {
		name   string
		scheme *kex.Scheme
		says   string
	}{
		{"scheme/no scheme at all", nil, "no scheme"},
		{"scheme/empty name", named(""), "scheme name"},
		{"scheme/name with capitals", named("Pinned-ECDH"), "scheme name"},
		{"scheme/name with a space", named("pinned ecdh"), "scheme name"},
		{"scheme/name with an underscore", named("pinned_ecdh"), "scheme name"},
		{"scheme/name with a dot, as in a subprotocol", named("mitmlab.v2"), "scheme name"},
		{"scheme/name starting with a hyphen", named("-ecdh"), "scheme name"},
		{"scheme/name of 64 characters", named(strings.Repeat("a", 64)), "scheme name"},
		{"scheme/no client half", valid(func(s *kex.Scheme) { s.Client = nil }), "needs both a client and a server half"},
		{"scheme/no server half", valid(func(s *kex.Scheme) { s.Server = nil }), "needs both a client and a server half"},
		{"scheme/two messages called client_hello", valid(func(s *kex.Scheme) { s.Messages = append(s.Messages, &clashHello{}) }), "client_hello"},
		{"scheme/a handshake message called data clashes with the record layer", valid(func(s *kex.Scheme) { s.Messages = append(s.Messages, &myData{}) }), "data"},
		{"scheme/a message with two fields called nonce", valid(func(s *kex.Scheme) { s.Messages = append(s.Messages, &twoNonces{}) }), "nonce"},
		{"scheme/a message that is not a pointer", valid(func(s *kex.Scheme) { s.Messages = append(s.Messages, valueHello{}) }), "not a pointer"},
		{"scheme/a message called type", valid(func(s *kex.Scheme) { s.Messages = append(s.Messages, &typeMessage{}) }), "invalid type name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.scheme.Check()
			if err == nil {
				t.Fatal("Check accepted it")
			}
			if !strings.HasPrefix(err.Error(), "kex: ") || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("Check = %q, want a kex: error that says %q", err, tt.says)
			}
		})
	}
	for _, ok := range []string{"a", "0rtt", "pinned-ecdh-", strings.Repeat("a", 63)} {
		if err := named(ok).Check(); err != nil {
			t.Errorf("Check refuses the name %q: %v", ok, err)
		}
	}
	// The same Go type twice is one message, not a clash.
	if err := valid(func(s *kex.Scheme) { s.Messages = append(s.Messages, &kex.ClientHello{}) }).Check(); err != nil {
		t.Errorf("Check refuses a message listed twice: %v", err)
	}
}

// TestCodecPanicsOnAnUncheckedScheme: Codec is for schemes that passed
// Check, and says so when it is not.
func TestCodecPanicsOnAnUncheckedScheme(t *testing.T) {
	t.Parallel()
	s := &kex.Scheme{Name: "clash", Messages: []wire.Message{&kex.ClientHello{}, &clashHello{}}, Client: noClient, Server: noServer}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "call Check first") {
			t.Errorf("Codec panicked with %v", r)
		}
	}()
	s.Codec()
}

// TestSchemeHas: the attacks ask a scheme which messages and fields it
// has; the answer comes from the messages themselves.
func TestSchemeHas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scheme *kex.Scheme
		typ    wire.Type
		field  string
		want   bool
	}{
		{kex.PinnedECDH(), "server_hello", "certificate", true},
		{kex.PinnedECDH(), "client_hello", "offered", true},
		{kex.PinnedECDH(), "server_verify", "", true},
		{kex.PinnedECDH(), "server_verify", "signature", true},
		{kex.PinnedECDH(), "client_finished", "mac", true},
		{kex.PinnedECDH(), "client_hello", "certificate", false},
		{kex.PinnedECDH(), "rsa_public_key", "", false},
		{kex.UnauthECDH(), "client_hello", "key_share", true},
		{kex.UnauthECDH(), "server_verify", "", false},
		{kex.PlaintextRSA(), "rsa_public_key", "spki", true},
		{kex.PlaintextRSA(), "key_transport", "wrapped", true},
		{kex.StaticRSA(), "rsa_public_key", "spki", true},
		{kex.StaticRSA(), "client_hello", "", false},
		{kex.Plain(), "client_hello", "", false},
		// The record layer's messages are not the scheme's.
		{kex.PinnedECDH(), "data", "", false},
		{kex.PinnedECDH(), "", "", false},
	}
	for _, tt := range tests {
		if got := tt.scheme.Has(tt.typ, tt.field); got != tt.want {
			t.Errorf("%s.Has(%q, %q) = %v, want %v", tt.scheme.Name, tt.typ, tt.field, got, tt.want)
		}
	}
	if m := kex.PinnedECDH().Message("server_verify"); m == nil || m.MessageType() != "server_verify" {
		t.Errorf("Message(server_verify) = %v", m)
	}
	if m := kex.Plain().Message("client_hello"); m != nil {
		t.Errorf("plain has a client_hello: %v", m)
	}
}

func TestHandshakeErrorAndDetected(t *testing.T) {
	t.Parallel()
	he := &kex.HandshakeError{Scheme: "pinned-ecdh", Side: kex.ClientSide, Step: "check pin", Err: kex.ErrPinMismatch}
	if he.Error() != "pinned-ecdh client: check pin: key does not match pin" {
		t.Errorf("Error() = %q", he.Error())
	}
	if !errors.Is(he, kex.ErrPinMismatch) || errors.Unwrap(he) != kex.ErrPinMismatch {
		t.Errorf("HandshakeError does not unwrap to its error")
	}
	if !kex.Detected(he) || kex.Reason(he) != "key does not match pin" {
		t.Errorf("Detected = %v, Reason = %q", kex.Detected(he), kex.Reason(he))
	}
	for _, err := range []error{kex.ErrNoPin, kex.ErrBadPin, kex.ErrNoIdentity, kex.ErrTruncatedHandshake, context.Canceled, nil} {
		if kex.Detected(err) {
			t.Errorf("%v counts as a detection", err)
		}
	}
	if kex.Reason(nil) != "" || kex.Reason(kex.ErrNoPin) != kex.ErrNoPin.Error() {
		t.Error("Reason of a non-security error is not its text")
	}
	// Every security sentinel closes with 1008 and is detected.
	for _, err := range []error{kex.ErrPinMismatch, kex.ErrBadSignature, kex.ErrBadFinished, kex.ErrLowOrderPoint,
		kex.ErrBadCertificate, kex.ErrNotEd25519, kex.ErrSchemeNotOffered, kex.ErrNoCommonScheme, kex.ErrBadKey,
		kex.ErrKeySize, kex.ErrBadKeyTransport, kex.ErrMissingIdentity, kex.ErrDowngrade} {
		if !kex.Detected(err) || wire.CloseCode(err) != policy || len(err.Error()) > 123 {
			t.Errorf("%q: Detected %v, close code %d, %d bytes", err, kex.Detected(err), wire.CloseCode(err), len(err.Error()))
		}
	}
}
