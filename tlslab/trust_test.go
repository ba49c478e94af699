package tlslab_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/tlslab"
)

// TestChecks runs real crypto/tls handshakes between each client check
// and each certificate a server might present, and checks the client's
// real error and the short reason the lab gives it.
//
// ATTACK SCENARIO: Mallory presents a certificate he signed himself, or one
// a compromised CA that Alice trusts signed for him.
// THIS TEST VERIFIES: skip-verify accepts both; the CA check refuses the
// self-signed one with x509.UnknownAuthorityError inside a
// *tls.CertificateVerificationError and accepts the mis-issued one; the pin
// refuses both, the mis-issued one with kex.ErrPinMismatch after the CA
// check passed; Bob's real certificate passes every check.
func TestChecks(t *testing.T) {
	t.Parallel()
	c := newCerts(t)
	trust := func(check tlslab.Check) tlslab.Trust {
		return tlslab.Trust{Check: check, Roots: c.ca.Pool(), Pin: tlslab.Pin(c.bob.Leaf)}
	}
	tests := []struct {
		name   string
		check  tlslab.Check
		cert   tls.Certificate
		reason string // "" means accepted
	}{
		{"skip-verify/bob", tlslab.SkipVerify, c.bob, ""},
		{"skip-verify/self-signed", tlslab.SkipVerify, c.selfSigned, ""},
		{"skip-verify/mis-issued", tlslab.SkipVerify, c.misIssued, ""},
		{"ca/bob", tlslab.VerifyCA, c.bob, ""},
		{"ca/self-signed", tlslab.VerifyCA, c.selfSigned, tlslab.ReasonUnknownAuthority},
		{"ca/mis-issued", tlslab.VerifyCA, c.misIssued, ""},
		{"ca+pin/bob", tlslab.VerifyPin, c.bob, ""},
		{"ca+pin/self-signed", tlslab.VerifyPin, c.selfSigned, tlslab.ReasonUnknownAuthority},
		{"ca+pin/mis-issued", tlslab.VerifyPin, c.misIssued, tlslab.ReasonPinMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := trust(tt.check).ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			err, _ = handshake(t, cfg, serverConfig(tt.cert))
			reason, refused := tlslab.Refusal(err)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("handshake failed: %v", err)
				}
				return
			}
			if !refused || reason != tt.reason {
				t.Fatalf("Refusal(%v) = %q, %v; want %q", err, reason, refused, tt.reason)
			}
			var cve *tls.CertificateVerificationError
			switch tt.reason {
			case tlslab.ReasonUnknownAuthority:
				var unknown x509.UnknownAuthorityError
				if !errors.As(err, &cve) || !errors.As(err, &unknown) {
					t.Errorf("error %v (%T) is not a *tls.CertificateVerificationError wrapping x509.UnknownAuthorityError", err, err)
				}
			case tlslab.ReasonPinMismatch:
				var pe *tlslab.PinError
				if !errors.Is(err, kex.ErrPinMismatch) || !errors.As(err, &pe) {
					t.Fatalf("error %v does not wrap kex.ErrPinMismatch", err)
				}
				if errors.As(err, &cve) {
					t.Errorf("the CA check refused the mis-issued certificate (%v); the pin should be what refuses it", err)
				}
				if pe.Got != tlslab.Pin(tt.cert.Leaf) || pe.Want != tlslab.Pin(c.bob.Leaf) {
					t.Errorf("PinError got %s want %s; the certificate's pin is %s, Bob's %s", pe.Got, pe.Want, tlslab.Pin(tt.cert.Leaf), tlslab.Pin(c.bob.Leaf))
				}
				if !kex.Detected(err) || kex.Reason(err) != tlslab.ReasonPinMismatch {
					t.Errorf("kex.Detected/Reason do not see the pin mismatch in %v", err)
				}
			}
		})
	}
}

// TestPinTheLeaf: an attacker with no CA behind him sends his own leaf
// followed by Bob's real certificate. A pin checked anywhere in the chain
// would match; the lab pins PeerCertificates[0] only.
func TestPinTheLeaf(t *testing.T) {
	t.Parallel()
	c := newCerts(t)
	verify, err := tlslab.PinVerifier(tlslab.Pin(c.bob.Leaf))
	if err != nil {
		t.Fatal(err)
	}
	client := &tls.Config{
		ServerName: tlslab.ServerName,
		MinVersion: tls.VersionTLS13,
		// The test's own insecure client: only the pin stands in the way.
		InsecureSkipVerify: true,
		VerifyConnection:   verify,
	}
	chain := c.selfSigned
	chain.Certificate = [][]byte{c.selfSigned.Certificate[0], c.bob.Certificate[0]}
	err, _ = handshake(t, client, serverConfig(chain))
	if !errors.Is(err, kex.ErrPinMismatch) {
		t.Fatalf("attacker's leaf with Bob's certificate appended: got %v, want kex.ErrPinMismatch", err)
	}
	if err, _ := handshake(t, client, serverConfig(c.bob)); err != nil {
		t.Fatalf("Bob's own certificate: %v", err)
	}
}

