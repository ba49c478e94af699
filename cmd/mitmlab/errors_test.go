package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// The tests in this file check that every way a connection can go wrong
// ends quickly, with the documented close code, and with a message that
// says what to do. Each timeout is shortened to 200ms with its flag.

// silentListener accepts TCP connections and never answers; it returns
// its address.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// mutePeer is a WebSocket endpoint that accepts the lab's subprotocol and
// never speaks; with code, it closes at once with code and reason instead.
func mutePeer(t *testing.T, code websocket.StatusCode, reason string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol("unauth-ecdh")}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		if code != 0 {
			ws.Close(code, reason)
			return
		}
		for { // read and ignore, until the client gives up
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestClientErrorAdvice runs the client against endpoints that are not a
// working lab server and checks that it fails fast, with exit status 1 and
// one line that says what to do.
func TestClientErrorAdvice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		addr  func(t *testing.T) string
		wss   bool
		want  string // with ADDR for the endpoint's address
		lines int
	}{
		{"a TCP listener that never answers HTTP: no answer within --timeout", silentListener, false,
			"no answer from ADDR within 200ms: is a WebSocket server listening there?", 1},
		{"a WebSocket server that never speaks: the handshake timed out", func(t *testing.T) string { return mutePeer(t, 0, "") }, false,
			"ADDR accepted the WebSocket but did not finish the unauth-ecdh handshake within 200ms", 1},
		{"a plain web server: HTTP 404 and the path to use", func(t *testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			t.Cleanup(srv.Close)
			return srv.Listener.Addr().String()
		}, false, "ADDR answered HTTP 404: is it a mitmlab endpoint? The path is /unauth-ecdh, as in ws://ADDR/unauth-ecdh", 1},
		{"ws:// to a TLS port: use wss://", func(t *testing.T) string {
			srv := httptest.NewTLSServer(http.NotFoundHandler())
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
			t.Cleanup(srv.Close)
			return srv.Listener.Addr().String()
		}, false, "ADDR speaks TLS: use wss://ADDR/unauth-ecdh", 1},
		{"nothing listening: start the server", closedPort, false,
			"cannot connect to ADDR: connection refused; is the server running? Start it with:\n  mitmlab server --scheme unauth-ecdh --listen ADDR", 2},
		{"a server that fails: its 1011 and reason", func(t *testing.T) string {
			return mutePeer(t, websocket.StatusInternalError, "upstream ws://127.0.0.1:1/unauth-ecdh: connection refused")
		}, false, `ADDR closed the connection with 1011 StatusInternalError: "upstream ws://127.0.0.1:1/unauth-ecdh: connection refused"; the server failed`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := tc.addr(t)
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := run([]string{"client", "--scheme", "unauth-ecdh", "--connect", "ws://" + addr + "/unauth-ecdh", "--timeout", "200ms", "--message", "x"},
				strings.NewReader(""), &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit %d, want 1; stderr: %s", code, stderr.String())
			}
			want := "mitmlab: " + strings.ReplaceAll(tc.want, "ADDR", addr)
			if !strings.HasPrefix(stderr.String(), want) {
				t.Errorf("stderr:\n%s\nwant it to start:\n%s", stderr.String(), want)
			}
			if n := strings.Count(stderr.String(), "\n"); n != tc.lines {
				t.Errorf("stderr has %d lines, want %d: %q", n, tc.lines, stderr.String())
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("the client took %v to give up; it has --timeout 200ms", d)
			}
		})
	}
}

// TestTimeouts checks each side's timeouts against a peer that goes quiet:
// the side gives up after its flag's time, closes with the documented code
// and reason, and the server says how the session ended.
func TestTimeouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		server     []string
		attacker   []string             // nil: Alice talks to the server
		handshake  bool                 // Alice only opens the WebSocket; else she chats once, then goes quiet
		code       websocket.StatusCode // 0: 1008 or 1001
		reason     string
		serverSays string
	}{
		{"server/a WebSocket that never speaks gets 1008 after --handshake-timeout",
			[]string{"--handshake-timeout", "200ms"}, nil, true,
			websocket.StatusPolicyViolation, "handshake timed out after 200ms", "session 1: timed out · 0 messages received"},
		// The attacker watches both legs' handshakes with the same
		// timeout, and Bob waits in silence for Alice's hello too, so
		// whichever leg's watchdog fires first decides Alice's close:
		// 1008 from her own leg, or 1001 naming the other. Either way it
		// comes after --handshake-timeout and says so.
		{"attacker/a WebSocket that never speaks is closed after --handshake-timeout",
			nil, []string{"--handshake-timeout", "200ms"}, true,
			0, "handshake timed out", "session 1: "},
		{"server/a quiet session gets 1001 after --idle-timeout",
			[]string{"--idle-timeout", "200ms"}, nil, false,
			websocket.StatusGoingAway, "idle timeout after 200ms", "session 1: timed out · 1 message received, 1 answered"},
		{"attacker/a quiet leg gets 1001 after --idle-timeout",
			nil, []string{"--idle-timeout", "200ms"}, false,
			websocket.StatusGoingAway, "idle timeout", "session 1: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, target, _ := startServer(t, "unauth-ecdh", tc.server...)
			if tc.attacker != nil {
				_, target = startAttacker(t, "unauth-ecdh", target, append([]string{"--attack", "passive"}, tc.attacker...)...)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var code websocket.StatusCode
			var reason string
			if tc.handshake {
				code, reason = silentWebSocket(ctx, t, target)
			} else {
				code, reason = quietSession(ctx, t, target)
			}
			if tc.code == 0 && (code == websocket.StatusPolicyViolation || code == websocket.StatusGoingAway) {
				code = 0
			}
			if code != tc.code || !strings.Contains(reason, tc.reason) {
				t.Errorf("closed with %d %q; want %d %q", code, reason, tc.code, tc.reason)
			}
			srv.waitFor(t, tc.serverSays)
		})
	}
}

