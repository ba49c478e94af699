package victim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/internal/settle"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// SchemeHeader is the HTTP response header in which a lab server names the
// scheme it speaks when it refuses an upgrade.
const SchemeHeader = "Mitmlab-Scheme"

// How a session ended, as [ServerSession.Ending] names it.
const (
	EndClean     = "clean"          // both end records exchanged
	EndTruncated = "truncated"      // the connection ended without the client's end record
	EndRefused   = "refused"        // the server refused: a failed check or bad input
	EndTimedOut  = "timed out"      // a handshake or idle timeout
	EndShutdown  = "shutdown"       // the server shut down
	EndPeer      = "client refused" // the client closed with a refusal
	EndFailed    = "failed"         // anything else
)

// ServerSession is what the server saw on one connection.
type ServerSession struct {
	// Conn is the session's number on this server, from 1.
	Conn int
	// Name is the name the client gave (?name=), if any.
	Name string
	// Received holds the plaintexts the server accepted, in order, and
	// Replies what it sent back; with ServerOptions.NoHistory both stay
	// empty and only the counts are kept.
	Received, Replies [][]byte
	// MessagesReceived and MessagesAnswered count them.
	MessagesReceived, MessagesAnswered int
	// Err is nil when the conversation ended cleanly, with both end
	// records; otherwise the handshake or record-layer error, the
	// truncation, or the timeout.
	Err error
	// Ending is how the session ended: one of the End constants.
	Ending string
}

// Server is Bob: an http.Handler that serves one scheme's endpoint.
type Server struct {
	scheme *kex.Scheme
	opts   ServerOptions
	conns  atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	wg     settle.Group

	mu       sync.Mutex
	sessions []*ServerSession
}

// ServerOptions configures a [Server]. A nil *ServerOptions means defaults.
type ServerOptions struct {
	// Config is passed to the scheme's server half. A scheme with an
	// Identity needs Config.Identity.
	Config *kex.ServerConfig
	// Records configures the record layer; nil means the defaults.
	Records *channel.Options
	// Reply makes the answer to one message. Nil means [DefaultReply].
	Reply func(msg []byte) []byte
	// OriginPatterns lists browser origins allowed to connect, as in
	// websocket.AcceptOptions. Empty means same-origin pages and
	// non-browser clients only; the Origin check is never switched off.
	OriginPatterns []string
	// HandshakeTimeout bounds the handshake (default 10 s; the client gets
	// 1008). IdleTimeout bounds the quiet between messages after it
	// (default 5 min; the client gets 1001).
	HandshakeTimeout, IdleTimeout time.Duration
	// NoHistory keeps no messages and no ended sessions: a long-running
	// process reports each session through OnSessionEnd and forgets it.
	NoHistory bool
	// OnSessionEnd, if not nil, is called when a connection ends.
	OnSessionEnd func(*ServerSession)
	// Logf, if not nil, receives operational messages, such as a browser
	// refused for its Origin.
	Logf func(format string, args ...any)
}

// DefaultReply answers "got it: " and the message.
//
// The reply must fit one record, so for a message within len("got it: ")
// bytes of [channel.MaxPlaintext] the echoed part is cut, never inside a
// UTF-8 sequence.
func DefaultReply(msg []byte) []byte {
	const prefix = "got it: "
	if n := channel.MaxPlaintext - len(prefix); len(msg) > n {
		msg = msg[:n]
		// Back up to the start of the last rune, and drop that rune if the
		// cut left it incomplete. (Checking the last four bytes with
		// utf8.Valid instead fails whenever they begin inside an earlier
		// rune, and ate a text of three-byte runes down to one rune.)
		for i := len(msg) - 1; i >= 0 && i >= len(msg)-utf8.UTFMax; i-- {
			if utf8.RuneStart(msg[i]) {
				if !utf8.FullRune(msg[i:]) {
					msg = msg[:i]
				}
				break
			}
		}
	}
	return append([]byte(prefix), msg...)
}

// NewServer returns a server for scheme. Call Close to end its sessions.
func NewServer(scheme *kex.Scheme, opts *ServerOptions) *Server {
	s := &Server{scheme: scheme}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Reply == nil {
		s.opts.Reply = DefaultReply
	}
	s.opts.HandshakeTimeout = or(s.opts.HandshakeTimeout, DefaultHandshakeTimeout)
	s.opts.IdleTimeout = or(s.opts.IdleTimeout, DefaultIdleTimeout)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Scheme returns the scheme the server speaks.
func (s *Server) Scheme() *kex.Scheme { return s.scheme }

// Path returns the URL path a scheme is served on, "/<scheme>".
func Path(scheme string) string { return "/" + scheme }

// ServeHTTP accepts one WebSocket connection and serves it until it closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := CheckScheme(r, s.scheme.Name); err != nil {
		w.Header().Set(SchemeHeader, s.scheme.Name)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := CheckOrigin(r, s.opts.OriginPatterns); err != nil && s.opts.Logf != nil {
		s.opts.Logf("%v", err)
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{wire.Subprotocol(s.scheme.Name)},
		OriginPatterns: s.opts.OriginPatterns,
	})
	if err != nil {
		return // Accept has written the HTTP error
	}
	s.wg.Add()
	defer s.wg.Done()
	sess := &ServerSession{Conn: int(s.conns.Add(1)), Name: r.URL.Query().Get("name")}
	s.serve(wire.NewConn(ws, s.scheme.Codec()), sess)
	if !s.opts.NoHistory {
		s.mu.Lock()
		s.sessions = append(s.sessions, sess)
		s.mu.Unlock()
	}
	if s.opts.OnSessionEnd != nil {
		s.opts.OnSessionEnd(sess)
	}
}

