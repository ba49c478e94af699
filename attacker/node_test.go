package attacker_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// rawVictim dials Mallory with a raw WebSocket and runs the scheme's real
// client half over it, so that the test can leave as no honest client
// would.
func rawVictim(t *testing.T, l *lab) *channel.Channel {
	t.Helper()
	sch := l.su.scheme
	conn := wire.NewConn(rawDial(t, l.url(), sch.Name), sch.Codec())
	secrets, err := sch.Client(testContext(t), conn, l.su.client)
	if err != nil {
		t.Fatalf("client half: %v", err)
	}
	secrets.Suite = sch.Suite
	ch, err := channel.New(conn, secrets, channel.Client, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// closeFrom returns the close frame the node sent on leg, from the ledger.
func closeFrom(events []trace.Event, leg trace.Leg) (trace.Event, bool) {
	for _, e := range closesOn(events, leg) {
		if (leg == trace.LegA) == (e.Dir == wire.ServerToClient) {
			return e, true
		}
	}
	return trace.Event{}, false
}

// TestNodeClosesBothLegs:
//
// ATTACK SCENARIO: Alice's connection to Mallory vanishes, without a close
// frame, before or after the handshake.
//
// THIS TEST VERIFIES: Mallory closes Bob's leg too, with 1001 "peer
// connection lost", and releases the session: Node.Wait returns and no
// goroutine or socket is left (goleak checks the package).
func TestNodeClosesBothLegs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		handshake bool
	}{
		{"the client drops its TCP connection after a record", true},
		{"the client drops its TCP connection before the handshake", false},
	}
	for _, tt := range tests {
		t.Run("unauth-ecdh/"+tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, setupFor(t, "unauth-ecdh"), nil, nil, nil)
			if tt.handshake {
				ch := rawVictim(t, l)
				ctx := testContext(t)
				if _, err := ch.Send(ctx, []byte("hello")); err != nil {
					t.Fatal(err)
				}
				if r, _, err := ch.Receive(ctx); err != nil || string(r) != "got it: hello" {
					t.Fatalf("reply %q, %v", r, err)
				}
				ch.Conn().CloseNow()
			} else {
				rawDial(t, l.url(), "unauth-ecdh").CloseNow()
			}
			sess := l.bobSession(t)
			l.node.Wait()
			var ce *wire.CloseError
			if !errors.As(sess.Err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "peer connection lost" {
				t.Errorf("Bob's session ended %q with %v, want Mallory's 1001 \"peer connection lost\"", sess.Ending, sess.Err)
			}
			if tt.handshake && !errors.Is(sess.Err, channel.ErrTruncated) {
				t.Errorf("Bob's session error %v, want it truncated", sess.Err)
			}
			events := l.log.Events()
			if e, ok := closeFrom(events, trace.LegB); !ok || e.Verdict != trace.Substituted || !strings.Contains(e.Note, "1001") {
				dump(t, events)
				t.Errorf("Mallory's close on leg B: %+v (%v), want a SUBSTITUTED 1001", e, ok)
			}
			if _, ok := closeFrom(events, trace.LegA); ok {
				t.Error("Mallory sent a close on leg A, which had no one left to read it")
			}
		})
	}
	t.Run("unauth-ecdh/the server drops its TCP connection after a record", func(t *testing.T) {
		t.Parallel()
		su := setupFor(t, "unauth-ecdh")
		bob := rawBob(t, su, func(ch *channel.Channel) { ch.Conn().CloseNow() })
		node, err := attacker.New(attacker.Options{Scheme: su.scheme, Upstream: bob})
		if err != nil {
			t.Fatal(err)
		}
		base := newHTTPServer(t, node)
		var taps closes
		alice := &victim.Client{Scheme: su.scheme, CloseTap: taps.tap}
		ctx := testContext(t)
		s, err := alice.Dial(ctx, base+"/unauth-ecdh")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Drop()
		if err := s.Send(ctx, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if r, err := s.Receive(ctx); err != nil || string(r) != "got it: hello" {
			t.Fatalf("reply %q, %v", r, err)
		}
		if _, err := s.Receive(ctx); !errors.Is(err, channel.ErrTruncated) {
			t.Errorf("Receive = %v, want the conversation cut short", err)
		}
		node.Wait()
		if f, ok := taps.received(); !ok || f.code != websocket.StatusGoingAway || f.reason != "peer connection lost" {
			t.Errorf("Alice got close %+v (%v), want Mallory's 1001 \"peer connection lost\"", f, ok)
		}
	})
	t.Run("unauth-ecdh/the server shuts down: its end record and 1001 are relayed", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, setupFor(t, "unauth-ecdh"), nil, nil, nil)
		var taps closes
		alice := l.alice()
		alice.CloseTap = taps.tap
		ctx := testContext(t)
		s, err := alice.Dial(ctx, l.url())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Drop()
		// One exchange first, so that Bob's session is under way.
		if err := s.Send(ctx, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		l.bob.Close()
		for range 2 { // Bob's end record, then his close
			if _, err := s.Receive(ctx); err != io.EOF {
				t.Errorf("Receive = %v, want io.EOF", err)
			}
		}
		l.node.Wait()
		if f, ok := taps.received(); !ok || f.code != websocket.StatusGoingAway || f.reason != "server shutting down" {
			t.Errorf("Alice got close %+v (%v), want Bob's 1001 relayed", f, ok)
		}
		if sess := l.bobSession(t); sess.Ending != victim.EndShutdown {
			t.Errorf("Bob's session ended %q (%v), want %q", sess.Ending, sess.Err, victim.EndShutdown)
		}
	})
}

