package kex

import (
	"context"
	"crypto/rsa"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// Scheme names, as they appear on the wire, in subprotocols and on the CLI.
const (
	NamePlaintextRSA = "plaintext-rsa"
	NameUnauthECDH   = "unauth-ecdh"
	NamePinnedECDH   = "pinned-ecdh"
)

// A Scheme is one key exchange with a client half and a server half.
//
// Both halves run over a [wire.Conn] whose peer runs the other half. They
// return the traffic secrets for [channel.New], or an error that wraps a
// [*HandshakeError]. A half that fails a security check closes conn with
// 1008 before it returns; one that reads malformed input closes with 1002.
// Neither sends application data.
type Scheme interface {
	Name() string
	Client(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error)
	Server(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error)
}

// Compile-time checks.
var (
	_ Scheme = PlaintextRSA{}
	_ Scheme = UnauthECDH{}
	_ Scheme = PinnedECDH{}
)

// ByName returns the scheme called name, or false.
func ByName(name string) (Scheme, bool) {
	switch name {
	case NamePlaintextRSA:
		return PlaintextRSA{}, true
	case NameUnauthECDH:
		return UnauthECDH{}, true
	case NamePinnedECDH:
		return PinnedECDH{}, true
	}
	return nil, false
}

// Names lists every scheme's name.
func Names() []string {
	return []string{NamePlaintextRSA, NameUnauthECDH, NamePinnedECDH}
}

// ClientConfig configures a scheme's client half. A nil *ClientConfig means
// the zero value.
type ClientConfig struct {
	// Pin is the pinned-ecdh server's SPKI pin, "sha256/BASE64". Required by
	// pinned-ecdh unless SkipPinCheck is set; ignored by the other schemes.
	Pin string

	// SkipPinCheck makes the pinned-ecdh client accept any certificate whose
	// key made the signature.
	//
	// INSECURE(signed-unpinned): a signature without a trust anchor proves
	// nothing. The attacker node uses it toward a server it does not care to
	// authenticate.
	SkipPinCheck bool

	// RSAKey is the plaintext-rsa client's key pair. Nil means a fresh
	// RSA-2048 key for this handshake.
	RSAKey *rsa.PrivateKey

	// Offer lists the schemes a pinned-ecdh client offers in its hello, in
	// order of preference. Nil means only pinned-ecdh. Offering
	// unauth-ecdh too is for servers that cannot sign; see AcceptFallback.
	Offer []string

	// AcceptFallback lets a pinned-ecdh client go on when the server
	// chooses unauth-ecdh from its offer. Without it, that choice is
	// [ErrDowngrade].
	//
	// INSECURE(downgrade): whoever can strip pinned-ecdh from the offer
	// gets an unauthenticated exchange, and with it the man in the middle.
	AcceptFallback bool
}

// ServerConfig configures a scheme's server half.
type ServerConfig struct {
	// Identity is the pinned-ecdh server's certificate and key. Required by
	// pinned-ecdh whenever it chooses pinned-ecdh; ignored by the other
	// schemes.
	Identity *Identity

	// Schemes lists what a pinned-ecdh server will choose from the client's
	// offer, in order of preference: pinned-ecdh, unauth-ecdh or both. Nil
	// means only pinned-ecdh.
	Schemes []string
}

func orZero[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

// read reads one message of type T, closing conn on any failure.
func read[T wire.Message](ctx context.Context, conn *wire.Conn, h hs, step string) (T, []byte, error) {
	var zero T
	b, err := conn.Read(ctx)
	if err != nil {
		return zero, nil, h.fail(step, conn.Fail(err))
	}
	m, err := wire.DecodeAs[T](b)
	if err != nil {
		return zero, nil, h.fail(step, conn.Fail(err))
	}
	return m, b, nil
}

// write encodes m and writes it, returning the bytes sent.
func write(ctx context.Context, conn *wire.Conn, h hs, step string, m wire.Message) ([]byte, error) {
	b, err := conn.WriteMessage(ctx, m)
	if err != nil {
		conn.CloseNow()
		return nil, h.fail(step, err)
	}
	return b, nil
}
