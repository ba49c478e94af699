package attacker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// session is the node's state for one victim connection: leg A toward the
// client, leg B toward the server.
type session struct {
	n      *Node
	id     int
	name   string
	attack *Attack
	codec  *wire.Codec
	a, b   *wire.Conn

	keyless bool             // the scheme's records can be read without keys
	over    chan struct{}    // closed when the relay has ended
	reading [2]chan struct{} // leg A, leg B: closed when relay's reader of that leg returns

	timers sync.WaitGroup // what after started

	mu      sync.Mutex
	closed  [2]bool           // leg A, leg B: a close has been sent or received
	sent    [2]bool           // leg A, leg B: the node sent a close
	pending [2]*trace.Verdict // the verdict of the close the node is about to send
	frames  [][]byte          // the first frames seen, for later replay
}

func newSession(n *Node, id int, name string, attack *Attack, a, b *websocket.Conn) *session {
	codec := n.opts.Scheme.Codec()
	s := &session{
		n: n, id: id, name: name, attack: attack, codec: codec,
		a: wire.NewConn(a, codec), b: wire.NewConn(b, codec),
		keyless: n.opts.Scheme.Suite.Keyless(),
		over:    make(chan struct{}),
		reading: [2]chan struct{}{make(chan struct{}), make(chan struct{})},
	}
	s.a.OnClose(s.closeTap(trace.LegA))
	s.b.OnClose(s.closeTap(trace.LegB))
	return s
}

// conn returns the connection of leg l.
func (s *session) conn(l trace.Leg) *wire.Conn {
	if l == trace.LegA {
		return s.a
	}
	return s.b
}

func other(l trace.Leg) trace.Leg {
	if l == trace.LegA {
		return trace.LegB
	}
	return trace.LegA
}

func legIndex(l trace.Leg) int {
	if l == trace.LegB {
		return 1
	}
	return 0
}

// inbound is the direction of frames the node receives on leg.
func inbound(leg trace.Leg) wire.Direction {
	if leg == trace.LegA {
		return wire.ClientToServer
	}
	return wire.ServerToClient
}

// outbound is the direction of frames the node sends on leg.
func outbound(leg trace.Leg) wire.Direction { return inbound(leg).Reverse() }

// run runs the attack's handshake phase, then relays until both legs end.
// Both sockets are released when it returns, however the victims left.
func (s *session) run() error {
	defer s.b.CloseNow()
	defer s.a.CloseNow()
	fired := make(chan struct{})
	stop := context.AfterFunc(s.n.ctx, func() {
		defer close(fired)
		s.closeLeg(trace.LegA, websocket.StatusGoingAway, "attacker shutting down", nil)
		s.closeLeg(trace.LegB, websocket.StatusGoingAway, "attacker shutting down", nil)
	})
	defer func() {
		if !stop() {
			<-fired
		}
	}()
	// The session's reads are never cancelled by a context: coder/websocket
	// drops a connection whose read is cancelled, which would pre-empt the
	// close frames above. Watchdogs bound every wait instead.
	ctx := context.WithoutCancel(s.n.ctx)
	// The client speaks first, so its silence is what the handshake
	// timeout judges; the server's leg gets twice as long, so a silent
	// client, not the server waiting for it, is the one that times out.
	wa := s.a.Watch(s.n.opts.HandshakeTimeout, wire.ErrHandshakeTimeout)
	wb := s.b.Watch(2*s.n.opts.HandshakeTimeout, wire.ErrHandshakeTimeout)
	r, err := s.attack.run(ctx, s)
	wa.Stop()
	wb.Stop()
	if err != nil {
		s.abort(err)
		s.n.remember(s.framesSeen())
		return err
	}
	err = s.relay(ctx, r)
	close(s.over)
	s.timers.Wait()
	if a, ok := r.(afterwards); ok {
		a.afterSession(s)
	}
	s.n.remember(s.framesSeen())
	return err
}

// afterwards is a relay with work to do once both legs have closed: the
// offline part of an attack, which the ledger shows after the session.
type afterwards interface {
	afterSession(s *session)
}

// after runs f once d has passed, unless the session ends first; run
// waits for it.
func (s *session) after(d time.Duration, f func()) {
	s.timers.Add(1)
	go func() {
		defer s.timers.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			f()
		case <-s.over:
		}
	}()
}

