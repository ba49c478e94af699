package kex_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// rsaKey is one RSA-2048 key shared by the tests that need a private key;
// generating one per test would only slow the suite.
var rsaKey = func() func(t *testing.T) *rsa.PrivateKey {
	once := sync.OnceValues(kex.NewRSAKey)
	return func(t *testing.T) *rsa.PrivateKey {
		t.Helper()
		k, err := once()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}()

// testSPKI reads an RSA public key that testdata holds as PEM. The 1024-
// and 4096-bit keys are kept there because generating a 4096-bit key takes
// seconds.
func testSPKI(t testing.TB, bits string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rsa"+bits+".pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		t.Fatalf("testdata rsa%s.pub.pem holds no PUBLIC KEY", bits)
	}
	return blk.Bytes
}

func ed25519SPKI(t *testing.T) []byte {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func p256SPKI(t *testing.T) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func b64(b []byte) string       { return base64.StdEncoding.EncodeToString(b) }
func urlB64(b []byte) string    { return base64.URLEncoding.EncodeToString(b) }
func hexString(b []byte) string { return hex.EncodeToString(b) }

func TestParseRSAPublicKey(t *testing.T) {
	t.Parallel()
	spki2048, err := kex.MarshalRSAPublicKey(&rsaKey(t).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PublicKey(&rsaKey(t).PublicKey)
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
		{"PKCS #1 instead of SPKI", pkcs1, kex.ErrBadKey},
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
				if err != nil || pub.N.BitLen() != 2048 {
					t.Fatalf("ParseRSAPublicKey = %v, %v", pub, err)
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
	key := rsaKey(t)
	secret := bytes.Repeat([]byte{0x5a}, kex.SecretSize)
	wrapped, err := kex.WrapSecret(&key.PublicKey, secret)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrapped) != wire.WrappedSize {
		t.Errorf("wrapped secret is %d bytes, want %d", len(wrapped), wire.WrappedSize)
	}
	got, err := kex.UnwrapSecret(key, wrapped)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("UnwrapSecret = %x, %v", got, err)
	}
	// Independently: it is RSA-OAEP with SHA-256 and no label.
	if got, err := rsa.DecryptOAEP(sha256.New(), nil, key, wrapped, nil); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("crypto/rsa cannot unwrap it as OAEP-SHA256: %v", err)
	}
	short, err := kex.WrapSecret(&key.PublicKey, secret[:16])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kex.UnwrapSecret(key, short); !errors.Is(err, kex.ErrBadKeyTransport) {
		t.Errorf("UnwrapSecret of a 16-byte secret = %v, want ErrBadKeyTransport", err)
	}
}

// TestPlaintextRSAServerRefusesKey: a fake client sends a public key the
// server must not wrap to.
func TestPlaintextRSAServerRefusesKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spki []byte
		want error
	}{
		{"plaintext-rsa/client sends an RSA-1024 key", testSPKI(t, "1024"), kex.ErrKeySize},
		{"plaintext-rsa/client sends an RSA-4096 key", testSPKI(t, "4096"), kex.ErrKeySize},
		{"plaintext-rsa/client sends an Ed25519 SPKI", ed25519SPKI(t), kex.ErrBadKey},
		{"plaintext-rsa/client sends a P-256 SPKI", p256SPKI(t), kex.ErrBadKey},
		{"plaintext-rsa/client sends garbage as its key", []byte("garbage"), kex.ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			fake, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
			ctx := testContext(t)
			srv := run(func() (*channel.Secrets, error) { return kex.PlaintextRSA{}.Server(ctx, scn, nil) })
			writeMsg(t, ctx, fake, &wire.RSAPublicKey{SPKI: tt.spki})
			code, reason := closeCode(t, c) // no key_transport before the close
			r := <-srv
			wantHandshakeError(t, r.err, tt.want, "plaintext-rsa", kex.ServerSide, "parse public key")
			if code != policy {
				t.Errorf("fake client got close %d %q, want 1008", code, reason)
			}
		})
	}
}

// TestPlaintextRSAClientRefusesTransport: a fake server answers with a
// wrapped secret the client must refuse.
func TestPlaintextRSAClientRefusesTransport(t *testing.T) {
	t.Parallel()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		wrap func(t *testing.T, client *rsa.PublicKey) []byte
	}{
		{"plaintext-rsa/server sends random bytes as the wrapped secret", func(t *testing.T, _ *rsa.PublicKey) []byte {
			b := make([]byte, 256)
			rand.Read(b)
			return b
		}},
		{"plaintext-rsa/server wraps to another key", func(t *testing.T, _ *rsa.PublicKey) []byte {
			w, err := kex.WrapSecret(&other.PublicKey, make([]byte, 32))
			if err != nil {
				t.Fatal(err)
			}
			return w
		}},
		{"plaintext-rsa/server wraps a 16-byte secret", func(t *testing.T, pub *rsa.PublicKey) []byte {
			w, err := kex.WrapSecret(pub, make([]byte, 16))
			if err != nil {
				t.Fatal(err)
			}
			return w
		}},
		{"plaintext-rsa/server wraps with PKCS #1 v1.5", func(t *testing.T, pub *rsa.PublicKey) []byte {
			//lint:ignore SA1019 the wrong padding is the point
			w, err := rsa.EncryptPKCS1v15(rand.Reader, pub, make([]byte, 32))
			if err != nil {
				t.Fatal(err)
			}
			return w
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			cc, fake := wire.NewConn(c, nil), wire.NewConn(s, nil)
			ctx := testContext(t)
			key := rsaKey(t)
			cli := run(func() (*channel.Secrets, error) {
				return kex.PlaintextRSA{}.Client(ctx, cc, &kex.ClientConfig{RSAKey: key})
			})
			pk, _ := readMsg[*wire.RSAPublicKey](t, ctx, fake)
			pub, err := kex.ParseRSAPublicKey(pk.SPKI)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(&key.PublicKey) {
				t.Errorf("client sent another key than its configured one")
			}
			writeMsg(t, ctx, fake, &wire.KeyTransport{Wrapped: tt.wrap(t, pub)})
			code, _ := closeCode(t, s)
			r := <-cli
			wantHandshakeError(t, r.err, kex.ErrBadKeyTransport, "plaintext-rsa", kex.ClientSide, "unwrap secret")
			if code != policy {
				t.Errorf("fake server got close %d, want 1008", code)
			}
		})
	}
}
