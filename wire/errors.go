package wire

import (
	"errors"

	"github.com/coder/websocket"
)

// Decoding and connection errors. Every error that [Codec.Decode] returns
// wraps exactly one of them, so callers and tests can match with
// [errors.Is].
var (
	// ErrMalformed is returned for input that is not one JSON object with
	// fields of the right JSON types, has white space or data around the
	// object, or a binary field that is not canonical base64.
	ErrMalformed = errors.New("malformed message")
	// ErrUnknownType is returned when the "type" field names no message
	// the connection's scheme has.
	ErrUnknownType = errors.New("unknown message type")
	// ErrUnknownField is returned for a field that the message type does not have.
	ErrUnknownField = errors.New("unknown field")
	// ErrMissingField is returned when a required field is absent, null or empty.
	ErrMissingField = errors.New("missing field")
	// ErrFieldLength is returned when a field's value is too long or too short.
	ErrFieldLength = errors.New("wrong field length")
	// ErrMessageTooLarge is returned for a message over [MaxMessageSize].
	ErrMessageTooLarge = errors.New("message too large")
	// ErrUnexpectedMessage is returned when a well-formed message arrives
	// where the protocol expects a different type.
	ErrUnexpectedMessage = errors.New("unexpected message")
	// ErrBinaryMessage is returned when a peer sends a binary WebSocket
	// message; the lab speaks text messages only.
	ErrBinaryMessage = errors.New("binary websocket message")
	// ErrInvalidUTF8 is returned for a text message that is not valid
	// UTF-8, which RFC 6455 §8.1 says to fail with 1007.
	ErrInvalidUTF8 = errors.New("text message is not valid UTF-8")
	// ErrPeerClosed is returned by [Conn.Read] when the peer closed the
	// connection. It wraps the peer's [CloseError] when there was one.
	ErrPeerClosed = errors.New("peer closed the connection")
)

// Violation is the type of sentinel errors for failed security checks:
// replays, bad signatures, pin mismatches, a conversation cut short. Such
// errors close the connection with 1008 (policy violation). Packages
// declare them as `var ErrX error = wire.Violation("...")` and match them
// with [errors.Is].
type Violation string

func (v Violation) Error() string { return string(v) }

// CloseCode implements [CloseCoder].
func (Violation) CloseCode() websocket.StatusCode { return websocket.StatusPolicyViolation }

// Detected reports whether err is a failed security check: that is,
// whether the side that returned it noticed an attack (or a broken peer),
// as opposed to a peer that went away or a mistake in its configuration.
func Detected(err error) bool {
	var v Violation
	return errors.As(err, &v)
}
