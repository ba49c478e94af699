package kex_test

import (
	"bytes"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

func TestParseRSAPublicKey(t *testing.T) {
	t.Parallel()
	spki2048 := spki(t, rsaKey(t, bobRSA))
	tests := []struct {
		name string
		spki []byte
		want error
	}{
		{"RSA-2048 is accepted", spki2048, nil},
		{"RSA-2048 from testdata is accepted", testSPKI(t, "2048"), nil},
		{"RSA-1024 is too small", testSPKI(t, "1024"), kex.ErrKeySize},
		{"RSA-4096 is not the agreed size either", testSPKI(t, "4096"), kex.ErrKeySize},
		{"Ed25519 SPKI is not RSA", ed25519SPKI(t), kex.ErrBadKey},
		{"P-256 SPKI is not RSA", p256SPKI(t), kex.ErrBadKey},
		{"PKCS #1 instead of SPKI", x509.MarshalPKCS1PublicKey(&rsaKey(t, bobRSA).PublicKey), kex.ErrBadKey},
		{"a certificate instead of SPKI", identity(t, "bob").Certificate, kex.ErrBadKey},
		{"garbage", []byte("definitely not DER"), kex.ErrBadKey},
		{"truncated SPKI", spki2048[:len(spki2048)-1], kex.ErrBadKey},
		{"SPKI with trailing data", append(bytes.Clone(spki2048), 0), kex.ErrBadKey},
		{"empty", nil, kex.ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pub, err := kex.ParseRSAPublicKey(tt.spki)
			if tt.want == nil {
				if err != nil || pub.N.BitLen() != kex.RSABits {
					t.Fatalf("ParseRSAPublicKey = %v, %v", pub, err)
				}
				back, err := kex.MarshalRSAPublicKey(pub)
				if err != nil || !bytes.Equal(back, tt.spki) {
					t.Errorf("MarshalRSAPublicKey does not give the same SPKI back: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || pub != nil {
				t.Errorf("ParseRSAPublicKey = %v, %v; want %q", pub, err, tt.want)
			}
			if code := wire.CloseCode(err); code != policy {
				t.Errorf("CloseCode = %d, want 1008", code)
			}
		})
	}
}

func TestWrapUnwrapSecret(t *testing.T) {
	t.Parallel()
	key := rsaKey(t, bobRSA)
	secret := bytes.Repeat([]byte{0x5a}, kex.SecretSize)
	wrapped, err := kex.WrapSecret(&key.PublicKey, secret)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrapped) != kex.WrappedSize {
		t.Errorf("wrapped secret is %d bytes, want %d", len(wrapped), kex.WrappedSize)
	}
	got, err := kex.UnwrapSecret(key, wrapped)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("UnwrapSecret = %x, %v", got, err)
	}
	// Independently: it is RSA-OAEP with SHA-256 and no label.
	if got, err := rsa.DecryptOAEP(sha256.New(), nil, key, wrapped, nil); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("crypto/rsa cannot unwrap it as OAEP-SHA256: %v", err)
	}
	// OAEP is randomised: the same secret wraps differently each time.
	again, err := kex.WrapSecret(&key.PublicKey, secret)
	if err != nil || bytes.Equal(again, wrapped) {
		t.Errorf("two wraps of one secret are the same bytes (%v)", err)
	}
	for name, bad := range badWraps(t, &key.PublicKey) {
		if s, err := kex.UnwrapSecret(key, bad); !errors.Is(err, kex.ErrBadKeyTransport) || s != nil {
			t.Errorf("UnwrapSecret of %s = %x, %v; want ErrBadKeyTransport", name, s, err)
		}
	}
}

