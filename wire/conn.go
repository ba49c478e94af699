package wire

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// Direction says which way a message travels.
type Direction string

// The two directions of a lab connection.
const (
	ClientToServer Direction = "c2s"
	ServerToClient Direction = "s2c"
)

// Reverse returns the other direction.
func (d Direction) Reverse() Direction {
	if d == ClientToServer {
		return ServerToClient
	}
	return ClientToServer
}

// Version is the protocol version, as it appears in subprotocols.
const Version = "v2"

// Subprotocol returns the WebSocket subprotocol token that names scheme, for
// example "mitmlab.v2.pinned-ecdh".
func Subprotocol(scheme string) string { return "mitmlab." + Version + "." + scheme }

// A Tap sees every message that crosses a [Conn], as raw bytes. sent is true
// for messages this end wrote. A tap must not keep msg past the call unless
// it copies it, and must not block.
type Tap func(sent bool, msg []byte)

// A CloseTap sees the close frames that cross a [Conn]: the one this end
// sends (sent is true) and the one the peer sends first. It must not block.
type CloseTap func(sent bool, code websocket.StatusCode, reason string)

// closeGrace bounds how long a side that closes waits for the peer's close
// frame before it drops the connection: a peer that stopped reading must
// not hold a lab process for coder/websocket's full five seconds.
const closeGrace = time.Second

// Conn carries whole lab messages over one WebSocket connection, with the
// codec of the scheme it speaks. It is safe for one reader and any number
// of writers at a time.
type Conn struct {
	ws      *websocket.Conn
	codec   *Codec
	tap     Tap
	onClose CloseTap

	mu     sync.Mutex
	failed error // why this end gave up, once it has
	closed bool  // this end has sent a close frame
}

// NewConn wraps ws for a scheme whose messages codec knows. It sets the
// read limit to [MaxMessageSize]; an oversize message makes the websocket
// library close with 1009, and Read returns an error wrapping
// [ErrMessageTooLarge].
func NewConn(ws *websocket.Conn, codec *Codec) *Conn {
	ws.SetReadLimit(MaxMessageSize)
	return &Conn{ws: ws, codec: codec}
}

// SetTap sets the message tap; nil removes it. Call it before the
// connection is in use.
func (c *Conn) SetTap(f Tap) { c.tap = f }

// OnClose sets the close tap; nil removes it. Call it before the
// connection is in use.
func (c *Conn) OnClose(f CloseTap) { c.onClose = f }

func (c *Conn) tapClose(sent bool, code websocket.StatusCode, reason string) {
	if c.onClose != nil {
		c.onClose(sent, code, reason)
	}
}

// Codec returns the codec of the connection's scheme.
func (c *Conn) Codec() *Codec { return c.codec }

// WebSocket returns the underlying connection.
func (c *Conn) WebSocket() *websocket.Conn { return c.ws }

// Read returns the next message's raw bytes, exactly as received. After
// this end has given up ([Conn.Fail], a [Watchdog]), Read returns why.
func (c *Conn) Read(ctx context.Context) ([]byte, error) {
	typ, b, err := c.ws.Read(ctx)
	if ferr := c.failure(); ferr != nil {
		return nil, ferr
	}
	if err != nil {
		err = readError(err)
		var ce *CloseError
		if errors.As(err, &ce) && !c.sentClose() {
			c.tapClose(false, ce.Code, ce.Reason)
		}
		return nil, err
	}
	if typ != websocket.MessageText {
		return nil, fmt.Errorf("wire: %w", ErrBinaryMessage)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("wire: %w", ErrInvalidUTF8)
	}
	if c.tap != nil {
		c.tap(false, b)
	}
	return b, nil
}

// Write sends msg as one text message.
func (c *Conn) Write(ctx context.Context, msg []byte) error {
	if len(msg) > MaxMessageSize {
		return fmt.Errorf("wire: %w: %d bytes, limit %d", ErrMessageTooLarge, len(msg), MaxMessageSize)
	}
	if err := c.failure(); err != nil {
		return err
	}
	if c.tap != nil {
		c.tap(true, msg)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		if ferr := c.failure(); ferr != nil {
			return ferr
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("wire: write: %w", err)
		}
		// The connection is gone or closing: the peer is not there to read.
		return fmt.Errorf("wire: write: %w: %v", ErrPeerClosed, err)
	}
	return nil
}

// WriteMessage encodes m and writes it. It returns the bytes it sent, which
// handshakes add to their transcript.
func (c *Conn) WriteMessage(ctx context.Context, m Message) ([]byte, error) {
	b, err := Encode(m)
	if err != nil {
		return nil, err
	}
	return b, c.Write(ctx, b)
}

// Close closes the connection with code and reason, waiting a bounded
// time for the peer's close frame.
func (c *Conn) Close(code websocket.StatusCode, reason string) error {
	if !c.markClosed() {
		return nil
	}
	reason = CloseReason(reason)
	c.tapClose(true, code, reason)
	return c.shut(code, reason)
}

