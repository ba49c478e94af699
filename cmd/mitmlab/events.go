package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/trace"
)

// EventsPath is where an attacker process streams its ledger.
const eventsPath = "/events"

// maxBacklog bounds the events a late subscriber is sent first.
const maxBacklog = 10000

// hub fans an attacker's events out to /events subscribers.
type hub struct {
	mu      sync.Mutex
	backlog []trace.Event
	subs    map[chan trace.Event]struct{}
}

func newHub() *hub { return &hub{subs: make(map[chan trace.Event]struct{})} }

// publish records e and hands it to every subscriber. A subscriber that
// has fallen 1,024 events behind is dropped rather than slowing the relay.
func (h *hub) publish(e trace.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.backlog = append(h.backlog, e)
	if len(h.backlog) > maxBacklog {
		h.backlog = h.backlog[len(h.backlog)-maxBacklog:]
	}
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

func (h *hub) subscribe() ([]trace.Event, chan trace.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan trace.Event, 1024)
	h.subs[ch] = struct{}{}
	return append([]trace.Event(nil), h.backlog...), ch
}

func (h *hub) unsubscribe(ch chan trace.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// ServeHTTP streams events as WebSocket text messages, one
// trace.FrameJSON each: first the backlog, then live.
func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx := ws.CloseRead(r.Context())
	backlog, ch := h.subscribe()
	defer h.unsubscribe(ch)
	send := func(e trace.Event) error {
		b, err := json.Marshal(trace.NewFrameJSON(e))
		if err != nil {
			return err
		}
		return ws.Write(ctx, websocket.MessageText, b)
	}
	for _, e := range backlog {
		if send(e) != nil {
			return
		}
	}
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				ws.Close(websocket.StatusPolicyViolation, "subscriber too slow")
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

// closeAll is used at shutdown.
func (h *hub) closeAll(context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