// TestWrongName: a certificate from the trusted CA, for another name.
func TestWrongName(t *testing.T) {
	t.Parallel()
	c := newCerts(t)
	key, err := tlslab.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.ca.Issue(key, "mallory.lab")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := tlslab.Trust{Check: tlslab.VerifyCA, Roots: c.ca.Pool()}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	err, _ = handshake(t, cfg, serverConfig(other))
	var host x509.HostnameError
	if reason, _ := tlslab.Refusal(err); !errors.As(err, &host) || reason != tlslab.ReasonWrongName {
		t.Fatalf("got %v (%q), want an x509.HostnameError", err, reason)
	}
}

// TestTLSToPlainHTTP is the usual cause of ERR_SSL_PROTOCOL_ERROR: wss://
// or https:// aimed at a port that speaks plain HTTP. The server answers
// the ClientHello with an HTTP error page, and the client finds that the
// first record is not TLS at all. It is not a certificate problem, and
// Refusal does not call it one.
func TestTLSToPlainHTTP(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	defer func() {
		srv.Close()
		<-done
	}()
	cfg, err := tlslab.Trust{Check: tlslab.SkipVerify}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", l.Addr().String(), cfg)
	if err == nil {
		conn.Close()
		t.Fatal("a TLS handshake with a plain HTTP server succeeded")
	}
	var rh tls.RecordHeaderError
	if !errors.As(err, &rh) || !strings.Contains(err.Error(), "does not look like a TLS handshake") {
		t.Fatalf("got %v, want a tls.RecordHeaderError", err)
	}
	if _, refused := tlslab.Refusal(err); refused {
		t.Errorf("Refusal calls %v a certificate refusal", err)
	}
}

func TestTrustConfigErrors(t *testing.T) {
	t.Parallel()
	c := newCerts(t)
	tests := []struct {
		name  string
		trust tlslab.Trust
		want  string
	}{
		{"unknown check", tlslab.Trust{Check: "trust-me"}, `unknown check "trust-me"`},
		{"ca without roots", tlslab.Trust{Check: tlslab.VerifyCA}, "needs a trust store"},
		{"pin without roots", tlslab.Trust{Check: tlslab.VerifyPin, Pin: tlslab.Pin(c.bob.Leaf)}, "needs a trust store"},
		{"bad pin", tlslab.Trust{Check: tlslab.VerifyPin, Roots: c.ca.Pool(), Pin: "md5/abc"}, "pin is not sha256/BASE64"},
		{"no pin", tlslab.Trust{Check: tlslab.VerifyPin, Roots: c.ca.Pool()}, "pin is not sha256/BASE64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.trust.ClientConfig()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRefusalOfOtherErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{nil, errors.New("connection refused"), net.ErrClosed, kex.ErrBadSignature} {
		if reason, ok := tlslab.Refusal(err); ok {
			t.Errorf("Refusal(%v) = %q, true; want false", err, reason)
		}
	}
}

// TestPKI checks the certificates the lab makes: Bob's chains to the lab
// CA for bob.lab and 127.0.0.1; Mallory's self-signed one chains to
// nothing; a pin is the RFC 7469 SPKI hash kex computes.
func TestPKI(t *testing.T) {
	t.Parallel()
	c := newCerts(t)
	for _, name := range []string{tlslab.ServerName, "127.0.0.1"} {
		if _, err := c.bob.Leaf.Verify(x509.VerifyOptions{Roots: c.ca.Pool(), DNSName: name}); err != nil {
			t.Errorf("Bob's certificate for %s: %v", name, err)
		}
	}
	if _, err := c.selfSigned.Leaf.Verify(x509.VerifyOptions{Roots: c.ca.Pool(), DNSName: tlslab.ServerName}); err == nil {
		t.Error("a self-signed certificate verified against the lab CA")
	}
	if _, err := c.misIssued.Leaf.Verify(x509.VerifyOptions{Roots: c.ca.Pool(), DNSName: tlslab.ServerName}); err != nil {
		t.Errorf("the mis-issued certificate does not verify: %v", err)
	}
	want, err := kex.CertificatePin(c.bob.Leaf.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := tlslab.Pin(c.bob.Leaf); got != want {
		t.Errorf("Pin = %s, kex.CertificatePin = %s", got, want)
	}
	if tlslab.Pin(c.misIssued.Leaf) == tlslab.Pin(c.bob.Leaf) {
		t.Error("Mallory's mis-issued certificate has Bob's pin")
	}
	if len(c.bob.Certificate) != 2 || len(c.selfSigned.Certificate) != 1 {
		t.Errorf("chains: Bob %d certificates (want leaf and CA), self-signed %d (want 1)", len(c.bob.Certificate), len(c.selfSigned.Certificate))
	}
	key, err := tlslab.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ca.Issue(key); err == nil {
		t.Error("Issue with no names succeeded")
	}
	if _, err := tlslab.SelfSigned(nil, "x"); err == nil {
		t.Error("SelfSigned with no key succeeded")
	}
}
