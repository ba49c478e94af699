package kex

import (
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"slices"
)

// trust is the server keys a client of a signed scheme accepts: the pin
// of ClientConfig.Pin and those of OtherPins, or, with SkipPinCheck, any
// key at all. The signed schemes of the later lessons (sign-only,
// signed-share, signed-ffdh) share it; pinned-ecdh keeps its own steps.
type trust struct {
	skip bool
	pins [][]byte
}

// newTrust parses the client's pins. With neither a pin nor SkipPinCheck
// it is [ErrNoPin].
func newTrust(cfg *ClientConfig) (trust, error) {
	if cfg.SkipPinCheck {
		return trust{skip: true}, nil
	}
	if cfg.Pin == "" {
		return trust{}, ErrNoPin
	}
	pins, err := parsePins(append([]string{cfg.Pin}, cfg.OtherPins...))
	return trust{pins: pins}, err
}

// parsePins parses each pin with [ParsePin].
func parsePins(pins []string) ([][]byte, error) {
	var out [][]byte
	for _, p := range pins {
		sum, err := ParsePin(p)
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	return out, nil
}

// matchAny reports whether cert's SPKI matches one of pins.
func matchAny(cert *x509.Certificate, pins [][]byte) bool {
	return slices.ContainsFunc(pins, func(p []byte) bool { return matchPin(cert, p) })
}

// serverKey runs the certificate checks of pinned-ecdh on der, in the same
// order: it parses, its key matches a trusted pin, and that key is
// Ed25519. It returns the key the signature must verify with.
func (t trust) serverKey(der []byte) (ed25519.PublicKey, error) {
	if len(der) == 0 {
		return nil, ErrMissingIdentity
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	if !t.skip && !matchAny(cert, t.pins) {
		return nil, fmt.Errorf("%w: server sent %s", ErrPinMismatch, spkiPin(cert))
	}
	key, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: got %T", ErrNotEd25519, cert.PublicKey)
	}
	return key, nil
}

// signedContentFor is the layout of every server signature in the lab: 64
// spaces, a context string, a zero byte and a hash (RFC 8446 §4.4.3).
func signedContentFor(context string, hash []byte) []byte {
	c := make([]byte, 0, 64+len(context)+1+len(hash))
	for range 64 {
		c = append(c, 0x20)
	}
	c = append(c, context...)
	c = append(c, 0)
	return append(c, hash...)
}
