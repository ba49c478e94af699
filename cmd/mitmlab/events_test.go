package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/trace"
)

// pipeListener is a net.Listener whose connections are net.Pipe ends: a
// write blocks until the other side reads, so a subscriber that stops
// reading blocks the hub's next write at once, with no socket buffers to
// fill first.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// servePipe serves h over net.Pipe connections and returns a function that
// dials it as an /events subscriber. Everything stops when the test ends.
func servePipe(t *testing.T, h http.Handler) func() (*websocket.Conn, error) {
	t.Helper()
	l := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-served })
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, s := net.Pipe()
			select {
			case l.conns <- s:
				return c, nil
			case <-ctx.Done():
				c.Close()
				s.Close()
				return nil, ctx.Err()
			}
		},
	}}
	t.Cleanup(client.CloseIdleConnections)
	return func() (*websocket.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "ws://pipe"+eventsPath, &websocket.DialOptions{HTTPClient: client})
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { ws.CloseNow() })
		return ws, nil
	}
}

// eventAt returns an event with index i, as the ledger numbers them.
func eventAt(i int) trace.Event {
	return trace.Event{Index: i, Conn: 1, Leg: trace.LegA, Type: "data", Verdict: trace.Opaque, Raw: []byte(`{"type":"data"}`)}
}

// until polls cond until it holds, and fails the test at the deadline.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// readStream reads a subscriber's stream to its end and returns the event
// indices it got and the error that ended it.
func readStream(ws *websocket.Conn) ([]int, error) {
	var got []int
	for {
		_, b, err := ws.Read(context.Background())
		if err != nil {
			return got, err
		}
		var f trace.FrameJSON
		if err := json.Unmarshal(b, &f); err != nil {
			return got, err
		}
		got = append(got, f.Index)
	}
}

// wantClose checks that err is a close frame with code and reason.
func wantClose(t *testing.T, err error, code websocket.StatusCode, reason string) {
	t.Helper()
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
		t.Fatalf("stream ended with %v; want close %d %q", err, code, reason)
	}
}

func TestEventsStream(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, h *hub, dial func() *websocket.Conn, dialErr func() error)
	}{
		{"a late subscriber gets the backlog, then live events, each once", func(t *testing.T, h *hub, dial func() *websocket.Conn, _ func() error) {
			h.backlog = func() []trace.Event { return []trace.Event{eventAt(0), eventAt(1), eventAt(2), eventAt(3), eventAt(4)} }
			h.buffer = 16 // room for every live event while the backlog is sent
			ws := dial()
			until(t, "the subscription", func() bool { return h.subscribers() == 1 })
			// Published after subscribing, before or after the backlog
			// is read: 3 and 4 reach the subscriber twice.
			type result struct {
				got []int
				err error
			}
			done := make(chan result, 1)
			go func() { got, err := readStream(ws); done <- result{got, err} }()
			for i := 3; i < 8; i++ {
				h.publish(eventAt(i))
			}
			h.closeAll()
			r := <-done
			got := r.got
			wantClose(t, r.err, websocket.StatusGoingAway, reasonShutdown)
			if want := []int{0, 1, 2, 3, 4, 5, 6, 7}; !slices.Equal(got, want) {
				t.Errorf("got events %v, want %v", got, want)
			}
		}},
		{"a subscriber that falls behind is closed with 1008", func(t *testing.T, h *hub, dial func() *websocket.Conn, _ func() error) {
			ws := dial()
			until(t, "the subscription", func() bool { return h.subscribers() == 1 })
			// The subscriber reads nothing yet: the hub's first write
			// blocks on the pipe, and its buffer fills.
			n := 0
			for ; h.subscribers() > 0; n++ {
				h.publish(eventAt(n))
			}
			got, err := readStream(ws)
			wantClose(t, err, websocket.StatusPolicyViolation, reasonTooSlow)
			if len(got) == 0 || len(got) >= n || got[0] != 0 {
				t.Errorf("got %d events starting %v of %d published; want the first ones, not all", len(got), got[:min(len(got), 1)], n)
			}
		}},
		{"a subscriber that stops reading is dropped after the write timeout", func(t *testing.T, h *hub, dial func() *websocket.Conn, _ func() error) {
			h.writeTimeout = 50 * time.Millisecond
			ws := dial()
			until(t, "the subscription", func() bool { return h.subscribers() == 1 })
			h.publish(eventAt(0)) // its write blocks: nobody reads the pipe
			until(t, "the hub to drop the subscriber", func() bool { return h.subscribers() == 0 })
			if _, err := readStream(ws); websocket.CloseStatus(err) != -1 {
				t.Errorf("a dropped connection sends no close frame; got %v", err)
			}
		}},
		{"at shutdown a subscriber behind on the burst of closes gets 1001, not too slow", func(t *testing.T, h *hub, dial func() *websocket.Conn, _ func() error) {
			ws := dial()
			until(t, "the subscription", func() bool { return h.subscribers() == 1 })
			h.stop()
			for i := 0; h.subscribers() > 0; i++ {
				h.publish(eventAt(i)) // the relayed connections' closes
			}
			done := make(chan error, 1)
			go func() { _, err := readStream(ws); done <- err }()
			h.closeAll()
			wantClose(t, <-done, websocket.StatusGoingAway, reasonShutdown)
		}},
		{"a subscriber that arrives during shutdown is turned away", func(t *testing.T, h *hub, _ func() *websocket.Conn, dialErr func() error) {
			h.stop()
			if err := dialErr(); err == nil || !strings.Contains(err.Error(), "503") {
				t.Errorf("dial during shutdown: %v; want HTTP 503", err)
			}
			h.closeAll()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHub(func() []trace.Event { return nil })
			h.buffer = 4
			dial := servePipe(t, h)
			mustDial := func() *websocket.Conn {
				t.Helper()
				ws, err := dial()
				if err != nil {
					t.Fatal(err)
				}
				return ws
			}
			tc.run(t, h, mustDial, func() error { _, err := dial(); return err })
		})
	}
}
