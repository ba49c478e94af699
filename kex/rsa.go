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

// RSABits is the only RSA modulus size the RSA schemes accept.
const RSABits = 2048

// SecretSize is the size of an RSA key-transport session secret.
const SecretSize = 32

// Field sizes of the RSA messages.
const (
	WrappedSize = RSABits / 8 // an RSA-2048 OAEP ciphertext
	maxSPKISize = 2048
)

// RSAPublicKey carries an RSA public key in clear:
// {"type":"rsa_public_key","spki":B64}.
type RSAPublicKey struct {
	SPKI []byte // DER SubjectPublicKeyInfo
}

// MessageType returns "rsa_public_key".
func (*RSAPublicKey) MessageType() wire.Type { return "rsa_public_key" }

// Fields lists spki.
func (m *RSAPublicKey) Fields() []wire.Field {
	return []wire.Field{wire.Bytes("spki", &m.SPKI, 1, maxSPKISize)}
}

// KeyTransport carries a session secret wrapped with RSA-OAEP-SHA256:
// {"type":"key_transport","wrapped":B64}.
type KeyTransport struct {
	Wrapped []byte // 256 bytes for RSA-2048
}

// MessageType returns "key_transport".
func (*KeyTransport) MessageType() wire.Type { return "key_transport" }

// Fields lists wrapped.
func (m *KeyTransport) Fields() []wire.Field {
	return []wire.Field{wire.Bytes("wrapped", &m.Wrapped, WrappedSize, WrappedSize)}
}

// NewRSAKey returns a fresh RSA-2048 key pair from crypto/rand.
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

// RSASecrets derives the traffic keys from an RSA key-transport secret.
//
// INSECURE(plaintext-rsa): the keys depend on the secret alone, as a
// developer would first write it. Against the man in the middle, binding
// them to the transcript would not help: he decrypts and re-encrypts, as in
// unauth-ecdh. Against a replay it would: a client that reuses its RSA key
// and accepts an old key_transport derives the same key and nonces again
// (the nonce-reuse lesson).
func RSASecrets(secret []byte) *channel.Secrets {
	return TrafficSecrets(extract(secret), nil)
}

// NamePlaintextRSA is plaintext-rsa's name.
const NamePlaintextRSA = "plaintext-rsa"

// PlaintextRSA is the "plaintext-rsa" scheme:
//
//	C→S rsa_public_key {spki}        RSA-2048, in clear
//	S→C key_transport  {wrapped}     RSA-OAEP-SHA256(secret), secret = 32 random bytes
//
// Both sides derive the traffic keys from the secret alone.
//
// INSECURE(plaintext-rsa): the public key travels unauthenticated; this is the lesson.
func PlaintextRSA() *Scheme {
	return &Scheme{
		Name:     NamePlaintextRSA,
		Summary:  "the client's RSA public key in clear, a secret wrapped back to it",
		Messages: []wire.Message{&RSAPublicKey{}, &KeyTransport{}},
		Client:   rsaClient,
		Server:   rsaServer,
	}
}

type rsaClientState struct {
	hs
	cfg     *ClientConfig
	key     *rsa.PrivateKey
	kt      *KeyTransport
	secrets *channel.Secrets
}

func rsaClient(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &rsaClientState{hs: hs{ctx, conn, NamePlaintextRSA, ClientSide}, cfg: orZero(cfg)}
	err := c.run(
		step{"generate key", c.generateKey},
		step{"send public key", c.sendPublicKey},
		step{"read key transport", c.readKeyTransport},
		step{"unwrap secret", c.unwrapSecret},
	)
	return c.secrets, err
}

func (c *rsaClientState) generateKey() (err error) {
	if c.key = c.cfg.RSAKey; c.key == nil {
		c.key, err = NewRSAKey()
	}
	return err
}

func (c *rsaClientState) sendPublicKey() error {
	spki, err := MarshalRSAPublicKey(&c.key.PublicKey)
	if err != nil {
		return err
	}
	_, err = c.write(&RSAPublicKey{SPKI: spki})
	return err
}

func (c *rsaClientState) readKeyTransport() (err error) {
	c.kt, _, err = readAs[*KeyTransport](&c.hs)
	return err
}

func (c *rsaClientState) unwrapSecret() error {
	secret, err := UnwrapSecret(c.key, c.kt.Wrapped)
	if err != nil {
		return err
	}
	c.secrets = RSASecrets(secret)
	return nil
}

type rsaServerState struct {
	hs
	cfg     *ServerConfig
	pk      *RSAPublicKey
	pub     *rsa.PublicKey
	secrets *channel.Secrets
}

func rsaServer(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
	s := &rsaServerState{hs: hs{ctx, conn, NamePlaintextRSA, ServerSide}, cfg: orZero(cfg)}
	err := s.run(
		step{"read public key", s.readPublicKey},
		step{"parse public key", s.parsePublicKey},
		step{"send key transport", s.sendKeyTransport},
	)
	return s.secrets, err
}

func (s *rsaServerState) readPublicKey() (err error) {
	s.pk, _, err = readAs[*RSAPublicKey](&s.hs)
	return err
}

// parsePublicKey takes the key at its word.
//
// INSECURE(plaintext-rsa): the server cannot tell whose key this is.
func (s *rsaServerState) parsePublicKey() (err error) {
	s.pub, err = ParseRSAPublicKey(s.pk.SPKI)
	return err
}

func (s *rsaServerState) sendKeyTransport() error {
	secret, err := randomBytes(s.cfg.Rand, SecretSize)
	if err != nil {
		return err
	}
	wrapped, err := WrapSecret(s.pub, secret)
	if err != nil {
		return err
	}
	if _, err := s.write(&KeyTransport{Wrapped: wrapped}); err != nil {
		return err
	}
	s.secrets = RSASecrets(secret)
	return nil
}
