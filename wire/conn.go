package wire

import (
	"context"
	"errors"
	"fmt"

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

// Subprotocol returns the WebSocket subprotocol token that names scheme, for
// example "mitmlab.v1.pinned-ecdh".
func Subprotocol(scheme string) string { return "mitmlab.v1." + scheme }

// A Tap sees every message that crosses a [Conn], as raw bytes. sent is true
// for messages this end wrote. A tap must not keep msg past the call unless
// it copies it, and must not block.
type Tap func(sent bool, msg []byte)

// Conn carries whole lab messages over one WebSocket connection. It is safe
// for one reader and one writer at a time.
type Conn struct {
	ws      *websocket.Conn
	tap     Tap
	onClose CloseTap
}

// A CloseTap sees the close frames that cross a [Conn]: the one this end
// sends (sent is true) and the one the peer sends first. It must not block.
type CloseTap func(sent bool, code websocket.StatusCode, reason string)

// OnClose sets the close tap; nil removes it. Call it before the
// connection is in use.
func (c *Conn) OnClose(f CloseTap) { c.onClose = f }

func (c *Conn) tapClose(sent bool, code websocket.StatusCode, reason string) {
	if c.onClose != nil {
		c.onClose(sent, code, reason)
	}
}

// NewConn wraps ws. It sets the read limit to [MaxMessageSize]; an oversize
// message makes the websocket library close with 1009, and Read returns an
// error wrapping [ErrMessageTooLarge]. tap may be nil.
func NewConn(ws *websocket.Conn, tap Tap) *Conn {
	ws.SetReadLimit(MaxMessageSize)
	return &Conn{ws: ws, tap: tap}
}

// WebSocket returns the underlying connection.
func (c *Conn) WebSocket() *websocket.Conn { return c.ws }

// Read returns the next message's raw bytes, exactly as received.
func (c *Conn) Read(ctx context.Context) ([]byte, error) {
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		err = readError(err)
		var ce *CloseError
		if errors.As(err, &ce) {
			c.tapClose(false, ce.Code, ce.Reason)
		}
		return nil, err
	}
	if typ != websocket.MessageText {
		return nil, fmt.Errorf("wire: %w", ErrBinaryMessage)
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
	if c.tap != nil {
		c.tap(true, msg)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		return fmt.Errorf("wire: write: %w", err)
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

// Close closes the connection with code and reason, waiting for the peer's
// close frame for a bounded time.
func (c *Conn) Close(code websocket.StatusCode, reason string) error {
	c.tapClose(true, code, closeReason(reason))
	return c.ws.Close(code, closeReason(reason))
}

// Fail closes the connection with the code and reason that err calls for.
// It returns err, so a caller can write `return c.Fail(err)`.
func (c *Conn) Fail(err error) error {
	if errors.Is(err, ErrPeerClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		c.ws.CloseNow()
		return err
	}
	c.tapClose(true, CloseCode(err), closeReason(err.Error()))
	c.ws.Close(CloseCode(err), closeReason(err.Error()))
	return err
}

// CloseNow drops the connection without a close handshake.
func (c *Conn) CloseNow() { c.ws.CloseNow() }

func readError(err error) error {
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return fmt.Errorf("wire: %w: limit %d bytes", ErrMessageTooLarge, MaxMessageSize)
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: ce.Code, Reason: ce.Reason}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("wire: read: %w", err) // our own deadline, not the peer
	}
	return fmt.Errorf("wire: read: %w: %w", ErrPeerClosed, err)
}

// CloseError reports that the peer closed the connection with a close frame.
// It matches [ErrPeerClosed] with [errors.Is].
type CloseError struct {
	Code   websocket.StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("peer closed the connection: %d %s", int(e.Code), e.Code)
	}
	return fmt.Sprintf("peer closed the connection: %d %s: %s", int(e.Code), e.Code, e.Reason)
}

// Is reports whether target is [ErrPeerClosed].
func (e *CloseError) Is(target error) bool { return target == ErrPeerClosed }

// CloseCoder is implemented by errors that know which close code they call
// for. Packages above wire use it for their own security errors.
type CloseCoder interface {
	CloseCode() websocket.StatusCode
}

// CloseCode returns the close code for err: the code of the first error in
// its chain that implements [CloseCoder]; 1009 for [ErrMessageTooLarge]; 1002
// for the other decoding errors; 1011 (internal error) for anything else.
func CloseCode(err error) websocket.StatusCode {
	var cc CloseCoder
	switch {
	case errors.As(err, &cc):
		return cc.CloseCode()
	case errors.Is(err, ErrMessageTooLarge):
		return websocket.StatusMessageTooBig
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknownType),
		errors.Is(err, ErrUnknownField), errors.Is(err, ErrMissingField),
		errors.Is(err, ErrFieldLength), errors.Is(err, ErrUnexpectedMessage),
		errors.Is(err, ErrBinaryMessage):
		return websocket.StatusProtocolError
	default:
		return websocket.StatusInternalError
	}
}

// CloseReason fits s into a close frame's 123 bytes of reason without
// splitting a UTF-8 sequence, as RFC 6455 §5.5.1 requires.
func CloseReason(s string) string { return closeReason(s) }

// closeReason fits s into a close frame's 123 bytes of reason.
func closeReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	s = s[:max-3]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s + "..."
}