// silentWebSocket opens a lab WebSocket, says nothing, and returns the
// close it gets.
func silentWebSocket(ctx context.Context, t *testing.T, url string) (websocket.StatusCode, string) {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol("unauth-ecdh")}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, _, err = ws.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("a silent WebSocket got %v; want a close frame", err)
	}
	return ce.Code, ce.Reason
}

// quietSession chats once, then waits, and returns the close it gets.
func quietSession(ctx context.Context, t *testing.T, url string) (websocket.StatusCode, string) {
	t.Helper()
	var w closeWatch
	alice := &victim.Client{Scheme: kex.UnauthECDH(), CloseTap: w.tap}
	s, err := alice.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Drop()
	if err := s.Send(ctx, []byte("anyone there?")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	// A server that gives up on a quiet session sends its end record
	// first (io.EOF), then its close; an attacker just closes.
	for range 2 {
		if _, err := s.Receive(ctx); err == nil {
			t.Fatal("a quiet session got a message")
		} else if !errors.Is(err, io.EOF) {
			break
		}
	}
	return w.got()
}

// TestAttackerUpstreamDown checks an attacker process whose server is not
// there: each victim is closed with 1011 and the reason, which the client
// prints, and the attacker prints the upstream and the error.
func TestAttackerUpstreamDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		addr     func(t *testing.T) string
		flags    []string
		attacker string // what the attacker prints after the upstream
	}{
		{"upstream refuses the connection", closedPort, nil, "connection refused"},
		{"upstream does not answer within --timeout", silentListener, []string{"--timeout", "200ms"}, "did not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			upstream := fmt.Sprintf("ws://%s/unauth-ecdh", tc.addr(t))
			att, target := startAttacker(t, "unauth-ecdh", upstream, append([]string{"--attack", "passive"}, tc.flags...)...)
			_, stderr, code := runClientProc(t, "--scheme", "unauth-ecdh", "--connect", target, "--message", "x")
			if code != 1 || !strings.Contains(stderr, "closed the connection with 1011 StatusInternalError: \"upstream "+upstream) {
				t.Errorf("client: exit %d, stderr %s; want 1 and the attacker's 1011 with the upstream", code, stderr)
			}
			att.waitStderr(t, `mitmlab attacker: conn 1: upstream `+regexp.QuoteMeta(upstream)+`.*`+tc.attacker)
		})
	}
}

// TestClientCtrlC checks that Ctrl-C on a chatting client ends its half of
// the conversation in order: its end record, so the server sees a clean
// end rather than a cut, then 1001; the client exits 130 with one line.
func TestClientCtrlC(t *testing.T) {
	t.Parallel()
	srv, url, _ := startServer(t, "unauth-ecdh")
	alice, stdin := startProcStdin(t, true, "client", "--scheme", "unauth-ecdh", "--connect", url)
	defer stdin.Close()
	if _, err := fmt.Fprintln(stdin, "hello"); err != nil {
		t.Fatal(err)
	}
	alice.waitFor(t, "Bob:   got it: hello")
	alice.cmd.Process.Signal(os.Interrupt)
	if code := alice.exitCode(t); code != 130 {
		t.Errorf("client exit %d after Ctrl-C, want 130", code)
	}
	if got, want := alice.errOut.String(), "mitmlab: interrupted; the client sent its end record and closed with 1001\n"; got != want {
		t.Errorf("client stderr %q, want %q", got, want)
	}
	srv.waitFor(t, `session 1: clean · 1 message received, 1 answered\n`)
}

// TestServerCtrlCEndsClient checks a client waiting for its next line when
// the server is stopped: the server's end record arrives, and the client
// answers with its own, says so and exits 0 at once, though its input is
// still open.
func TestServerCtrlCEndsClient(t *testing.T) {
	t.Parallel()
	srv, url, _ := startServer(t, "unauth-ecdh")
	alice, stdin := startProcStdin(t, true, "client", "--scheme", "unauth-ecdh", "--connect", url)
	defer stdin.Close()
	if _, err := fmt.Fprintln(stdin, "hello"); err != nil {
		t.Fatal(err)
	}
	alice.waitFor(t, "Bob:   got it: hello")
	srv.cmd.Process.Signal(os.Interrupt)
	if code := alice.exitCode(t); code != 0 {
		t.Errorf("client exit %d after the server's Ctrl-C, want 0", code)
	}
	if !strings.HasSuffix(alice.out.String(), "Bob ended the conversation (his end record arrived)\n") || alice.errOut.String() != "" {
		t.Errorf("client stdout %q, stderr %q; want Bob's end said, and nothing wrong", alice.out.String(), alice.errOut.String())
	}
}
