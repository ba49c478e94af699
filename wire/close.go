package wire

import (
	"context"
	"errors"
	"fmt"

	"github.com/coder/websocket"
)

// AppCodeOffset maps the RFC 6455 codes the lab sends onto the range that
// browsers may send. A page's JavaScript may only close with 1000 or
// 3000–4999, so a browser client that refuses a server closes with 4000 +
// (code − 1000): 4002, 4003, 4007, 4008, 4009, 4011. Every lab side reads those
// exactly as the RFC codes they stand for ([Canonical]); the lab itself
// always sends the RFC codes.
const AppCodeOffset = 3000

// AppCode returns the application-range code that stands for the RFC code
// c, such as 4008 for 1008.
func AppCode(c websocket.StatusCode) websocket.StatusCode { return c + AppCodeOffset }

// Canonical returns the RFC code that c stands for: 1008 for 4008, and so
// on for 4002, 4003, 4007, 4008, 4009 and 4011. Any other code is
// returned as it is.
func Canonical(c websocket.StatusCode) websocket.StatusCode {
	switch c - AppCodeOffset {
	case websocket.StatusProtocolError, websocket.StatusUnsupportedData,
		websocket.StatusInvalidFramePayloadData, websocket.StatusPolicyViolation,
		websocket.StatusMessageTooBig, websocket.StatusInternalError:
		return c - AppCodeOffset
	}
	return c
}

// Refusal reports whether a peer that closes with code c refused to go
// on: a protocol error, bad data or a failed check (1002, 1003, 1007,
// 1008, 1009, or their application-range twins).
func Refusal(c websocket.StatusCode) bool {
	switch Canonical(c) {
	case websocket.StatusProtocolError, websocket.StatusUnsupportedData,
		websocket.StatusInvalidFramePayloadData, websocket.StatusPolicyViolation,
		websocket.StatusMessageTooBig:
		return true
	}
	return false
}

// CloseError reports that the peer closed the connection with a close
// frame. It matches [ErrPeerClosed] with [errors.Is].
type CloseError struct {
	Code   websocket.StatusCode // as received; see [Canonical]
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("peer closed the connection: %d %s", int(e.Code), CodeName(e.Code))
	}
	return fmt.Sprintf("peer closed the connection: %d %s: %s", int(e.Code), CodeName(e.Code), e.Reason)
}

// Is reports whether target is [ErrPeerClosed].
func (e *CloseError) Is(target error) bool { return target == ErrPeerClosed }

// Normal reports whether the close was an ordinary end: 1000 or 1001.
func (e *CloseError) Normal() bool {
	return e.Code == websocket.StatusNormalClosure || e.Code == websocket.StatusGoingAway
}

// CodeName names a close code, with "(1008)" after an application-range
// code that stands for an RFC one.
func CodeName(c websocket.StatusCode) string {
	if cc := Canonical(c); cc != c {
		return fmt.Sprintf("%s (%d)", cc, int(cc))
	}
	return c.String()
}

// CloseCoder is implemented by errors that know which close code they call
// for. Packages above wire use it for their own errors.
type CloseCoder interface {
	CloseCode() websocket.StatusCode
}

// CloseCode returns the close code for err: the code of the first error in
// its chain that implements [CloseCoder]; 1009 for [ErrMessageTooLarge];
// 1007 for [ErrInvalidUTF8]; 1002 for the other decoding errors; 1011
// (internal error) for anything else.
func CloseCode(err error) websocket.StatusCode {
	var cc CloseCoder
	switch {
	case errors.As(err, &cc):
		return cc.CloseCode()
	case errors.Is(err, ErrMessageTooLarge):
		return websocket.StatusMessageTooBig
	case errors.Is(err, ErrInvalidUTF8):
		return websocket.StatusInvalidFramePayloadData
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
func CloseReason(s string) string {
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

// Sendable reports whether code may appear in a close frame (RFC 6455
// §7.4): 1005, 1006 and 1015 only describe a close, they are never sent.
func Sendable(code websocket.StatusCode) bool {
	switch code {
	case websocket.StatusNoStatusRcvd, websocket.StatusAbnormalClosure, websocket.StatusTLSHandshake:
		return false
	}
	return code >= 1000 && code < 5000
}

// quiet reports whether err means the connection is already gone or was
// given up on by our own context, so there is no one to send a close to.
func quiet(err error) bool {
	return errors.Is(err, ErrPeerClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// CodedError is an error that knows its close code, for the errors a side
// gives up on that are neither decoding errors nor failed checks.
type CodedError struct {
	Msg  string
	Code websocket.StatusCode
}

func (e *CodedError) Error() string { return e.Msg }

// CloseCode implements [CloseCoder].
func (e *CodedError) CloseCode() websocket.StatusCode { return e.Code }
