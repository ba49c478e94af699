package kex

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"fmt"
	"math/big"
	"slices"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// Field sizes of signed-ffdh's messages.
const (
	maxGroups    = 8
	maxGroupName = 32
)

// ffdhParamsContext is the context string of signed-ffdh's signature.
const ffdhParamsContext = "mitmlab v2 ffdh server params"

// DHOffer opens signed-ffdh: {"type":"dh_offer",
// "nonce":B64,"offered":[…]}.
type DHOffer struct {
	Nonce   []byte
	Offered []string // group names, in the client's order of preference
}

// MessageType returns "dh_offer".
func (*DHOffer) MessageType() wire.Type { return "dh_offer" }

// Fields lists nonce and offered.
func (m *DHOffer) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("nonce", &m.Nonce, NonceSize, NonceSize),
		wire.List("offered", &m.Offered, maxGroups, maxGroupName),
	}
}

// DHParams is signed-ffdh's answer, TLS 1.2's ServerHello,
// Certificate and ServerKeyExchange in one: {"type":"dh_params",
// "nonce":B64,"group":…,"key_share":B64,"certificate":B64,"signature":B64}.
type DHParams struct {
	Nonce       []byte
	Group       string // chosen from offered
	KeyShare    []byte // g^b mod p, as wide as p
	Certificate []byte // DER X.509, Ed25519 key
	Signature   []byte // Ed25519 over FFDHParamsContent
}

// MessageType returns "dh_params".
func (*DHParams) MessageType() wire.Type { return "dh_params" }

// Fields lists nonce, group, key_share, certificate and signature.
func (m *DHParams) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("nonce", &m.Nonce, NonceSize, NonceSize),
		wire.Text("group", &m.Group, 1, maxGroupName),
		wire.Bytes("key_share", &m.KeyShare, 1, maxFFSize),
		wire.Bytes("certificate", &m.Certificate, 1, maxCertSize),
		wire.Bytes("signature", &m.Signature, SignatureSize, SignatureSize),
	}
}

// DHClientKey carries the client's public value and its finished MAC:
// {"type":"dh_client_key","key_share":B64,"finished":B64}.
type DHClientKey struct {
	KeyShare []byte
	Finished []byte
}

// MessageType returns "dh_client_key".
func (*DHClientKey) MessageType() wire.Type { return "dh_client_key" }

// Fields lists key_share and finished.
func (m *DHClientKey) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("key_share", &m.KeyShare, 1, maxFFSize),
		wire.Bytes("finished", &m.Finished, MACSize, MACSize),
	}
}

// DHFinished ends signed-ffdh's handshake:
// {"type":"dh_finished","finished":B64}.
type DHFinished struct {
	Finished []byte
}

// MessageType returns "dh_finished".
func (*DHFinished) MessageType() wire.Type { return "dh_finished" }

// Fields lists finished.
func (m *DHFinished) Fields() []wire.Field {
	return []wire.Field{wire.Bytes("finished", &m.Finished, MACSize, MACSize)}
}

// FFDHParamsContent is what a signed-ffdh server signs: 64 spaces, the
// context string, a zero byte and TranscriptHash(client nonce, server
// nonce, group, key_share). As TLS 1.2's ServerKeyExchange, it covers both
// nonces and the server's parameters, and not the client's offer.
func FFDHParamsContent(clientNonce, serverNonce []byte, group string, keyShare []byte) []byte {
	return signedContentFor(ffdhParamsContext, TranscriptHash(clientNonce, serverNonce, []byte(group), keyShare))
}

// FFDHSchedule is signed-ffdh's key schedule for one connection, from the
// shared secret and both nonces, in the manner of TLS 1.2: the traffic
// keys depend on the secret and the nonces only, and the finished MACs
// cover the transcript, offer included.
type FFDHSchedule struct {
	prk []byte
	ctx []byte // TranscriptHash(client nonce, server nonce)
}

// NewFFDHSchedule starts the schedule.
func NewFFDHSchedule(shared, clientNonce, serverNonce []byte) *FFDHSchedule {
	return &FFDHSchedule{prk: extract(shared), ctx: TranscriptHash(clientNonce, serverNonce)}
}

// ClientFinished is HMAC-SHA256 with the client finished key over
// TranscriptHash(CH, SH, client key_share).
func (s *FFDHSchedule) ClientFinished(clientHello, serverHello, keyShare []byte) []byte {
	key := expandLabel(s.prk, labelClientFinished, s.ctx, 32)
	return hmacSHA256(key, TranscriptHash(clientHello, serverHello, keyShare))
}

