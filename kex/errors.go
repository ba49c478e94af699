package kex

import (
	"errors"
	"fmt"

	"github.com/mitmlab/mitmlab/wire"
)

// Security failures. Each is a [wire.Violation]: the side that finds one
// closes with 1008 and the sentinel's text as the reason.
var (
	ErrPinMismatch      error = wire.Violation("key does not match pin")
	ErrBadSignature     error = wire.Violation("server signature does not verify")
	ErrBadFinished      error = wire.Violation("finished MAC does not verify")
	ErrLowOrderPoint    error = wire.Violation("key share is a low-order point")
	ErrBadCertificate   error = wire.Violation("certificate does not parse")
	ErrNotEd25519       error = wire.Violation("certificate key is not Ed25519")
	ErrSchemeNotOffered error = wire.Violation("server chose a scheme the client did not offer")
	ErrNoCommonScheme   error = wire.Violation("client offered no scheme the server speaks")
	ErrBadKey           error = wire.Violation("public key does not parse as RSA")
	ErrKeySize          error = wire.Violation("RSA key has the wrong size")
	ErrBadKeyTransport  error = wire.Violation("wrapped secret does not decrypt")
	ErrMissingIdentity  error = wire.Violation("server hello carries no certificate")
	ErrDowngrade        error = wire.Violation("server chose unauthenticated unauth-ecdh; this client requires authentication")
)

// Configuration and connection errors.
var (
	// ErrNoPin is returned by a client that must check the server's key
	// and has no pin, and was not told to skip the check.
	ErrNoPin = errors.New("no pin configured for the server's key")
	// ErrBadPin is returned for a pin that is not "sha256/" and 32 bytes of
	// standard base64.
	ErrBadPin = errors.New("pin is not sha256/BASE64 of 32 bytes")
	// ErrNoIdentity is returned by a server half that needs an identity
	// and was given none.
	ErrNoIdentity = errors.New("server needs an identity (certificate and key)")
	// ErrTruncatedHandshake is returned when the peer closes or the
	// connection drops before the handshake is done. It wraps the reason.
	ErrTruncatedHandshake = errors.New("handshake cut short")
)

// Side names an end of the handshake.
type Side string

// The two sides.
const (
	ClientSide Side = "client"
	ServerSide Side = "server"
)

// HandshakeError reports which step of which handshake failed.
type HandshakeError struct {
	Scheme string
	Side   Side
	Step   string // a verb phrase: "check pin", "verify signature"
	Err    error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("%s %s: %s: %v", e.Scheme, e.Side, e.Step, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// Detected reports whether err is a security check that failed, as opposed
// to a peer that went away or a configuration mistake: that is, whether the
// side that returned err noticed an attack (or a broken peer).
func Detected(err error) bool { return wire.Detected(err) }

// Reason returns the short text of the security check that err failed, such
// as "key does not match pin", or err's full text when it is no such check.
func Reason(err error) string {
	var v wire.Violation
	if errors.As(err, &v) {
		return string(v)
	}
	if err == nil {
		return ""
	}
	return err.Error()
}
