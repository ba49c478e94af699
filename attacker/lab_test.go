package attacker_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
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
// far slower than everything else a test does. The victims share one RSA
// key (Alice's in plaintext-rsa, Bob's in static-rsa); Mallory has his
// own.
var (
	victimRSA       = sync.OnceValue(func() *rsa.PrivateKey { return newRSAKey() })
	malloryRSA      = sync.OnceValue(func() *rsa.PrivateKey { return newRSAKey() })
	bobIdentity     = sync.OnceValue(func() *kex.Identity { return newIdentity("bob") })
	malloryIdentity = sync.OnceValue(func() *kex.Identity { return newIdentity("mallory") })
)

func newRSAKey() *rsa.PrivateKey {
	k, err := kex.NewRSAKey()
	if err != nil {
		panic(err)
	}
	return k
}

func newIdentity(name string) *kex.Identity {
	id, err := kex.NewIdentity(name)
	if err != nil {
		panic(err)
	}
	return id
}

// setup is one scheme with what each victim needs to run it.
type setup struct {
	scheme *kex.Scheme
	server *kex.ServerConfig
	client *kex.ClientConfig
}

// setups returns every built-in scheme, in the order the lab teaches them.
func setups() []setup {
	return []setup{
		{kex.PlaintextRSA(), nil, &kex.ClientConfig{RSAKey: victimRSA()}},
		{kex.UnauthECDH(), nil, nil},
		{kex.PinnedECDH(), &kex.ServerConfig{Identity: bobIdentity()}, &kex.ClientConfig{Pin: bobIdentity().Pin()}},
		{kex.StaticRSA(), &kex.ServerConfig{RSAKey: victimRSA()}, nil},
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

// lookup returns the table's attack called name.
func lookup(t *testing.T, name string) *attacker.Attack {
	t.Helper()
	a, err := attacker.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// lab is Bob and Mallory on loopback, each behind an httptest server, with
// every session Bob ends delivered on bobEnded.
type lab struct {
	su       setup
	bob      *victim.Server
	bobSrv   *httptest.Server
	bobEnded chan *victim.ServerSession
	node     *attacker.Node
	nodeSrv  *httptest.Server
	log      *trace.Log
}

// newLab starts Bob for su and Mallory in front of him. opts, if not nil,
// adjusts Mallory's options (Scheme, Upstream, keys and Log are set); bob,
// if not nil, is Bob's.
func newLab(t *testing.T, su setup, attack *attacker.Attack, opts func(*attacker.Options), bob *victim.ServerOptions) *lab {
	t.Helper()
	l := &lab{su: su, bobEnded: make(chan *victim.ServerSession, 16), log: trace.NewLog(nil)}
	var bo victim.ServerOptions
	if bob != nil {
		bo = *bob
	}
	if bo.Config == nil {
		bo.Config = su.server
	}
	bo.OnSessionEnd = func(s *victim.ServerSession) { l.bobEnded <- s }
	l.bob = victim.NewServer(su.scheme, &bo)
	l.bobSrv = httptest.NewServer(l.bob)
	o := attacker.Options{
		Scheme:   su.scheme,
		Attack:   attack,
		Upstream: wsURL(l.bobSrv) + victim.Path(su.scheme.Name),
		Log:      l.log,
		RSAKey:   malloryRSA(),
		Identity: malloryIdentity(),
	}
	if opts != nil {
		opts(&o)
	}
	node, err := attacker.New(o)
	if err != nil {
		l.bobSrv.Close()
		l.bob.Close()
		t.Fatal(err)
	}
	l.node = node
	l.nodeSrv = httptest.NewServer(node)
	// Cleanups run last-registered first: Mallory, then Bob, then the
	// listeners.
	t.Cleanup(l.bobSrv.Close)
	t.Cleanup(l.nodeSrv.Close)
	t.Cleanup(l.bob.Close)
	t.Cleanup(l.node.Close)
	return l
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// url is where Alice dials: Mallory, at the scheme's path.
func (l *lab) url() string { return wsURL(l.nodeSrv) + victim.Path(l.su.scheme.Name) }

// alice returns an honest client for the lab's scheme.
func (l *lab) alice() *victim.Client {
	return &victim.Client{Scheme: l.su.scheme, Config: l.su.client}
}

// settle waits until Mallory and Bob have finished every connection, so
// that the ledger is complete.
func (l *lab) settle() {
	l.node.Wait()
	l.bob.Wait()
}

// bobSession returns the next session Bob ended.
func (l *lab) bobSession(t *testing.T) *victim.ServerSession {
	t.Helper()
	select {
	case s := <-l.bobEnded:
		return s
	case <-testContext(t).Done():
		t.Fatal("Bob ended no session")
		return nil
	}
}

// rawDial opens a WebSocket to url offering scheme's subprotocol, so that
// the test can act as a victim no honest client would be.
func rawDial(t *testing.T, url, scheme string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(testContext(t), url, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol(scheme)}})
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
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

// The messages Alice sends through Mallory.
var chat = [][]byte{[]byte("hi Bob, it's Alice"), []byte("my card PIN is 4921"), {}, []byte("Grüße 🔐")}

// eventsWhere returns the events that match f.
func eventsWhere(events []trace.Event, f func(trace.Event) bool) []trace.Event {
	var out []trace.Event
	for _, e := range events {
		if f(e) {
			out = append(out, e)
		}
	}
	return out
}

// on matches events of type typ on leg in direction dir.
func on(leg trace.Leg, dir wire.Direction, typ string) func(trace.Event) bool {
	return func(e trace.Event) bool { return e.Leg == leg && e.Dir == dir && e.Type == typ }
}

// records returns the data events on leg in direction dir, in order.
func records(events []trace.Event, leg trace.Leg, dir wire.Direction) []trace.Event {
	return eventsWhere(events, on(leg, dir, string(wire.TypeData)))
}

// closesOn returns the close events on leg.
func closesOn(events []trace.Event, leg trace.Leg) []trace.Event {
	return eventsWhere(events, func(e trace.Event) bool { return e.Leg == leg && e.Type == trace.TypeClose })
}

// dump logs the ledger, for a failing test.
func dump(t *testing.T, events []trace.Event) {
	t.Helper()
	for _, e := range events {
		seq := ""
		if e.Seq != nil {
			seq = " seq " + strconv.FormatUint(*e.Seq, 10)
		}
		t.Logf("#%d conn %d leg %s %s %s%s %s: %s", e.Index, e.Conn, e.Leg, e.Dir, e.Type, seq, e.Verdict, e.Note)
	}
}

// newHTTPServer serves h on loopback until the test ends (closing h first
// if it is a node or a server) and returns its ws:// base URL.
func newHTTPServer(t *testing.T, h interface {
	http.Handler
	Close()
}) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close)
	return wsURL(srv)
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
