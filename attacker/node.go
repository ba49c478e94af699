package attacker

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/internal/settle"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// Default timeouts, used when an Options field is zero.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultDialTimeout      = 10 * time.Second
)

// Options configures a [Node].
type Options struct {
	// Scheme is the scheme the victims speak.
	Scheme *kex.Scheme
	// Attack is the strategy; it must apply to Scheme. Nil means passive.
	Attack *Attack
	// Choose, if not nil, picks the attack for each connection instead of
	// Attack, from its number (from 1) and the upgrade request. mitmlab
	// exam and the classroom cycle through the applicable attacks with it.
	Choose func(conn int, r *http.Request) *Attack
	// Upstream is the WebSocket URL of the real server. The node relays to
	// this address and no other.
	Upstream string
	// HTTPClient dials Upstream; nil means http.DefaultClient.
	HTTPClient *http.Client
	// OriginPatterns lists browser origins allowed to connect, as in
	// websocket.AcceptOptions. Empty means same-origin pages and
	// non-browser clients only; the Origin check is never switched off.
	OriginPatterns []string
	// Identity is the certificate the node presents when it impersonates a
	// server. Nil means a fresh self-signed one, "mallory".
	Identity *kex.Identity
	// RSAKey is the key the node swaps in for swap-rsa-key. Nil means a
	// fresh RSA-2048 key, made once per node.
	RSAKey *rsa.PrivateKey
	// TLS, if not nil, says the victims speak wss://; see [TLS].
	TLS *TLS
	// TruncateAt is the client's data record (counting from 1) that the
	// truncate attack drops; 0 means the client's end record.
	TruncateAt int
	// Log receives the node's ledger: one event per frame per leg. Nil
	// means a log the node keeps to itself ([Node.Log]).
	Log *trace.Log
	// HandshakeTimeout bounds each leg's handshake; IdleTimeout, the quiet
	// on a leg after it; DialTimeout, the upstream's answer to the
	// upgrade. Zero means the Default; the victim on the leg that timed
	// out gets 1008 (handshake) or 1001 (idle).
	HandshakeTimeout, IdleTimeout, DialTimeout time.Duration
	// OnSessionEnd, if not nil, is called when a connection ends, with its
	// number, the name the client gave (?name=) and the attack it ran.
	OnSessionEnd func(SessionEnd)
	// Logf, if not nil, receives the node's operational messages: an
	// upstream that is down, a victim refused for its Origin.
	Logf func(format string, args ...any)
	// Rand is the source of the node's keys; nil means crypto/rand.
	Rand io.Reader
	// Stolen, if not nil, holds the server's long-term keys, which the
	// node hands to an attack that steals them (Attack.Steals) once that
	// attack's session is over, and to no other attack. It stands for a
	// key file taken from the server later: see [Stolen].
	Stolen *Stolen
	// Given, if not nil, is what the lesson grants Mallory beyond the
	// wire: its premise (see [Given]). Its Identity, if any, is the one he
	// presents when Identity is nil.
	Given *Given
	// KeyLog, if not nil, receives the NSS key log of the node's own TLS
	// endpoints (terminate-tls, mis-issued-cert): see
	// tlslab.Observer.KeyLog. It must be safe for concurrent use.
	KeyLog io.Writer
}

// SessionEnd describes one connection that has ended.
type SessionEnd struct {
	Conn   int
	Name   string
	Attack string
	Err    error // why it ended, if not with both victims' closes
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
	wg     settle.Group

	mu      sync.Mutex
	closers []io.Closer // what Serve started
	closed  bool
	history [][]byte // recent frames of earlier sessions, for replay mutations
}

// New checks opts and returns a node.
func New(opts Options) (*Node, error) {
	if err := opts.Scheme.Check(); err != nil {
		return nil, fmt.Errorf("attacker: %w", err)
	}
	if opts.Upstream == "" {
		return nil, errors.New("attacker: no upstream to relay to")
	}
	if opts.Attack == nil && opts.Choose == nil {
		opts.Attack, _ = Lookup(Passive)
	}
	if opts.Attack != nil {
		if err := opts.Attack.Applies(opts.Scheme, opts.TLS != nil); err != nil {
			return nil, fmt.Errorf("attacker: %w", err)
		}
	}
	if opts.Stolen != nil && opts.Choose == nil && !opts.Attack.Steals {
		return nil, fmt.Errorf("attacker: stolen keys given to %s, which does not steal them", opts.Attack.Name)
	}
	if opts.Identity == nil && opts.Given != nil {
		opts.Identity = opts.Given.Identity
	}
	if opts.Identity == nil && opts.Scheme.Identity {
		id, err := kex.GenerateIdentity(opts.Rand, nil, "mallory")
		if err != nil {
			return nil, err
		}
		opts.Identity = id
	}
	if opts.RSAKey == nil && opts.Scheme.Has("rsa_public_key", "spki") {
		k, err := kex.NewRSAKey()
		if err != nil {
			return nil, err
		}
		opts.RSAKey = k
	}
	opts.HandshakeTimeout = orDefault(opts.HandshakeTimeout, DefaultHandshakeTimeout)
	opts.IdleTimeout = orDefault(opts.IdleTimeout, DefaultIdleTimeout)
	opts.DialTimeout = orDefault(opts.DialTimeout, DefaultDialTimeout)
	if opts.TLS != nil {
		if err := opts.TLS.prepare(opts.Rand); err != nil {
			return nil, err
		}
	}
	log := opts.Log
	if log == nil {
		log = trace.NewLog(nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Node{opts: opts, log: log, ctx: ctx, cancel: cancel}, nil
}

// quietLog discards net/http's own logging: failed TLS handshakes are part
// of the lesson, and the ledger records them.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Log returns the node's ledger.
func (n *Node) Log() *trace.Log { return n.log }

// Attack returns the node's strategy, or nil when Choose picks one per
// connection.
func (n *Node) Attack() *Attack { return n.opts.Attack }

// Wait blocks until every connection the node is relaying has ended.
func (n *Node) Wait() { n.wg.Wait() }

// Close ends every relayed connection with 1001 (going away), stops the
// servers Serve started, and waits.
func (n *Node) Close() {
	n.cancel()
	n.mu.Lock()
	n.closed = true
	closers := n.closers
	n.mu.Unlock()
	for _, c := range closers {
		c.Close()
	}
	n.wg.Wait()
}

// track registers c to be closed by Close, and reports false, having
// closed c, if Close has already run.
func (n *Node) track(c io.Closer) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		c.Close()
		return false
	}
	n.closers = append(n.closers, c)
	return true
}

