package kex

import (
	"context"
	"fmt"
	"math/big"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// maxFFSize bounds the finite-field fields: 4,096 bits.
const maxFFSize = 512

// DHHello opens the finite-field DH schemes: the group the client proposes
// and its public value, {"type":"dh_hello","nonce":B64,"p":B64,"g":B64,
// "key_share":B64}. Numbers are big-endian; the key share is as wide as p.
type DHHello struct {
	Nonce    []byte // 32 random bytes
	P        []byte // the prime
	G        []byte // the generator
	KeyShare []byte // g^a mod p
}

// MessageType returns "dh_hello".
func (*DHHello) MessageType() wire.Type { return "dh_hello" }

// Fields lists nonce, p, g and key_share.
func (m *DHHello) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("nonce", &m.Nonce, NonceSize, NonceSize),
		wire.Bytes("p", &m.P, 1, maxFFSize),
		wire.Bytes("g", &m.G, 1, maxFFSize),
		wire.Bytes("key_share", &m.KeyShare, 1, maxFFSize),
	}
}

// DHReply answers a [DHHello] with the server's public value in the
// proposed group: {"type":"dh_reply","nonce":B64,"key_share":B64}.
type DHReply struct {
	Nonce    []byte
	KeyShare []byte // g^b mod p, as wide as p
}

// MessageType returns "dh_reply".
func (*DHReply) MessageType() wire.Type { return "dh_reply" }

// Fields lists nonce and key_share.
func (m *DHReply) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("nonce", &m.Nonce, NonceSize, NonceSize),
		wire.Bytes("key_share", &m.KeyShare, 1, maxFFSize),
	}
}

// FFDHSecrets derives the traffic keys of ffdh-negotiated and ffdh-fixed
// from the shared secret (as wide as p) and the raw hello and reply.
func FFDHSecrets(shared, hello, reply []byte) *channel.Secrets {
	return TrafficSecrets(extract(shared), TranscriptHash(hello, reply))
}

// The schemes' names.
const (
	NameFFDHNegotiated = "ffdh-negotiated"
	NameFFDHFixed      = "ffdh-fixed"
)

// FFDHNegotiated is the "ffdh-negotiated" scheme, finite-field DH in which
// the client proposes the group, as in cryptopals 34 and 35:
//
//	C→S dh_hello {nonce, p, g, key_share}    Alice proposes ffdhe2048, A = g^a mod p
//	S→C dh_reply {nonce, key_share}          B = g^b mod p in the group she proposed
//
// Keys come from HKDF over the shared secret and the framed hash of both
// messages. The server takes the group at its word: it checks that p is an
// odd number of at least 2,048 bits, and nothing about g or the client's
// public value; neither side checks the other's public value.
//
// INSECURE(dh-param-injection): whoever can change g in flight chooses
// the shared secret; with g = 1, p or p − 1 it is 1, 0, or one of 1 and
// p − 1, and the attacker needs no key exchange of his own.
func FFDHNegotiated() *Scheme {
	return &Scheme{
		Name:     NameFFDHNegotiated,
		Summary:  "finite-field DH in a group the client proposes and the server takes at its word",
		Messages: []wire.Message{&DHHello{}, &DHReply{}},
		Client:   ffdhClient(NameFFDHNegotiated),
		Server:   ffdhServer(NameFFDHNegotiated),
	}
}

// FFDHFixed is the "ffdh-fixed" scheme: the same messages as
// [FFDHNegotiated], but the server accepts only RFC 7919's ffdhe2048
// ([ErrBadGroup]) and both sides check the other's public value, 1 < y <
// p − 1 and y^q = 1 ([ErrBadPublicValue]), as RFC 7919 §5.1 asks.
//
// It stops parameter injection and nothing more: no one is authenticated,
// so a man in the middle who runs one exchange with each side still reads
// everything (try --attack double-handshake).
func FFDHFixed() *Scheme {
	return &Scheme{
		Name:     NameFFDHFixed,
		Summary:  "finite-field DH over ffdhe2048 only, with public values checked",
		Messages: []wire.Message{&DHHello{}, &DHReply{}},
		Client:   ffdhClient(NameFFDHFixed),
		Server:   ffdhServer(NameFFDHFixed),
	}
}

type ffdhClientState struct {
	hs
	cfg     *ClientConfig
	fixed   bool
	group   *FFGroup
	a       *big.Int
	nonce   []byte
	hello   []byte
	rm      *DHReply
	reply   []byte
	b       *big.Int // the server's public value
	secrets *channel.Secrets
}

