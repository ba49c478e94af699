package attacker

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// Options configures a [Node].
type Options struct {
	// Scheme is the scheme the victims speak.
	Scheme kex.Scheme
	// Attack is the strategy; it must apply to Scheme. Empty means Passive.
	Attack Attack
	// Upstream is the WebSocket URL of the real server. The node relays to
	// this address and no other.
	Upstream string
	// HTTPClient dials Upstream; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Identity is the certificate the node presents when it impersonates a
	// pinned-ecdh server. Nil means a fresh self-signed one, "mallory".
	Identity *kex.Identity
	// RSAKey is the key the node swaps in for swap-rsa-key. Nil means a
	// fresh RSA-2048 key, made once per node.
	RSAKey *rsa.PrivateKey
	// Log receives the node's ledger: one event per frame per leg. Nil
	// means a log the node keeps to itself ([Node.Log]).
	Log *trace.Log
}

// Node is the attacker: an http.Handler that accepts victim connections on
// leg A and relays each to Upstream on leg B, with its own state per
// connection.
type Node struct {
	opts  Options
	log   *trace.Log
	conns atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks opts and returns a node.
func New(opts Options) (*Node, error) {
	if opts.Scheme == nil {
		return nil, errors.New("attacker: no scheme")
	}
	if opts.Upstream == "" {
		return nil, errors.New("attacker: no upstream to relay to")
	}
	if opts.Attack == "" {
		opts.Attack = Passive
	}
	if err := opts.Attack.Check(opts.Scheme.Name()); err != nil {
		return nil, fmt.Errorf("attacker: %w", err)
	}
	if opts.Attack == Impersonate && opts.Identity == nil {
		id, err := kex.NewIdentity("mallory")
		if err != nil {
			return nil, err
		}
		opts.Identity = id
	}
	if opts.Attack == SwapRSAKey && opts.RSAKey == nil {
		k, err := kex.NewRSAKey()
		if err != nil {
			return nil, err
		}
		opts.RSAKey = k
	}
	log := opts.Log
	if log == nil {
		log = trace.NewLog(nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Node{opts: opts, log: log, ctx: ctx, cancel: cancel}, nil
}

// Log returns the node's ledger.
func (n *Node) Log() *trace.Log { return n.log }

// Attack returns the node's strategy.
func (n *Node) Attack() Attack { return n.opts.Attack }

// Wait blocks until every connection the node is relaying has ended.
func (n *Node) Wait() { n.wg.Wait() }

// Close ends every relayed connection with 1001 (going away) and waits.
func (n *Node) Close() {
	n.cancel()
	n.wg.Wait()
}

// ServeHTTP accepts leg A, dials leg B and runs the attack until both end.
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := n.opts.Scheme.Name()
	proto := wire.Subprotocol(name)
	// A victim speaking another scheme gets the answer a real server would
	// give it, naming both schemes, before the node dials anywhere. The
	// path is not checked: whatever it says, the node relays to Upstream.
	if err := victim.OffersScheme(r, name); err != nil {
		w.Header().Set(victim.SchemeHeader, name)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n.wg.Add(1)
	defer n.wg.Done()
	// The session's own work is not cancelled by Close: Close ends it by
	// closing both legs with 1001, which a cancelled read would pre-empt
	// with an abrupt drop.
	ctx, cancel := context.WithCancel(context.WithoutCancel(n.ctx))
	defer cancel()
	dctx, dcancel := context.WithCancel(n.ctx)
	defer dcancel()

	// Dial upstream first, so a victim that reaches a dead relay gets an
	// HTTP error rather than a WebSocket that closes at once.
	b, resp, err := websocket.Dial(dctx, n.opts.Upstream, &websocket.DialOptions{
		HTTPClient:   n.opts.HTTPClient,
		Subprotocols: []string{proto},
	})
	if err != nil {
		if resp != nil && resp.Header.Get(victim.SchemeHeader) != "" {
			w.Header().Set(victim.SchemeHeader, resp.Header.Get(victim.SchemeHeader))
			http.Error(w, fmt.Sprintf("protocol mismatch: upstream speaks %s, attacker relays %s", resp.Header.Get(victim.SchemeHeader), name), http.StatusBadRequest)
			return
		}
		http.Error(w, fmt.Sprintf("attacker: upstream %s: %v", n.opts.Upstream, err), http.StatusBadGateway)
		return
	}
	a, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{proto}})
	if err != nil {
		b.Close(websocket.StatusGoingAway, "client did not connect")
		return
	}
	if a.Subprotocol() != proto {
		a.Close(websocket.StatusProtocolError, "protocol mismatch: attacker relays "+name)
		b.Close(websocket.StatusGoingAway, "client spoke another scheme")
		return
	}
	s := &session{n: n, id: int(n.conns.Add(1)), a: a, b: b}
	stop := context.AfterFunc(n.ctx, func() {
		s.closeLeg(trace.LegA, websocket.StatusGoingAway, "attacker shutting down")
		s.closeLeg(trace.LegB, websocket.StatusGoingAway, "attacker shutting down")
	})
	defer stop()
	s.run(ctx)
}

// session is the node's state for one victim connection.
type session struct {
	n    *Node
	id   int
	a, b *websocket.Conn

	closeMu sync.Mutex
	closed  [2]bool // leg A, leg B: the node has sent or relayed a close
}

func (s *session) run(ctx context.Context) {
	var (
		r   relay
		err error
	)
	switch s.n.opts.Attack {
	case Passive:
		r = opaqueRelay{}
	case SwapRSAKey:
		r, err = s.swapRSAKey(ctx)
	case DoubleECDH, Impersonate, StripOffer:
		r, err = s.doubleHandshake(ctx)
	case SubstituteShares:
		r, err = s.substituteShares(ctx)
	}
	if err != nil {
		if !errors.Is(err, errAborted) {
			s.abort(err)
		}
		return
	}
	s.relay(ctx, r)
}

// relay runs both pumps until both legs have closed.
func (s *session) relay(ctx context.Context, r relay) {
	a, b := wire.NewConn(s.a, nil), wire.NewConn(s.b, nil)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.pump(ctx, a, b, trace.LegA, trace.LegB, wire.ClientToServer, r)
	}()
	go func() {
		defer wg.Done()
		s.pump(ctx, b, a, trace.LegB, trace.LegA, wire.ServerToClient, r)
	}()
	wg.Wait()
}