// CheckScheme returns an error, naming both schemes, unless the WebSocket
// upgrade request r is for scheme: its path is "/<scheme>" (or "/") and it
// offers the subprotocol "mitmlab.v2.<scheme>" ([OffersScheme]). A lab
// endpoint answers such a request with HTTP 400 and the [SchemeHeader].
func CheckScheme(r *http.Request, scheme string) error {
	if r.URL.Path != Path(scheme) && r.URL.Path != "/" {
		return fmt.Errorf("protocol mismatch: this server speaks %s at %s, not %s", scheme, Path(scheme), r.URL.Path)
	}
	return OffersScheme(r, scheme)
}

// OffersScheme returns an error, naming both schemes, unless r offers the
// subprotocol "mitmlab.v2.<scheme>".
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

// serve runs one session: the handshake, then the chat, then the end.
func (s *Server) serve(conn *wire.Conn, sess *ServerSession) {
	// Reads are never cancelled by a context (coder/websocket would drop
	// the connection without a close frame): watchdogs bound them, and
	// Close ends a session with its end record and 1001.
	ctx := context.WithoutCancel(s.ctx)
	var shutdown atomic.Bool
	var ch atomic.Pointer[channel.Channel]
	fired := make(chan struct{})
	stop := context.AfterFunc(s.ctx, func() {
		defer close(fired)
		shutdown.Store(true)
		if c := ch.Load(); c != nil {
			c.End(ctx)
		}
		conn.Close(websocket.StatusGoingAway, "server shutting down")
	})
	defer func() {
		if !stop() {
			<-fired // the shutdown close is under way; let it finish
		}
		conn.CloseNow()
	}()

	dog := conn.Watch(s.opts.HandshakeTimeout, wire.ErrHandshakeTimeout)
	secrets, err := s.scheme.Server(ctx, conn, s.opts.Config)
	dog.Stop()
	if err != nil {
		s.ended(sess, err, shutdown.Load())
		return
	}
	secrets.Suite = s.scheme.Suite
	c, err := channel.New(conn, secrets, channel.Server, s.opts.Records)
	if err != nil {
		s.ended(sess, conn.Fail(err), false)
		return
	}
	ch.Store(c)
	// An idle session ends as a shutdown does, with the server's end
	// record before its 1001: the client can tell it from a cut.
	var idled atomic.Bool
	idle := conn.WatchFunc(s.opts.IdleTimeout, func() {
		idled.Store(true)
		c.End(ctx)
		conn.Close(websocket.StatusGoingAway, fmt.Sprintf("%v after %s", wire.ErrIdleTimeout, s.opts.IdleTimeout))
	})
	defer idle.Stop()
	for {
		msg, _, err := c.Receive(ctx)
		idle.Kick()
		if idled.Load() {
			s.idled(sess)
			return
		}
		if errors.Is(err, io.EOF) {
			s.ended(sess, s.finish(ctx, c), shutdown.Load())
			return
		}
		if err != nil {
			if !shutdown.Load() {
				err = conn.Fail(err)
			}
			s.ended(sess, err, shutdown.Load())
			return
		}
		sess.MessagesReceived++
		if !s.opts.NoHistory {
			sess.Received = append(sess.Received, msg)
		}
		reply := s.opts.Reply(msg)
		if _, err := c.Send(ctx, reply); err != nil {
			if !shutdown.Load() {
				err = conn.Fail(err)
			}
			s.ended(sess, err, shutdown.Load())
			return
		}
		sess.MessagesAnswered++
		if !s.opts.NoHistory {
			sess.Replies = append(sess.Replies, reply)
		}
	}
}

// finish answers the client's end record with the server's own and waits
// for the client's close.
func (s *Server) finish(ctx context.Context, c *channel.Channel) error {
	if err := c.End(ctx); err != nil {
		return c.Conn().Fail(err)
	}
	for {
		_, _, err := c.Receive(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return c.Conn().Fail(err)
		}
	}
}

// ended records how a session ended.
func (s *Server) ended(sess *ServerSession, err error, shutdown bool) {
	sess.Err = err
	sess.Ending = Ending(err)
	// A session the server shut down ends without the client's end record
	// by the server's own choice (the client's echo of its 1001 reads as
	// a truncation): that is a shutdown. An attack it detected is not.
	if shutdown && err != nil && (!wire.Detected(err) || errors.Is(err, channel.ErrTruncated)) {
		sess.Err, sess.Ending = nil, EndShutdown
	}
}

// idled records a session the server ended for being quiet too long.
func (s *Server) idled(sess *ServerSession) {
	sess.Err = fmt.Errorf("%w after %s", wire.ErrIdleTimeout, s.opts.IdleTimeout)
	sess.Ending = EndTimedOut
}

// Ending names how a session that ended with err ended: clean for nil,
// then truncated, timed out, refused (a check failed or the input was
// bad) or failed.
func Ending(err error) string {
	var t *wire.Timeout
	var ce *wire.CloseError
	switch {
	case err == nil:
		return EndClean
	case errors.Is(err, channel.ErrTruncated):
		return EndTruncated
	case errors.As(err, &t):
		return EndTimedOut
	case errors.As(err, &ce) && wire.Refusal(ce.Code):
		return EndPeer
	case errors.As(err, &ce):
		return EndFailed
	case wire.Detected(err), wire.CloseCode(err) != websocket.StatusInternalError:
		return EndRefused
	}
	return EndFailed
}

// Sessions returns the sessions that have ended so far (none with
// NoHistory).
func (s *Server) Sessions() []*ServerSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sessions)
}

// Wait blocks until every open session has ended.
func (s *Server) Wait() { s.wg.Wait() }

// Close ends every open session with the server's end record and 1001
// (going away), and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}
