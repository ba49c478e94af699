package kex

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
)

// pinPrefix starts every pin, as in RFC 7469's pin-sha256.
const pinPrefix = "sha256/"

// Identity is a pinned-ecdh server's long-term key and its self-signed
// certificate.
type Identity struct {
	Certificate []byte // DER
	Key         ed25519.PrivateKey
}

// NewIdentity makes a fresh Ed25519 key and a self-signed X.509
// certificate for it, valid for a year, with commonName as its subject.
func NewIdentity(commonName string) (*Identity, error) {
	return GenerateIdentity(nil, nil, commonName)
}

// GenerateIdentity is NewIdentity with its randomness and clock given: r
// (nil means crypto/rand) supplies the key's seed and the serial number,
// now (nil means time.Now) the validity period. Tests pass fixed ones for
// identities, and pins, that are the same on every run.
func GenerateIdentity(r io.Reader, now func() time.Time, commonName string) (*Identity, error) {
	seed, err := randomBytes(r, ed25519.SeedSize+16)
	if err != nil {
		return nil, err
	}
	priv := ed25519.NewKeyFromSeed(seed[:ed25519.SeedSize])
	serial := new(big.Int).SetBytes(seed[ed25519.SeedSize:])
	serial.Rsh(serial, 1) // positive, at most 127 bits
	serial.Add(serial, big.NewInt(1))
	t := nowOr(now)()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    t.Add(-time.Hour),
		NotAfter:     t.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, fmt.Errorf("kex: create certificate: %w", err)
	}
	return &Identity{Certificate: der, Key: priv}, nil
}

// Pin returns the identity's pin, "sha256/BASE64". It panics if the
// certificate does not parse, which [NewIdentity] and [ParseIdentityPEM]
// never return; use [CertificatePin] for certificates from elsewhere.
func (id *Identity) Pin() string {
	p, err := CertificatePin(id.Certificate)
	if err != nil {
		panic("kex: identity holds a certificate that does not parse: " + err.Error())
	}
	return p
}

// MarshalPEM returns the certificate and the PKCS #8 key as PEM blocks.
func (id *Identity) MarshalPEM() (cert, key []byte, err error) {
	k, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("kex: marshal key: %w", err)
	}
	cert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Certificate})
	key = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
	return cert, key, nil
}

// ParseIdentityPEM loads an identity written by [Identity.MarshalPEM] and
// checks that the key matches the certificate.
func ParseIdentityPEM(certPEM, keyPEM []byte) (*Identity, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("kex: certificate file holds no CERTIFICATE block")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("kex: key file holds no PRIVATE KEY block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("kex: %w: %v", ErrBadCertificate, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("kex: parse key: %v", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("kex: %w: key file holds %T", ErrNotEd25519, k)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || !pub.Equal(priv.Public()) {
		return nil, fmt.Errorf("kex: key does not match the certificate")
	}
	return &Identity{Certificate: cb.Bytes, Key: priv}, nil
}

// CertificatePin returns "sha256/" and the standard base64 of SHA-256 over
// the certificate's DER SubjectPublicKeyInfo, as RFC 7469 §2.4 defines.
func CertificatePin(der []byte) (string, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	return spkiPin(cert), nil
}

func spkiPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return pinPrefix + base64.StdEncoding.EncodeToString(sum[:])
}

// ParsePin checks that pin has the form "sha256/BASE64" with 32 bytes and
// returns the hash.
func ParsePin(pin string) ([]byte, error) {
	b64, ok := strings.CutPrefix(pin, pinPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrBadPin, pin)
	}
	if strings.ContainsAny(b64, "\r\n") { // base64 would skip them: one spelling only
		return nil, fmt.Errorf("%w: %q", ErrBadPin, pin)
	}
	sum, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("%w: %q", ErrBadPin, pin)
	}
	return sum, nil
}

// matchPin compares cert's SPKI hash with want in constant time.
func matchPin(cert *x509.Certificate, want []byte) bool {
	got := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return subtle.ConstantTimeCompare(got[:], want) == 1
}