// pump moves frames from one leg to the other in direction dir, recording
// each on both legs with the verdict r gives.
func (s *session) pump(ctx context.Context, from, to *wire.Conn, fromLeg, toLeg trace.Leg, dir wire.Direction, r relay) {
	for {
		raw, err := from.Read(ctx)
		if err != nil {
			s.abort(&legError{leg: fromLeg, err: err})
			return
		}
		in := parse(raw)
		f := r.pass(dir, in)
		s.record(fromLeg, dir, in, f.in, f.inRecovered, f.inNote)
		if f.out.raw == nil {
			s.record(toLeg, dir, parsed{typ: in.typ, seq: in.seq}, trace.Blocked, nil, f.outNote)
			continue
		}
		// Record before writing, so the ledger keeps cause before effect:
		// the receiver may answer before Write returns.
		s.record(toLeg, dir, f.out, f.outVerdict, f.outRecovered, f.outNote)
		if err := to.Write(ctx, f.out.raw); err != nil {
			s.record(toLeg, dir, f.out, trace.Blocked, nil, "could not deliver: leg closed")
			return
		}
	}
}

// legError says on which leg something went wrong.
type legError struct {
	leg trace.Leg
	err error
}

func (e *legError) Error() string { return fmt.Sprintf("leg %s: %v", e.leg, e.err) }
func (e *legError) Unwrap() error { return e.err }

func other(l trace.Leg) trace.Leg {
	if l == trace.LegA {
		return trace.LegB
	}
	return trace.LegA
}

// abort ends the session after err. A close from one victim is relayed to
// the other with the same code and reason, as a transparent proxy would; any
// other failure closes the failed leg with the code the error calls for and
// the other leg with 1001.
func (s *session) abort(err error) {
	var le *legError
	if !errors.As(err, &le) {
		s.closeLeg(trace.LegA, websocket.StatusInternalError, "attacker failed")
		s.closeLeg(trace.LegB, websocket.StatusInternalError, "attacker failed")
		return
	}
	var ce *wire.CloseError
	if errors.As(le.err, &ce) {
		s.recordClose(le.leg, inbound(le.leg), ce.Code, ce.Reason)
		s.markClosed(le.leg)
		code := ce.Code
		if !sendable(code) {
			code = websocket.StatusNormalClosure
		}
		s.closeLeg(other(le.leg), code, ce.Reason)
		return
	}
	if errors.Is(le.err, wire.ErrPeerClosed) || errors.Is(le.err, context.Canceled) {
		s.markClosed(le.leg)
		s.closeLeg(other(le.leg), websocket.StatusGoingAway, "peer connection lost")
		return
	}
	s.closeLeg(le.leg, wire.CloseCode(le.err), le.err.Error())
	s.closeLeg(other(le.leg), websocket.StatusGoingAway, "peer connection failed")
}

func (s *session) markClosed(leg trace.Leg) bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	i := 0
	if leg == trace.LegB {
		i = 1
	}
	was := s.closed[i]
	s.closed[i] = true
	return was
}