// relay runs both pumps until both legs have closed, and returns the first
// error that ended one.
func (s *session) relay(ctx context.Context, r relay) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(s.reading[0])
		errs[0] = s.pump(ctx, trace.LegA, r)
	}()
	go func() {
		defer wg.Done()
		defer close(s.reading[1])
		errs[1] = s.pump(ctx, trace.LegB, r)
	}()
	wg.Wait()
	return errors.Join(errs...)
}

// pump moves frames that arrive on leg from to the other leg, recording
// each on both legs with the verdicts r gives.
func (s *session) pump(ctx context.Context, from trace.Leg, r relay) error {
	dir := inbound(from)
	src, to := s.conn(from), other(from)
	wait := s.n.opts.HandshakeTimeout
	if from == trace.LegB {
		wait *= 2 // as in run: the client's silence is the one to judge
	}
	dog := src.Watch(wait, wire.ErrHandshakeTimeout)
	defer func() { dog.Stop() }()
	records := false
	for {
		raw, err := src.Read(ctx)
		if err != nil {
			if s.sentClose(from) {
				return nil // the echo of the node's own close, or what follows it
			}
			return s.abort(&legError{leg: from, err: err})
		}
		in := s.parse(raw)
		if !records && (in.typ == string(wire.TypeData) || in.typ == string(wire.TypeEnd)) {
			records = true
			dog.Stop()
			dog = src.Watch(s.n.opts.IdleTimeout, wire.ErrIdleTimeout)
		} else {
			dog.Kick()
		}
		s.keep(raw)
		f := r.pass(dir, in)
		s.record(from, dir, in, f.in, f.inRecovered, f.inNote)
		for _, o := range f.outs {
			leg, odir := to, dir
			if o.back {
				leg, odir = from, dir.Reverse()
			}
			// Record before writing, so the ledger keeps cause before
			// effect: the receiver may answer before Write returns.
			s.record(leg, odir, o.p, o.v, o.recovered, o.note)
			if err := s.conn(leg).Write(ctx, o.p.raw); err != nil {
				s.record(leg, odir, o.p, trace.Blocked, nil, "could not deliver: leg closed")
				s.settle(leg)
				return s.abort(&legError{leg: leg, err: err})
			}
		}
		if f.cut != nil && f.cut.drop {
			s.markClosed(trace.LegA)
			s.markClosed(trace.LegB)
			s.mu.Lock()
			s.sent = [2]bool{true, true}
			s.mu.Unlock()
			s.a.CloseNow()
			s.b.CloseNow()
			return nil
		}
		if f.cut != nil {
			s.closeLeg(trace.LegB, f.cut.toB.code, f.cut.toB.reason, &substituted)
			s.closeLeg(trace.LegA, f.cut.toA.code, f.cut.toA.reason, &substituted)
			return nil
		}
	}
}

var substituted = trace.Substituted

// settle gives the reader of leg, whose write just failed, a moment to
// read why: a victim that closed with a code and reason while Mallory was
// writing to it is relayed as that close, as a transparent proxy would,
// not as "peer connection lost". Only relay's pumps are waited for; a
// session in its handshake has no reader on the other goroutine.
func (s *session) settle(leg trace.Leg) {
	t := time.NewTimer(settleWait)
	defer t.Stop()
	select {
	case <-s.reading[legIndex(leg)]:
	case <-t.C:
	}
}

// settleWait bounds settle: a victim's close frame follows the failed
// write within a round trip on loopback.
const settleWait = 500 * time.Millisecond

// legError says on which leg something went wrong.
type legError struct {
	leg trace.Leg
	err error
}

func (e *legError) Error() string { return fmt.Sprintf("leg %s: %v", e.leg, e.err) }
func (e *legError) Unwrap() error { return e.err }

