package kex

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/x509"
	"fmt"
	"slices"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// Field sizes of pinned-ecdh's own messages.
const (
	SignatureSize = ed25519.SignatureSize // 64
	MACSize       = 32                    // HMAC-SHA256
)

// ServerVerify proves the server holds the certificate's key and saw the
// same hellos: {"type":"server_verify","signature":B64,"finished":B64}.
type ServerVerify struct {
	Signature []byte // Ed25519
	Finished  []byte // HMAC-SHA256
}

// MessageType returns "server_verify".
func (*ServerVerify) MessageType() wire.Type { return "server_verify" }

// Fields lists signature and finished.
func (m *ServerVerify) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("signature", &m.Signature, SignatureSize, SignatureSize),
		wire.Bytes("finished", &m.Finished, MACSize, MACSize),
	}
}

// ClientFinished confirms the client derived the same keys:
// {"type":"client_finished","mac":B64}.
type ClientFinished struct {
	MAC []byte // HMAC-SHA256
}

// MessageType returns "client_finished".
func (*ClientFinished) MessageType() wire.Type { return "client_finished" }

// Fields lists mac.
func (m *ClientFinished) Fields() []wire.Field {
	return []wire.Field{wire.Bytes("mac", &m.MAC, MACSize, MACSize)}
}

// NamePinnedECDH is pinned-ecdh's name.
const NamePinnedECDH = "pinned-ecdh"

// PinnedECDH is the "pinned-ecdh" scheme, a trimmed RFC 8446 1-RTT
// handshake with SIGMA's sign-and-MAC:
//
//	C→S client_hello    {nonce, key_share, offered}
//	S→C server_hello    {nonce, key_share, chosen, certificate}
//	S→C server_verify   {signature, finished}
//	C→S client_finished {mac}
//
// The client pins the SHA-256 of the certificate's SubjectPublicKeyInfo.
// The signature covers the framed hash of both hellos as raw bytes, so any
// change to either one, key shares and offered list included, breaks it.
func PinnedECDH() *Scheme {
	return &Scheme{
		Name:     NamePinnedECDH,
		Summary:  "X25519 signed by a pinned Ed25519 key, with finished MACs both ways",
		Messages: []wire.Message{&ClientHello{}, &ServerHello{}, &ServerVerify{}, &ClientFinished{}},
		Identity: true,
		Client:   pinnedClient,
		Server:   pinnedServer,
	}
}

// PinnedSchedule is pinned-ecdh's key schedule for one connection, from the
// X25519 secret and the raw hellos. Both halves use it, and so does an
// attacker that holds a secret with one side.
type PinnedSchedule struct {
	hs          []byte // handshake secret: HKDF-Extract(shared)
	clientHello []byte
	serverHello []byte
	th1         []byte // TranscriptHash(CH, SH)
}

// NewPinnedSchedule starts the schedule.
func NewPinnedSchedule(shared, clientHello, serverHello []byte) *PinnedSchedule {
	return &PinnedSchedule{
		hs:          extract(shared),
		clientHello: clientHello,
		serverHello: serverHello,
		th1:         TranscriptHash(clientHello, serverHello),
	}
}

// SignedContent is what the server signs: 64 spaces, the context string, a
// zero byte and TranscriptHash(CH, SH) (RFC 8446 §4.4.3).
func SignedContent(clientHello, serverHello []byte) []byte {
	c := make([]byte, 0, 64+len(signatureContext)+1+32)
	for range 64 {
		c = append(c, 0x20)
	}
	c = append(c, signatureContext...)
	c = append(c, 0)
	return append(c, TranscriptHash(clientHello, serverHello)...)
}

// ServerFinished is HMAC-SHA256 with the server finished key over
// TranscriptHash(CH, SH, signature).
func (s *PinnedSchedule) ServerFinished(signature []byte) []byte {
	key := expandLabel(s.hs, labelServerFinished, s.th1, 32)
	return hmacSHA256(key, TranscriptHash(s.clientHello, s.serverHello, signature))
}

// ClientFinished is HMAC-SHA256 with the client finished key over
// TranscriptHash(CH, SH, SV), SV being the raw server_verify message.
func (s *PinnedSchedule) ClientFinished(serverVerify []byte) []byte {
	key := expandLabel(s.hs, labelClientFinished, s.th1, 32)
	return hmacSHA256(key, TranscriptHash(s.clientHello, s.serverHello, serverVerify))
}

// VerifyServerFinished reports, in constant time, whether mac is the
// server finished MAC for signature.
func (s *PinnedSchedule) VerifyServerFinished(signature, mac []byte) bool {
	return hmac.Equal(s.ServerFinished(signature), mac)
}

// VerifyClientFinished reports, in constant time, whether mac is the
// client finished MAC for serverVerify.
func (s *PinnedSchedule) VerifyClientFinished(serverVerify, mac []byte) bool {
	return hmac.Equal(s.ClientFinished(serverVerify), mac)
}

