package channel

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/mitmlab/mitmlab/wire"
)

// Suite is how records are protected. The zero value is [AES256GCM]. The
// other suites are the broken record layers that some lessons need.
type Suite string

// The suites.
const (
	// AES256GCM is the lab's record layer: AES-256-GCM, nonce = IV XOR
	// seq, additional data = type ‖ 0 ‖ direction ‖ seq, and strict
	// sequence numbers.
	AES256GCM Suite = "aes-256-gcm"
	// Null carries the plaintext as it is, with sequence numbers but no
	// cipher and no MAC: ct is the plaintext.
	//
	// INSECURE(wss-skipverify): the record layer protects nothing; TLS
	// beneath it is the only protection, as for a chat that relies on
	// wss:// alone.
	Null Suite = "null"
	// AES256CTR encrypts with AES-256 in counter mode and no MAC: ct is
	// the plaintext XOR a keystream, as long as the plaintext.
	//
	// INSECURE(tamper-ctr): encryption without integrity; flipping a bit
	// of ct flips the same bit of the plaintext.
	AES256CTR Suite = "aes-256-ctr"
	// RandomNonce is AES-256-GCM with a fresh random 12-byte nonce in
	// front of each ct, the direction as additional data, and no sequence
	// check: seq is written but nothing binds or checks it.
	//
	// INSECURE(replay-no-seq): every record authenticates anywhere in its
	// direction, so a copy can be replayed, dropped or reordered.
	RandomNonce Suite = "aes-256-gcm-random-nonce"
)

// Keys are the key and IV for one direction.
type Keys struct {
	Key [KeySize]byte
	IV  [IVSize]byte
}

// Secrets are the traffic keys of one connection, one set per direction,
// and the suite they are used with.
type Secrets struct {
	ClientToServer Keys
	ServerToClient Keys
	Suite          Suite // "" means AES256GCM
	// Rand is the source of RandomNonce's nonces; nil means crypto/rand.
	Rand io.Reader
}

// For returns the keys for direction d.
func (s *Secrets) For(d wire.Direction) Keys {
	if d == wire.ClientToServer {
		return s.ClientToServer
	}
	return s.ServerToClient
}

// Keyless reports whether the suite's records can be read without keys.
func (s Suite) Keyless() bool { return s == Null }

// Overhead is how many bytes a record's ct adds to its plaintext.
func (s Suite) Overhead() int {
	switch s {
	case Null, AES256CTR:
		return 0
	case RandomNonce:
		return IVSize + wire.TagSize
	}
	return wire.TagSize
}

// state is one direction's protection.
type state struct {
	suite Suite
	aead  cipher.AEAD
	block cipher.Block
	iv    [IVSize]byte
	dir   wire.Direction
	seq   uint64
	rand  io.Reader

	// Scratch for the nonce and the additional data of the record being
	// sealed or opened, so that neither costs an allocation. A Sealer or
	// Opener is used by one goroutine at a time (its sequence number
	// already requires that).
	nonceBuf [IVSize]byte
	adBuf    [32]byte
}

func newState(s *Secrets, dir wire.Direction) (state, error) {
	k := s.For(dir)
	st := state{suite: s.Suite, iv: k.IV, dir: dir, rand: s.Rand}
	if st.suite == "" {
		st.suite = AES256GCM
	}
	switch st.suite {
	case AES256GCM, RandomNonce, AES256CTR:
		block, err := aes.NewCipher(k.Key[:])
		if err != nil {
			return state{}, fmt.Errorf("channel: %w", err)
		}
		st.block = block
		if st.suite != AES256CTR {
			if st.aead, err = cipher.NewGCM(block); err != nil {
				return state{}, fmt.Errorf("channel: %w", err)
			}
		}
	case Null:
	default:
		return state{}, fmt.Errorf("channel: unknown suite %q", st.suite)
	}
	return st, nil
}

// nonce is the IV XOR seq, as RFC 8446 §5.3 builds it. It is valid until
// the next call.
func (s *state) nonce(seq uint64) []byte {
	s.nonceBuf = s.iv
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	for i := range b {
		s.nonceBuf[IVSize-8+i] ^= b[i]
	}
	return s.nonceBuf[:]
}

// ad is [AdditionalData] for this direction, valid until the next call.
func (s *state) ad(typ wire.Type, seq uint64) []byte {
	return appendAdditionalData(s.adBuf[:0], typ, s.dir, seq)
}

