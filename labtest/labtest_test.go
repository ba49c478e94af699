package labtest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/labtest"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/wire"
)

// greetingHello is a learner's own hello: an X25519 key share, a nonce,
// and a field no lab message has.
type greetingHello struct {
	Nonce, KeyShare []byte
	Greeting        string
}

func (*greetingHello) MessageType() wire.Type { return "greeting_hello" }
func (m *greetingHello) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("nonce", &m.Nonce, 32, 32),
		wire.Bytes("key_share", &m.KeyShare, 32, 32),
		wire.Text("greeting", &m.Greeting, 1, 64),
	}
}

// greetingScheme is a learner's whole scheme: unauthenticated ECDH with
// its own message, both ways.
func greetingScheme() *kex.Scheme {
	half := func(ctx context.Context, conn *wire.Conn, r bool) (*channel.Secrets, error) {
		ks, err := kex.NewKeyShare(nil)
		if err != nil {
			return nil, err
		}
		send := func() ([]byte, error) {
			return conn.WriteMessage(ctx, &greetingHello{Nonce: ks.Nonce, KeyShare: ks.Public(), Greeting: "hello"})
		}
		recv := func() ([]byte, *greetingHello, error) {
			b, err := conn.Read(ctx)
			if err != nil {
				return nil, nil, err
			}
			m, err := wire.DecodeAs[*greetingHello](conn.Codec(), b)
			if err != nil {
				return nil, nil, conn.Fail(err)
			}
			return b, m, nil
		}
		var mine, theirs []byte
		var peer *greetingHello
		if r { // the server reads first
			if theirs, peer, err = recv(); err == nil {
				mine, err = send()
			}
		} else if mine, err = send(); err == nil {
			theirs, peer, err = recv()
		}
		if err != nil {
			return nil, err
		}
		shared, err := ks.Shared(peer.KeyShare)
		if err != nil {
			return nil, conn.Fail(err)
		}
		if r {
			return kex.UnauthSecrets(shared, theirs, mine), nil
		}
		return kex.UnauthSecrets(shared, mine, theirs), nil
	}
	return &kex.Scheme{
		Name:     "greeting-ecdh",
		Summary:  "a learner's scheme with a field of its own",
		Messages: []wire.Message{&greetingHello{}},
		Client: func(ctx context.Context, c *wire.Conn, _ *kex.ClientConfig) (*channel.Secrets, error) {
			return half(ctx, c, false)
		},
		Server: func(ctx context.Context, c *wire.Conn, _ *kex.ServerConfig) (*channel.Secrets, error) {
			return half(ctx, c, true)
		},
	}
}

// TestCustomSchemeWithItsOwnField: a learner's scheme whose message has a
// field no lab message has runs through the passive relay, and labtest
// attacks it: the attacks that need other messages say why they cannot
// apply, and double-handshake, which runs the scheme's own halves with
// Mallory's keys, reads it, as it reads any scheme with no authentication.
func TestCustomSchemeWithItsOwnField(t *testing.T) {
	t.Parallel()
	s := greetingScheme()
	o, err := scenarios.RunScenario(t.Context(), scenarios.Scenario{Name: "custom", Scheme: s, Attack: "passive"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.MessagesDelivered() != len(o.Messages) || o.AttackerRead() != 0 || o.ClientErr != nil || o.ServerErr != nil {
		t.Fatalf("through the passive relay: %s", o.Summary())
	}
	r, err := labtest.Run(t.Context(), labtest.Scheme(s), &labtest.Options{Mutations: 50})
	if err != nil {
		t.Fatal(err)
	}
	na := 0
	for _, a := range r.Attempts {
		if a.Result == labtest.NotApplicable {
			na++
			if a.Reason == "" {
				t.Errorf("%s: not applicable, but does not say why", a.Attack)
			}
		}
	}
	if na == 0 {
		t.Errorf("no attack said it cannot apply:\n%s", r)
	}
	if r.Passed() {
		t.Fatalf("an unauthenticated scheme passed:\n%s", r)
	}
	if f := r.Failures(); f[0].Attack != "double-handshake" || f[0].Read != len(o.Messages) {
		t.Errorf("failures %+v, want double-handshake reading all %d messages", f, len(o.Messages))
	}
}

// TestAttackFailsTheTest: labtest.Attack fails a test for a weak client.
func TestAttackFailsTheTest(t *testing.T) {
	t.Parallel()
	ft := &fakeT{TB: t}
	labtest.Attack(ft, labtest.Client(kex.PinnedECDH(), weakClient), labtest.Options{Mutations: -1})
	if !ft.failed || !strings.Contains(ft.msg, "impersonate") {
		t.Errorf("Attack did not fail the test with the attack that read it: failed=%v %q", ft.failed, ft.msg)
	}
}

type fakeT struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeT) Errorf(format string, args ...any) {
	f.failed = true
	f.msg = strings.TrimSpace(strings.Join([]string{f.msg, sprintf(format, args...)}, "\n"))
}
func (f *fakeT) Helper() {}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