// rawBob is a server for su that runs the scheme's real server half,
// answers one message and then leaves as leave says, which an honest Bob
// never does. It returns its URL.
func rawBob(t *testing.T, su setup, leave func(ch *channel.Channel)) string {
	t.Helper()
	ctx := testContext(t)
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol(su.scheme.Name)}})
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer ws.CloseNow()
		conn := wire.NewConn(ws, su.scheme.Codec())
		secrets, err := su.scheme.Server(ctx, conn, su.server)
		if err != nil {
			t.Errorf("server half: %v", err)
			return
		}
		secrets.Suite = su.scheme.Suite
		ch, err := channel.New(conn, secrets, channel.Server, nil)
		if err != nil {
			t.Error(err)
			return
		}
		msg, _, err := ch.Receive(ctx)
		if err != nil {
			t.Errorf("server Receive: %v", err)
			return
		}
		if _, err := ch.Send(ctx, victim.DefaultReply(msg)); err != nil {
			t.Errorf("server Send: %v", err)
			return
		}
		leave(ch)
	}))
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return wsURL(srv) + victim.Path(su.scheme.Name)
}

// TestUpstreamProblemsReachTheVictim: what Mallory cannot relay, he says.
func TestUpstreamProblemsReachTheVictim(t *testing.T) {
	t.Parallel()
	t.Run("unauth-ecdh/the upstream is down: 1011 naming it, and a log line", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		upstream := "ws://" + l.Addr().String() + "/unauth-ecdh"
		l.Close() // nothing listens there now
		var (
			mu   sync.Mutex
			logs []string
		)
		node, err := attacker.New(attacker.Options{Scheme: kex.UnauthECDH(), Upstream: upstream, Logf: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, fmt.Sprintf(format, args...))
		}})
		if err != nil {
			t.Fatal(err)
		}
		base := newHTTPServer(t, node)
		var taps closes
		alice := &victim.Client{Scheme: kex.UnauthECDH(), CloseTap: taps.tap}
		s, err := alice.Dial(testContext(t), base+"/unauth-ecdh")
		if err == nil {
			s.Drop()
			t.Fatal("Dial through a node with no upstream succeeded")
		}
		node.Wait()
		f, ok := taps.received()
		if !ok || f.code != websocket.StatusInternalError || !strings.Contains(f.reason, "upstream "+upstream) {
			t.Errorf("Alice got close %+v (%v), want 1011 naming %s", f, ok, upstream)
		}
		var ce *wire.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusInternalError {
			t.Errorf("Dial = %v, want Mallory's 1011 in it", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(logs) != 1 || !strings.Contains(logs[0], upstream) || !strings.Contains(logs[0], "conn 1") {
			t.Errorf("Mallory logged %q, want one line naming conn 1 and %s", logs, upstream)
		}
	})
	t.Run("unauth-ecdh node before a pinned-ecdh server: the server's 400 reaches the victim", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, setupFor(t, "pinned-ecdh"), nil, func(o *attacker.Options) { o.Scheme = kex.UnauthECDH() }, nil)
		alice := &victim.Client{Scheme: kex.UnauthECDH()}
		s, err := alice.Dial(testContext(t), wsURL(l.nodeSrv)+"/unauth-ecdh")
		var me *victim.SchemeMismatchError
		if !errors.As(err, &me) {
			if s != nil {
				s.Drop()
			}
			t.Fatalf("Dial = %v, want *SchemeMismatchError", err)
		}
		if me.Client != "unauth-ecdh" || me.Server != "pinned-ecdh" {
			t.Errorf("SchemeMismatchError{Client: %q, Server: %q}, want unauth-ecdh and pinned-ecdh", me.Client, me.Server)
		}
		if n := len(l.log.Events()); n != 0 {
			t.Errorf("%d events in the ledger, want none: no WebSocket was opened", n)
		}
	})
	t.Run("a victim speaking another scheme than the node: 400 naming the node's", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, setupFor(t, "unauth-ecdh"), nil, nil, nil)
		alice := &victim.Client{Scheme: kex.Plain()}
		s, err := alice.Dial(testContext(t), wsURL(l.nodeSrv)+"/plain")
		var me *victim.SchemeMismatchError
		if !errors.As(err, &me) {
			if s != nil {
				s.Drop()
			}
			t.Fatalf("Dial = %v, want *SchemeMismatchError", err)
		}
		if me.Client != "plain" || me.Server != "unauth-ecdh" {
			t.Errorf("SchemeMismatchError{Client: %q, Server: %q}, want plain and unauth-ecdh", me.Client, me.Server)
		}
	})
	t.Run("a browser from a foreign origin: 403 and a log line", func(t *testing.T) {
		t.Parallel()
		var (
			mu   sync.Mutex
			logs []string
		)
		l := newLab(t, setupFor(t, "unauth-ecdh"), nil, func(o *attacker.Options) {
			o.Logf = func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				logs = append(logs, fmt.Sprintf(format, args...))
			}
		}, nil)
		ws, resp, err := websocket.Dial(testContext(t), l.url(), &websocket.DialOptions{
			Subprotocols: []string{wire.Subprotocol("unauth-ecdh")},
			HTTPHeader:   http.Header{"Origin": {"https://evil.example"}},
		})
		if err == nil {
			ws.CloseNow()
			t.Fatal("upgrade accepted")
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("response %v, want 403", resp)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(logs) != 1 || !strings.Contains(logs[0], "--origin evil.example") {
			t.Errorf("Mallory logged %q, want the refusal with the flag that allows it", logs)
		}
	})
}