// AdditionalData is what a record's AEAD authenticates besides its
// plaintext: the record type, a zero byte, the direction and the sequence
// number as 8 big-endian bytes.
func AdditionalData(typ wire.Type, dir wire.Direction, seq uint64) []byte {
	return appendAdditionalData(make([]byte, 0, len(typ)+1+len(dir)+8), typ, dir, seq)
}

func appendAdditionalData(ad []byte, typ wire.Type, dir wire.Direction, seq uint64) []byte {
	ad = append(ad, typ...)
	ad = append(ad, 0)
	ad = append(ad, dir...)
	return binary.BigEndian.AppendUint64(ad, seq)
}

// seal appends the sealed pt to dst and returns the result; a nil dst
// means a new slice of the exact size. dst must not overlap pt.
func (s *state) seal(dst []byte, typ wire.Type, seq uint64, pt []byte) ([]byte, error) {
	if dst == nil {
		dst = make([]byte, 0, len(pt)+s.suite.Overhead())
	}
	switch s.suite {
	case Null:
		return append(dst, pt...), nil
	case AES256CTR:
		return s.ctr(dst, seq, pt), nil
	case RandomNonce:
		// INSECURE(replay-no-seq): nothing but the direction is bound.
		n := len(dst)
		out := slices.Grow(dst, IVSize+len(pt)+wire.TagSize)[:n+IVSize]
		if _, err := io.ReadFull(randOr(s.rand), out[n:]); err != nil {
			return nil, fmt.Errorf("channel: nonce: %w", err)
		}
		return s.aead.Seal(out, out[n:n+IVSize], pt, []byte(string(typ)+"\x00"+string(s.dir))), nil
	}
	return s.aead.Seal(dst, s.nonce(seq), pt, s.ad(typ, seq)), nil
}

// open opens ct. With inPlace the plaintext overwrites ct's own storage,
// which the caller must not use again; otherwise it is a new slice. An
// empty plaintext is an empty slice, never nil.
func (s *state) open(typ wire.Type, seq uint64, ct []byte, inPlace bool) ([]byte, error) {
	var dst []byte
	if inPlace {
		dst = ct[:0]
	}
	switch s.suite {
	case Null:
		if inPlace {
			return nonNil(ct), nil
		}
		return append([]byte{}, ct...), nil
	case AES256CTR:
		if dst == nil {
			dst = make([]byte, 0, len(ct))
		}
		return s.ctr(dst, seq, ct), nil
	case RandomNonce:
		if len(ct) < IVSize+wire.TagSize {
			return nil, fmt.Errorf("channel: %w: ct is %d bytes, shorter than a nonce and a tag", wire.ErrFieldLength, len(ct))
		}
		if inPlace {
			dst = ct[IVSize:IVSize] // exactly over the ciphertext, as Open allows
		}
		pt, err := s.aead.Open(dst, ct[:IVSize], ct[IVSize:], []byte(string(typ)+"\x00"+string(s.dir)))
		if err != nil {
			return nil, fmt.Errorf("channel: %w: seq %d", ErrDecrypt, seq)
		}
		return nonNil(pt), nil
	}
	if len(ct) < wire.TagSize {
		return nil, fmt.Errorf("channel: %w: ct is %d bytes, shorter than the %d-byte tag", wire.ErrFieldLength, len(ct), wire.TagSize)
	}
	pt, err := s.aead.Open(dst, s.nonce(seq), ct, s.ad(typ, seq))
	if err != nil {
		return nil, fmt.Errorf("channel: %w: seq %d", ErrDecrypt, seq)
	}
	return nonNil(pt), nil
}

// ctr appends AES-256-CTR of in, with the counter block nonce(seq) ‖
// 00000001, to dst. dst's free storage may be in itself (in place).
//
// INSECURE(tamper-ctr): a keystream XOR with nothing to detect a change.
func (s *state) ctr(dst []byte, seq uint64, in []byte) []byte {
	var iv [16]byte
	copy(iv[:], s.nonce(seq))
	iv[15] = 1
	n := len(dst)
	out := slices.Grow(dst, len(in))[:n+len(in)]
	cipher.NewCTR(s.block, iv[:]).XORKeyStream(out[n:], in)
	return out
}

// checksSeq reports whether the suite enforces sequence numbers.
func (s *state) checksSeq() bool { return s.suite != RandomNonce }

// nonNil returns b, or an empty slice for nil: an empty message was sent
// and received, which is not "nothing".
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Sealer encrypts the records of one direction.
type Sealer struct{ s state }

