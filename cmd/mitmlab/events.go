package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/trace"
)

// eventsPath is where an attacker process streams its ledger.
const eventsPath = "/events"

// Limits of the /events stream.
const (
	maxBacklog   = 10_000          // events a late subscriber is sent first, at most
	subBuffer    = 1024            // events a subscriber may fall behind
	writeTimeout = 5 * time.Second // a subscriber that stops reading is dropped after this
	closeGrace   = time.Second     // how long shutdown waits for subscribers to take their close
)

// The close reasons of the /events stream.
const (
	reasonShutdown = "attacker shutting down"
	reasonTooSlow  = "subscriber too slow: it fell behind the attacker's events"
)

// hub fans an attacker's events out to /events subscribers. A subscriber
// that falls behind or stops reading is dropped, never the relay slowed.
//
// The hub keeps no events of its own: a new subscriber is sent the newest
// events the attacker's bounded ledger still holds, so the process keeps
// one copy of at most --ledger-max events, however many watch it.
type hub struct {
	backlog      func() []trace.Event // the ledger's events, oldest first
	buffer       int                  // subBuffer, or less in tests
	writeTimeout time.Duration        // writeTimeout, or less in tests

	mu       sync.Mutex
	subs     map[*subscriber]struct{}     // the streams being fed events
	open     map[*websocket.Conn]struct{} // every stream's connection, until its handler returns
	stopping bool                         // the attacker is shutting down: a dropped subscriber gets 1001
	wg       sync.WaitGroup               // the handlers
}

// subscriber is one /events stream. The hub closes ch when it drops the
// subscriber, and says why in reason first.
type subscriber struct {
	ch     chan trace.Event
	ws     *websocket.Conn
	reason string // reasonShutdown or reasonTooSlow, once ch is closed
}

// newHub returns a hub whose late subscribers are sent backlog's events.
func newHub(backlog func() []trace.Event) *hub {
	return &hub{
		backlog: backlog, buffer: subBuffer, writeTimeout: writeTimeout,
		subs: make(map[*subscriber]struct{}), open: make(map[*websocket.Conn]struct{}),
	}
}

// publish hands e to every subscriber. One whose buffer is full is
// dropped: the relay never waits for a viewer.
func (h *hub) publish(e trace.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			h.drop(s, reasonTooSlow)
		}
	}
}

// drop ends s's stream with reason; h.mu is held. While the attacker is
// shutting down every drop is the shutdown's: a viewer that could not
// keep up with the burst of closes is not told it was too slow.
func (h *hub) drop(s *subscriber, reason string) {
	if h.stopping {
		reason = reasonShutdown
	}
	delete(h.subs, s)
	s.reason = reason
	close(s.ch)
}

// subscribe registers ws and returns its subscriber. While the attacker
// is shutting down the subscriber is dropped at once.
func (h *hub) subscribe(ws *websocket.Conn) *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &subscriber{ch: make(chan trace.Event, h.buffer), ws: ws}
	h.open[ws] = struct{}{}
	h.subs[s] = struct{}{}
	if h.stopping {
		h.drop(s, reasonShutdown)
	}
	return s
}

// unsubscribe forgets s, once its handler is done with it.
func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.open, s.ws)
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// subscribers returns how many streams are open.
func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// ServeHTTP streams events as WebSocket text messages, one
// trace.FrameJSON each: first the backlog, then live.
func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		http.Error(w, reasonShutdown, http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx := ws.CloseRead(context.Background())
	s := h.subscribe(ws)
	defer h.unsubscribe(s)
	h.stream(ctx, s)
}

// stream sends s the backlog, then each event as it is published, until
// the hub drops s or the subscriber leaves. Subscribing before reading the
// backlog may deliver an event twice; events are numbered, so the copy is
// skipped.
func (h *hub) stream(ctx context.Context, s *subscriber) {
	last := -1
	send := func(e trace.Event) error {
		if e.Index <= last {
			return nil
		}
		last = e.Index
		b, err := json.Marshal(trace.NewFrameJSON(e))
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, h.writeTimeout)
		defer cancel()
		return s.ws.Write(wctx, websocket.MessageText, b)
	}
	backlog := h.backlog()
	for _, e := range backlog[max(len(backlog)-maxBacklog, 0):] {
		if send(e) != nil {
			return // gone, or stopped reading: the deferred CloseNow ends it
		}
	}
	for {
		select {
		case e, ok := <-s.ch:
			if !ok {
				h.closeStream(s)
				return
			}
			if send(e) != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// closeStream closes a dropped subscriber's stream with the reason it was
// dropped: 1001 at shutdown, 1008 for one that fell behind.
func (h *hub) closeStream(s *subscriber) {
	h.mu.Lock()
	reason := s.reason
	h.mu.Unlock()
	code := websocket.StatusPolicyViolation
	if reason == reasonShutdown {
		code = websocket.StatusGoingAway
	}
	s.ws.Close(code, reason)
}

// stop marks the start of the attacker's shutdown: from now on a dropped
// subscriber is told the attacker is going away.
func (h *hub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopping = true
}

// closeAll ends every stream with 1001 and waits for them, dropping the
// connections of subscribers that do not take their close within
// closeGrace.
func (h *hub) closeAll() {
	h.mu.Lock()
	h.stopping = true
	for s := range h.subs {
		h.drop(s, reasonShutdown)
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	h.mu.Lock()
	for ws := range h.open {
		ws.CloseNow()
	}
	h.mu.Unlock()
	<-done
}