// badWraps are key_transport payloads that must not unwrap with the
// private key of pub.
func badWraps(t *testing.T, pub *rsa.PublicKey) map[string][]byte {
	t.Helper()
	wrap := func(pub *rsa.PublicKey, secret []byte) []byte {
		w, err := kex.WrapSecret(pub, secret)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	//lint:ignore SA1019 the wrong padding is the point
	v15, err := rsa.EncryptPKCS1v15(crand.Reader, pub, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	labelled, err := rsa.EncryptOAEP(sha256.New(), crand.Reader, pub, make([]byte, 32), []byte("label"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"random bytes":                    randomBytes(kex.WrappedSize),
		"a secret wrapped to another key": wrap(&rsaKey(t, malloryRSA).PublicKey, make([]byte, 32)),
		"a 16-byte secret":                wrap(pub, make([]byte, 16)),
		"a 33-byte secret":                wrap(pub, make([]byte, 33)),
		"PKCS #1 v1.5 instead of OAEP":    v15,
		"OAEP with a label":               labelled,
		"zeros":                           make([]byte, kex.WrappedSize),
		"the wrapped secret with a bit flipped": func() []byte {
			w := wrap(pub, make([]byte, 32))
			w[100] ^= 1
			return w
		}(),
	}
}

// TestPlaintextRSAServerRefusesKey: a fake client sends a public key the
// server must not wrap to; the server refuses before it sends anything.
func TestPlaintextRSAServerRefusesKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spki []byte
		want error
	}{
		{"plaintext-rsa/client sends an RSA-1024 key", testSPKI(t, "1024"), kex.ErrKeySize},
		{"plaintext-rsa/client sends an RSA-4096 key", testSPKI(t, "4096"), kex.ErrKeySize},
		{"plaintext-rsa/client sends an Ed25519 key", ed25519SPKI(t), kex.ErrBadKey},
		{"plaintext-rsa/client sends a P-256 key", p256SPKI(t), kex.ErrBadKey},
		{"plaintext-rsa/client sends its key as PKCS #1", x509.MarshalPKCS1PublicKey(&rsaKey(t, aliceRSA).PublicKey), kex.ErrBadKey},
		{"plaintext-rsa/client sends garbage as its key", []byte("garbage"), kex.ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			scheme := kex.PlaintextRSA()
			c, s := wsPair(t, scheme)
			ctx := testContext(t)
			srv := runServer(ctx, scheme, s, nil)
			cli := newFake(t, ctx, scheme, c)
			cli.send(&kex.RSAPublicKey{SPKI: tt.spki})
			r := cli.wantRefusal(srv, policy, tt.want) // no key_transport before the close
			wantHandshakeError(t, r.err, tt.want, kex.NamePlaintextRSA, kex.ServerSide, "parse public key")
			if r.secrets != nil {
				t.Errorf("the refusing server returned secrets")
			}
		})
	}
}

// TestRSAClientRefusesTransport: a fake plaintext-rsa server answers the
// client's key with a wrapped secret that must not unwrap.
func TestRSAClientRefusesTransport(t *testing.T) {
	t.Parallel()
	alice := rsaKey(t, aliceRSA)
	for name, wrapped := range badWraps(t, &alice.PublicKey) {
		t.Run("plaintext-rsa/server sends "+name, func(t *testing.T) {
			t.Parallel()
			scheme := kex.PlaintextRSA()
			c, s := wsPair(t, scheme)
			ctx := testContext(t)
			cli := runClient(ctx, scheme, c, &kex.ClientConfig{RSAKey: alice})
			srv := newFake(t, ctx, scheme, s)
			pk, _ := receive[*kex.RSAPublicKey](srv)
			if pub, err := kex.ParseRSAPublicKey(pk.SPKI); err != nil || !pub.Equal(&alice.PublicKey) {
				t.Errorf("client sent another key than its configured one (%v)", err)
			}
			srv.send(&kex.KeyTransport{Wrapped: wrapped})
			r := srv.wantRefusal(cli, policy, kex.ErrBadKeyTransport)
			wantHandshakeError(t, r.err, kex.ErrBadKeyTransport, kex.NamePlaintextRSA, kex.ClientSide, "unwrap secret")
		})
	}
}

// TestStaticRSAServerRefusesTransport: a fake static-rsa client answers
// the server's key with a key_transport that does not unwrap.
func TestStaticRSAServerRefusesTransport(t *testing.T) {
	t.Parallel()
	bob := rsaKey(t, bobRSA)
	for name, wrapped := range badWraps(t, &bob.PublicKey) {
		t.Run("static-rsa/client sends "+name, func(t *testing.T) {
			t.Parallel()
			scheme := kex.StaticRSA()
			c, s := wsPair(t, scheme)
			ctx := testContext(t)
			srv := runServer(ctx, scheme, s, &kex.ServerConfig{RSAKey: bob})
			cli := newFake(t, ctx, scheme, c)
			pk, _ := receive[*kex.RSAPublicKey](cli)
			if !bytes.Equal(pk.SPKI, spki(t, bob)) {
				t.Errorf("server sent another key than its own")
			}
			cli.send(&kex.KeyTransport{Wrapped: wrapped})
			r := cli.wantRefusal(srv, policy, kex.ErrBadKeyTransport)
			wantHandshakeError(t, r.err, kex.ErrBadKeyTransport, kex.NameStaticRSA, kex.ServerSide, "unwrap secret")
			if r.secrets != nil {
				t.Errorf("the refusing server returned secrets")
			}
		})
	}
}