// NewSealer returns a Sealer for direction dir, starting at sequence 0.
func NewSealer(s *Secrets, dir wire.Direction) (*Sealer, error) {
	st, err := newState(s, dir)
	if err != nil {
		return nil, err
	}
	return &Sealer{st}, nil
}

// Seal encrypts plaintext into the next data record.
func (s *Sealer) Seal(plaintext []byte) (*wire.Data, error) {
	d := &wire.Data{}
	if err := s.sealInto(d, plaintext); err != nil {
		return nil, err
	}
	return d, nil
}

// sealInto seals plaintext into d, reusing d.CT's storage: the record
// layer's own send path, which writes d and forgets it.
func (s *Sealer) sealInto(d *wire.Data, plaintext []byte) error {
	if len(plaintext) > MaxPlaintext {
		return fmt.Errorf("channel: %w: %d bytes, limit %d", ErrTooLarge, len(plaintext), MaxPlaintext)
	}
	seq, err := s.next()
	if err != nil {
		return err
	}
	ct, err := s.s.seal(d.CT[:0], wire.TypeData, seq, plaintext)
	if err != nil {
		return err
	}
	d.Seq, d.CT = seq, ct
	return nil
}

// SealEnd seals the direction's end record at the next sequence number.
// Its plaintext is empty.
func (s *Sealer) SealEnd() (*wire.End, error) {
	seq, err := s.next()
	if err != nil {
		return nil, err
	}
	ct, err := s.s.seal(nil, wire.TypeEnd, seq, nil)
	if err != nil {
		return nil, err
	}
	return &wire.End{Seq: seq, CT: ct}, nil
}

// Next returns the sequence number the Sealer uses next.
func (s *Sealer) Next() uint64 { return s.s.seq }

func (s *Sealer) next() (uint64, error) {
	if s.s.seq == math.MaxUint64 {
		return 0, ErrSeqExhausted
	}
	seq := s.s.seq
	s.s.seq++
	return seq, nil
}

// Opener decrypts the records of one direction, in order, once each.
type Opener struct{ s state }

// NewOpener returns an Opener for direction dir that expects sequence 0 next.
func NewOpener(s *Secrets, dir wire.Direction) (*Opener, error) {
	st, err := newState(s, dir)
	if err != nil {
		return nil, err
	}
	return &Opener{st}, nil
}

// Open checks d's sequence number and authenticates and decrypts it. Only a
// frame that opens moves the expected sequence number on.
func (o *Opener) Open(d *wire.Data) ([]byte, error) {
	return o.open(wire.TypeData, d.Seq, d.CT, false, checkData)
}

// openInPlace is Open with the plaintext written over d.CT, for a record
// the caller decoded for itself and drops afterwards.
func (o *Opener) openInPlace(d *wire.Data) ([]byte, error) {
	return o.open(wire.TypeData, d.Seq, d.CT, true, checkData)
}

func checkData(pt []byte) error {
	if len(pt) > MaxPlaintext {
		return fmt.Errorf("channel: %w: %d bytes", ErrPlaintextTooLarge, len(pt))
	}
	return nil
}

// OpenEnd checks and authenticates the direction's end record.
func (o *Opener) OpenEnd(e *wire.End) error {
	_, err := o.open(wire.TypeEnd, e.Seq, e.CT, false, func(pt []byte) error {
		if len(pt) != 0 {
			return fmt.Errorf("channel: %w: %d bytes", ErrBadEnd, len(pt))
		}
		return nil
	})
	return err
}

// open checks the sequence number, opens ct and runs check on the
// plaintext; only a record that passes all three moves the sequence on.
func (o *Opener) open(typ wire.Type, seq uint64, ct []byte, inPlace bool, check func([]byte) error) ([]byte, error) {
	if o.s.checksSeq() {
		switch {
		case seq < o.s.seq:
			return nil, fmt.Errorf("channel: %w: got seq %d, want %d", ErrReplay, seq, o.s.seq)
		case seq > o.s.seq:
			return nil, fmt.Errorf("channel: %w: got seq %d, want %d", ErrOutOfOrder, seq, o.s.seq)
		}
	}
	pt, err := o.s.open(typ, seq, ct, inPlace)
	if err != nil {
		return nil, err
	}
	if err := check(pt); err != nil {
		return nil, err
	}
	o.s.seq++
	return pt, nil
}

// Next returns the sequence number the Opener expects next.
func (o *Opener) Next() uint64 { return o.s.seq }

// Suite returns the suite the Opener opens.
func (o *Opener) Suite() Suite { return o.s.suite }