// Traffic derives the record keys, bound to TranscriptHash(CH, SH, SV, CF).
func (s *PinnedSchedule) Traffic(serverVerify, clientFinished []byte) *channel.Secrets {
	return TrafficSecrets(s.hs, TranscriptHash(s.clientHello, s.serverHello, serverVerify, clientFinished))
}

// pinnedClientState is the client's handshake, one field per thing it has
// learnt, in the order it learns them; the key exchange's own (its share,
// the hellos, the shared secret) are in ecdhClient.
type pinnedClientState struct {
	hs
	ecdhClient
	cfg *ClientConfig

	pin     []byte
	more    [][]byte // OtherPins: other servers the client also trusts
	cert    *x509.Certificate
	key     ed25519.PublicKey
	svm     *ServerVerify
	sv      []byte
	sched   *PinnedSchedule
	secrets *channel.Secrets
}

// pinnedClient runs the client half. Its checks come in a fixed order with
// no fallback: chosen was offered, the certificate parses, its SPKI matches
// the pin, its key is Ed25519, the signature verifies with that key, the
// X25519 secret is not all zeros, and the server's finished MAC verifies.
func pinnedClient(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &pinnedClientState{hs: hs{ctx, conn, NamePinnedECDH, ClientSide}, cfg: orZero(cfg)}
	c.ecdhClient = newECDHClient(&c.hs, c.cfg)
	c.offered = c.offer()
	if err := c.checkConfig(); err != nil {
		return nil, c.refuse("check configuration", err)
	}
	err := c.run(
		step{"generate key share", c.generateKeyShare},
		step{"send client hello", c.sendClientHello},
		step{"read server hello", c.readServerHello},
		step{"check chosen scheme", c.checkChosen},
	)
	if err != nil {
		return nil, err
	}
	if c.shm.Chosen == NameUnauthECDH {
		err = c.run(step{"compute shared secret", c.fallBack})
		return c.secrets, err
	}
	err = c.run(
		step{"parse certificate", c.parseCertificate},
		step{"check pin", c.checkPin},
		step{"check key type", c.checkKeyType},
		step{"read server verify", c.readServerVerify},
		step{"verify signature", c.verifySignature},
		step{"compute shared secret", c.computeShared},
		step{"verify server finished", c.verifyFinished},
		step{"send client finished", c.sendClientFinished},
	)
	return c.secrets, err
}

func (c *pinnedClientState) checkConfig() error {
	if c.cfg.SkipPinCheck {
		return nil
	}
	if c.cfg.Pin == "" {
		return ErrNoPin
	}
	pin, err := ParsePin(c.cfg.Pin)
	if err != nil {
		return err
	}
	c.more, err = parsePins(c.cfg.OtherPins)
	c.pin = pin
	return err
}

func (c *pinnedClientState) offer() []string {
	if c.cfg.Offer == nil {
		return []string{NamePinnedECDH}
	}
	return c.cfg.Offer
}

func (c *pinnedClientState) checkChosen() error {
	if !slices.Contains(c.offer(), c.shm.Chosen) {
		return fmt.Errorf("%w: %q", ErrSchemeNotOffered, c.shm.Chosen)
	}
	if c.shm.Chosen == NameUnauthECDH && !c.cfg.AcceptFallback {
		return ErrDowngrade
	}
	return nil
}

// fallBack finishes the handshake as unauth-ecdh, which the server chose
// from the client's offer.
//
// INSECURE(downgrade): nothing here proves who chose it.
func (c *pinnedClientState) fallBack() error {
	shared, err := c.ks.Shared(c.shm.KeyShare)
	if err != nil {
		return err
	}
	c.secrets = UnauthSecrets(shared, c.ch, c.sh)
	return nil
}

func (c *pinnedClientState) parseCertificate() error {
	if len(c.shm.Certificate) == 0 {
		return ErrMissingIdentity
	}
	cert, err := x509.ParseCertificate(c.shm.Certificate)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	c.cert = cert
	return nil
}

// checkPin stands in for the CA check a browser does: the pin says which key
// may speak for the server.
func (c *pinnedClientState) checkPin() error {
	if c.cfg.SkipPinCheck {
		// INSECURE(signed-unpinned): any key is accepted as the server's.
		return nil
	}
	if !matchPin(c.cert, c.pin) && !matchAny(c.cert, c.more) {
		return fmt.Errorf("%w: server sent %s", ErrPinMismatch, spkiPin(c.cert))
	}
	return nil
}

func (c *pinnedClientState) checkKeyType() error {
	key, ok := c.cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("%w: got %T", ErrNotEd25519, c.cert.PublicKey)
	}
	c.key = key
	return nil
}

func (c *pinnedClientState) readServerVerify() (err error) {
	c.svm, c.sv, err = readAs[*ServerVerify](&c.hs)
	return err
}

