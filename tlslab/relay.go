package tlslab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// relayChat accepts Alice's WebSocket on leg A, opens one to Bob on leg B,
// and moves every message between them, reading each.
func (m *Attacker) relayChat(w http.ResponseWriter, r *http.Request, lg *legs) {
	m.wg.Add(1)
	defer m.wg.Done()
	defer func() {
		// The connection is hijacked: net/http will not report it closed.
		m.mu.Lock()
		for c, l := range m.legs {
			if l == lg {
				delete(m.legs, c)
			}
		}
		m.mu.Unlock()
		lg.tr.CloseIdleConnections()
	}()
	ctx, cancel := context.WithCancel(m.ctx)
	defer cancel()

	uri := r.URL.RequestURI()
	var offered []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			offered = append(offered, strings.TrimSpace(p))
		}
	}
	m.add(lg.id, trace.LegA, wire.ClientToServer, typeHTTPRequest, nil, trace.Public, nil, nil, "GET "+uri+": WebSocket upgrade")
	// Dial Bob first, so Alice reaching a dead relay gets an HTTP error
	// rather than a WebSocket that closes at once. The relayed request is
	// recorded once the dial returns, after the TLS records that carried it.
	b, resp, err := websocket.Dial(ctx, "wss://"+ServerName+uri, &websocket.DialOptions{HTTPClient: lg.hc, Subprotocols: offered})
	m.add(lg.id, trace.LegB, wire.ClientToServer, typeHTTPRequest, nil, trace.Public, nil, nil, "GET "+uri+": WebSocket upgrade, relayed")
	if err != nil {
		status := http.StatusBadGateway
		if resp != nil {
			status = resp.StatusCode
		}
		m.add(lg.id, trace.LegB, wire.ServerToClient, typeHTTPResponse, nil, trace.Blocked, nil, nil, "Bob refused the WebSocket: "+err.Error())
		http.Error(w, fmt.Sprintf("attacker: upstream: %s", http.StatusText(status)), status)
		return
	}
	defer b.CloseNow()
	m.add(lg.id, trace.LegB, wire.ServerToClient, typeHTTPResponse, nil, trace.Public, nil, nil, "101 Switching Protocols, subprotocol "+b.Subprotocol())
	a, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{b.Subprotocol()}})
	if err != nil {
		b.Close(websocket.StatusGoingAway, "client did not connect")
		return
	}
	defer a.CloseNow()
	m.add(lg.id, trace.LegA, wire.ServerToClient, typeHTTPResponse, nil, trace.Public, nil, nil, "101 Switching Protocols, relayed")
	a.SetReadLimit(wire.MaxMessageSize)
	b.SetReadLimit(wire.MaxMessageSize)

	rl, err := m.newReader(r)
	if err != nil {
		a.Close(websocket.StatusInternalError, "attacker failed")
		b.Close(websocket.StatusInternalError, "attacker failed")
		return
	}
	s := &chatRelay{m: m, id: lg.id, a: a, b: b, read: rl}
	stop := context.AfterFunc(m.ctx, func() {
		s.closeLeg(trace.LegA, wire.ServerToClient, websocket.StatusGoingAway, "attacker shutting down")
		s.closeLeg(trace.LegB, wire.ClientToServer, websocket.StatusGoingAway, "attacker shutting down")
	})
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.pump(ctx, wire.ClientToServer)
	}()
	go func() {
		defer wg.Done()
		s.pump(ctx, wire.ServerToClient)
	}()
	wg.Wait()
}

// reader is what Mallory does with each chat message he relays.
type reader interface {
	// read returns the verdicts on the leg the message came in on and the
	// leg it goes out on, what he recovered, its sequence number and notes.
	read(dir wire.Direction, msg []byte) (in, out trace.Verdict, recovered []byte, seq *uint64, inNote, outNote string)
}

func (m *Attacker) newReader(r *http.Request) (reader, error) {
	if m.opts.Flow == FlowWSS {
		return &plainReader{}, nil
	}
	m.mu.Lock()
	secret := m.stolen[r.URL.Query().Get("session")]
	m.mu.Unlock()
	if secret == nil {
		return sealedReader{}, nil
	}
	sr := sealedReader{open: make(map[wire.Direction]*channel.Opener)}
	for _, d := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
		o, err := channel.NewOpener(kex.RSASecrets(secret).For(d), d)
		if err != nil {
			return nil, err
		}
		sr.open[d] = o
	}
	return sr, nil
}

// plainReader reads plain wss chat: TLS was all that protected it, and
// Mallory holds both legs' TLS keys.
type plainReader struct {
	mu   sync.Mutex
	next map[wire.Direction]uint64
}

func (p *plainReader) read(dir wire.Direction, msg []byte) (trace.Verdict, trace.Verdict, []byte, *uint64, string, string) {
	p.mu.Lock()
	if p.next == nil {
		p.next = make(map[wire.Direction]uint64)
	}
	seq := p.next[dir]
	p.next[dir]++
	p.mu.Unlock()
	from, to := "Alice", "Bob"
	if dir == wire.ServerToClient {
		from, to = to, from
	}
	return trace.Read, trace.Forged, msg, &seq,
		"decrypted by the attacker's TLS server: the TLS keys are the ones he agreed with " + from,
		"re-encrypted under the TLS keys the attacker agreed with " + to
}

