package victim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// SchemeHeader is the HTTP response header in which a lab server names the
// scheme it speaks when it refuses an upgrade.
const SchemeHeader = "Mitmlab-Scheme"

// ServerSession is what the server saw on one connection.
type ServerSession struct {
	// Received holds the plaintexts the server accepted, in order.
	Received [][]byte
	// Replies holds what the server sent back, in order.
	Replies [][]byte
	// Err is nil when the client closed normally; otherwise the handshake or
	// record-layer error, or the abnormal close.
	Err error
}

// Server is Bob: an http.Handler that serves one scheme's endpoint.
type Server struct {
	scheme  kex.Scheme
	cfg     *kex.ServerConfig
	reply   func([]byte) []byte
	origins []string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions []*ServerSession
	onEnd    func(*ServerSession)
}

// ServerOptions configures a [Server]. A nil *ServerOptions means defaults.
type ServerOptions struct {
	// Config is passed to the scheme's server half. pinned-ecdh needs its
	// Identity.
	Config *kex.ServerConfig
	// Reply makes the answer to one message. Nil means [DefaultReply].
	Reply func(msg []byte) []byte
	// OriginPatterns lists browser origins allowed to connect, as in
	// websocket.AcceptOptions. Empty means same-origin and non-browser
	// clients only; the Origin check is never switched off.
	OriginPatterns []string
	// OnSessionEnd, if not nil, is called when a connection ends.
	OnSessionEnd func(*ServerSession)
}

// DefaultReply answers "got it: " and the message.
//
// The reply must fit one record, so for a message within
// len("got it: ") bytes of [channel.MaxPlaintext] the echoed part is cut.
func DefaultReply(msg []byte) []byte {
	const prefix = "got it: "
	if len(msg) > channel.MaxPlaintext-len(prefix) {
		msg = msg[:channel.MaxPlaintext-len(prefix)]
	}
	return append([]byte(prefix), msg...)
}

// NewServer returns a server for scheme. Call Close to end its sessions.
func NewServer(scheme kex.Scheme, opts *ServerOptions) *Server {
	if opts == nil {
		opts = &ServerOptions{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		scheme:  scheme,
		cfg:     opts.Config,
		reply:   opts.Reply,
		origins: opts.OriginPatterns,
		ctx:     ctx,
		cancel:  cancel,
		onEnd:   opts.OnSessionEnd,
	}
	if s.reply == nil {
		s.reply = DefaultReply
	}
	return s
}

// Path returns the URL path a scheme is served on, "/<scheme>".
func Path(scheme string) string { return "/" + scheme }

// ServeHTTP accepts one WebSocket connection and serves it until it closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := CheckScheme(r, s.scheme.Name()); err != nil {
		w.Header().Set(SchemeHeader, s.scheme.Name())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{wire.Subprotocol(s.scheme.Name())},
		OriginPatterns: s.origins,
	})
	if err != nil {
		return // Accept has written the HTTP error
	}
	s.wg.Add(1)
	defer s.wg.Done()
	// Close ends the session with the 1001 close frame below, not by
	// cancelling ctx: coder/websocket drops the connection at once when a
	// read's context is cancelled, and that raced with the close frame.
	ctx, cancel := context.WithCancel(context.WithoutCancel(s.ctx))
	defer cancel()
	stop := context.AfterFunc(s.ctx, func() { ws.Close(websocket.StatusGoingAway, "server shutting down") })
	defer stop()

	sess := s.serve(ctx, wire.NewConn(ws, nil))
	s.mu.Lock()
	s.sessions = append(s.sessions, sess)
	s.mu.Unlock()
	if s.onEnd != nil {
		s.onEnd(sess)
	}
}

// CheckScheme returns an error, naming both schemes, unless the WebSocket
// upgrade request r is for scheme: its path is "/<scheme>" (or "/") and it
// offers the subprotocol "mitmlab.v1.<scheme>" ([OffersScheme]). A lab
// endpoint answers such a request with HTTP 400 and the [SchemeHeader].
func CheckScheme(r *http.Request, scheme string) error {
	if r.URL.Path != Path(scheme) && r.URL.Path != "/" {
		return fmt.Errorf("protocol mismatch: this server speaks %s at %s, not %s", scheme, Path(scheme), r.URL.Path)
	}
	return OffersScheme(r, scheme)
}

// OffersScheme returns an error, naming both schemes, unless r offers the
// subprotocol "mitmlab.v1.<scheme>".
func OffersScheme(r *http.Request, scheme string) error {
	var offered []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			offered = append(offered, strings.TrimSpace(p))
		}
	}
	if !slices.Contains(offered, wire.Subprotocol(scheme)) {
		return fmt.Errorf("protocol mismatch: this server speaks %s; the client offered %q", scheme, offered)
	}
	return nil
}

func (s *Server) serve(ctx context.Context, conn *wire.Conn) *ServerSession {
	sess := &ServerSession{}
	secrets, err := s.scheme.Server(ctx, conn, s.cfg)
	if err != nil {
		sess.Err = err
		return sess
	}
	ch, err := channel.New(conn, secrets, channel.Server)
	if err != nil {
		sess.Err = conn.Fail(err)
		return sess
	}
	for {
		msg, _, err := ch.Receive(ctx)
		if err != nil {
			if !isNormalClose(err) {
				sess.Err = conn.Fail(err)
			}
			return sess
		}
		sess.Received = append(sess.Received, msg)
		reply := s.reply(msg)
		if _, err := ch.Send(ctx, reply); err != nil {
			sess.Err = conn.Fail(err)
			return sess
		}
		sess.Replies = append(sess.Replies, reply)
	}
}

// Sessions returns the sessions that have ended so far.
func (s *Server) Sessions() []*ServerSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sessions)
}

// Wait blocks until every open session has ended.
func (s *Server) Wait() { s.wg.Wait() }

// Close closes every open session with 1001 (going away) and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}
