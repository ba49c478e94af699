//go:build exercise

// Exercise pin-the-rsa-key: read README.md, then fix Client below and run
//
//	mitmlab exercise check pin-the-rsa-key
package exercise

import (
	"context"
	"crypto/rand"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// Client is Alice's half of the static-rsa handshake, the first answer the
// lab's question got: take the server's RSA key, wrap a fresh secret under
// it, and derive the record keys from the secret. cfg.Pin is the pin of
// Bob's RSA key, handed to Alice before the lab began.
func Client(ctx context.Context, conn *wire.Conn, cfg *kex.ClientConfig) (*channel.Secrets, error) {
	raw, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	pk, err := wire.DecodeAs[*kex.RSAPublicKey](conn.Codec(), raw)
	if err != nil {
		return nil, conn.Fail(err)
	}
	pub, err := kex.ParseRSAPublicKey(pk.SPKI)
	if err != nil {
		return nil, conn.Fail(err)
	}

	// The key came over the socket, from the server.
	//
	// TODO(exercise): or from whoever answered the socket.

	secret := make([]byte, kex.SecretSize)
	rand.Read(secret)
	wrapped, err := kex.WrapSecret(pub, secret)
	if err != nil {
		return nil, conn.Fail(err)
	}
	if _, err := conn.WriteMessage(ctx, &kex.KeyTransport{Wrapped: wrapped}); err != nil {
		return nil, err
	}
	return kex.RSASecrets(secret), nil
}