// TestNodeTimeouts: Mallory bounds every wait on each leg, and when one
// leg times out he closes the other too.
func TestNodeTimeouts(t *testing.T) {
	t.Parallel()
	const timeout = 100 * time.Millisecond
	t.Run("unauth-ecdh/a victim that connects and never speaks", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, setupFor(t, "unauth-ecdh"), nil, func(o *attacker.Options) { o.HandshakeTimeout = timeout }, nil)
		code, reason := readClose(t, rawDial(t, l.url(), "unauth-ecdh"))
		if code != websocket.StatusPolicyViolation || reason != "handshake timed out after 100ms" {
			t.Errorf("victim got close %d %q, want 1008 \"handshake timed out after 100ms\"", code, reason)
		}
		sess := l.bobSession(t)
		l.node.Wait()
		var ce *wire.CloseError
		if !errors.As(sess.Err, &ce) || ce.Code != websocket.StatusGoingAway || !strings.Contains(ce.Reason, "handshake timed out") {
			t.Errorf("Bob's session ended %q with %v, want Mallory's 1001 about the other leg", sess.Ending, sess.Err)
		}
		events := l.log.Events()
		for _, leg := range []trace.Leg{trace.LegA, trace.LegB} {
			if e, ok := closeFrom(events, leg); !ok || e.Verdict != trace.Substituted {
				dump(t, events)
				t.Errorf("leg %s: Mallory's close %+v (%v), want his own, SUBSTITUTED", leg, e, ok)
			}
		}
	})
	t.Run("unauth-ecdh/a session quiet after the handshake", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, setupFor(t, "unauth-ecdh"), nil, func(o *attacker.Options) { o.IdleTimeout = timeout }, nil)
		var taps closes
		alice := l.alice()
		alice.CloseTap = taps.tap
		ctx := testContext(t)
		s, err := alice.Dial(ctx, l.url())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Drop()
		if err := s.Send(ctx, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Receive(ctx); !errors.Is(err, channel.ErrTruncated) {
			t.Errorf("Receive = %v, want the session cut short", err)
		}
		// Both legs fall quiet together, so either leg's watchdog may fire
		// first: Alice hears of her own leg's timeout or of Bob's.
		if f, ok := taps.received(); !ok || f.code != websocket.StatusGoingAway || !strings.Contains(f.reason, "idle timeout") {
			t.Errorf("Alice got close %+v (%v), want 1001 idle timeout", f, ok)
		}
		if sess := l.bobSession(t); sess.Ending != victim.EndTruncated {
			t.Errorf("Bob's session ended %q with %v, want truncated", sess.Ending, sess.Err)
		}
	})
}

