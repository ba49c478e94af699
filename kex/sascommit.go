package kex

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// CommitSize is the size of a commitment: SHA-256.
const CommitSize = sha256.Size

// Commit binds the client to the client_hello it will send later, before
// it sees the server's key share: {"type":"commit","hash":B64}. It is
// ZRTP's hvi (RFC 6189 §4.4.1.1), the hash of the initiator's DHPart2.
type Commit struct {
	Hash []byte // SHA-256 of the raw client_hello
}

// MessageType returns "commit".
func (*Commit) MessageType() wire.Type { return "commit" }

// Fields lists hash.
func (m *Commit) Fields() []wire.Field {
	return []wire.Field{wire.Bytes("hash", &m.Hash, CommitSize, CommitSize)}
}

// CommitTo returns the commitment to a raw client_hello: SHA-256 of its
// bytes exactly as they will cross the wire.
func CommitTo(clientHello []byte) []byte {
	sum := sha256.Sum256(clientHello)
	return sum[:]
}

// ErrCommitMismatch: the client_hello that arrived is not the one the
// client committed to.
var ErrCommitMismatch error = wire.Violation("key share does not match its commitment")

// NameSASCommitECDH is sas-commit-ecdh's name.
const NameSASCommitECDH = "sas-commit-ecdh"

// SASCommitECDH is the "sas-commit-ecdh" scheme, sas-ecdh with ZRTP's
// hash commitment (RFC 6189 §4.4.1.1, §4.4.1.4):
//
//	C→S commit       {hash}               SHA-256 of the client_hello to come
//	S→C server_hello {nonce, key_share}
//	C→S client_hello {nonce, key_share}   the server checks it against hash
//	    both: SAS(X25519 secret, commit, SH, CH), compared out of band
//
// The client is bound to its key share before it sees the server's, and
// the server shows its own before it sees the client's. A man in the
// middle must choose, on each side, before he learns what that side's
// string will depend on: he has nothing to grind against, and his strings
// match by chance, once in 65,536.
func SASCommitECDH() *Scheme {
	return &Scheme{
		Name:     NameSASCommitECDH,
		Summary:  "sas-ecdh with a hash commitment to the client's key share, as ZRTP",
		Messages: []wire.Message{&Commit{}, &ServerHello{}, &ClientHello{}},
		SAS:      true,
		Client:   sasCommitClient,
		Server:   sasCommitServer,
	}
}

type sasCommitClientState struct {
	hs
	cfg     *ClientConfig
	ks      *KeyShare
	ch      []byte // the client_hello, encoded before it is committed to
	cm      []byte // the commit as sent
	shm     *ServerHello
	sh      []byte
	shared  []byte
	secrets *channel.Secrets
}

func sasCommitClient(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &sasCommitClientState{hs: hs{ctx, conn, NameSASCommitECDH, ClientSide}, cfg: orZero(cfg)}
	err := c.run(
		step{"generate key share", c.generateKeyShare},
		step{"send commit", c.sendCommit},
		step{"read server hello", c.readServerHello},
		step{"send client hello", c.sendClientHello},
		step{"compute shared secret", c.computeShared},
		step{"compare short authentication strings", c.compare},
	)
	return c.secrets, err
}

func (c *sasCommitClientState) generateKeyShare() (err error) {
	if c.ks, err = NewKeyShare(c.cfg.Rand); err != nil {
		return err
	}
	c.ch, err = wire.Encode(&ClientHello{Nonce: c.ks.Nonce, KeyShare: c.ks.Public()})
	return err
}

func (c *sasCommitClientState) sendCommit() (err error) {
	c.cm, err = c.write(&Commit{Hash: CommitTo(c.ch)})
	return err
}

func (c *sasCommitClientState) readServerHello() (err error) {
	c.shm, c.sh, err = readAs[*ServerHello](&c.hs)
	return err
}

// sendClientHello reveals the hello committed to, byte for byte.
func (c *sasCommitClientState) sendClientHello() error {
	return c.conn.Write(c.ctx, c.ch)
}

func (c *sasCommitClientState) computeShared() (err error) {
	c.shared, err = c.ks.Shared(c.shm.KeyShare)
	return err
}

func (c *sasCommitClientState) compare() error {
	if err := compareSAS(c.ctx, c.cfg.OutOfBand, ClientSide, SAS(c.shared, c.cm, c.sh, c.ch)); err != nil {
		return err
	}
	c.secrets = SASSecrets(c.shared, c.cm, c.sh, c.ch)
	return nil
}

type sasCommitServerState struct {
	hs
	cfg     *ServerConfig
	cmm     *Commit
	cm      []byte
	ks      *KeyShare
	sh      []byte
	chm     *ClientHello
	ch      []byte
	shared  []byte
	secrets *channel.Secrets
}

func sasCommitServer(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
	s := &sasCommitServerState{hs: hs{ctx, conn, NameSASCommitECDH, ServerSide}, cfg: orZero(cfg)}
	err := s.run(
		step{"read commit", s.readCommit},
		step{"generate key share", s.generateKeyShare},
		step{"send server hello", s.sendServerHello},
		step{"read client hello", s.readClientHello},
		step{"check commitment", s.checkCommitment},
		step{"compute shared secret", s.computeShared},
		step{"compare short authentication strings", s.compare},
	)
	return s.secrets, err
}

func (s *sasCommitServerState) readCommit() (err error) {
	s.cmm, s.cm, err = readAs[*Commit](&s.hs)
	return err
}

func (s *sasCommitServerState) generateKeyShare() (err error) {
	s.ks, err = NewKeyShare(s.cfg.Rand)
	return err
}

func (s *sasCommitServerState) sendServerHello() (err error) {
	s.sh, err = s.write(&ServerHello{Nonce: s.ks.Nonce, KeyShare: s.ks.Public()})
	return err
}

func (s *sasCommitServerState) readClientHello() (err error) {
	s.chm, s.ch, err = readAs[*ClientHello](&s.hs)
	return err
}

// checkCommitment is ZRTP's check of hvi: the hello revealed must hash to
// the commitment, so the key share in it was chosen before the server's
// was seen.
func (s *sasCommitServerState) checkCommitment() error {
	if subtle.ConstantTimeCompare(CommitTo(s.ch), s.cmm.Hash) != 1 {
		return ErrCommitMismatch
	}
	return nil
}

func (s *sasCommitServerState) computeShared() (err error) {
	s.shared, err = s.ks.Shared(s.chm.KeyShare)
	return err
}

func (s *sasCommitServerState) compare() error {
	if err := compareSAS(s.ctx, s.cfg.OutOfBand, ServerSide, SAS(s.shared, s.cm, s.sh, s.ch)); err != nil {
		return err
	}
	s.secrets = SASSecrets(s.shared, s.cm, s.sh, s.ch)
	return nil
}