// TestStaticRSAClientChecksTheKey: a static-rsa client with a pin takes
// only the pinned key; without one it takes any RSA-2048 key the transport
// delivers, Mallory's included. Neither takes a key of the wrong size.
func TestStaticRSAClientChecksTheKey(t *testing.T) {
	t.Parallel()
	bob, mallory := rsaKey(t, bobRSA), rsaKey(t, malloryRSA)
	bobPin, err := kex.RSAKeyPin(&bob.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pin  string
		spki []byte
		want error // nil: the client wraps a secret to the key
		step string
	}{
		{"static-rsa/pinned client takes the pinned key", bobPin, spki(t, bob), nil, ""},
		{"static-rsa/pinned client refuses the attacker's key", bobPin, spki(t, mallory), kex.ErrPinMismatch, "check pin"},
		{"static-rsa/client without a pin takes the attacker's key", "", spki(t, mallory), nil, ""},
		{"static-rsa/client without a pin refuses an RSA-1024 key", "", testSPKI(t, "1024"), kex.ErrKeySize, "parse public key"},
		{"static-rsa/pinned client refuses a pinned RSA-1024 key", pinOfSPKI(testSPKI(t, "1024")), testSPKI(t, "1024"), kex.ErrKeySize, "parse public key"},
		{"static-rsa/client refuses an Ed25519 key", "", ed25519SPKI(t), kex.ErrBadKey, "parse public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			scheme := kex.StaticRSA()
			c, s := wsPair(t, scheme)
			ctx := testContext(t)
			cli := runClient(ctx, scheme, c, &kex.ClientConfig{Pin: tt.pin, Rand: seeded(tt.name)})
			srv := newFake(t, ctx, scheme, s)
			srv.send(&kex.RSAPublicKey{SPKI: tt.spki})
			if tt.want != nil {
				r := srv.wantRefusal(cli, policy, tt.want)
				wantHandshakeError(t, r.err, tt.want, kex.NameStaticRSA, kex.ClientSide, tt.step)
				if tt.want == kex.ErrPinMismatch && !strings.Contains(r.err.Error(), pinOfSPKI(tt.spki)) {
					t.Errorf("error %q does not name the key the server sent", r.err)
				}
				return
			}
			kt, _ := receive[*kex.KeyTransport](srv)
			r := <-cli
			if r.err != nil {
				t.Fatal(r.err)
			}
			owner := bob
			if bytes.Equal(tt.spki, spki(t, mallory)) {
				owner = mallory
			}
			secret, err := kex.UnwrapSecret(owner, kt.Wrapped)
			if err != nil {
				t.Fatalf("the key's owner cannot unwrap the secret: %v", err)
			}
			if *r.secrets != *kex.RSASecrets(secret) {
				t.Errorf("client secrets are not RSASecrets of the secret it wrapped")
			}
		})
	}
}

// pinOfSPKI is RFC 7469's pin of a DER SPKI, written out here.
func pinOfSPKI(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha256/" + b64(sum[:])
}

// TestRSAKeyPin: RSAKeyPin is the pin of the SPKI the server sends, which
// is what the static-rsa client compares, and it has the certificate pin's
// form.
func TestRSAKeyPin(t *testing.T) {
	t.Parallel()
	bob := rsaKey(t, bobRSA)
	pin, err := kex.RSAKeyPin(&bob.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := pinOfSPKI(spki(t, bob)); pin != want {
		t.Errorf("RSAKeyPin = %s, want %s", pin, want)
	}
	if sum, err := kex.ParsePin(pin); err != nil || len(sum) != 32 {
		t.Errorf("ParsePin refuses RSAKeyPin's output: %v", err)
	}
	other, err := kex.RSAKeyPin(&rsaKey(t, malloryRSA).PublicKey)
	if err != nil || other == pin {
		t.Errorf("two keys have the pin %s (%v)", pin, err)
	}
	// The pin of a key read back from testdata is that of its PEM's bytes.
	pub, err := kex.ParseRSAPublicKey(testSPKI(t, "2048"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := kex.RSAKeyPin(pub); err != nil || got != pinOfSPKI(testSPKI(t, "2048")) {
		t.Errorf("RSAKeyPin(testdata key) = %s, %v", got, err)
	}
}