// Fail gives up on the connection because of err. It closes with the code
// and reason that err calls for, unless err means the connection is gone
// already, and returns err, so a caller can write `return c.Fail(err)`.
// Later reads and writes return err.
func (c *Conn) Fail(err error) error {
	c.setFailure(err)
	if quiet(err) {
		c.ws.CloseNow()
		return err
	}
	if !c.markClosed() {
		return err
	}
	if errors.Is(err, errReadLimit) {
		// coder/websocket has already sent its own 1009 close frame.
		c.tapClose(true, websocket.StatusMessageTooBig, fmt.Sprintf("read limited at %d bytes", MaxMessageSize+1))
		c.ws.CloseNow()
		return err
	}
	reason := CloseReason(err.Error())
	c.tapClose(true, CloseCode(err), reason)
	c.shut(CloseCode(err), reason)
	return err
}

// CloseNow drops the connection without a close handshake.
func (c *Conn) CloseNow() { c.ws.CloseNow() }

// shut sends a close frame and waits for the peer's, at most closeGrace.
func (c *Conn) shut(code websocket.StatusCode, reason string) error {
	done := make(chan error, 1)
	go func() { done <- c.ws.Close(code, reason) }()
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		c.ws.CloseNow()
		return <-done
	}
}

func (c *Conn) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

func (c *Conn) setFailure(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed == nil {
		c.failed = err
	}
}

// markClosed records that this end closes, and reports whether it is the
// first to.
func (c *Conn) markClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.closed
	c.closed = true
	return !was
}

func (c *Conn) sentClose() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Watchdog fails a connection that stays quiet too long: when it fires, the
// connection closes with its error's code and reason, and the blocked or
// next Read returns that error. Kick restarts the count; after Stop it does
// nothing.
type Watchdog struct {
	c   *Conn
	d   time.Duration
	err error
	f   func()
	t   *time.Timer

	mu      sync.Mutex
	stopped bool
}

// Watch starts a watchdog that fails c with err (wrapped with the
// duration) after d. A d of zero or less watches nothing.
func (c *Conn) Watch(d time.Duration, err error) *Watchdog {
	w := &Watchdog{c: c, d: d, err: err}
	if d > 0 {
		w.t = time.AfterFunc(d, w.fire)
	}
	return w
}

// WatchFunc starts a watchdog that calls f, instead of failing the
// connection, after d of quiet. A d of zero or less watches nothing.
func (c *Conn) WatchFunc(d time.Duration, f func()) *Watchdog {
	w := &Watchdog{c: c, d: d, f: f}
	if d > 0 {
		w.t = time.AfterFunc(d, w.fire)
	}
	return w
}

func (w *Watchdog) fire() {
	if w.f != nil {
		w.f()
		return
	}
	w.c.Fail(fmt.Errorf("%w after %s", w.err, w.d))
}

// Kick restarts the watchdog's count from now, unless it was stopped.
func (w *Watchdog) Kick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.t != nil && !w.stopped {
		w.t.Reset(w.d)
	}
}

// Stop stops the watchdog for good. It reports false if the watchdog had
// fired.
func (w *Watchdog) Stop() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.t == nil {
		return true
	}
	return w.t.Stop()
}

func readError(err error) error {
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return fmt.Errorf("wire: %w: limit %d bytes%w", ErrMessageTooLarge, MaxMessageSize, errReadLimit)
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: ce.Code, Reason: ce.Reason}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("wire: read: %w", err) // our own context, not the peer
	}
	// The transport's own error is kept as text only: it may wrap io.EOF,
	// which must never pass for a clean end of the conversation.
	return fmt.Errorf("wire: read: %w: %v", ErrPeerClosed, err)
}

// errReadLimit marks a message the websocket library refused for its size;
// it prints as nothing.
var errReadLimit = emptyError{}

type emptyError struct{}

func (emptyError) Error() string { return "" }

// Timeout is the type of the timeout errors: each knows the close code a
// side sends when it gives up.
type Timeout struct {
	What string
	Code websocket.StatusCode
}

func (t *Timeout) Error() string { return t.What }

// CloseCode implements [CloseCoder].
func (t *Timeout) CloseCode() websocket.StatusCode { return t.Code }

// The timeouts. A side that gives up closes with the code shown.
var (
	// ErrHandshakeTimeout: the handshake did not finish in time (1008).
	ErrHandshakeTimeout error = &Timeout{"handshake timed out", websocket.StatusPolicyViolation}
	// ErrIdleTimeout: an established session was quiet too long (1001).
	ErrIdleTimeout error = &Timeout{"idle timeout", websocket.StatusGoingAway}
	// ErrDialTimeout: the server did not answer the WebSocket upgrade in
	// time. Nothing is sent: there is no connection yet.
	ErrDialTimeout error = &Timeout{"no answer to the WebSocket upgrade", 0}
)
