package kex

import (
	"context"
	"crypto/ed25519"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// SignedHellos carries a sign-only server's signature:
// {"type":"signed_hellos","signature":B64}.
type SignedHellos struct {
	Signature []byte // Ed25519 over SignedContent(CH, SH)
}

// MessageType returns "signed_hellos".
func (*SignedHellos) MessageType() wire.Type { return "signed_hellos" }

// Fields lists signature.
func (m *SignedHellos) Fields() []wire.Field {
	return []wire.Field{wire.Bytes("signature", &m.Signature, SignatureSize, SignatureSize)}
}

// SignOnlySecrets derives sign-only's traffic keys from the X25519 secret
// and the two nonces, and from nothing that names the server.
//
// INSECURE(misbinding): the keys do not depend on the certificate or the
// signature, and nothing else proves that the server whose key signed is
// the one that holds them.
func SignOnlySecrets(shared, clientNonce, serverNonce []byte) *channel.Secrets {
	return TrafficSecrets(extract(shared), TranscriptHash(clientNonce, serverNonce))
}

// NameSignOnly is sign-only's name.
const NameSignOnly = "sign-only"

// SignOnly is the "sign-only" scheme, pinned-ecdh without its MACs: the
// server signs both raw hellos, its certificate included, and that is all.
//
//	C→S client_hello     {nonce, key_share}
//	S→C server_hello     {nonce, key_share, certificate}
//	S→C signed_hellos {signature}        Ed25519 over SignedContent(CH, SH)
//
// The signature proves that the key's owner saw both key shares. It does
// not prove that the owner holds the shared secret: anyone who sees both
// hellos can sign them with his own certificate (SIGMA, Krawczyk 2003).
// The client trusts ClientConfig.Pin and OtherPins.
func SignOnly() *Scheme {
	return &Scheme{
		Name:     NameSignOnly,
		Summary:  "X25519 and a signature over both hellos, without finished MACs (SIGMA's sign-only)",
		Messages: []wire.Message{&ClientHello{}, &ServerHello{}, &SignedHellos{}},
		Identity: true,
		Client:   signOnlyClient,
		Server:   signOnlyServer,
	}
}

type signOnlyClientState struct {
	hs
	ecdhClient
	cfg     *ClientConfig
	trust   trust
	key     ed25519.PublicKey
	secrets *channel.Secrets
}

func signOnlyClient(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &signOnlyClientState{hs: hs{ctx, conn, NameSignOnly, ClientSide}, cfg: orZero(cfg)}
	c.ecdhClient = newECDHClient(&c.hs, c.cfg)
	var err error
	if c.trust, err = newTrust(c.cfg); err != nil {
		return nil, c.refuse("check configuration", err)
	}
	err = c.run(
		step{"generate key share", c.generateKeyShare},
		step{"send client hello", c.sendClientHello},
		step{"read server hello", c.readServerHello},
		step{"check certificate", c.checkCertificate},
		step{"verify signature", c.verifySignature},
		step{"compute shared secret", c.deriveKeys},
	)
	return c.secrets, err
}

func (c *signOnlyClientState) checkCertificate() (err error) {
	c.key, err = c.trust.serverKey(c.shm.Certificate)
	return err
}

func (c *signOnlyClientState) verifySignature() error {
	sig, _, err := readAs[*SignedHellos](&c.hs)
	if err != nil {
		return err
	}
	if !ed25519.Verify(c.key, SignedContent(c.ch, c.sh), sig.Signature) {
		return ErrBadSignature
	}
	return nil
}

func (c *signOnlyClientState) deriveKeys() error {
	shared, err := c.ks.Shared(c.shm.KeyShare)
	if err != nil {
		return err
	}
	c.secrets = SignOnlySecrets(shared, c.ks.Nonce, c.shm.Nonce)
	return nil
}

type signOnlyServerState struct {
	hs
	ecdhServer
	cfg     *ServerConfig
	secrets *channel.Secrets
}

func signOnlyServer(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
	s := &signOnlyServerState{hs: hs{ctx, conn, NameSignOnly, ServerSide}, cfg: orZero(cfg)}
	s.ecdhServer = newECDHServer(&s.hs, s.cfg)
	if s.cfg.Identity == nil {
		return nil, s.refuse("check configuration", ErrNoIdentity)
	}
	err := s.run(
		step{"read client hello", s.readClientHello},
		step{"generate key share", s.generateKeyShare},
		step{"compute shared secret", s.computeShared},
		step{"send server hello and signature", s.sendServerHello},
	)
	return s.secrets, err
}

func (s *signOnlyServerState) sendServerHello() error {
	sh, err := s.write(&ServerHello{Nonce: s.ks.Nonce, KeyShare: s.ks.Public(), Certificate: s.cfg.Identity.Certificate})
	if err != nil {
		return err
	}
	sig := ed25519.Sign(s.cfg.Identity.Key, SignedContent(s.ch, sh))
	if _, err := s.write(&SignedHellos{Signature: sig}); err != nil {
		return err
	}
	s.secrets = SignOnlySecrets(s.shared, s.chm.Nonce, s.ks.Nonce)
	return nil
}

// SignHellos is the server signature of pinned-ecdh and sign-only, made
// with id's key over SignedContent(CH, SH). Anyone with a certificate
// can make one over hellos he has seen: the swap-identity attack does.
func SignHellos(id *Identity, clientHello, serverHello []byte) []byte {
	return ed25519.Sign(id.Key, SignedContent(clientHello, serverHello))
}
