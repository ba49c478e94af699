package kex

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// A ClientHalf runs a scheme's client side of the handshake over conn,
// whose peer runs the server half. It returns the traffic secrets for
// [channel.New], or an error that wraps a [*HandshakeError]. A half that
// fails a security check closes conn with 1008 before it returns; one that
// reads malformed input closes with 1002. Neither half sends records.
type ClientHalf func(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error)

// A ServerHalf runs a scheme's server side of the handshake; see
// [ClientHalf].
type ServerHalf func(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error)

// Scheme is one key exchange: its name, its handshake messages and its two
// halves. The victims run one half each; the attacker runs both, with keys
// of his own, and the attacks ask the scheme which messages and fields it
// has.
//
// Each scheme is one file of this package that defines its messages, its
// halves and the function that returns its Scheme, such as [PinnedECDH].
// A learner's scheme is a Scheme value too.
type Scheme struct {
	// Name is the scheme's name on the wire, in subprotocols and on the
	// command line: lowercase letters, digits and hyphens.
	Name string
	// Summary is one line for lists.
	Summary string
	// Messages are the handshake's messages, as zero values such as
	// &ClientHello{}, in the order they first travel.
	Messages []wire.Message
	// Identity says the server half needs an [Identity], and the client
	// half a pin for its key (or SkipPinCheck).
	Identity bool
	// LearnsPin says the client is given no pin: it learns the server's on
	// first contact and keeps it in ClientConfig.PinStore, as SSH keeps
	// known_hosts.
	LearnsPin bool
	// RSAIdentity says the server half needs a long-term RSA key
	// (ServerConfig.RSAKey).
	RSAIdentity bool
	// Suite is the record layer the scheme's records use after the
	// handshake; "" means channel.AES256GCM. Both sides and every
	// observer read it from here.
	Suite channel.Suite
	// SAS says the users compare a short authentication string out of
	// band (ClientConfig.OutOfBand, ServerConfig.OutOfBand): the scheme
	// authenticates nobody on the wire, and the comparison is its only
	// check.
	SAS bool
	// Client and Server are the halves.
	Client ClientHalf
	Server ServerHalf
}

var schemeName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Check returns an error unless s can run: a valid name, both halves, and
// messages a codec accepts.
func (s *Scheme) Check() error {
	switch {
	case s == nil:
		return errors.New("kex: no scheme")
	case !schemeName.MatchString(s.Name):
		return fmt.Errorf("kex: scheme name %q: want lowercase letters, digits and hyphens", s.Name)
	case s.Client == nil || s.Server == nil:
		return fmt.Errorf("kex: scheme %s needs both a client and a server half", s.Name)
	}
	if _, err := wire.NewCodec(s.all()...); err != nil {
		return fmt.Errorf("kex: scheme %s: %w", s.Name, err)
	}
	return nil
}

func (s *Scheme) all() []wire.Message {
	return append(slices.Clone(s.Messages), &wire.Data{}, &wire.End{})
}

// Codec returns the codec for the scheme's connections: its handshake
// messages and the record layer's.
func (s *Scheme) Codec() *wire.Codec {
	c, err := wire.NewCodec(s.all()...)
	if err != nil {
		panic(fmt.Sprintf("kex: scheme %s: %v (call Check first)", s.Name, err))
	}
	return c
}

// Message returns the scheme's handshake message of type t, or nil.
func (s *Scheme) Message(t wire.Type) wire.Message {
	for _, m := range s.Messages {
		if m.MessageType() == t {
			return m
		}
	}
	return nil
}

// Has reports whether the scheme has message type t, and, if field is not
// empty, whether that message has the field.
func (s *Scheme) Has(t wire.Type, field string) bool {
	m := s.Message(t)
	return m != nil && (field == "" || wire.Has(m, field))
}

