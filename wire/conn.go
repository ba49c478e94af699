package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
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

	mu       sync.Mutex
	failed   error         // why this end gave up, once it has
	shutting chan struct{} // closed when a close under way has finished
	closed   bool          // this end has sent a close frame
	rbuf     []byte        // the read buffer, kept between messages; see takeBuffer
}

// keepReadBuffer is the largest read buffer a Conn keeps between messages:
// room for a chat message's record, small enough that an open session
// costs little. A larger message gets a buffer of its own.
const keepReadBuffer = 4 << 10

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

// Read returns the next message's raw bytes, exactly as received, in a
// slice of its own. After this end has given up ([Conn.Fail], a
// [Watchdog]), Read returns why.
func (c *Conn) Read(ctx context.Context) ([]byte, error) {
	buf := c.takeBuffer()
	defer c.putBuffer(&buf)
	b, err := c.next(ctx, &buf)
	if err != nil {
		return nil, err
	}
	return append(make([]byte, 0, len(b)), b...), nil
}

// ReadMessage reads the next message and decodes it with the connection's
// codec. It is Read and [Codec.Decode] without keeping the raw bytes: the
// message never shares storage with them, so the connection reads every
// message into the same buffer. Read errors and decoding errors are
// returned as they are.
func (c *Conn) ReadMessage(ctx context.Context) (Message, error) {
	buf := c.takeBuffer()
	defer c.putBuffer(&buf)
	b, err := c.next(ctx, &buf)
	if err != nil {
		return nil, err
	}
	return c.codec.Decode(b)
}

// next reads the next message into *buf, growing it as needed, checks that
// it is a text message of valid UTF-8 and shows it to the tap.
func (c *Conn) next(ctx context.Context, buf *[]byte) ([]byte, error) {
	typ, r, err := c.ws.Reader(ctx)
	if err == nil {
		*buf, err = readAll((*buf)[:0], r)
	}
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
	b := *buf
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

// readAll is io.ReadAll into b's storage. A buffer with room for the
// whole message reads it in one call, where io.ReadAll, starting at 512
// bytes, needs several (and coder/websocket arms a context watch for
// each).
func readAll(b []byte, r io.Reader) ([]byte, error) {
	if cap(b) == 0 {
		b = make([]byte, 0, 512)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// takeBuffer takes the connection's read buffer, or nil if another read
// holds it (Conn allows one reader at a time, but a second one must not
// share the first one's bytes).
func (c *Conn) takeBuffer() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.rbuf
	c.rbuf = nil
	return b
}

// putBuffer gives the read buffer back, unless it grew too big to keep.
func (c *Conn) putBuffer(b *[]byte) {
	if cap(*b) > keepReadBuffer {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rbuf = (*b)[:0]
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
// A close under way (Close, Fail) is let finish first, at most closeGrace,
// so its close frame is not cut off by a drop from another goroutine.
func (c *Conn) CloseNow() {
	c.mu.Lock()
	shutting := c.shutting
	c.mu.Unlock()
	if shutting != nil {
		<-shutting
	}
	c.ws.CloseNow()
}

// shut sends a close frame and waits for the peer's, at most closeGrace.
func (c *Conn) shut(code websocket.StatusCode, reason string) error {
	shutting := make(chan struct{})
	c.mu.Lock()
	c.shutting = shutting
	c.mu.Unlock()
	defer close(shutting)
	done := make(chan error, 1)
	go func() { done <- c.ws.Close(code, reason) }()
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		// coder/websocket's Close waits up to five seconds for the peer's
		// close frame, and CloseNow, during a Close, only waits with it.
		// A read whose context has already ended is what makes it drop
		// the connection at once: the read fails, and CloseRead's reader
		// closes the connection as it returns.
		ended, cancel := context.WithCancel(context.Background())
		cancel()
		c.ws.CloseRead(ended)
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
