package victim_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// testContext bounds a test that would otherwise hang on a broken peer. It
// is a guard, never a timing assertion: no test waits for it to expire.
func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// The long-term keys, made once per test binary: RSA-2048 generation is
// far slower than everything else a test does.
var (
	rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := kex.NewRSAKey()
		if err != nil {
			panic(err)
		}
		return k
	})
	bobIdentity = sync.OnceValue(func() *kex.Identity {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			panic(err)
		}
		return id
	})
)

// setup is one scheme with what each side needs to run it.
type setup struct {
	scheme *kex.Scheme
	server *kex.ServerConfig
	client *kex.ClientConfig
}

// setups returns every built-in scheme, in the order the lab teaches them.
func setups() []setup {
	return []setup{
		// The plaintext-rsa client's key is given, so that no handshake
		// generates one.
		{kex.PlaintextRSA(), nil, &kex.ClientConfig{RSAKey: rsaKey()}},
		{kex.UnauthECDH(), nil, nil},
		{kex.PinnedECDH(), &kex.ServerConfig{Identity: bobIdentity()}, &kex.ClientConfig{Pin: bobIdentity().Pin()}},
		{kex.StaticRSA(), &kex.ServerConfig{RSAKey: rsaKey()}, nil},
		{kex.Plain(), nil, nil},
	}
}

func setupFor(t *testing.T, name string) setup {
	t.Helper()
	for _, su := range setups() {
		if su.scheme.Name == name {
			return su
		}
	}
	t.Fatalf("no scheme %q", name)
	return setup{}
}

// bob is a victim.Server behind a loopback httptest server, with every
// session that ends delivered on ended.
type bob struct {
	*victim.Server
	srv   *httptest.Server
	setup setup
	ended chan *victim.ServerSession
}

// newBob starts Bob for su. opts may be nil; its Config defaults to su's,
// and its OnSessionEnd is called before the session is delivered.
func newBob(t *testing.T, su setup, opts *victim.ServerOptions) *bob {
	t.Helper()
	var o victim.ServerOptions
	if opts != nil {
		o = *opts
	}
	if o.Config == nil {
		o.Config = su.server
	}
	b := &bob{setup: su, ended: make(chan *victim.ServerSession, 16)}
	then := o.OnSessionEnd
	o.OnSessionEnd = func(s *victim.ServerSession) {
		if then != nil {
			then(s)
		}
		b.ended <- s
	}
	b.Server = victim.NewServer(su.scheme, &o)
	b.srv = httptest.NewServer(b.Server)
	t.Cleanup(func() {
		b.Server.Close()
		b.srv.Close()
	})
	return b
}

// url is Bob's URL for his scheme.
func (b *bob) url() string { return b.at(victim.Path(b.setup.scheme.Name)) }

// at is Bob's URL for path.
func (b *bob) at(path string) string { return wsURL(b.srv) + path }

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// alice returns an honest client for Bob's scheme.
func (b *bob) alice() *victim.Client {
	return &victim.Client{Scheme: b.setup.scheme, Config: b.setup.client}
}

// session returns the next session that ended.
func (b *bob) session(t *testing.T) *victim.ServerSession {
	t.Helper()
	select {
	case s := <-b.ended:
		return s
	case <-testContext(t).Done():
		t.Fatal("no session ended")
		return nil
	}
}

// rawDial opens a WebSocket to url offering scheme's subprotocol, so that
// the test can send whatever it likes.
func rawDial(t *testing.T, url, scheme string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(testContext(t), url, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol(scheme)}})
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// rawHandshake dials Bob with a raw WebSocket and runs the scheme's real
// client half over it. It returns the connection and the traffic keys, so
// that the test can write records an honest client never would.
func rawHandshake(t *testing.T, b *bob) (*wire.Conn, *channel.Secrets) {
	t.Helper()
	sch := b.setup.scheme
	conn := wire.NewConn(rawDial(t, b.url(), sch.Name), sch.Codec())
	secrets, err := sch.Client(testContext(t), conn, b.setup.client)
	if err != nil {
		t.Fatalf("client half: %v", err)
	}
	secrets.Suite = sch.Suite
	return conn, secrets
}

// rawChannel is rawHandshake with the record layer on top.
func rawChannel(t *testing.T, b *bob) *channel.Channel {
	t.Helper()
	conn, secrets := rawHandshake(t, b)
	ch, err := channel.New(conn, secrets, channel.Client, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// readClose reads until the peer's close frame and returns its code and
// reason; -1 means the connection ended without one.
func readClose(t *testing.T, ws *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx := testContext(t)
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return -1, err.Error()
		}
	}
}

// closeFrame is one close frame a tap saw.
type closeFrame struct {
	sent   bool
	code   websocket.StatusCode
	reason string
}

// closes records the close frames on a client's connection.
type closes struct {
	mu  sync.Mutex
	got []closeFrame
}

func (c *closes) tap(sent bool, code websocket.StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, closeFrame{sent, code, reason})
}

// received returns the close frame the peer sent, if one arrived.
func (c *closes) received() (closeFrame, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.got {
		if !f.sent {
			return f, true
		}
	}
	return closeFrame{}, false
}
