package kex

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// KeyShare is one side's ephemeral X25519 key pair and hello nonce.
type KeyShare struct {
	Private *ecdh.PrivateKey
	Nonce   []byte
}

// NewKeyShare returns a fresh X25519 key pair and a 32-byte nonce.
func NewKeyShare() (*KeyShare, error) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("kex: generate X25519 key: %w", err)
	}
	nonce := make([]byte, wire.NonceSize)
	rand.Read(nonce)
	return &KeyShare{Private: priv, Nonce: nonce}, nil
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
// secret and the raw client_hello and server_hello.
func UnauthSecrets(shared, clientHello, serverHello []byte) *channel.Secrets {
	return trafficSecrets(extract(shared), transcriptHash(clientHello, serverHello))
}

// UnauthECDH is the "unauth-ecdh" scheme:
//
//	C→S client_hello {nonce, key_share}
//	S→C server_hello {nonce, key_share}
//
// Keys come from HKDF over the X25519 secret and SHA-256(CH ‖ SH).
//
// INSECURE(unauth-ecdh): nothing says whose key share arrived; an attacker
// runs one exchange with each side.
type UnauthECDH struct{}

// Name returns "unauth-ecdh".
func (UnauthECDH) Name() string { return NameUnauthECDH }

// Client sends a hello and derives keys from the server's.
func (UnauthECDH) Client(ctx context.Context, conn *wire.Conn, _ *ClientConfig) (*channel.Secrets, error) {
	h := hs{NameUnauthECDH, ClientSide}
	ks, err := NewKeyShare()
	if err != nil {
		conn.CloseNow()
		return nil, h.fail("generate key share", err)
	}
	ch, err := write(ctx, conn, h, "send client hello", &wire.ClientHello{Nonce: ks.Nonce, KeyShare: ks.Public()})
	if err != nil {
		return nil, err
	}
	shm, sh, err := read[*wire.ServerHello](ctx, conn, h, "read server hello")
	if err != nil {
		return nil, err
	}
	shared, err := ks.Shared(shm.KeyShare)
	if err != nil {
		return nil, h.fail("compute shared secret", conn.Fail(err))
	}
	return UnauthSecrets(shared, ch, sh), nil
}

// Server answers a hello with its own and derives the same keys.
func (UnauthECDH) Server(ctx context.Context, conn *wire.Conn, _ *ServerConfig) (*channel.Secrets, error) {
	h := hs{NameUnauthECDH, ServerSide}
	chm, ch, err := read[*wire.ClientHello](ctx, conn, h, "read client hello")
	if err != nil {
		return nil, err
	}
	ks, err := NewKeyShare()
	if err != nil {
		conn.CloseNow()
		return nil, h.fail("generate key share", err)
	}
	shared, err := ks.Shared(chm.KeyShare)
	if err != nil {
		return nil, h.fail("compute shared secret", conn.Fail(err))
	}
	sh, err := write(ctx, conn, h, "send server hello", &wire.ServerHello{Nonce: ks.Nonce, KeyShare: ks.Public()})
	if err != nil {
		return nil, err
	}
	return UnauthSecrets(shared, ch, sh), nil
}