// TestNodeClose: Close ends every session Mallory relays with 1001 on
// both legs, and waits for them.
func TestNodeClose(t *testing.T) {
	t.Parallel()
	for _, su := range setups() {
		t.Run(su.scheme.Name+"/open sessions get 1001 attacker shutting down", func(t *testing.T) {
			t.Parallel()
			l := newLab(t, su, nil, nil, nil)
			var taps closes
			alice := l.alice()
			alice.CloseTap = taps.tap
			ctx := testContext(t)
			s, err := alice.Dial(ctx, l.url())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Drop()
			if err := s.Send(ctx, []byte("hi")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				l.node.Close()
			}()
			if _, err := s.Receive(ctx); !errors.Is(err, channel.ErrTruncated) {
				t.Errorf("Alice's Receive = %v, want the session cut short", err)
			}
			<-closed
			if f, ok := taps.received(); !ok || f.code != websocket.StatusGoingAway || f.reason != "attacker shutting down" {
				t.Errorf("Alice got close %+v (%v), want 1001 \"attacker shutting down\"", f, ok)
			}
			sess := l.bobSession(t)
			var ce *wire.CloseError
			if sess.Ending != victim.EndTruncated || !errors.As(sess.Err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "attacker shutting down" {
				t.Errorf("Bob's session ended %q with %v, want truncated by 1001 \"attacker shutting down\"", sess.Ending, sess.Err)
			}
			events := l.log.Events()
			for _, leg := range []trace.Leg{trace.LegA, trace.LegB} {
				if e, ok := closeFrom(events, leg); !ok || e.Verdict != trace.Substituted || !strings.Contains(e.Note, "attacker shutting down") {
					t.Errorf("leg %s: Mallory's close %+v (%v), want his own 1001", leg, e, ok)
				}
			}
		})
	}
}

// TestSessionEnds: a node that serves many connections numbers them,
// reports each as it ends with the name the client gave and the attack it
// ran, and can run a different attack on each.
func TestSessionEnds(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		ends []attacker.SessionEnd
	)
	plan := []string{attacker.Passive, attacker.DoubleECDH, attacker.Truncate}
	l := newLab(t, setupFor(t, "unauth-ecdh"), nil, func(o *attacker.Options) {
		o.Attack = nil
		o.Choose = func(conn int, r *http.Request) *attacker.Attack {
			a, _ := attacker.Lookup(plan[(conn-1)%len(plan)])
			return a
		}
		o.OnSessionEnd = func(e attacker.SessionEnd) {
			mu.Lock()
			defer mu.Unlock()
			ends = append(ends, e)
		}
	}, nil)
	if l.node.Attack() != nil {
		t.Errorf("Attack() = %v for a node that chooses per connection, want nil", l.node.Attack())
	}
	names := []string{"ada", "grace", "alan"}
	for _, name := range names {
		alice := l.alice()
		alice.Name = name
		alice.Chat(testContext(t), l.url(), [][]byte{[]byte("hi")})
		l.settle()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ends) != len(names) {
		t.Fatalf("%d sessions reported, want %d", len(ends), len(names))
	}
	for i, e := range ends {
		if e.Conn != i+1 || e.Name != names[i] || e.Attack != plan[i] {
			t.Errorf("session %d reported as {Conn: %d, Name: %q, Attack: %q}, want {%d, %q, %q}", i, e.Conn, e.Name, e.Attack, i+1, names[i], plan[i])
		}
	}
	// Each connection's records bear its own attack's verdicts.
	events := l.log.Events()
	want := map[int]trace.Verdict{1: trace.Opaque, 2: trace.Forged, 3: trace.Dropped}
	for conn, v := range want {
		got := eventsWhere(events, func(e trace.Event) bool {
			return e.Conn == conn && e.Type == string(wire.TypeData) && e.Dir == wire.ClientToServer && e.Leg == trace.LegB
		})
		verdicts := []trace.Verdict{}
		for _, e := range got {
			verdicts = append(verdicts, e.Verdict)
		}
		if conn == 3 {
			// truncate withholds the record: it never reaches leg B.
			got = eventsWhere(events, func(e trace.Event) bool {
				return e.Conn == conn && e.Type == string(wire.TypeEnd) && e.Leg == trace.LegA
			})
			verdicts = nil
			for _, e := range got {
				verdicts = append(verdicts, e.Verdict)
			}
		}
		if !slices.Contains(verdicts, v) {
			t.Errorf("connection %d (%s): verdicts %v, want %s", conn, plan[conn-1], verdicts, v)
		}
	}
	for _, e := range events {
		if e.Conn < 1 || e.Conn > len(names) || e.Name != names[e.Conn-1] {
			t.Errorf("event %d: conn %d named %q", e.Index, e.Conn, e.Name)
		}
	}
}