// closeLeg sends a close frame on leg, once, and records it.
func (s *session) closeLeg(leg trace.Leg, code websocket.StatusCode, reason string) {
	if s.markClosed(leg) {
		return
	}
	ws := s.a
	if leg == trace.LegB {
		ws = s.b
	}
	s.recordClose(leg, outbound(leg), code, reason)
	ws.Close(code, wire.CloseReason(reason))
}

// sendable reports whether code may appear in a close frame (RFC 6455 §7.4).
func sendable(code websocket.StatusCode) bool {
	switch code {
	case websocket.StatusNoStatusRcvd, websocket.StatusAbnormalClosure, websocket.StatusTLSHandshake:
		return false
	}
	return code >= 1000 && code < 5000
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

// record adds one frame on one leg to the ledger. A frame that was not
// delivered has no bytes: its Size is 0 and its type and seq are those of
// the frame that came in.
func (s *session) record(leg trace.Leg, dir wire.Direction, p parsed, v trace.Verdict, recovered []byte, note string) {
	s.n.log.Add(trace.Event{
		Conn:      s.id,
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

func (s *session) recordClose(leg trace.Leg, dir wire.Direction, code websocket.StatusCode, reason string) {
	s.n.log.Add(closeEvent(s.id, leg, dir, code, reason))
}

// closeEvent is a close frame on a leg. A close for a failed check (1008)
// or a protocol error (1002) is blocked: a victim refused to go on.
func closeEvent(conn int, leg trace.Leg, dir wire.Direction, code websocket.StatusCode, reason string) trace.Event {
	note := fmt.Sprintf("%d %s", int(code), code)
	if reason != "" {
		note += ": " + reason
	}
	v := trace.Public
	if code == websocket.StatusPolicyViolation || code == websocket.StatusProtocolError {
		v = trace.Blocked
	}
	return trace.Event{Conn: conn, Leg: leg, Dir: dir, Type: trace.TypeClose, Verdict: v, Note: note}
}

// handshakeTap records handshake frames on leg: what the node receives is
// public, what it sends it made itself.
func (s *session) handshakeTap(leg trace.Leg, note string) wire.Tap {
	return func(sent bool, msg []byte) {
		p := parse(append([]byte(nil), msg...))
		if sent {
			s.record(leg, outbound(leg), p, trace.Substituted, nil, madeNote(p, note))
			return
		}
		s.record(leg, inbound(leg), p, trace.Public, nil, "")
	}
}

// madeNote says what the node put in a handshake message it made itself:
// note describes its hellos; the later messages carry its own signature or
// MACs.
func madeNote(p parsed, note string) string {
	switch wire.Type(p.typ) {
	case wire.TypeServerVerify:
		return "signed with the attacker's own key; finished MAC under his own key share"
	case wire.TypeClientFinished:
		return "the attacker's own finished MAC, under the key he shares with the server"
	case wire.TypeKeyTransport:
		return "a secret wrapped by the attacker"
	}
	return note
}

// doubleHandshake runs the scheme's server half toward the client and its
// client half toward the server, each with the node's own
// keys. Against pinned-ecdh this is impersonation: the node presents its own
// certificate, which the client's pin refuses.
func (s *session) doubleHandshake(ctx context.Context) (relay, error) {
	sch := s.n.opts.Scheme
	noteA, noteB := "the attacker's own key share", "the attacker's own key share"
	scfg := &kex.ServerConfig{Identity: s.n.opts.Identity}
	// INSECURE(attacker): Mallory does not care who the server is.
	ccfg := &kex.ClientConfig{SkipPinCheck: true}
	switch s.n.opts.Attack {
	case Impersonate:
		noteA = "the attacker's own key share and certificate"
	case StripOffer:
		// Toward Alice, Mallory is a server that cannot sign; toward Bob, a
		// client that offers only what Mallory can break.
		scfg = &kex.ServerConfig{Schemes: []string{kex.NameUnauthECDH}}
		ccfg = &kex.ClientConfig{SkipPinCheck: true, Offer: []string{kex.NameUnauthECDH}, AcceptFallback: true}
		noteA = "unauth-ecdh chosen for the server, with the attacker's own key share"
		noteB = "offer stripped to unauth-ecdh; the attacker's own key share"
	}
	a := wire.NewConn(s.a, s.handshakeTap(trace.LegA, noteA))
	b := wire.NewConn(s.b, s.handshakeTap(trace.LegB, noteB))

	// One exchange after the other, client side first, so the ledger reads
	// in the order a person would tell it.
	sa, err := sch.Server(ctx, a, scfg)
	if err != nil {
		s.abort(&legError{leg: trace.LegA, err: err})
		return nil, errAborted
	}
	sb, err := sch.Client(ctx, b, ccfg)
	if err != nil {
		s.abort(&legError{leg: trace.LegB, err: err})
		return nil, errAborted
	}
	return newReencryptRelay(sa, sb)
}

// errAborted means the session has already been torn down.
var errAborted = errors.New("attacker: session aborted")
