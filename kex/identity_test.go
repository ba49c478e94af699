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

	"github.com/mitmlab/mitmlab/kex"
)

// TestPinIsRFC7469 computes the pin independently: an Ed25519 SPKI is the
// fixed 12-byte DER header 302a300506032b6570032100 and the 32-byte key
// (RFC 8410 §4); the pin is "sha256/" and the standard base64 of its
// SHA-256 (RFC 7469 §2.4).
func TestPinIsRFC7469(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
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
	// the same key has the same pin, another key does not.
	if newIdentity(t, "bob").Pin() == want {
		t.Error("two fresh identities share a pin")
	}
}

func TestCertificateIsSelfSignedEd25519(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob.lab")
	cert, err := x509.ParseCertificate(id.Certificate)
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
}

func TestParsePin(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("spki"))
	good := "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
	if got, err := kex.ParsePin(good); err != nil || !bytes.Equal(got, sum[:]) {
		t.Fatalf("ParsePin(%s) = %x, %v", good, got, err)
	}
	for _, bad := range []string{
		"",
		"sha256/",
		base64.StdEncoding.EncodeToString(sum[:]),
		"SHA256/" + base64.StdEncoding.EncodeToString(sum[:]),
		"sha256:" + base64.StdEncoding.EncodeToString(sum[:]),
		"sha256/" + base64.StdEncoding.EncodeToString(sum[:31]),
		"sha256/" + base64.RawStdEncoding.EncodeToString(sum[:]),
		"sha256/" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32)),
		"sha256/" + strings.Repeat("A", 44),
		" " + good,
		good + "AAAA",
	} {
		if got, err := kex.ParsePin(bad); !errors.Is(err, kex.ErrBadPin) {
			t.Errorf("ParsePin(%q) = %x, %v; want ErrBadPin", bad, got, err)
		}
	}
}

func TestIdentityPEM(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
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

	other := newIdentity(t, "mallory")
	otherCert, otherKey, err := other.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	rsaKeyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(t, rsaKey(t))})
	p256CertPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: selfSignedP256(t)})
	tests := []struct {
		name       string
		cert, key  []byte
		wantErrIs  error
		wantErrHas string
	}{
		{"bob's certificate with mallory's key", certPEM, otherKey, nil, "key does not match the certificate"},
		{"mallory's certificate with bob's key", otherCert, keyPEM, nil, "key does not match the certificate"},
		{"P-256 certificate with bob's key", p256CertPEM, keyPEM, nil, "key does not match the certificate"},
		{"RSA private key", certPEM, rsaKeyPEM, kex.ErrNotEd25519, ""},
		{"certificate and key swapped", keyPEM, certPEM, nil, "no CERTIFICATE block"},
		{"empty certificate file", nil, keyPEM, nil, "no CERTIFICATE block"},
		{"empty key file", certPEM, nil, nil, "no PRIVATE KEY block"},
		{"certificate block of garbage", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), keyPEM, kex.ErrBadCertificate, ""},
		{"key block of garbage", certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}), nil, "parse key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, err := kex.ParseIdentityPEM(tt.cert, tt.key)
			if err == nil {
				t.Fatalf("ParseIdentityPEM accepted it: %+v", id)
			}
			if tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs) {
				t.Errorf("error %v, want %q", err, tt.wantErrIs)
			}
			if !strings.Contains(err.Error(), tt.wantErrHas) {
				t.Errorf("error %q does not say %q", err, tt.wantErrHas)
			}
		})
	}
}

func mustPKCS8(t *testing.T, key any) []byte {
	t.Helper()
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDetectedAndReason(t *testing.T) {
	t.Parallel()
	he := &kex.HandshakeError{Scheme: "pinned-ecdh", Side: kex.ClientSide, Step: "check pin", Err: kex.ErrPinMismatch}
	if !kex.Detected(he) || kex.Reason(he) != "key does not match pin" {
		t.Errorf("Detected = %v, Reason = %q", kex.Detected(he), kex.Reason(he))
	}
	if he.Error() != "pinned-ecdh client: check pin: key does not match pin" {
		t.Errorf("Error() = %q", he.Error())
	}
	if kex.Detected(kex.ErrNoPin) || kex.Detected(kex.ErrTruncatedHandshake) || kex.Detected(nil) {
		t.Error("a non-security error counts as detected")
	}
	if kex.Reason(nil) != "" || kex.Reason(kex.ErrNoPin) != kex.ErrNoPin.Error() {
		t.Error("Reason of a non-security error is not its text")
	}
}
