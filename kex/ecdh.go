package kex

import (
	"context"
	"crypto/ecdh"
	"fmt"
	"io"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// Field sizes of the ECDH messages.
const (
	NonceSize     = 32 // client_hello.nonce, server_hello.nonce
	KeyShareSize  = 32 // an X25519 public key
	maxSchemeName = 64
	maxOffered    = 16
	maxCertSize   = 16 << 10
)

// ClientHello opens the ECDH schemes: {"type":"client_hello","nonce":B64,
// "key_share":B64,"offered":[…]}.
type ClientHello struct {
	Nonce    []byte   // 32 random bytes
	KeyShare []byte   // X25519 public key
	Offered  []string // pinned-ecdh: the schemes the client accepts
}

// MessageType returns "client_hello".
func (*ClientHello) MessageType() wire.Type { return "client_hello" }

// Fields lists nonce, key_share and the optional offered.
func (m *ClientHello) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("nonce", &m.Nonce, NonceSize, NonceSize),
		wire.Bytes("key_share", &m.KeyShare, KeyShareSize, KeyShareSize),
		wire.List("offered", &m.Offered, maxOffered, maxSchemeName).Optional(),
	}
}

// ServerHello answers a [ClientHello]: {"type":"server_hello","nonce":B64,
// "key_share":B64,"chosen":…,"certificate":B64}.
type ServerHello struct {
	Nonce       []byte
	KeyShare    []byte
	Chosen      string // pinned-ecdh: the scheme chosen from offered
	Certificate []byte // pinned-ecdh: DER X.509, Ed25519 key
}

// MessageType returns "server_hello".
func (*ServerHello) MessageType() wire.Type { return "server_hello" }

// Fields lists nonce, key_share and the optional chosen and certificate.
func (m *ServerHello) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("nonce", &m.Nonce, NonceSize, NonceSize),
		wire.Bytes("key_share", &m.KeyShare, KeyShareSize, KeyShareSize),
		wire.Text("chosen", &m.Chosen, 1, maxSchemeName).Optional(),
		wire.Bytes("certificate", &m.Certificate, 1, maxCertSize).Optional(),
	}
}

// KeyShare is one side's ephemeral X25519 key pair and hello nonce.
type KeyShare struct {
	Private *ecdh.PrivateKey
	Nonce   []byte
}

// NewKeyShare returns a fresh X25519 key pair and a 32-byte nonce, read
// from r (nil means crypto/rand).
func NewKeyShare(r io.Reader) (*KeyShare, error) {
	seed, err := randomBytes(r, 32+NonceSize)
	if err != nil {
		return nil, err
	}
	priv, err := ecdh.X25519().NewPrivateKey(seed[:32])
	if err != nil {
		return nil, fmt.Errorf("kex: X25519 key: %w", err)
	}
	return &KeyShare{Private: priv, Nonce: seed[32:]}, nil
}

// Public returns the X25519 public key bytes to send.
func (k *KeyShare) Public() []byte { return k.Private.PublicKey().Bytes() }

// Shared returns the X25519 shared secret with the peer's key share. A
// low-order peer point, which makes the secret all zeros, is
// [ErrLowOrderPoint]: crypto/ecdh checks for it.
func (k *KeyShare) Shared(peer []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLowOrderPoint, err)
	}
	shared, err := k.Private.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLowOrderPoint, err)
	}
	return shared, nil
}

// UnauthSecrets derives unauth-ecdh's traffic keys from the X25519 shared
// secret and the transcript hash of the raw client_hello and server_hello.
func UnauthSecrets(shared, clientHello, serverHello []byte) *channel.Secrets {
	return TrafficSecrets(extract(shared), TranscriptHash(clientHello, serverHello))
}

// NameUnauthECDH is unauth-ecdh's name.
const NameUnauthECDH = "unauth-ecdh"

// UnauthECDH is the "unauth-ecdh" scheme:
//
//	C→S client_hello {nonce, key_share}
//	S→C server_hello {nonce, key_share}
//
// Keys come from HKDF over the X25519 secret and the framed hash of both
// hellos.
//
// INSECURE(unauth-ecdh): nothing says whose key share arrived; an attacker
// runs one exchange with each side.
func UnauthECDH() *Scheme {
	return &Scheme{
		Name:     NameUnauthECDH,
		Summary:  "X25519 with nonces and a transcript hash, and no authentication",
		Messages: []wire.Message{&ClientHello{}, &ServerHello{}},
		Client:   unauthClient,
		Server:   unauthServer,
	}
}

// unauthClientState is the client's handshake, one field per thing it
// learns, in the order it learns them.
type unauthClientState struct {
	hs
	ecdhClient
	cfg     *ClientConfig
	secrets *channel.Secrets
}

func unauthClient(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &unauthClientState{hs: hs{ctx, conn, NameUnauthECDH, ClientSide}, cfg: orZero(cfg)}
	c.ecdhClient = newECDHClient(&c.hs, c.cfg)
	err := c.run(
		step{"generate key share", c.generateKeyShare},
		step{"send client hello", c.sendClientHello},
		step{"read server hello", c.readServerHello},
		step{"compute shared secret", c.deriveKeys},
	)
	return c.secrets, err
}

func (c *unauthClientState) deriveKeys() error {
	shared, err := c.ks.Shared(c.shm.KeyShare)
	if err != nil {
		return err
	}
	c.secrets = UnauthSecrets(shared, c.ch, c.sh)
	return nil
}

type unauthServerState struct {
	hs
	ecdhServer
	cfg     *ServerConfig
	secrets *channel.Secrets
}

func unauthServer(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
	s := &unauthServerState{hs: hs{ctx, conn, NameUnauthECDH, ServerSide}, cfg: orZero(cfg)}
	s.ecdhServer = newECDHServer(&s.hs, s.cfg)
	err := s.run(
		step{"read client hello", s.readClientHello},
		step{"generate key share", s.generateKeyShare},
		step{"compute shared secret", s.computeShared},
		step{"send server hello", s.sendServerHello},
	)
	return s.secrets, err
}

func (s *unauthServerState) sendServerHello() error {
	sh, err := s.write(&ServerHello{Nonce: s.ks.Nonce, KeyShare: s.ks.Public()})
	if err != nil {
		return err
	}
	s.secrets = UnauthSecrets(s.shared, s.ch, sh)
	return nil
}
