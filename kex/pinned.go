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

// PinnedECDH is the "pinned-ecdh" scheme, a trimmed RFC 8446 1-RTT
// handshake with SIGMA's sign-and-MAC:
//
//	C→S client_hello    {nonce, key_share, offered}
//	S→C server_hello    {nonce, key_share, chosen, certificate}
//	S→C server_verify   {signature, finished}
//	C→S client_finished {mac}
//
// The client pins the SHA-256 of the certificate's SubjectPublicKeyInfo.
// The signature covers the hash of both hellos as raw bytes, so any change
// to either one, key shares and offered list included, breaks it.
type PinnedECDH struct{}

// Name returns "pinned-ecdh".
func (PinnedECDH) Name() string { return NamePinnedECDH }

// PinnedSchedule is pinned-ecdh's key schedule for one connection, from the
// X25519 secret and the raw hellos. Both halves use it, and so does an
// attacker that holds a secret with one side.
type PinnedSchedule struct {
	hs          []byte // handshake secret: HKDF-Extract(shared)
	clientHello []byte
	serverHello []byte
	th1         []byte // SHA-256(CH ‖ SH)
}

// NewPinnedSchedule starts the schedule.
func NewPinnedSchedule(shared, clientHello, serverHello []byte) *PinnedSchedule {
	return &PinnedSchedule{
		hs:          extract(shared),
		clientHello: clientHello,
		serverHello: serverHello,
		th1:         transcriptHash(clientHello, serverHello),
	}
}

// SignedContent is what the server signs: 64 spaces, the context string, a
// zero byte and SHA-256(CH ‖ SH) (RFC 8446 §4.4.3).
func SignedContent(clientHello, serverHello []byte) []byte {
	c := make([]byte, 0, 64+len(signatureContext)+1+32)
	for range 64 {
		c = append(c, 0x20)
	}
	c = append(c, signatureContext...)
	c = append(c, 0)
	return append(c, transcriptHash(clientHello, serverHello)...)
}

// ServerFinished is HMAC-SHA256 with the server finished key over
// SHA-256(CH ‖ SH ‖ signature).
func (s *PinnedSchedule) ServerFinished(signature []byte) []byte {
	key := expandLabel(s.hs, labelServerFinished, s.th1, 32)
	return hmacSHA256(key, transcriptHash(s.clientHello, s.serverHello, signature))
}

// ClientFinished is HMAC-SHA256 with the client finished key over
// SHA-256(CH ‖ SH ‖ SV), SV being the raw server_verify message.
func (s *PinnedSchedule) ClientFinished(serverVerify []byte) []byte {
	key := expandLabel(s.hs, labelClientFinished, s.th1, 32)
	return hmacSHA256(key, transcriptHash(s.clientHello, s.serverHello, serverVerify))
}

// VerifyClientFinished reports, in constant time, whether mac is the
// client finished MAC for serverVerify.
func (s *PinnedSchedule) VerifyClientFinished(serverVerify, mac []byte) bool {
	return hmac.Equal(s.ClientFinished(serverVerify), mac)
}

// Traffic derives the record keys, bound to SHA-256(CH ‖ SH ‖ SV ‖ CF).
func (s *PinnedSchedule) Traffic(serverVerify, clientFinished []byte) *channel.Secrets {
	return trafficSecrets(s.hs, transcriptHash(s.clientHello, s.serverHello, serverVerify, clientFinished))
}

// pinnedClient is the client's handshake state, one field per thing it
// has learnt, in the order it learns them.
type pinnedClient struct {
	ctx  context.Context
	conn *wire.Conn
	cfg  *ClientConfig
	h    hs

	ks    *KeyShare
	pin   []byte
	ch    []byte // raw client_hello as sent
	shm   *wire.ServerHello
	sh    []byte // raw server_hello as received
	cert  *x509.Certificate
	key   ed25519.PublicKey
	svm   *wire.ServerVerify
	sv    []byte
	sched *PinnedSchedule
}

