package kex_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/kex"
)

// TestPinIsRFC7469 computes the pin independently: an Ed25519 SPKI is the
// fixed 12-byte DER header 302a300506032b6570032100 and the 32-byte key
// (RFC 8410 §4); the pin is "sha256/" and the standard base64 of its
// SHA-256 (RFC 7469 §2.4).
func TestPinIsRFC7469(t *testing.T) {
	t.Parallel()
	id := identity(t, "bob")
	cert, err := x509.ParseCertificate(id.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	pub := id.Key.Public().(ed25519.PublicKey)
	spki := append([]byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}, pub...)
	if !bytes.Equal(cert.RawSubjectPublicKeyInfo, spki) {
		t.Fatalf("certificate SPKI = %x, want %x", cert.RawSubjectPublicKeyInfo, spki)
	}
	sum := sha256.Sum256(spki)
	want := "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
	if got := id.Pin(); got != want {
		t.Errorf("Pin = %s, want %s", got, want)
	}
	if got, err := kex.CertificatePin(id.Certificate); err != nil || got != want {
		t.Errorf("CertificatePin = %s, %v; want %s", got, err, want)
	}
	if len(want) != len("sha256/")+44 {
		t.Errorf("pin is %d characters", len(want))
	}
	got, err := kex.ParsePin(want)
	if err != nil || !bytes.Equal(got, sum[:]) {
		t.Errorf("ParsePin = %x, %v; want %x", got, err, sum)
	}
	// The pin names the key, not the certificate: another certificate for
	// the same key (here: another clock) has the same pin.
	later, err := kex.GenerateIdentity(seeded("identity/bob"), func() time.Time { return fixedNow().Add(48 * time.Hour) }, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(later.Certificate, id.Certificate) || later.Pin() != id.Pin() {
		t.Errorf("a new certificate for the same key changed the pin, or is the same certificate")
	}
}

// TestGenerateIdentity: the randomness and the clock are seams. With the
// same ones the identity is the same on every run; the certificate is a
// self-signed Ed25519 one, valid from an hour before now for a year.
func TestGenerateIdentity(t *testing.T) {
	t.Parallel()
	a, b := identity(t, "bob.lab"), identity(t, "bob.lab")
	if !bytes.Equal(a.Certificate, b.Certificate) || !a.Key.Equal(b.Key) {
		t.Errorf("the same seed and clock made two identities")
	}
	if other := identity(t, "mallory"); other.Pin() == a.Pin() {
		t.Errorf("another seed made the same key")
	}
	fresh1, err := kex.NewIdentity("bob.lab")
	if err != nil {
		t.Fatal(err)
	}
	fresh2, err := kex.NewIdentity("bob.lab")
	if err != nil {
		t.Fatal(err)
	}
	if fresh1.Pin() == fresh2.Pin() {
		t.Errorf("two identities from crypto/rand share a pin")
	}
	cert, err := x509.ParseCertificate(a.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	if cert.PublicKeyAlgorithm != x509.Ed25519 || cert.SignatureAlgorithm != x509.PureEd25519 {
		t.Errorf("certificate uses %v / %v", cert.PublicKeyAlgorithm, cert.SignatureAlgorithm)
	}
	if cert.Subject.CommonName != "bob.lab" {
		t.Errorf("subject = %v", cert.Subject)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("certificate is not self-signed: %v", err)
	}
	if !cert.NotBefore.Equal(fixedNow().Add(-time.Hour)) || !cert.NotAfter.Equal(fixedNow().Add(365*24*time.Hour)) {
		t.Errorf("valid %v to %v", cert.NotBefore, cert.NotAfter)
	}
	if cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 127 {
		t.Errorf("serial %v: want positive, at most 127 bits", cert.SerialNumber)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("key usage %v", cert.KeyUsage)
	}
	// An identity needs 48 bytes: the key's seed and the serial.
	if _, err := kex.GenerateIdentity(bytes.NewReader(make([]byte, 47)), fixedNow, "bob"); err == nil {
		t.Errorf("GenerateIdentity accepted 47 bytes of randomness")
	}
}

func TestIdentityPinPanicsOnGarbage(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Errorf("Pin of a certificate that does not parse did not panic")
		}
	}()
	(&kex.Identity{Certificate: []byte("junk")}).Pin()
}