func (n *Node) logf(format string, args ...any) {
	if n.opts.Logf != nil {
		n.opts.Logf(format, args...)
	}
}

// ServeHTTP accepts leg A, dials leg B and runs the attack until both end.
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isPageRequest(r) {
		n.servePage(w, r) // the victim page and its files (page.go)
		return
	}
	name := n.opts.Scheme.Name
	proto := wire.Subprotocol(name)
	// A victim speaking another scheme gets the answer a real server would
	// give it, naming both schemes, before the node dials anywhere. The
	// path is not checked: whatever it says, the node relays to Upstream.
	if err := victim.OffersScheme(r, name); err != nil {
		w.Header().Set(victim.SchemeHeader, name)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := victim.CheckOrigin(r, n.opts.OriginPatterns); err != nil {
		n.logf("%v", err)
		websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: n.opts.OriginPatterns}) // writes the 403
		return
	}
	n.wg.Add()
	defer n.wg.Done()
	id := connID(r.Context())
	if id == 0 {
		id = int(n.conns.Add(1))
	}
	attack := n.opts.Attack
	if n.opts.Choose != nil {
		attack = n.opts.Choose(id, r)
	}

	// Dial upstream first, so a scheme mismatch reaches the victim as the
	// server's own HTTP answer.
	dctx, dcancel := context.WithTimeout(n.ctx, n.opts.DialTimeout)
	b, resp, derr := websocket.Dial(dctx, n.opts.Upstream, &websocket.DialOptions{
		HTTPClient:   n.httpClient(id),
		Subprotocols: []string{proto},
	})
	dcancel()
	if derr != nil && resp != nil && resp.Header.Get(victim.SchemeHeader) != "" {
		w.Header().Set(victim.SchemeHeader, resp.Header.Get(victim.SchemeHeader))
		http.Error(w, fmt.Sprintf("protocol mismatch: upstream speaks %s, attacker relays %s", resp.Header.Get(victim.SchemeHeader), name), http.StatusBadRequest)
		return
	}
	a, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{proto}, OriginPatterns: n.opts.OriginPatterns})
	if err != nil {
		if b != nil {
			b.Close(websocket.StatusGoingAway, "client did not connect")
		}
		return
	}
	if derr != nil {
		reason := upstreamError(n.opts.Upstream, derr)
		n.logf("conn %d: %s", id, reason)
		a.Close(websocket.StatusInternalError, wire.CloseReason(reason))
		return
	}
	if a.Subprotocol() != proto {
		a.Close(websocket.StatusProtocolError, "protocol mismatch: attacker relays "+name)
		b.Close(websocket.StatusGoingAway, "client spoke another scheme")
		return
	}
	s := newSession(n, id, r.URL.Query().Get("name"), attack, a, b)
	err = s.run()
	if n.opts.OnSessionEnd != nil {
		n.opts.OnSessionEnd(SessionEnd{Conn: id, Name: s.name, Attack: attack.Name, Err: err})
	}
}

// upstreamError says why the upstream did not answer, for the victim's
// close reason and the node's log.
func upstreamError(upstream string, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("upstream %s: did not answer in time", upstream)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("upstream %s: connection refused (is the server running?)", upstream)
	}
	// The root cause is the last part of the library's wrapped message.
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return fmt.Sprintf("upstream %s: %s", upstream, msg)
}

func (n *Node) httpClient(conn int) *http.Client {
	if n.opts.TLS != nil {
		return n.opts.TLS.upstreamClient(n, conn)
	}
	return n.opts.HTTPClient
}

type connKey struct{}

// withConnID records a connection's number in its requests' context, so
// that the TLS records on it and the lab messages inside carry the same
// number.
func withConnID(ctx context.Context, id int) context.Context {
	return context.WithValue(ctx, connKey{}, id)
}

func connID(ctx context.Context) int {
	id, _ := ctx.Value(connKey{}).(int)
	return id
}

// remember keeps a session's frames for later replay mutations.
func (n *Node) remember(frames [][]byte) {
	const keep = 64
	n.mu.Lock()
	defer n.mu.Unlock()
	n.history = append(n.history, frames...)
	if len(n.history) > keep {
		n.history = n.history[len(n.history)-keep:]
	}
}

// recalled returns the frames of earlier sessions.
func (n *Node) recalled() [][]byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([][]byte(nil), n.history...)
}