// ClientConfig configures a scheme's client half. A nil *ClientConfig means
// the zero value.
type ClientConfig struct {
	// Pin is the server's SPKI pin, "sha256/BASE64". Required by a scheme
	// with an Identity unless SkipPinCheck is set; ignored by the others.
	Pin string

	// SkipPinCheck makes the client accept any certificate whose key made
	// the signature.
	//
	// INSECURE(signed-unpinned): a signature without a trust anchor proves
	// nothing. The attacker node uses it toward a server it does not care to
	// authenticate.
	SkipPinCheck bool

	// OtherPins lists the pins of other servers the client also trusts,
	// for a client that knows several servers and learns from the
	// handshake which one answered (pinned-ecdh, and the signed schemes
	// sign-only, signed-share and signed-ffdh). Which of them signed is
	// then all the client knows of its peer: the misbinding lesson is
	// about proving that the signer also holds the keys.
	OtherPins []string

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

	// PinStore, for tofu-ecdh, is where the client remembers the key of
	// each server it has met, SSH known_hosts style: the first key a
	// server shows is trusted and written down, and every later one must
	// match it.
	PinStore *PinStore

	// OutOfBand, for a scheme with SAS, is the line on which the client's
	// user reads out the short authentication string and hears the
	// server's user's; see [OutOfBand]. Nil means nobody compares.
	OutOfBand *OutOfBand

	// Rand is the source of keys and nonces; nil means crypto/rand. Only
	// tests set it. RSA keys always come from crypto/rand.
	Rand io.Reader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ServerConfig configures a scheme's server half. A nil *ServerConfig
// means the zero value.
type ServerConfig struct {
	// Identity is the server's certificate and key, for a scheme with an
	// Identity.
	Identity *Identity

	// RSAKey is the server's long-term RSA-2048 key, for a scheme with an
	// RSAIdentity.
	RSAKey *rsa.PrivateKey

	// Schemes lists what a pinned-ecdh server will choose from the client's
	// offer, in order of preference: pinned-ecdh, unauth-ecdh or both. Nil
	// means only pinned-ecdh.
	Schemes []string

	// OutOfBand is the server's end of the line for a scheme with SAS,
	// as in ClientConfig.
	OutOfBand *OutOfBand

	// KeyLog, if not nil, receives the server's ephemeral secrets, one
	// line per handshake, as crypto/tls's KeyLogWriter receives TLS
	// secrets: "MITMLAB_SERVER_EPHEMERAL <client nonce> <X25519 private
	// key>", both in hex (pinned-ecdh, signed-share). It must be safe for
	// concurrent use.
	//
	// INSECURE(signature-replay): a key log is a leak waiting to happen;
	// the signature-replay lesson hands one old line to the attacker.
	KeyLog io.Writer

	// Rand and Now are as in ClientConfig.
	Rand io.Reader
	Now  func() time.Time
}

func orZero[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

func randOr(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

func nowOr(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// randomBytes reads n bytes from r.
func randomBytes(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(randOr(r), b); err != nil {
		return nil, fmt.Errorf("kex: random: %w", err)
	}
	return b, nil
}

// hs is one side of one handshake in progress: every half keeps one, and
// every failure goes through its fail, so the convention is the same for
// all: the connection closes with the code the error calls for, and the
// error comes back as a *HandshakeError naming the step.
type hs struct {
	ctx    context.Context
	conn   *wire.Conn
	scheme string
	side   Side
}

// step is one named step of a handshake.
type step struct {
	name string
	run  func() error
}

// run runs steps in order and stops at the first that fails.
func (h *hs) run(steps ...step) error {
	for _, s := range steps {
		if err := s.run(); err != nil {
			return h.fail(s.name, err)
		}
	}
	return nil
}

// fail closes the connection as err calls for and names the step.
func (h *hs) fail(step string, err error) error {
	var he *HandshakeError
	if errors.As(err, &he) {
		return err
	}
	err = h.conn.Fail(err)
	if errors.Is(err, wire.ErrPeerClosed) {
		err = fmt.Errorf("%w: %w", ErrTruncatedHandshake, err)
	}
	return &HandshakeError{Scheme: h.scheme, Side: h.side, Step: step, Err: err}
}

// refuse fails before anything was sent: a configuration mistake drops the
// connection without a close frame, since there is no peer to blame.
func (h *hs) refuse(step string, err error) error {
	h.conn.CloseNow()
	return &HandshakeError{Scheme: h.scheme, Side: h.side, Step: step, Err: err}
}

// readAs reads the next message, which must be a T.
func readAs[T wire.Message](h *hs) (T, []byte, error) {
	var zero T
	b, err := h.conn.Read(h.ctx)
	if err != nil {
		return zero, nil, err
	}
	m, err := wire.DecodeAs[T](h.conn.Codec(), b)
	if err != nil {
		return zero, nil, err
	}
	return m, b, nil
}

// write encodes m and writes it, returning the bytes sent.
func (h *hs) write(m wire.Message) ([]byte, error) {
	return h.conn.WriteMessage(h.ctx, m)
}
