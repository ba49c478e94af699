package victim_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// The timeouts the tests give, short so that no test waits long for one.
const (
	shortTimeout = 100 * time.Millisecond
	shortName    = "100ms"
)

// TestServerTimeouts: Bob bounds every wait, and says which one ran out.
func TestServerTimeouts(t *testing.T) {
	t.Parallel()
	t.Run("a client that connects and never speaks gets 1008 handshake timed out", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, setupFor(t, "unauth-ecdh"), &victim.ServerOptions{HandshakeTimeout: shortTimeout})
		ws := rawDial(t, b.url(), "unauth-ecdh")
		code, reason := readClose(t, ws)
		if code != websocket.StatusPolicyViolation || reason != "handshake timed out after "+shortName {
			t.Errorf("close %d %q, want 1008 \"handshake timed out after %s\"", code, reason, shortName)
		}
		sess := b.session(t)
		if sess.Ending != victim.EndTimedOut || !errors.Is(sess.Err, wire.ErrHandshakeTimeout) {
			t.Errorf("session ended %q with %v, want %q and ErrHandshakeTimeout", sess.Ending, sess.Err, victim.EndTimedOut)
		}
	})
	t.Run("a quiet session gets the server's end record and 1001 idle timeout", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, setupFor(t, "unauth-ecdh"), &victim.ServerOptions{IdleTimeout: shortTimeout})
		var taps closes
		alice := b.alice()
		alice.CloseTap = taps.tap
		ctx := testContext(t)
		s, err := alice.Dial(ctx, b.url())
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
		// Alice says nothing more and waits. An idle session ends as a
		// shutdown does: the server's end record, then its 1001.
		for range 2 {
			if _, err := s.Receive(ctx); err != io.EOF {
				t.Errorf("Receive after the idle timeout = %v, want io.EOF", err)
			}
		}
		if f, ok := taps.received(); !ok || f.code != websocket.StatusGoingAway || f.reason != "idle timeout after "+shortName {
			t.Errorf("client got close %+v (%v), want 1001 \"idle timeout after %s\"", f, ok, shortName)
		}
		sess := b.session(t)
		if sess.Ending != victim.EndTimedOut || !errors.Is(sess.Err, wire.ErrIdleTimeout) {
			t.Errorf("session ended %q with %v, want %q and ErrIdleTimeout", sess.Ending, sess.Err, victim.EndTimedOut)
		}
		if sess.MessagesReceived != 1 {
			t.Errorf("session received %d messages, want 1", sess.MessagesReceived)
		}
	})
}

// silentServer accepts lab WebSockets for scheme and never speaks. Each
// accepted connection's close code arrives on the returned channel.
func silentServer(t *testing.T, scheme string, heard func()) (url string, codes <-chan websocket.StatusCode) {
	t.Helper()
	got := make(chan websocket.StatusCode, 4)
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol(scheme)}})
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer ws.CloseNow()
		ctx := testContext(t)
		for {
			_, _, err := ws.Read(ctx)
			if err != nil {
				got <- websocket.CloseStatus(err)
				return
			}
			if heard != nil {
				heard()
			}
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return wsURL(srv) + victim.Path(scheme), got
}

func receive[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-testContext(t).Done():
		t.Fatal("nothing arrived")
		var zero T
		return zero
	}
}

// TestClientTimeouts: Alice bounds every wait too, and a stopped client
// leaves with 1001.
func TestClientTimeouts(t *testing.T) {
	t.Parallel()
	t.Run("a server that accepts and never speaks: ErrHandshakeTimeout and 1008", func(t *testing.T) {
		t.Parallel()
		url, codes := silentServer(t, "unauth-ecdh", nil)
		alice := &victim.Client{Scheme: setupFor(t, "unauth-ecdh").scheme, Timeout: shortTimeout}
		s, err := alice.Dial(testContext(t), url)
		if err == nil {
			s.Drop()
			t.Fatal("Dial succeeded against a silent server")
		}
		if !errors.Is(err, wire.ErrHandshakeTimeout) {
			t.Errorf("Dial = %v, want ErrHandshakeTimeout", err)
		}
		if code := receive(t, codes); code != websocket.StatusPolicyViolation {
			t.Errorf("server got close %d, want 1008", code)
		}
	})
	t.Run("a server that never answers the upgrade: a DialError wrapping ErrDialTimeout", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		t.Cleanup(func() {
			l.Close()
			wg.Wait()
		})
		wg.Go(func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				wg.Go(func() {
					defer c.Close()
					io.Copy(io.Discard, c) // reads the upgrade request, answers nothing
				})
			}
		})
		alice := &victim.Client{Scheme: setupFor(t, "unauth-ecdh").scheme, Timeout: shortTimeout}
		url := "ws://" + l.Addr().String() + "/unauth-ecdh"
		s, err := alice.Dial(testContext(t), url)
		if err == nil {
			s.Drop()
			t.Fatal("Dial succeeded against a server that never answered")
		}
		var de *victim.DialError
		if !errors.As(err, &de) || !errors.Is(err, wire.ErrDialTimeout) {
			t.Fatalf("Dial = %v (%T), want a *DialError wrapping ErrDialTimeout", err, err)
		}
		if de.URL != url || de.Status != 0 {
			t.Errorf("DialError{URL: %q, Status: %d}, want %q and no status", de.URL, de.Status, url)
		}
		if !strings.Contains(err.Error(), shortName) {
			t.Errorf("error %q does not say how long the client waited", err)
		}
	})
	t.Run("a client stopped during its handshake leaves with 1001 (ErrInterrupted)", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		url, codes := silentServer(t, "unauth-ecdh", cancel) // stopped once its hello has arrived
		alice := &victim.Client{Scheme: setupFor(t, "unauth-ecdh").scheme}
		s, err := alice.Dial(ctx, url)
		if err == nil {
			s.Drop()
			t.Fatal("Dial succeeded against a silent server")
		}
		if !errors.Is(err, victim.ErrInterrupted) {
			t.Errorf("Dial = %v, want ErrInterrupted", err)
		}
		if code := receive(t, codes); code != websocket.StatusGoingAway {
			t.Errorf("server got close %d, want 1001", code)
		}
	})
}