// Client runs the client half. Its checks come in a fixed order with no
// fallback: chosen was offered, the certificate parses, its SPKI matches the
// pin, its key is Ed25519, the signature verifies with that key, the X25519
// secret is not all zeros, and the server's finished MAC verifies.
func (PinnedECDH) Client(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &pinnedClient{ctx: ctx, conn: conn, cfg: orZero(cfg), h: hs{NamePinnedECDH, ClientSide}}
	for _, step := range []struct {
		name string
		run  func() error
	}{
		{"check configuration", c.checkConfig},
		{"send client hello", c.sendClientHello},
		{"read server hello", c.readServerHello},
		{"check chosen scheme", c.checkChosen},
	} {
		if err := step.run(); err != nil {
			if _, ok := err.(*HandshakeError); ok {
				return nil, err
			}
			return nil, c.h.fail(step.name, c.conn.Fail(err))
		}
	}
	if c.shm.Chosen == NameUnauthECDH {
		return c.fallBack()
	}
	for _, step := range []struct {
		name string
		run  func() error
	}{
		{"parse certificate", c.parseCertificate},
		{"check pin", c.checkPin},
		{"check key type", c.checkKeyType},
		{"read server verify", c.readServerVerify},
		{"verify signature", c.verifySignature},
		{"compute shared secret", c.computeShared},
		{"verify server finished", c.verifyFinished},
	} {
		if err := step.run(); err != nil {
			if _, ok := err.(*HandshakeError); ok {
				return nil, err
			}
			return nil, c.h.fail(step.name, c.conn.Fail(err))
		}
	}
	return c.sendClientFinished()
}

func (c *pinnedClient) checkConfig() error {
	if c.cfg.SkipPinCheck {
		return nil
	}
	if c.cfg.Pin == "" {
		c.conn.CloseNow()
		return c.h.fail("check configuration", ErrNoPin)
	}
	pin, err := ParsePin(c.cfg.Pin)
	if err != nil {
		c.conn.CloseNow()
		return c.h.fail("check configuration", err)
	}
	c.pin = pin
	return nil
}

func (c *pinnedClient) offer() []string {
	if c.cfg.Offer == nil {
		return []string{NamePinnedECDH}
	}
	return c.cfg.Offer
}

func (c *pinnedClient) sendClientHello() error {
	ks, err := NewKeyShare()
	if err != nil {
		c.conn.CloseNow()
		return c.h.fail("generate key share", err)
	}
	c.ks = ks
	c.ch, err = write(c.ctx, c.conn, c.h, "send client hello", &wire.ClientHello{
		Nonce:    ks.Nonce,
		KeyShare: ks.Public(),
		Offered:  c.offer(),
	})
	return err
}

func (c *pinnedClient) readServerHello() (err error) {
	c.shm, c.sh, err = read[*wire.ServerHello](c.ctx, c.conn, c.h, "read server hello")
	return err
}