// ServerFinished is HMAC-SHA256 with the server finished key over
// TranscriptHash(CH, SH, CK), CK the raw dh_client_key.
func (s *FFDHSchedule) ServerFinished(clientHello, serverHello, clientKey []byte) []byte {
	key := expandLabel(s.prk, labelServerFinished, s.ctx, 32)
	return hmacSHA256(key, TranscriptHash(clientHello, serverHello, clientKey))
}

// Traffic derives the record keys, bound to the two nonces.
func (s *FFDHSchedule) Traffic() *channel.Secrets { return TrafficSecrets(s.prk, s.ctx) }

// NameSignedFFDH is signed-ffdh's name.
const NameSignedFFDH = "signed-ffdh"

// SignedFFDH is the "signed-ffdh" scheme, the shape of TLS 1.2 with DHE:
//
//	C→S dh_offer    {nonce, offered}                 groups, e.g. [ffdhe2048, export40]
//	S→C dh_params    {nonce, group, key_share, certificate, signature}
//	C→S dh_client_key      {key_share, finished}
//	S→C dh_finished {finished}
//
// The server signs both nonces and its parameters with a pinned Ed25519
// key; both finished MACs cover the whole transcript, the client's offer
// included, so an offer changed in flight is caught, unless whoever
// changed it can compute the shared secret.
//
// INSECURE(export-downgrade): both victims still speak export40, a group
// whose discrete logarithms fall in a second, "for old peers".
func SignedFFDH() *Scheme {
	return &Scheme{
		Name:     NameSignedFFDH,
		Summary:  "finite-field DH with a negotiated group, a signature over the server's parameters and finished MACs (TLS 1.2 DHE)",
		Messages: []wire.Message{&DHOffer{}, &DHParams{}, &DHClientKey{}, &DHFinished{}},
		Identity: true,
		Client:   signedFFDHClient,
		Server:   signedFFDHServer,
	}
}

// signedFFDHOffer is what a signed-ffdh client offers and the order in
// which a server prefers.
//
// INSECURE(export-downgrade): export40 is offered and accepted alongside
// the strong group.
func signedFFDHOffer() []string { return []string{GroupFFDHE2048, GroupExport40} }

type signedFFDHClientState struct {
	hs
	cfg     *ClientConfig
	trust   trust
	nonce   []byte
	ch      []byte
	shm     *DHParams
	sh      []byte
	group   *FFGroup
	key     ed25519.PublicKey
	b       *big.Int
	sched   *FFDHSchedule
	ck      []byte
	secrets *channel.Secrets
}

func signedFFDHClient(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &signedFFDHClientState{hs: hs{ctx, conn, NameSignedFFDH, ClientSide}, cfg: orZero(cfg)}
	var err error
	if c.trust, err = newTrust(c.cfg); err != nil {
		return nil, c.refuse("check configuration", err)
	}
	err = c.run(
		step{"send client hello", c.sendClientHello},
		step{"read server hello", c.readServerHello},
		step{"check chosen group", c.checkGroup},
		step{"check certificate", c.checkCertificate},
		step{"verify signature", c.verifySignature},
		step{"check public value", c.checkPublic},
		step{"send client key", c.sendClientKey},
		step{"verify server finished", c.verifyFinished},
	)
	return c.secrets, err
}

func (c *signedFFDHClientState) sendClientHello() (err error) {
	if c.nonce, err = randomBytes(c.cfg.Rand, NonceSize); err != nil {
		return err
	}
	c.ch, err = c.write(&DHOffer{Nonce: c.nonce, Offered: signedFFDHOffer()})
	return err
}

func (c *signedFFDHClientState) readServerHello() (err error) {
	c.shm, c.sh, err = readAs[*DHParams](&c.hs)
	return err
}

func (c *signedFFDHClientState) checkGroup() error {
	if !slices.Contains(signedFFDHOffer(), c.shm.Group) {
		return fmt.Errorf("%w: the server chose %q", ErrNoCommonGroup, c.shm.Group)
	}
	// INSECURE(export-downgrade): export40 was offered, so it is taken.
	c.group = GroupByName(c.shm.Group)
	return nil
}

func (c *signedFFDHClientState) checkCertificate() (err error) {
	c.key, err = c.trust.serverKey(c.shm.Certificate)
	return err
}