// verifySignature checks the signature over both raw hellos: the client's
// nonce stops replay of an old signature, and the key shares in it stop
// their substitution.
func (c *pinnedClientState) verifySignature() error {
	if !ed25519.Verify(c.key, SignedContent(c.ch, c.sh), c.svm.Signature) {
		return ErrBadSignature
	}
	return nil
}

func (c *pinnedClientState) computeShared() error {
	shared, err := c.ks.Shared(c.shm.KeyShare)
	if err != nil {
		return err
	}
	c.sched = NewPinnedSchedule(shared, c.ch, c.sh)
	return nil
}

func (c *pinnedClientState) verifyFinished() error {
	if !c.sched.VerifyServerFinished(c.svm.Signature, c.svm.Finished) {
		return ErrBadFinished
	}
	return nil
}

func (c *pinnedClientState) sendClientFinished() error {
	cf, err := c.write(&ClientFinished{MAC: c.sched.ClientFinished(c.sv)})
	if err != nil {
		return err
	}
	c.secrets = c.sched.Traffic(c.sv, cf)
	return nil
}

// pinnedServerState is the server's handshake.
type pinnedServerState struct {
	hs
	ecdhServer
	cfg     *ServerConfig
	schemes []string

	chosen  string
	sh      []byte
	sched   *PinnedSchedule
	sv      []byte
	cfm     *ClientFinished
	cf      []byte
	secrets *channel.Secrets
}

// pinnedServer runs the server half. It accepts no data before the
// client's finished MAC verifies.
func pinnedServer(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
	s := &pinnedServerState{hs: hs{ctx, conn, NamePinnedECDH, ServerSide}, cfg: orZero(cfg)}
	s.ecdhServer = newECDHServer(&s.hs, s.cfg)
	s.keyLog = s.cfg.KeyLog
	if s.schemes = s.cfg.Schemes; s.schemes == nil {
		s.schemes = []string{NamePinnedECDH}
	}
	for _, name := range s.schemes {
		if name != NamePinnedECDH && name != NameUnauthECDH {
			// Choosing it from an offer would run pinned-ecdh under its name.
			return nil, s.refuse("check configuration", fmt.Errorf("kex: a pinned-ecdh server cannot speak %q", name))
		}
	}
	if slices.Contains(s.schemes, NamePinnedECDH) && s.cfg.Identity == nil {
		return nil, s.refuse("check configuration", ErrNoIdentity)
	}
	err := s.run(
		step{"read client hello", s.readClientHello},
		step{"choose scheme", s.chooseScheme},
		step{"generate key share", s.generateKeyShare},
		step{"compute shared secret", s.computeShared},
		step{"send server hello", s.sendServerHello},
	)
	if err != nil || s.chosen == NameUnauthECDH {
		return s.secrets, err
	}
	err = s.run(
		step{"send server verify", s.sendServerVerify},
		step{"read client finished", s.readClientFinished},
		step{"verify client finished", s.verifyClientFinished},
	)
	return s.secrets, err
}

func (s *pinnedServerState) chooseScheme() error {
	for _, name := range s.schemes {
		if slices.Contains(s.chm.Offered, name) {
			s.chosen = name
			return nil
		}
	}
	return fmt.Errorf("%w: offered %q, server speaks %q", ErrNoCommonScheme, s.chm.Offered, s.schemes)
}

func (s *pinnedServerState) sendServerHello() (err error) {
	if s.chosen == NameUnauthECDH {
		// INSECURE(downgrade): a server that can fall back lets an attacker
		// who strips pinned-ecdh from the offer choose for it.
		s.sh, err = s.write(&ServerHello{Nonce: s.ks.Nonce, KeyShare: s.ks.Public(), Chosen: NameUnauthECDH})
		if err == nil {
			s.secrets = UnauthSecrets(s.shared, s.ch, s.sh)
		}
		return err
	}
	s.sh, err = s.write(&ServerHello{
		Nonce:       s.ks.Nonce,
		KeyShare:    s.ks.Public(),
		Chosen:      NamePinnedECDH,
		Certificate: s.cfg.Identity.Certificate,
	})
	return err
}

func (s *pinnedServerState) sendServerVerify() (err error) {
	s.sched = NewPinnedSchedule(s.shared, s.ch, s.sh)
	sig := ed25519.Sign(s.cfg.Identity.Key, SignedContent(s.ch, s.sh))
	s.sv, err = s.write(&ServerVerify{Signature: sig, Finished: s.sched.ServerFinished(sig)})
	return err
}

func (s *pinnedServerState) readClientFinished() (err error) {
	s.cfm, s.cf, err = readAs[*ClientFinished](&s.hs)
	return err
}

func (s *pinnedServerState) verifyClientFinished() error {
	if !s.sched.VerifyClientFinished(s.sv, s.cfm.MAC) {
		return ErrBadFinished
	}
	s.secrets = s.sched.Traffic(s.sv, s.cf)
	return nil
}
