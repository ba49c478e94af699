package kex

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// RSABits is the only RSA modulus size plaintext-rsa accepts.
const RSABits = 2048

// SecretSize is the size of the plaintext-rsa session secret.
const SecretSize = 32

// PlaintextRSA is the "plaintext-rsa" scheme:
//
//	C→S rsa_public_key {spki}        RSA-2048, in clear
//	S→C key_transport  {wrapped}     RSA-OAEP-SHA256(secret), secret = 32 random bytes
//
// Both sides derive the traffic keys from the secret alone.
//
// INSECURE(plaintext-rsa): the public key travels unauthenticated; this is the lesson.
type PlaintextRSA struct{}

// Name returns "plaintext-rsa".
func (PlaintextRSA) Name() string { return NamePlaintextRSA }

// NewRSAKey returns a fresh RSA-2048 key pair.
func NewRSAKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, RSABits)
	if err != nil {
		return nil, fmt.Errorf("kex: generate RSA key: %w", err)
	}
	return k, nil
}

// MarshalRSAPublicKey returns the DER SubjectPublicKeyInfo of pub.
func MarshalRSAPublicKey(pub *rsa.PublicKey) ([]byte, error) {
	return x509.MarshalPKIXPublicKey(pub)
}

// ParseRSAPublicKey parses a DER SubjectPublicKeyInfo that must hold an
// RSA-2048 key.
func ParseRSAPublicKey(spki []byte) (*rsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: got %T", ErrBadKey, k)
	}
	if pub.N.BitLen() != RSABits {
		return nil, fmt.Errorf("%w: %d bits, want %d", ErrKeySize, pub.N.BitLen(), RSABits)
	}
	return pub, nil
}

// WrapSecret encrypts secret to pub with RSA-OAEP-SHA256 and no label.
func WrapSecret(pub *rsa.PublicKey, secret []byte) ([]byte, error) {
	return rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, secret, nil)
}

// UnwrapSecret decrypts a [WrapSecret] result and checks the secret's size.
func UnwrapSecret(priv *rsa.PrivateKey, wrapped []byte) ([]byte, error) {
	secret, err := rsa.DecryptOAEP(sha256.New(), nil, priv, wrapped, nil)
	if err != nil {
		return nil, ErrBadKeyTransport
	}
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("%w: secret is %d bytes, want %d", ErrBadKeyTransport, len(secret), SecretSize)
	}
	return secret, nil
}

// RSASecrets derives the traffic keys from a plaintext-rsa session secret.
//
// INSECURE(plaintext-rsa): the keys depend on the secret only, as a developer
// would first write it. Binding them to the transcript would not help: the
// attacker could still decrypt and re-encrypt, as in unauth-ecdh.
func RSASecrets(secret []byte) *channel.Secrets {
	return trafficSecrets(extract(secret), nil)
}

// Client sends a public key in clear and unwraps the secret.
func (PlaintextRSA) Client(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	h := hs{NamePlaintextRSA, ClientSide}
	cfg = orZero(cfg)
	key := cfg.RSAKey
	if key == nil {
		var err error
		if key, err = NewRSAKey(); err != nil {
			conn.CloseNow()
			return nil, h.fail("generate key", err)
		}
	}
	spki, err := MarshalRSAPublicKey(&key.PublicKey)
	if err != nil {
		conn.CloseNow()
		return nil, h.fail("send public key", err)
	}
	if _, err := write(ctx, conn, h, "send public key", &wire.RSAPublicKey{SPKI: spki}); err != nil {
		return nil, err
	}
	kt, _, err := read[*wire.KeyTransport](ctx, conn, h, "read key transport")
	if err != nil {
		return nil, err
	}
	secret, err := UnwrapSecret(key, kt.Wrapped)
	if err != nil {
		return nil, h.fail("unwrap secret", conn.Fail(err))
	}
	return RSASecrets(secret), nil
}

// Server reads the client's public key, wraps a fresh secret to it and
// sends it back.
func (PlaintextRSA) Server(ctx context.Context, conn *wire.Conn, _ *ServerConfig) (*channel.Secrets, error) {
	h := hs{NamePlaintextRSA, ServerSide}
	pk, _, err := read[*wire.RSAPublicKey](ctx, conn, h, "read public key")
	if err != nil {
		return nil, err
	}
	// INSECURE(plaintext-rsa): the server cannot tell whose key this is.
	pub, err := ParseRSAPublicKey(pk.SPKI)
	if err != nil {
		return nil, h.fail("parse public key", conn.Fail(err))
	}
	secret := make([]byte, SecretSize)
	rand.Read(secret)
	wrapped, err := WrapSecret(pub, secret)
	if err != nil {
		conn.CloseNow()
		return nil, h.fail("wrap secret", err)
	}
	if _, err := write(ctx, conn, h, "send key transport", &wire.KeyTransport{Wrapped: wrapped}); err != nil {
		return nil, err
	}
	return RSASecrets(secret), nil
}