func ffdhClient(name string) ClientHalf {
	return func(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
		c := &ffdhClientState{hs: hs{ctx, conn, name, ClientSide}, cfg: orZero(cfg), fixed: name == NameFFDHFixed, group: FFDHE2048()}
		err := c.run(
			step{"generate key share", c.generateKeyShare},
			step{"send hello", c.sendHello},
			step{"read reply", c.readReply},
			step{"check public value", c.checkPublic},
			step{"compute shared secret", c.deriveKeys},
		)
		return c.secrets, err
	}
}

func (c *ffdhClientState) generateKeyShare() (err error) {
	if c.a, err = c.group.NewExponent(c.cfg.Rand); err != nil {
		return err
	}
	c.nonce, err = randomBytes(c.cfg.Rand, NonceSize)
	return err
}

func (c *ffdhClientState) sendHello() (err error) {
	c.hello, err = c.write(&DHHello{Nonce: c.nonce, P: c.group.P.Bytes(), G: c.group.G.Bytes(), KeyShare: c.group.Public(c.a)})
	return err
}

func (c *ffdhClientState) readReply() (err error) {
	c.rm, c.reply, err = readAs[*DHReply](&c.hs)
	return err
}

func (c *ffdhClientState) checkPublic() (err error) {
	if c.fixed {
		c.b, err = c.group.CheckPublic(c.rm.KeyShare)
		return err
	}
	// INSECURE(dh-param-injection): any number will do, 0 and 1 included.
	c.b = new(big.Int).SetBytes(c.rm.KeyShare)
	return nil
}

func (c *ffdhClientState) deriveKeys() error {
	c.secrets = FFDHSecrets(c.group.Shared(c.a, c.b), c.hello, c.reply)
	return nil
}

type ffdhServerState struct {
	hs
	cfg     *ServerConfig
	fixed   bool
	hm      *DHHello
	hello   []byte
	p, g, a *big.Int
	secrets *channel.Secrets
}

func ffdhServer(name string) ServerHalf {
	return func(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
		s := &ffdhServerState{hs: hs{ctx, conn, name, ServerSide}, cfg: orZero(cfg), fixed: name == NameFFDHFixed}
		err := s.run(
			step{"read hello", s.readHello},
			step{"check group", s.checkGroup},
			step{"check public value", s.checkPublic},
			step{"send reply", s.sendReply},
		)
		return s.secrets, err
	}
}

func (s *ffdhServerState) readHello() (err error) {
	s.hm, s.hello, err = readAs[*DHHello](&s.hs)
	return err
}

func (s *ffdhServerState) checkGroup() error {
	s.p, s.g = new(big.Int).SetBytes(s.hm.P), new(big.Int).SetBytes(s.hm.G)
	if s.fixed {
		want := FFDHE2048()
		if s.p.Cmp(want.P) != 0 || s.g.Cmp(want.G) != 0 {
			return fmt.Errorf("%w: the client proposed a %d-bit p and g = %s", ErrBadGroup, s.p.BitLen(), shortNumber(s.g, s.p))
		}
		return nil
	}
	if s.p.Bit(0) == 0 || s.p.BitLen() < 2048 {
		return fmt.Errorf("%w: p has %d bits", ErrWeakGroup, s.p.BitLen())
	}
	// INSECURE(dh-param-injection): g is taken at its word: 1, p and
	// p − 1 pass as well as 2.
	return nil
}

func (s *ffdhServerState) checkPublic() (err error) {
	if s.fixed {
		s.a, err = FFDHE2048().CheckPublic(s.hm.KeyShare)
		return err
	}
	s.a = new(big.Int).SetBytes(s.hm.KeyShare)
	return nil
}

func (s *ffdhServerState) sendReply() error {
	b, err := newExponent(s.cfg.Rand, nil)
	if err != nil {
		return err
	}
	nonce, err := randomBytes(s.cfg.Rand, NonceSize)
	if err != nil {
		return err
	}
	public := ffBytes(new(big.Int).Exp(s.g, b, s.p), s.p)
	reply, err := s.write(&DHReply{Nonce: nonce, KeyShare: public})
	if err != nil {
		return err
	}
	s.secrets = FFDHSecrets(ffShared(b, s.a, s.p), s.hello, reply)
	return nil
}

// shortNumber names a number by its relation to p when it has one (1,
// p, p − 1), else in decimal if short, else by its size.
func shortNumber(v, p *big.Int) string {
	switch {
	case v.Cmp(p) == 0:
		return "p"
	case new(big.Int).Add(v, big.NewInt(1)).Cmp(p) == 0:
		return "p − 1"
	case v.BitLen() <= 64:
		return v.String()
	}
	return fmt.Sprintf("a %d-bit number", v.BitLen())
}
