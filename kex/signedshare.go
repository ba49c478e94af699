package kex

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// shareContext is the context string of signed-share's signature.
const shareContext = "mitmlab v2 server key share"

// ShareSignedContent is what a signed-share server signs: 64 spaces, the
// context string, a zero byte and TranscriptHash(key_share), its own key
// share and nothing else.
//
// INSECURE(signature-replay): no nonce of the client's is signed, so the
// signature says nothing about when it was made; it stays valid for every
// later connection.
func ShareSignedContent(keyShare []byte) []byte {
	return signedContentFor(shareContext, TranscriptHash(keyShare))
}

// KeyLogServerEphemeral is the label of a key-log line that holds a
// server's ephemeral X25519 private key (ServerConfig.KeyLog).
const KeyLogServerEphemeral = "MITMLAB_SERVER_EPHEMERAL"

// logEphemeral writes the server's ephemeral key for the connection whose
// client nonce is nonce to w, if w is not nil, as one line.
func logEphemeral(w io.Writer, clientNonce []byte, ks *KeyShare) {
	if w == nil {
		return
	}
	fmt.Fprintf(w, "%s %x %x\n", KeyLogServerEphemeral, clientNonce, ks.Private.Bytes())
}

// ParseKeyLogLine reads one line of a server key log: its client nonce and
// the ephemeral key share it names.
func ParseKeyLogLine(line string) (clientNonce []byte, ks *KeyShare, err error) {
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != KeyLogServerEphemeral {
		return nil, nil, fmt.Errorf("kex: not a %s key-log line", KeyLogServerEphemeral)
	}
	if clientNonce, err = hex.DecodeString(f[1]); err != nil {
		return nil, nil, fmt.Errorf("kex: key log: %w", err)
	}
	priv, err := hex.DecodeString(f[2])
	if err != nil {
		return nil, nil, fmt.Errorf("kex: key log: %w", err)
	}
	key, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("kex: key log: %w", err)
	}
	return clientNonce, &KeyShare{Private: key}, nil
}

// NameSignedShare is signed-share's name.
const NameSignedShare = "signed-share"

// SignedShare is the "signed-share" scheme: pinned-ecdh's messages, pin,
// finished MACs and key schedule, but the server signs only its own key
// share.
//
//	C→S client_hello    {nonce, key_share}
//	S→C server_hello    {nonce, key_share, certificate}
//	S→C server_verify   {signature, finished}   signature over the server's key share only
//	C→S client_finished {mac}
//
// A server_hello and server_verify recorded once can be shown again to
// every later client, and whoever holds that old ephemeral key (a leak, a
// key log, a memory dump) computes every secret that follows.
func SignedShare() *Scheme {
	return &Scheme{
		Name:     NameSignedShare,
		Summary:  "X25519 with a signature over the server's key share only, and finished MACs",
		Messages: []wire.Message{&ClientHello{}, &ServerHello{}, &ServerVerify{}, &ClientFinished{}},
		Identity: true,
		Client:   signedShareClient,
		Server:   signedShareServer,
	}
}

type signedShareClientState struct {
	hs
	ecdhClient
	cfg     *ClientConfig
	trust   trust
	key     ed25519.PublicKey
	svm     *ServerVerify
	sv      []byte
	sched   *PinnedSchedule
	secrets *channel.Secrets
}

func signedShareClient(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &signedShareClientState{hs: hs{ctx, conn, NameSignedShare, ClientSide}, cfg: orZero(cfg)}
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
		step{"read server verify", c.readServerVerify},
		step{"verify signature", c.verifySignature},
		step{"compute shared secret", c.computeShared},
		step{"verify server finished", c.verifyFinished},
		step{"send client finished", c.sendClientFinished},
	)
	return c.secrets, err
}

func (c *signedShareClientState) checkCertificate() (err error) {
	c.key, err = c.trust.serverKey(c.shm.Certificate)
	return err
}

func (c *signedShareClientState) readServerVerify() (err error) {
	c.svm, c.sv, err = readAs[*ServerVerify](&c.hs)
	return err
}

func (c *signedShareClientState) verifySignature() error {
	if !ed25519.Verify(c.key, ShareSignedContent(c.shm.KeyShare), c.svm.Signature) {
		return ErrBadSignature
	}
	return nil
}

func (c *signedShareClientState) computeShared() error {
	shared, err := c.ks.Shared(c.shm.KeyShare)
	if err != nil {
		return err
	}
	c.sched = NewPinnedSchedule(shared, c.ch, c.sh)
	return nil
}

func (c *signedShareClientState) verifyFinished() error {
	if !c.sched.VerifyServerFinished(c.svm.Signature, c.svm.Finished) {
		return ErrBadFinished
	}
	return nil
}

func (c *signedShareClientState) sendClientFinished() error {
	cf, err := c.write(&ClientFinished{MAC: c.sched.ClientFinished(c.sv)})
	if err != nil {
		return err
	}
	c.secrets = c.sched.Traffic(c.sv, cf)
	return nil
}

type signedShareServerState struct {
	hs
	ecdhServer
	cfg     *ServerConfig
	sh      []byte
	sched   *PinnedSchedule
	sv      []byte
	secrets *channel.Secrets
}

func signedShareServer(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
	s := &signedShareServerState{hs: hs{ctx, conn, NameSignedShare, ServerSide}, cfg: orZero(cfg)}
	s.ecdhServer = newECDHServer(&s.hs, s.cfg)
	s.keyLog = s.cfg.KeyLog
	if s.cfg.Identity == nil {
		return nil, s.refuse("check configuration", ErrNoIdentity)
	}
	err := s.run(
		step{"read client hello", s.readClientHello},
		step{"generate key share", s.generateKeyShare},
		step{"compute shared secret", s.computeShared},
		step{"send server hello", s.sendServerHello},
		step{"send server verify", s.sendServerVerify},
		step{"verify client finished", s.verifyClientFinished},
	)
	return s.secrets, err
}

func (s *signedShareServerState) sendServerHello() (err error) {
	s.sh, err = s.write(&ServerHello{Nonce: s.ks.Nonce, KeyShare: s.ks.Public(), Certificate: s.cfg.Identity.Certificate})
	return err
}

func (s *signedShareServerState) sendServerVerify() (err error) {
	s.sched = NewPinnedSchedule(s.shared, s.ch, s.sh)
	sig := ed25519.Sign(s.cfg.Identity.Key, ShareSignedContent(s.ks.Public()))
	s.sv, err = s.write(&ServerVerify{Signature: sig, Finished: s.sched.ServerFinished(sig)})
	return err
}

func (s *signedShareServerState) verifyClientFinished() error {
	cfm, cf, err := readAs[*ClientFinished](&s.hs)
	if err != nil {
		return err
	}
	if !s.sched.VerifyClientFinished(s.sv, cfm.MAC) {
		return ErrBadFinished
	}
	s.secrets = s.sched.Traffic(s.sv, cf)
	return nil
}
