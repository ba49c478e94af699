package tlslab

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/mitmlab/mitmlab/kex"
)

// Check is how Alice checks the certificate the server presents.
type Check string

// The checks, weakest first.
const (
	// SkipVerify accepts any certificate at all, as InsecureSkipVerify,
	// Node's rejectUnauthorized:false and a browser's "proceed anyway" do.
	SkipVerify Check = "skip-verify"
	// VerifyCA accepts a certificate for [ServerName] that chains to a CA
	// in the client's trust store, here the lab's CA and nothing else.
	VerifyCA Check = "ca"
	// VerifyPin does what VerifyCA does and then also requires the leaf
	// certificate's key to match a pin the client got out of band (RFC 7469
	// style), so a certificate that a trusted CA issued to someone else is
	// refused too.
	VerifyPin Check = "ca+pin"
)

// Trust is what Alice trusts: a check and what it needs.
type Trust struct {
	Check Check
	// Roots is the trust store for VerifyCA and VerifyPin. It must not be
	// nil: a nil RootCAs in crypto/tls means "the system's roots", and the
	// lab's clients trust the lab CA alone.
	Roots *x509.CertPool
	// Pin is the server's SPKI pin, "sha256/BASE64", for VerifyPin.
	Pin string
}

// ClientConfig returns the crypto/tls configuration for a client with this
// trust: TLS 1.3 only, HTTP/1.1 (WebSocket upgrades need it), asking for
// [ServerName].
func (t Trust) ClientConfig() (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName: ServerName,
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{"http/1.1"},
	}
	switch t.Check {
	case SkipVerify:
		// INSECURE(https-key-skipverify, wss-skipverify): no certificate check at all; any certificate, the attacker's too, is accepted. This is the lesson.
		cfg.InsecureSkipVerify = true
	case VerifyCA, VerifyPin:
		if t.Roots == nil {
			return nil, fmt.Errorf("tlslab: check %q needs a trust store (Roots)", t.Check)
		}
		cfg.RootCAs = t.Roots
		if t.Check == VerifyPin {
			verify, err := PinVerifier(t.Pin)
			if err != nil {
				return nil, err
			}
			// VerifyConnection runs after the chain and name have verified,
			// so a pinned client still refuses an untrusted certificate first.
			cfg.VerifyConnection = verify
		}
	default:
		return nil, fmt.Errorf("tlslab: unknown check %q (want %q, %q or %q)", t.Check, SkipVerify, VerifyCA, VerifyPin)
	}
	return cfg, nil
}

// PinVerifier returns a tls.Config.VerifyConnection function that refuses a
// connection unless the leaf certificate's SubjectPublicKeyInfo hashes to
// pin. The error wraps [kex.ErrPinMismatch].
//
// It pins PeerCertificates[0], the leaf, and nothing else. A client that
// matched a pin anywhere in the unverified PeerCertificates list could be
// fooled by an attacker who sends his own leaf followed by the real
// server's certificate. (With CA checks on, a pin on any key of the
// verified chain, cs.VerifiedChains, is sound, and a backup pin is RFC
// 7469 practice; the lab pins the leaf to keep the lesson plain.)
func PinVerifier(pin string) (func(tls.ConnectionState) error, error) {
	want, err := kex.ParsePin(pin)
	if err != nil {
		return nil, fmt.Errorf("tlslab: %w", err)
	}
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("tlslab: %w: the server sent no certificate", kex.ErrPinMismatch)
		}
		leaf := cs.PeerCertificates[0]
		got := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
		if subtle.ConstantTimeCompare(got[:], want) != 1 {
			return &PinError{Got: Pin(leaf), Want: pin, Subject: leaf.Subject.CommonName, Issuer: leaf.Issuer.CommonName}
		}
		return nil
	}, nil
}

// PinError reports a leaf certificate whose key does not match the pin. It
// matches [kex.ErrPinMismatch] with errors.Is.
type PinError struct {
	Got, Want       string // pins
	Subject, Issuer string // the leaf's subject and issuer common names
}

func (e *PinError) Error() string {
	return fmt.Sprintf("tlslab: %v: certificate for %q issued by %q has %s, want %s", kex.ErrPinMismatch, e.Subject, e.Issuer, e.Got, e.Want)
}

// Unwrap returns [kex.ErrPinMismatch].
func (e *PinError) Unwrap() error { return kex.ErrPinMismatch }

// The short reasons [Refusal] gives. They are what the outcome of a refused
// TLS scenario names as its reason.
const (
	ReasonUnknownAuthority = "certificate signed by unknown authority"
	ReasonWrongName        = "certificate is not valid for the server's name"
	ReasonInvalid          = "certificate is not valid"
	ReasonExpired          = "certificate has expired or is not yet valid"
	ReasonNotVerified      = "certificate does not verify"
	ReasonPinMismatch      = "key does not match pin" // kex.ErrPinMismatch's text
)

// Refusal reports whether err is a TLS client refusing the server's
// certificate, as opposed to a network failure, and if so returns the short
// reason. It looks through any wrapping (url.Error, websocket dial errors)
// for the crypto/tls and crypto/x509 error types, and for
// [kex.ErrPinMismatch].
func Refusal(err error) (reason string, ok bool) {
	if err == nil {
		return "", false
	}
	if errors.Is(err, kex.ErrPinMismatch) {
		return ReasonPinMismatch, true
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return ReasonUnknownAuthority, true
	}
	var host x509.HostnameError
	if errors.As(err, &host) {
		return ReasonWrongName, true
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		if invalid.Reason == x509.Expired {
			return ReasonExpired, true
		}
		return ReasonInvalid, true
	}
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		return ReasonNotVerified, true
	}
	return "", false
}
