package kex

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// Short authentication strings, as ZRTP (RFC 6189 §4.5.2, §7) and
// Signal's safety numbers use them: no certificate, no pin, but both users
// see a short string derived from the key exchange and read it to each
// other over a channel the man in the middle is not on (a voice they
// know). If Mallory ran one exchange with each of them, the strings come
// from two different secrets and differ.

// SASBits is how many bits of the key exchange the users compare: ZRTP's
// B256 rendering shows 16 as two words; the lab shows them as four hex
// digits.
const SASBits = 16

// labelSAS separates the short authentication string from everything
// else derived from the same secret.
const labelSAS = labelPrefix + "sas"

// SAS returns the short authentication string of a key exchange: the
// first SASBits of SHA-256("mitmlab2 sas" ‖ 0 ‖ TranscriptHash(transcript)
// ‖ shared), as four uppercase hex digits. Both halves compute it from
// the X25519 secret and the raw handshake messages, and so does an
// attacker who holds the secret he shares with one of them.
//
// It is a hash of the secret and the whole transcript, as ZRTP's s0 is
// (RFC 6189 §4.4.1.4), not an HKDF expansion like the traffic keys: a
// SAS is as strong as its length, whatever derives it, and one hash per
// try is what a grinder pays.
func SAS(shared []byte, transcript ...[]byte) string {
	return fmt.Sprintf("%04X", SASValue(shared, transcript...))
}

// SASValue is [SAS] as a number, for whoever compares many.
func SASValue(shared []byte, transcript ...[]byte) uint16 {
	h := sha256.New()
	h.Write([]byte(labelSAS))
	h.Write([]byte{0})
	h.Write(TranscriptHash(transcript...))
	h.Write(shared)
	return binary.BigEndian.Uint16(h.Sum(nil))
}

// SASSecrets derives the traffic keys of the SAS schemes from the X25519
// secret and the raw handshake messages.
func SASSecrets(shared []byte, transcript ...[]byte) *channel.Secrets {
	return TrafficSecrets(extract(shared), TranscriptHash(transcript...))
}

// DefaultPatience is how long a user waits on the [OutOfBand] line for
// the other to read out a string.
const DefaultPatience = 10 * time.Second

// OutOfBand is the line on which Alice and Bob compare their short
// authentication strings: a phone call, a meeting, a video chat. The man
// in the middle is on the network, not on this line, which is the whole
// premise (and the limit) of a SAS: the lab models the two people as one
// object both victims hold, in one process.
//
// Each side's half calls [OutOfBand.Compare] once per handshake; the n-th
// client to call is paired with the n-th server, so one line serves a run
// of several conversations in turn. It is safe for concurrent use.
type OutOfBand struct {
	// Patience is how long one side waits for the other; zero means
	// DefaultPatience. A side that waits in vain refuses with
	// [ErrNoComparison].
	Patience time.Duration

	// Ask, if not nil, puts a person on this end of the line in place of
	// the in-process pairing: it shows code to this side's user and
	// returns nil if they say the other user read out the same string,
	// an error wrapping ErrSASMismatch if not, and one wrapping
	// ErrNoComparison if they never answer. `mitmlab client` asks on its
	// terminal; `mitmlab server` prints its string and returns nil, so
	// that the client's user, who hears it, is the one who decides.
	Ask func(ctx context.Context, side Side, code string) error

	mu      sync.Mutex
	waiting map[Side][]*caller
	heard   []Comparison
}

// Comparison is one comparison on the line: the string each user read.
type Comparison struct {
	Client, Server string
}

// Match reports whether the two strings are the same.
func (c Comparison) Match() bool { return c.Client == c.Server }

type caller struct {
	code   string
	answer chan string // the other side's string, once it arrives
}

// Compare reads out code for side and waits for the other side's string.
// It returns nil if they match, an error wrapping [ErrSASMismatch] if
// they differ, and one wrapping [ErrNoComparison] if the other side does
// not come on the line in time or ctx ends first.
func (l *OutOfBand) Compare(ctx context.Context, side Side, code string) error {
	if l.Ask != nil {
		return l.Ask(ctx, side, code)
	}
	other := ServerSide
	if side == ServerSide {
		other = ClientSide
	}
	l.mu.Lock()
	if l.waiting == nil {
		l.waiting = make(map[Side][]*caller)
	}
	if q := l.waiting[other]; len(q) > 0 {
		peer := q[0]
		l.waiting[other] = q[1:]
		l.record(side, code, peer.code)
		l.mu.Unlock()
		peer.answer <- code
		return verdict(code, peer.code)
	}
	me := &caller{code: code, answer: make(chan string, 1)}
	l.waiting[side] = append(l.waiting[side], me)
	l.mu.Unlock()

	patience := l.Patience
	if patience <= 0 {
		patience = DefaultPatience
	}
	t := time.NewTimer(patience)
	defer t.Stop()
	select {
	case theirs := <-me.answer:
		return verdict(code, theirs)
	case <-t.C:
	case <-ctx.Done():
	}
	l.mu.Lock()
	i := slices.Index(l.waiting[side], me)
	if i >= 0 {
		l.waiting[side] = slices.Delete(l.waiting[side], i, i+1)
	}
	l.mu.Unlock()
	if i < 0 { // the other side came just as this one gave up
		return verdict(code, <-me.answer)
	}
	return fmt.Errorf("%w after %s", ErrNoComparison, patience)
}

