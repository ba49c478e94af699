// Package channel is the record layer that every scheme uses once its
// handshake is done, so that each lesson is about key exchange and not about
// ciphers.
//
// A record is a [wire.Data] frame {"type":"data","seq":N,"ct":B64}. The
// cipher is AES-256-GCM with a key and IV per direction. As in RFC 8446
// §5.3, the nonce is the IV XOR the 64-bit sequence number, left-padded with
// zeros. The additional data is the direction ("c2s" or "s2c") followed by
// the sequence number as 8 big-endian bytes, so a frame cannot be moved to
// the other direction or to another position.
//
// Each direction starts at sequence number 0 and counts up by one. An
// [Opener] accepts only the next number: a lower one is a replay
// ([ErrReplay]), a higher one means frames were dropped or reordered
// ([ErrOutOfOrder]). A frame that fails authentication is [ErrDecrypt].
package channel

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/mitmlab/mitmlab/wire"
)

// Sizes of the record layer's keys.
const (
	KeySize = 32 // AES-256
	IVSize  = 12 // GCM nonce
)

// MaxPlaintext is the largest chat message one record carries, chosen so
// that the encoded frame stays under [wire.MaxMessageSize].
const MaxPlaintext = 32 << 10

// Record-layer errors. They are [wire.Violation]s, so a connection that hits
// one closes with 1008.
var (
	ErrReplay       error = wire.Violation("record replayed: sequence number already used")
	ErrOutOfOrder   error = wire.Violation("record out of order: sequence number skipped ahead")
	ErrDecrypt      error = wire.Violation("record failed authentication: modified or wrong key")
	ErrSeqExhausted error = wire.Violation("sequence numbers exhausted")
	ErrTooLarge           = errors.New("plaintext too large for one record")
)

// Keys are the key and IV for one direction.
type Keys struct {
	Key [KeySize]byte
	IV  [IVSize]byte
}

// Secrets are the traffic keys of one connection, one set per direction.
type Secrets struct {
	ClientToServer Keys
	ServerToClient Keys
}

// For returns the keys for direction d.
func (s *Secrets) For(d wire.Direction) Keys {
	if d == wire.ClientToServer {
		return s.ClientToServer
	}
	return s.ServerToClient
}

type state struct {
	aead cipher.AEAD
	iv   [IVSize]byte
	dir  wire.Direction
	seq  uint64
}

func newState(k Keys, dir wire.Direction) (state, error) {
	block, err := aes.NewCipher(k.Key[:])
	if err != nil {
		return state{}, fmt.Errorf("channel: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return state{}, fmt.Errorf("channel: %w", err)
	}
	return state{aead: aead, iv: k.IV, dir: dir}, nil
}

func (s *state) nonce(seq uint64) []byte {
	n := s.iv
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	for i := range b {
		n[IVSize-8+i] ^= b[i]
	}
	return n[:]
}

func additionalData(dir wire.Direction, seq uint64) []byte {
	ad := make([]byte, 0, len(dir)+8)
	ad = append(ad, dir...)
	return binary.BigEndian.AppendUint64(ad, seq)
}

// Sealer encrypts the records of one direction.
type Sealer struct{ s state }

// NewSealer returns a Sealer for direction dir, starting at sequence 0.
func NewSealer(k Keys, dir wire.Direction) (*Sealer, error) {
	s, err := newState(k, dir)
	if err != nil {
		return nil, err
	}
	return &Sealer{s}, nil
}

// Seal encrypts plaintext into the next record.
func (s *Sealer) Seal(plaintext []byte) (*wire.Data, error) {
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("channel: %w: %d bytes, limit %d", ErrTooLarge, len(plaintext), MaxPlaintext)
	}
	if s.s.seq == math.MaxUint64 {
		return nil, ErrSeqExhausted
	}
	seq := s.s.seq
	s.s.seq++
	ct := s.s.aead.Seal(nil, s.s.nonce(seq), plaintext, additionalData(s.s.dir, seq))
	return &wire.Data{Seq: seq, CT: ct}, nil
}

// Opener decrypts the records of one direction, in order, once each.
type Opener struct{ s state }

// NewOpener returns an Opener for direction dir that expects sequence 0 next.
func NewOpener(k Keys, dir wire.Direction) (*Opener, error) {
	s, err := newState(k, dir)
	if err != nil {
		return nil, err
	}
	return &Opener{s}, nil
}

// Open checks d's sequence number and authenticates and decrypts it. Only a
// frame that opens moves the expected sequence number on.
func (o *Opener) Open(d *wire.Data) ([]byte, error) {
	switch {
	case d.Seq < o.s.seq:
		return nil, fmt.Errorf("channel: %w: got seq %d, want %d", ErrReplay, d.Seq, o.s.seq)
	case d.Seq > o.s.seq:
		return nil, fmt.Errorf("channel: %w: got seq %d, want %d", ErrOutOfOrder, d.Seq, o.s.seq)
	}
	pt, err := o.s.aead.Open(nil, o.s.nonce(d.Seq), d.CT, additionalData(o.s.dir, d.Seq))
	if err != nil {
		return nil, fmt.Errorf("channel: %w: seq %d", ErrDecrypt, d.Seq)
	}
	o.s.seq++
	if pt == nil {
		pt = []byte{} // an empty message was sent and received: not "nothing"
	}
	return pt, nil
}

// Next returns the sequence number the Opener expects next.
func (o *Opener) Next() uint64 { return o.s.seq }

// Side says which end of a connection a [Channel] is.
type Side int

// The two ends.
const (
	Client Side = iota
	Server
)

// Channel is an established, encrypted connection: a [wire.Conn] with a
// Sealer for the direction this side sends and an Opener for the other.
type Channel struct {
	conn *wire.Conn
	seal *Sealer
	open *Opener
}

// New returns the Channel for side over conn, with the traffic keys s.
func New(conn *wire.Conn, s *Secrets, side Side) (*Channel, error) {
	out := wire.ClientToServer
	if side == Server {
		out = wire.ServerToClient
	}
	seal, err := NewSealer(s.For(out), out)
	if err != nil {
		return nil, err
	}
	open, err := NewOpener(s.For(out.Reverse()), out.Reverse())
	if err != nil {
		return nil, err
	}
	return &Channel{conn: conn, seal: seal, open: open}, nil
}

// Conn returns the underlying connection.
func (c *Channel) Conn() *wire.Conn { return c.conn }

// Send seals plaintext into the next record and writes it. It returns the
// record's sequence number.
func (c *Channel) Send(ctx context.Context, plaintext []byte) (uint64, error) {
	d, err := c.seal.Seal(plaintext)
	if err != nil {
		return 0, err
	}
	if _, err := c.conn.WriteMessage(ctx, d); err != nil {
		return 0, err
	}
	return d.Seq, nil
}

// Receive reads the next record and returns its plaintext and sequence
// number. Any error other than the peer closing is fatal for the channel;
// the caller should pass it to [wire.Conn.Fail].
func (c *Channel) Receive(ctx context.Context) ([]byte, uint64, error) {
	b, err := c.conn.Read(ctx)
	if err != nil {
		return nil, 0, err
	}
	d, err := wire.DecodeAs[*wire.Data](b)
	if err != nil {
		return nil, 0, err
	}
	pt, err := c.open.Open(d)
	if err != nil {
		return nil, 0, err
	}
	return pt, d.Seq, nil
}