func (c *pinnedClient) checkChosen() error {
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
func (c *pinnedClient) fallBack() (*channel.Secrets, error) {
	shared, err := c.ks.Shared(c.shm.KeyShare)
	if err != nil {
		return nil, c.h.fail("compute shared secret", c.conn.Fail(err))
	}
	return UnauthSecrets(shared, c.ch, c.sh), nil
}

func (c *pinnedClient) parseCertificate() error {
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
func (c *pinnedClient) checkPin() error {
	if c.cfg.SkipPinCheck {
		// INSECURE(signed-unpinned): any key is accepted as the server's.
		return nil
	}
	if !matchPin(c.cert, c.pin) {
		return fmt.Errorf("%w: server sent %s", ErrPinMismatch, spkiPin(c.cert))
	}
	return nil
}

func (c *pinnedClient) checkKeyType() error {
	key, ok := c.cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("%w: got %T", ErrNotEd25519, c.cert.PublicKey)
	}
	c.key = key
	return nil
}

func (c *pinnedClient) readServerVerify() (err error) {
	c.svm, c.sv, err = read[*wire.ServerVerify](c.ctx, c.conn, c.h, "read server verify")
	return err
}

// verifySignature checks the signature over both raw hellos: the client's
// nonce stops replay of an old signature, and the key shares in it stop
// their substitution.
func (c *pinnedClient) verifySignature() error {
	if !ed25519.Verify(c.key, SignedContent(c.ch, c.sh), c.svm.Signature) {
		return ErrBadSignature
	}
	return nil
}

func (c *pinnedClient) computeShared() error {
	shared, err := c.ks.Shared(c.shm.KeyShare)
	if err != nil {
		return err
	}
	c.sched = NewPinnedSchedule(shared, c.ch, c.sh)
	return nil
}

func (c *pinnedClient) verifyFinished() error {
	if !hmac.Equal(c.sched.ServerFinished(c.svm.Signature), c.svm.Finished) {
		return ErrBadFinished
	}
	return nil
}

func (c *pinnedClient) sendClientFinished() (*channel.Secrets, error) {
	cf, err := write(c.ctx, c.conn, c.h, "send client finished",
		&wire.ClientFinished{MAC: c.sched.ClientFinished(c.sv)})
	if err != nil {
		return nil, err
	}
	return c.sched.Traffic(c.sv, cf), nil
}

// Server runs the server half. It accepts no data before the client's
// finished MAC verifies.
func (PinnedECDH) Server(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
	h := hs{NamePinnedECDH, ServerSide}
	cfg = orZero(cfg)
	schemes := cfg.Schemes
	if schemes == nil {
		schemes = []string{NamePinnedECDH}
	}
	if slices.Contains(schemes, NamePinnedECDH) && cfg.Identity == nil {
		conn.CloseNow()
		return nil, h.fail("check configuration", fmt.Errorf("kex: pinned-ecdh server needs an identity"))
	}
	chm, ch, err := read[*wire.ClientHello](ctx, conn, h, "read client hello")
	if err != nil {
		return nil, err
	}
	chosen := ""
	for _, s := range schemes {
		if slices.Contains(chm.Offered, s) {
			chosen = s
			break
		}
	}
	if chosen == "" {
		return nil, h.fail("choose scheme", conn.Fail(fmt.Errorf("%w: offered %q, server speaks %q", ErrNoCommonScheme, chm.Offered, schemes)))
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
	if chosen == NameUnauthECDH {
		// INSECURE(downgrade): a server that can fall back lets an attacker
		// who strips pinned-ecdh from the offer choose for it.
		sh, err := write(ctx, conn, h, "send server hello", &wire.ServerHello{Nonce: ks.Nonce, KeyShare: ks.Public(), Chosen: NameUnauthECDH})
		if err != nil {
			return nil, err
		}
		return UnauthSecrets(shared, ch, sh), nil
	}
	sh, err := write(ctx, conn, h, "send server hello", &wire.ServerHello{
		Nonce:       ks.Nonce,
		KeyShare:    ks.Public(),
		Chosen:      NamePinnedECDH,
		Certificate: cfg.Identity.Certificate,
	})
	if err != nil {
		return nil, err
	}
	sched := NewPinnedSchedule(shared, ch, sh)
	sig := ed25519.Sign(cfg.Identity.Key, SignedContent(ch, sh))
	sv, err := write(ctx, conn, h, "send server verify", &wire.ServerVerify{Signature: sig, Finished: sched.ServerFinished(sig)})
	if err != nil {
		return nil, err
	}
	cfm, cf, err := read[*wire.ClientFinished](ctx, conn, h, "read client finished")
	if err != nil {
		return nil, err
	}
	if !sched.VerifyClientFinished(sv, cfm.MAC) {
		return nil, h.fail("verify client finished", conn.Fail(ErrBadFinished))
	}
	return sched.Traffic(sv, cf), nil
}