// abort ends the session after err and returns it. A close from one
// victim is relayed to the other with the same code and reason, as a
// transparent proxy would; any other failure closes the failed leg with
// the code the error calls for, and the other leg with 1001. Either way
// both legs end.
func (s *session) abort(err error) error {
	var le *legError
	if !errors.As(err, &le) {
		s.closeLeg(trace.LegA, websocket.StatusInternalError, "attacker failed", nil)
		s.closeLeg(trace.LegB, websocket.StatusInternalError, "attacker failed", nil)
		return err
	}
	var ce *wire.CloseError
	switch {
	case errors.As(le.err, &ce):
		code := ce.Code
		if !wire.Sendable(code) {
			code = websocket.StatusNormalClosure
		}
		v := trace.Public
		if wire.Refusal(code) {
			v = trace.Blocked
		}
		s.closeLeg(other(le.leg), code, ce.Reason, &v)
	case errors.Is(le.err, wire.ErrPeerClosed):
		s.markClosed(le.leg)
		s.closeLeg(other(le.leg), websocket.StatusGoingAway, "peer connection lost", nil)
	default:
		var t *wire.Timeout
		if errors.As(le.err, &t) {
			s.closeLeg(other(le.leg), websocket.StatusGoingAway, "the attacker's other leg: "+t.What, nil)
			break
		}
		s.conn(le.leg).Fail(le.err) // records its close through the tap
		s.closeLeg(other(le.leg), websocket.StatusGoingAway, "peer connection failed", nil)
	}
	return err
}

// markClosed marks leg closed and reports whether it was already.
func (s *session) markClosed(leg trace.Leg) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.closed[legIndex(leg)]
	s.closed[legIndex(leg)] = true
	return was
}

// closeLeg sends a close frame on leg, once. v is the verdict to record:
// nil means the node's own close (substituted).
func (s *session) closeLeg(leg trace.Leg, code websocket.StatusCode, reason string, v *trace.Verdict) {
	if s.markClosed(leg) {
		return
	}
	s.mu.Lock()
	s.pending[legIndex(leg)] = v
	s.sent[legIndex(leg)] = true
	s.mu.Unlock()
	s.conn(leg).Close(code, reason)
}

func (s *session) sentClose(leg trace.Leg) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[legIndex(leg)]
}

// closeTap records the close frames on leg: the victim's, which mark the
// leg closed, and the node's own.
func (s *session) closeTap(leg trace.Leg) wire.CloseTap {
	return func(sent bool, code websocket.StatusCode, reason string) {
		if !sent {
			s.markClosed(leg)
			v := trace.Public
			if wire.Refusal(code) {
				v = trace.Blocked
			}
			s.n.log.Add(s.closeEvent(leg, inbound(leg), code, reason, v))
			return
		}
		s.markClosed(leg)
		s.mu.Lock()
		pv := s.pending[legIndex(leg)]
		s.pending[legIndex(leg)] = nil
		s.mu.Unlock()
		v := trace.Substituted
		if pv != nil {
			v = *pv
		}
		s.n.log.Add(s.closeEvent(leg, outbound(leg), code, reason, v))
	}
}

func (s *session) closeEvent(leg trace.Leg, dir wire.Direction, code websocket.StatusCode, reason string, v trace.Verdict) trace.Event {
	return trace.Event{Conn: s.id, Name: s.name, Attack: s.attack.Name, Leg: leg, Dir: dir, Type: trace.TypeClose, Verdict: v, Note: codeNote(code, reason)}
}

// codeNote is a close frame's note: its code, the code's name and the
// reason.
func codeNote(code websocket.StatusCode, reason string) string {
	note := fmt.Sprintf("%d %s", int(code), wire.CodeName(code))
	if reason != "" {
		note += ": " + reason
	}
	return note
}

// record adds one frame on one leg to the ledger. A frame that was not
// delivered has no bytes: its Size is 0 and its type and seq are those of
// the frame that came in.
func (s *session) record(leg trace.Leg, dir wire.Direction, p parsed, v trace.Verdict, recovered []byte, note string) {
	s.n.log.Add(trace.Event{
		Conn:      s.id,
		Name:      s.name,
		Attack:    s.attack.Name,
		Leg:       leg,
		Dir:       dir,
		Type:      p.typ,
		Size:      len(p.raw),
		Verdict:   v,
		Seq:       p.seq,
		Recovered: recovered,
		Note:      note,
		Raw:       p.raw,
	})
}

// progress reports how far a long attack has come (a grind, a discrete
// log): one trace.TypeProgress event, which is not a frame.
func (s *session) progress(format string, args ...any) {
	s.n.log.Add(trace.Event{Conn: s.id, Name: s.name, Attack: s.attack.Name, Type: trace.TypeProgress, Note: fmt.Sprintf(format, args...)})
}

// keep remembers the first frames of the session.
func (s *session) keep(raw []byte) {
	const keep = 16
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.frames) < keep {
		s.frames = append(s.frames, raw)
	}
}

func (s *session) framesSeen() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames
}