func (c *signedFFDHClientState) verifySignature() error {
	if !ed25519.Verify(c.key, FFDHParamsContent(c.nonce, c.shm.Nonce, c.shm.Group, c.shm.KeyShare), c.shm.Signature) {
		return ErrBadSignature
	}
	return nil
}

func (c *signedFFDHClientState) checkPublic() (err error) {
	c.b, err = c.group.CheckPublic(c.shm.KeyShare)
	return err
}

func (c *signedFFDHClientState) sendClientKey() error {
	a, err := c.group.NewExponent(c.cfg.Rand)
	if err != nil {
		return err
	}
	c.sched = NewFFDHSchedule(c.group.Shared(a, c.b), c.nonce, c.shm.Nonce)
	share := c.group.Public(a)
	c.ck, err = c.write(&DHClientKey{KeyShare: share, Finished: c.sched.ClientFinished(c.ch, c.sh, share)})
	return err
}

func (c *signedFFDHClientState) verifyFinished() error {
	sf, _, err := readAs[*DHFinished](&c.hs)
	if err != nil {
		return err
	}
	if !hmac.Equal(sf.Finished, c.sched.ServerFinished(c.ch, c.sh, c.ck)) {
		return ErrBadFinished
	}
	c.secrets = c.sched.Traffic()
	return nil
}

type signedFFDHServerState struct {
	hs
	cfg     *ServerConfig
	chm     *DHOffer
	ch      []byte
	group   *FFGroup
	b       *big.Int
	nonce   []byte
	sh      []byte
	ckm     *DHClientKey
	ck      []byte
	a       *big.Int
	sched   *FFDHSchedule
	secrets *channel.Secrets
}

func signedFFDHServer(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
	s := &signedFFDHServerState{hs: hs{ctx, conn, NameSignedFFDH, ServerSide}, cfg: orZero(cfg)}
	if s.cfg.Identity == nil {
		return nil, s.refuse("check configuration", ErrNoIdentity)
	}
	err := s.run(
		step{"read client hello", s.readClientHello},
		step{"choose group", s.chooseGroup},
		step{"send server hello", s.sendServerHello},
		step{"read client key", s.readClientKey},
		step{"check public value", s.checkPublic},
		step{"verify client finished", s.verifyFinished},
	)
	return s.secrets, err
}

func (s *signedFFDHServerState) readClientHello() (err error) {
	s.chm, s.ch, err = readAs[*DHOffer](&s.hs)
	return err
}

// chooseGroup takes the first group of the server's preference that the
// client offered.
//
// INSECURE(export-downgrade): the server still speaks export40, so a
// client that seems to offer nothing better gets it.
func (s *signedFFDHServerState) chooseGroup() error {
	for _, name := range signedFFDHOffer() {
		if slices.Contains(s.chm.Offered, name) {
			s.group = GroupByName(name)
			return nil
		}
	}
	return fmt.Errorf("%w: the client offered %q", ErrNoCommonGroup, s.chm.Offered)
}

func (s *signedFFDHServerState) sendServerHello() (err error) {
	if s.b, err = s.group.NewExponent(s.cfg.Rand); err != nil {
		return err
	}
	if s.nonce, err = randomBytes(s.cfg.Rand, NonceSize); err != nil {
		return err
	}
	share := s.group.Public(s.b)
	sig := ed25519.Sign(s.cfg.Identity.Key, FFDHParamsContent(s.chm.Nonce, s.nonce, s.group.Name, share))
	s.sh, err = s.write(&DHParams{Nonce: s.nonce, Group: s.group.Name, KeyShare: share, Certificate: s.cfg.Identity.Certificate, Signature: sig})
	return err
}

func (s *signedFFDHServerState) readClientKey() (err error) {
	s.ckm, s.ck, err = readAs[*DHClientKey](&s.hs)
	return err
}

func (s *signedFFDHServerState) checkPublic() (err error) {
	s.a, err = s.group.CheckPublic(s.ckm.KeyShare)
	return err
}

func (s *signedFFDHServerState) verifyFinished() error {
	s.sched = NewFFDHSchedule(s.group.Shared(s.b, s.a), s.chm.Nonce, s.nonce)
	if !hmac.Equal(s.ckm.Finished, s.sched.ClientFinished(s.ch, s.sh, s.ckm.KeyShare)) {
		return ErrBadFinished
	}
	if _, err := s.write(&DHFinished{Finished: s.sched.ServerFinished(s.ch, s.sh, s.ck)}); err != nil {
		return err
	}
	s.secrets = s.sched.Traffic()
	return nil
}
