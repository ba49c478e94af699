package kex

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// NameStaticRSA is static-rsa's name.
const NameStaticRSA = "static-rsa"

// StaticRSA is the "static-rsa" scheme, RSA key transport in the style of
// TLS-RSA and of the first answer the lab's question got ("fetch the
// server's RSA key over HTTPS, then send an AES key wrapped under it"):
//
//	S→C rsa_public_key {spki}        the server's long-term RSA-2048 key
//	C→S key_transport  {wrapped}     RSA-OAEP-SHA256(secret), secret = 32 random bytes
//
// Both sides derive the traffic keys from the secret alone. A client with a
// pin (ClientConfig.Pin, the SHA-256 of the key's SPKI) refuses any other
// key; without one it takes the key from whatever transport delivered it,
// which over wss:// is exactly as safe as the TLS certificate check.
//
// INSECURE(forward-secrecy-static-rsa): every session's secret is wrapped
// to the same long-term key, so whoever records the handshakes and later
// steals that key decrypts every session ever recorded.
func StaticRSA() *Scheme {
	return &Scheme{
		Name:        NameStaticRSA,
		Summary:     "the server's long-term RSA key, a secret wrapped to it (TLS-RSA style)",
		Messages:    []wire.Message{&RSAPublicKey{}, &KeyTransport{}},
		RSAIdentity: true,
		Client:      staticRSAClient,
		Server:      staticRSAServer,
	}
}

// RSAKeyPin returns the pin of an RSA public key, "sha256/BASE64" of its
// SubjectPublicKeyInfo, the same form as a certificate's pin.
func RSAKeyPin(pub *rsa.PublicKey) (string, error) {
	spki, err := MarshalRSAPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(spki)
	return pinPrefix + base64.StdEncoding.EncodeToString(sum[:]), nil
}

type staticRSAClientState struct {
	hs
	cfg     *ClientConfig
	pin     []byte
	pk      *RSAPublicKey
	pub     *rsa.PublicKey
	secrets *channel.Secrets
}

func staticRSAClient(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &staticRSAClientState{hs: hs{ctx, conn, NameStaticRSA, ClientSide}, cfg: orZero(cfg)}
	if c.cfg.Pin != "" {
		pin, err := ParsePin(c.cfg.Pin)
		if err != nil {
			return nil, c.refuse("check configuration", err)
		}
		c.pin = pin
	}
	err := c.run(
		step{"read public key", c.readPublicKey},
		step{"parse public key", c.parsePublicKey},
		step{"check pin", c.checkPin},
		step{"send key transport", c.sendKeyTransport},
	)
	return c.secrets, err
}

func (c *staticRSAClientState) readPublicKey() (err error) {
	c.pk, _, err = readAs[*RSAPublicKey](&c.hs)
	return err
}

func (c *staticRSAClientState) parsePublicKey() (err error) {
	c.pub, err = ParseRSAPublicKey(c.pk.SPKI)
	return err
}

func (c *staticRSAClientState) checkPin() error {
	if c.pin == nil {
		return nil // the transport vouches for the key, or nothing does
	}
	sum := sha256.Sum256(c.pk.SPKI)
	if subtle.ConstantTimeCompare(sum[:], c.pin) != 1 {
		got := pinPrefix + base64.StdEncoding.EncodeToString(sum[:])
		return fmt.Errorf("%w: server sent %s", ErrPinMismatch, got)
	}
	return nil
}

func (c *staticRSAClientState) sendKeyTransport() error {
	secret, err := randomBytes(c.cfg.Rand, SecretSize)
	if err != nil {
		return err
	}
	wrapped, err := WrapSecret(c.pub, secret)
	if err != nil {
		return err
	}
	if _, err := c.write(&KeyTransport{Wrapped: wrapped}); err != nil {
		return err
	}
	c.secrets = RSASecrets(secret)
	return nil
}

type staticRSAServerState struct {
	hs
	cfg     *ServerConfig
	kt      *KeyTransport
	secrets *channel.Secrets
}

func staticRSAServer(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
	s := &staticRSAServerState{hs: hs{ctx, conn, NameStaticRSA, ServerSide}, cfg: orZero(cfg)}
	if s.cfg.RSAKey == nil {
		return nil, s.refuse("check configuration", ErrNoIdentity)
	}
	err := s.run(
		step{"send public key", s.sendPublicKey},
		step{"read key transport", s.readKeyTransport},
		step{"unwrap secret", s.unwrapSecret},
	)
	return s.secrets, err
}

func (s *staticRSAServerState) sendPublicKey() error {
	spki, err := MarshalRSAPublicKey(&s.cfg.RSAKey.PublicKey)
	if err != nil {
		return err
	}
	_, err = s.write(&RSAPublicKey{SPKI: spki})
	return err
}

func (s *staticRSAServerState) readKeyTransport() (err error) {
	s.kt, _, err = readAs[*KeyTransport](&s.hs)
	return err
}

func (s *staticRSAServerState) unwrapSecret() error {
	secret, err := UnwrapSecret(s.cfg.RSAKey, s.kt.Wrapped)
	if err != nil {
		return err
	}
	s.secrets = RSASecrets(secret)
	return nil
}