// record keeps a comparison, client's string first.
func (l *OutOfBand) record(side Side, mine, theirs string) {
	c := Comparison{Client: mine, Server: theirs}
	if side == ServerSide {
		c = Comparison{Client: theirs, Server: mine}
	}
	l.heard = append(l.heard, c)
}

// Comparisons returns every comparison made on the line so far, in order.
func (l *OutOfBand) Comparisons() []Comparison {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.heard)
}

func verdict(mine, theirs string) error {
	if mine != theirs {
		return fmt.Errorf("%w: this side read %s, the other heard %s", ErrSASMismatch, mine, theirs)
	}
	return nil
}

// compareSAS is the step both halves of both SAS schemes end with.
func compareSAS(ctx context.Context, line *OutOfBand, side Side, code string) error {
	if line == nil {
		// INSECURE(sas-compare): with no line, nobody compares, and the
		// exchange authenticates no one, exactly as unauth-ecdh. The
		// attacker's own halves run this way.
		return nil
	}
	return line.Compare(ctx, side, code)
}

// The SAS checks. Each is a [wire.Violation]: the user who finds one hangs
// up with 1008.
var (
	// ErrSASMismatch: the two users read different strings, so their keys
	// differ: someone is in the middle.
	ErrSASMismatch error = wire.Violation("short authentication strings do not match")
	// ErrNoComparison: the other user never came on the line, so nothing
	// was verified.
	ErrNoComparison error = wire.Violation("no short authentication string to compare it with")
)

// NameSASECDH is sas-ecdh's name.
const NameSASECDH = "sas-ecdh"

// SASECDH is the "sas-ecdh" scheme: unauth-ecdh's two hellos, then both
// users compare a 16-bit short authentication string out of band:
//
//	C→S client_hello {nonce, key_share}
//	S→C server_hello {nonce, key_share}
//	    both: SAS(X25519 secret, CH, SH), compared on the OutOfBand line
//
// Nothing commits the client to its key share before it sees the
// server's, so an attacker who has finished with the server can choose
// the share he sends the client until the two strings collide: with 16
// bits, about 65,536 tries (the sas-grinding lesson). [SASCommitECDH]
// closes that gap as ZRTP does.
func SASECDH() *Scheme {
	return &Scheme{
		Name:     NameSASECDH,
		Summary:  "X25519 with no certificate; the users compare a 16-bit string out of band",
		Messages: []wire.Message{&ClientHello{}, &ServerHello{}},
		SAS:      true,
		Client:   sasClient,
		Server:   sasServer,
	}
}

type sasClientState struct {
	hs
	ecdhClient
	cfg     *ClientConfig
	secrets *channel.Secrets
}

func sasClient(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &sasClientState{hs: hs{ctx, conn, NameSASECDH, ClientSide}, cfg: orZero(cfg)}
	c.ecdhClient = newECDHClient(&c.hs, c.cfg)
	err := c.run(
		step{"generate key share", c.generateKeyShare},
		step{"send client hello", c.sendClientHello},
		step{"read server hello", c.readServerHello},
		step{"compute shared secret", c.computeShared},
		step{"compare short authentication strings", c.compare},
	)
	return c.secrets, err
}

func (c *sasClientState) compare() error {
	if err := compareSAS(c.ctx, c.cfg.OutOfBand, ClientSide, SAS(c.shared, c.ch, c.sh)); err != nil {
		return err
	}
	c.secrets = SASSecrets(c.shared, c.ch, c.sh)
	return nil
}

type sasServerState struct {
	hs
	ecdhServer
	cfg     *ServerConfig
	sh      []byte
	secrets *channel.Secrets
}

func sasServer(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
	s := &sasServerState{hs: hs{ctx, conn, NameSASECDH, ServerSide}, cfg: orZero(cfg)}
	s.ecdhServer = newECDHServer(&s.hs, s.cfg)
	err := s.run(
		step{"read client hello", s.readClientHello},
		step{"generate key share", s.generateKeyShare},
		step{"compute shared secret", s.computeShared},
		step{"send server hello", s.sendServerHello},
		step{"compare short authentication strings", s.compare},
	)
	return s.secrets, err
}

func (s *sasServerState) sendServerHello() (err error) {
	s.sh, err = s.write(&ServerHello{Nonce: s.ks.Nonce, KeyShare: s.ks.Public()})
	return err
}

func (s *sasServerState) compare() error {
	if err := compareSAS(s.ctx, s.cfg.OutOfBand, ServerSide, SAS(s.shared, s.ch, s.sh)); err != nil {
		return err
	}
	s.secrets = SASSecrets(s.shared, s.ch, s.sh)
	return nil
}
