package tlslab

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// TLS record content types (RFC 8446 §5.1).
const (
	recordChangeCipherSpec uint8 = 20
	recordAlert            uint8 = 21
	recordHandshake        uint8 = 22
	recordApplicationData  uint8 = 23
)

// recordHeaderLen is the size of a TLS record header: type, legacy version,
// length.
const recordHeaderLen = 5

// maxRecordLen is the largest fragment a TLS 1.3 peer may send: 2^14 bytes
// of plaintext plus 256 of expansion (RFC 8446 §5.2).
const maxRecordLen = 1<<14 + 256

// Handshake message types (RFC 8446 §4).
const (
	hsClientHello         uint8 = 1
	hsServerHello         uint8 = 2
	hsNewSessionTicket    uint8 = 4
	hsEndOfEarlyData      uint8 = 5
	hsEncryptedExtensions uint8 = 8
	hsCertificate         uint8 = 11
	hsCertificateRequest  uint8 = 13
	hsCertificateVerify   uint8 = 15
	hsFinished            uint8 = 20
	hsKeyUpdate           uint8 = 24
)

// Extension types the inspector reads.
const (
	extServerName        uint16 = 0
	extSupportedVersions uint16 = 43
)

// helloRetryRequestRandom is the ServerHello.random that marks a
// HelloRetryRequest: SHA-256 of "HelloRetryRequest" (RFC 8446 §4.1.3).
var helloRetryRequestRandom = sha256.Sum256([]byte("HelloRetryRequest"))

// record is one TLS record exactly as it crossed a connection: the 5-byte
// header and the fragment. The inspector never re-encodes one.
type record struct {
	typ uint8
	raw []byte
}

func (r record) fragment() []byte { return r.raw[recordHeaderLen:] }

// errNotTLS is returned by [splitter.feed] for bytes that cannot be a TLS
// record header.
var errNotTLS = errors.New("not a TLS record")

// splitter cuts one direction of a byte stream into TLS records. Once it
// meets bytes that are not a record header it stops for good: after that
// there is no way to find the next record boundary.
type splitter struct {
	buf    []byte
	broken bool
}

// feed adds b and returns the records it completed. The first time the
// stream turns out not to be TLS it returns errNotTLS with the offending
// bytes (at most 64 of them).
func (s *splitter) feed(b []byte) ([]record, []byte, error) {
	if s.broken {
		return nil, nil, nil
	}
	s.buf = append(s.buf, b...)
	var out []record
	for len(s.buf) >= recordHeaderLen {
		typ := s.buf[0]
		n := int(s.buf[3])<<8 | int(s.buf[4])
		if typ < recordChangeCipherSpec || typ > recordApplicationData || s.buf[1] != 3 || n > maxRecordLen {
			s.broken = true
			bad := s.buf[:min(len(s.buf), 64)]
			s.buf = nil
			return out, bad, errNotTLS
		}
		if len(s.buf) < recordHeaderLen+n {
			break
		}
		raw := bytes.Clone(s.buf[:recordHeaderLen+n])
		s.buf = s.buf[recordHeaderLen+n:]
		out = append(out, record{typ: typ, raw: raw})
	}
	if len(s.buf) == 0 {
		s.buf = nil // let the backing array go
	}
	return out, nil, nil
}

// pending returns how many bytes of an unfinished record are buffered.
func (s *splitter) pending() int { return len(s.buf) }

// handshakeMsg is one handshake message: its type and body.
type handshakeMsg struct {
	typ  uint8
	body []byte
}

// splitHandshake cuts a handshake fragment into messages. Bytes of a message
// that continues in the next record come back as rest.
func splitHandshake(b []byte) (msgs []handshakeMsg, rest []byte) {
	for len(b) >= 4 {
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if len(b) < 4+n {
			break
		}
		msgs = append(msgs, handshakeMsg{typ: b[0], body: b[4 : 4+n]})
		b = b[4+n:]
	}
	return msgs, b
}

// handshakeName returns the event type for a handshake message.
func handshakeName(typ uint8) string {
	switch typ {
	case hsClientHello:
		return "tls_client_hello"
	case hsServerHello:
		return "tls_server_hello"
	case hsNewSessionTicket:
		return "tls_new_session_ticket"
	case hsEndOfEarlyData:
		return "tls_end_of_early_data"
	case hsEncryptedExtensions:
		return "tls_encrypted_extensions"
	case hsCertificate:
		return "tls_certificate"
	case hsCertificateRequest:
		return "tls_certificate_request"
	case hsCertificateVerify:
		return "tls_certificate_verify"
	case hsFinished:
		return "tls_finished"
	case hsKeyUpdate:
		return "tls_key_update"
	}
	return "tls_handshake"
}