func TestParsePin(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("spki"))
	good := "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
	if got, err := kex.ParsePin(good); err != nil || !bytes.Equal(got, sum[:]) {
		t.Fatalf("ParsePin(%s) = %x, %v", good, got, err)
	}
	tests := map[string]string{
		"empty":                    "",
		"prefix only":              "sha256/",
		"no prefix":                base64.StdEncoding.EncodeToString(sum[:]),
		"upper-case prefix":        "SHA256/" + base64.StdEncoding.EncodeToString(sum[:]),
		"colon instead of slash":   "sha256:" + base64.StdEncoding.EncodeToString(sum[:]),
		"31 bytes":                 "sha256/" + base64.StdEncoding.EncodeToString(sum[:31]),
		"33 bytes":                 "sha256/" + base64.StdEncoding.EncodeToString(append(sum[:], 0)),
		"unpadded":                 "sha256/" + base64.RawStdEncoding.EncodeToString(sum[:]),
		"URL-safe alphabet":        "sha256/" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32)),
		"hex":                      "sha256/" + strings.Repeat("ab", 32),
		"leading space":            " " + good,
		"trailing data":            good + "AAAA",
		"white space in the value": good[:20] + " " + good[20:],
		// encoding/base64 would skip CR and LF; a pin has one spelling.
		"trailing newline": good + "\n",
		"CR LF inside":     good[:20] + "\r\n" + good[20:],
	}
	for name, bad := range tests {
		t.Run("pin/"+name, func(t *testing.T) {
			t.Parallel()
			if got, err := kex.ParsePin(bad); !errors.Is(err, kex.ErrBadPin) || got != nil {
				t.Errorf("ParsePin(%q) = %x, %v; want ErrBadPin", bad, got, err)
			}
		})
	}
}

func TestIdentityPEM(t *testing.T) {
	t.Parallel()
	id := identity(t, "bob")
	certPEM, keyPEM, err := id.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(certPEM, []byte("-----BEGIN CERTIFICATE-----")) || !bytes.HasPrefix(keyPEM, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Errorf("PEM blocks:\n%s\n%s", certPEM, keyPEM)
	}
	back, err := kex.ParseIdentityPEM(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("ParseIdentityPEM: %v", err)
	}
	if !bytes.Equal(back.Certificate, id.Certificate) || !back.Key.Equal(id.Key) || back.Pin() != id.Pin() {
		t.Errorf("identity changed through PEM")
	}

	otherCert, otherKey, err := identity(t, "mallory").MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	p256KeyDER, err := x509.MarshalPKCS8PrivateKey(p256Key(t))
	if err != nil {
		t.Fatal(err)
	}
	p256KeyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p256KeyDER})
	p256CertPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p256Certificate(t)})
	tests := []struct {
		name      string
		cert, key []byte
		wantIs    error
		wantHas   string
	}{
		{"identity/bob's certificate with mallory's key", certPEM, otherKey, nil, "key does not match the certificate"},
		{"identity/mallory's certificate with bob's key", otherCert, keyPEM, nil, "key does not match the certificate"},
		{"identity/P-256 certificate with bob's key", p256CertPEM, keyPEM, nil, "key does not match the certificate"},
		{"identity/P-256 private key", certPEM, p256KeyPEM, kex.ErrNotEd25519, ""},
		{"identity/certificate and key swapped", keyPEM, certPEM, nil, "no CERTIFICATE block"},
		{"identity/empty certificate file", nil, keyPEM, nil, "no CERTIFICATE block"},
		{"identity/empty key file", certPEM, nil, nil, "no PRIVATE KEY block"},
		{"identity/certificate block of garbage", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), keyPEM, kex.ErrBadCertificate, ""},
		{"identity/key block of garbage", certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}), nil, "parse key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, err := kex.ParseIdentityPEM(tt.cert, tt.key)
			if err == nil {
				t.Fatalf("ParseIdentityPEM accepted it: %+v", id)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want %q", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantHas) {
				t.Errorf("error %q does not say %q", err, tt.wantHas)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----") || bytes.Contains([]byte(err.Error()), tt.key) && len(tt.key) > 0 {
				t.Errorf("error quotes the key file: %v", err)
			}
		})
	}
}