// sealedReader reads https-key chat records with the AES key Mallory
// unwrapped; without it every record is opaque to him.
type sealedReader struct {
	open map[wire.Direction]*channel.Opener
}

func (s sealedReader) read(dir wire.Direction, msg []byte) (trace.Verdict, trace.Verdict, []byte, *uint64, string, string) {
	if wire.PeekType(msg) != wire.TypeData {
		return trace.Public, trace.Public, nil, nil, "", "relayed unchanged"
	}
	d, err := wire.DecodeAs[*wire.Data](msg)
	if err != nil {
		return trace.Opaque, trace.Opaque, nil, nil, err.Error(), "relayed unchanged"
	}
	seq := d.Seq
	if s.open == nil {
		return trace.Opaque, trace.Opaque, nil, &seq, "the attacker has no AES key for this session", "relayed unchanged"
	}
	pt, err := s.open[dir].Open(d)
	if err != nil {
		return trace.Opaque, trace.Opaque, nil, &seq, err.Error(), "relayed unchanged"
	}
	pt = nonNil(pt)
	return trace.Read, trace.Read, pt, &seq,
		"decrypted with the AES key the attacker unwrapped from POST " + PathSession,
		"the same record, relayed unchanged: the attacker holds its key"
}

// chatRelay is one relayed WebSocket: Alice's (a) and Bob's (b).
type chatRelay struct {
	m    *Attacker
	id   int
	a, b *websocket.Conn
	read reader

	mu     sync.Mutex
	closed [2]bool // leg A, leg B: a close frame has been sent or received
}

func (s *chatRelay) conn(leg trace.Leg) *websocket.Conn {
	if leg == trace.LegA {
		return s.a
	}
	return s.b
}

// markClosed marks leg closed and reports whether it was already.
func (s *chatRelay) markClosed(leg trace.Leg) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	if leg == trace.LegB {
		i = 1
	}
	was := s.closed[i]
	s.closed[i] = true
	return was
}

// closeLeg sends a close frame on leg, once, and records it.
func (s *chatRelay) closeLeg(leg trace.Leg, dir wire.Direction, code websocket.StatusCode, reason string) {
	if s.markClosed(leg) {
		return
	}
	s.m.add(s.id, leg, dir, trace.TypeClose, nil, closeVerdict(code), nil, nil, closeNote(code, reason))
	s.conn(leg).Close(code, reason)
}

// pump moves messages in direction dir until its sending leg ends.
func (s *chatRelay) pump(ctx context.Context, dir wire.Direction) {
	fromLeg, toLeg := trace.LegA, trace.LegB
	if dir == wire.ServerToClient {
		fromLeg, toLeg = toLeg, fromLeg
	}
	from, to := s.conn(fromLeg), s.conn(toLeg)
	for {
		typ, msg, err := from.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				s.markClosed(fromLeg)
				s.m.add(s.id, fromLeg, dir, trace.TypeClose, nil, closeVerdict(ce.Code), nil, nil, closeNote(ce.Code, ce.Reason))
				code := ce.Code
				if code == websocket.StatusNoStatusRcvd || code == websocket.StatusAbnormalClosure || code == websocket.StatusTLSHandshake {
					code = websocket.StatusNormalClosure
				}
				s.closeLeg(toLeg, dir, code, ce.Reason)
				return
			}
			if s.markClosed(toLeg) {
				return
			}
			to.CloseNow()
			return
		}
		in, out, recovered, seq, inNote, outNote := s.read.read(dir, msg)
		t := typeWSText
		if typ == websocket.MessageBinary {
			t = "ws_binary"
		}
		if s.m.opts.Flow == FlowHTTPSKey {
			if pt := wire.PeekType(msg); pt != "" {
				t = string(pt)
			}
		}
		s.m.add(s.id, fromLeg, dir, t, msg, in, recovered, seq, inNote)
		s.m.add(s.id, toLeg, dir, t, msg, out, recovered, seq, outNote)
		if err := to.Write(ctx, typ, msg); err != nil {
			s.m.add(s.id, toLeg, dir, t, msg, trace.Blocked, nil, seq, "could not deliver: leg closed")
			from.CloseNow()
			return
		}
	}
}

func closeVerdict(code websocket.StatusCode) trace.Verdict {
	if code == websocket.StatusPolicyViolation || code == websocket.StatusProtocolError {
		return trace.Blocked
	}
	return trace.Public
}

func closeNote(code websocket.StatusCode, reason string) string {
	note := fmt.Sprintf("%d %s", int(code), code)
	if reason != "" {
		note += ": " + reason
	}
	return note
}

// nonNil returns b, or an empty slice for nil: AES-GCM opens an empty
// message to nil, and a nil Recovered or Accepted means "nothing".
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