// parser reads the big-endian integers and length-prefixed vectors of TLS
// structures. Any short read sets ok to false and returns zeros, so a parse
// can run to the end and check ok once.
type parser struct {
	b  []byte
	ok bool
}

func newParser(b []byte) *parser { return &parser{b: b, ok: true} }

func (p *parser) take(n int) []byte {
	if !p.ok || n < 0 || len(p.b) < n {
		p.ok = false
		return nil
	}
	out := p.b[:n]
	p.b = p.b[n:]
	return out
}

func (p *parser) uint(n int) int {
	v := 0
	for _, c := range p.take(n) {
		v = v<<8 | int(c)
	}
	return v
}

// vec reads a vector whose length is an n-byte prefix.
func (p *parser) vec(n int) []byte { return p.take(p.uint(n)) }

// clientHello is what a ClientHello says in clear.
type clientHello struct {
	serverName string
	tls13      bool // supported_versions offers TLS 1.3
}

func parseClientHello(body []byte) (clientHello, bool) {
	var ch clientHello
	p := newParser(body)
	p.take(2)  // legacy_version
	p.take(32) // random
	p.vec(1)   // legacy_session_id
	p.vec(2)   // cipher_suites
	p.vec(1)   // legacy_compression_methods
	exts := newParser(p.vec(2))
	if !p.ok {
		return ch, false
	}
	for exts.ok && len(exts.b) > 0 {
		typ := uint16(exts.uint(2))
		data := newParser(exts.vec(2))
		switch typ {
		case extServerName:
			list := newParser(data.vec(2))
			for list.ok && len(list.b) > 0 {
				kind := list.uint(1)
				name := list.vec(2)
				if kind == 0 && list.ok {
					ch.serverName = string(name)
				}
			}
		case extSupportedVersions:
			vs := newParser(data.vec(1))
			for vs.ok && len(vs.b) >= 2 {
				if vs.uint(2) == tls.VersionTLS13 {
					ch.tls13 = true
				}
			}
		}
	}
	return ch, exts.ok
}

// serverHello is what a ServerHello says in clear.
type serverHello struct {
	suite        uint16
	tls13        bool // supported_versions selects TLS 1.3
	retryRequest bool // it is a HelloRetryRequest
}

func parseServerHello(body []byte) (serverHello, bool) {
	var sh serverHello
	p := newParser(body)
	p.take(2) // legacy_version
	random := p.take(32)
	p.vec(1) // legacy_session_id_echo
	sh.suite = uint16(p.uint(2))
	p.take(1) // legacy_compression_method
	exts := newParser(p.vec(2))
	if !p.ok {
		return sh, false
	}
	sh.retryRequest = bytes.Equal(random, helloRetryRequestRandom[:])
	for exts.ok && len(exts.b) > 0 {
		typ := uint16(exts.uint(2))
		data := newParser(exts.vec(2))
		if typ == extSupportedVersions && data.uint(2) == tls.VersionTLS13 && data.ok {
			sh.tls13 = true
		}
	}
	return sh, exts.ok
}

// parseCertificate returns the DER certificates of a TLS 1.3 Certificate
// message, leaf first.
func parseCertificate(body []byte) ([][]byte, bool) {
	p := newParser(body)
	p.vec(1) // certificate_request_context
	list := newParser(p.vec(3))
	if !p.ok {
		return nil, false
	}
	var certs [][]byte
	for list.ok && len(list.b) > 0 {
		der := list.vec(3)
		list.vec(2) // extensions
		if list.ok {
			certs = append(certs, der)
		}
	}
	return certs, list.ok
}

// describeCertificate says who a certificate is for, who issued it, and
// its pin, for a trace note.
func describeCertificate(certs [][]byte) string {
	if len(certs) == 0 {
		return "no certificate"
	}
	leaf, err := x509.ParseCertificate(certs[0])
	if err != nil {
		return fmt.Sprintf("a leaf certificate that does not parse (%d bytes)", len(certs[0]))
	}
	names := strings.Join(leaf.DNSNames, ", ")
	if names == "" {
		names = leaf.Subject.CommonName
	}
	issuer := fmt.Sprintf("issued by %q", leaf.Issuer.CommonName)
	if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
		issuer = "self-signed"
	}
	return fmt.Sprintf("certificate for %s, %s, key %s; %d in chain", names, issuer, Pin(leaf), len(certs))
}

// alertText names an alert: "bad certificate", "close notify".
func alertText(desc uint8) string {
	return strings.TrimPrefix(tls.AlertError(desc).Error(), "tls: ")
}

// alertCloseNotify is the alert that ends a connection normally.
const alertCloseNotify uint8 = 0
