// Package channel is the record layer that every scheme uses once its
// handshake is done, so that each lesson is about key exchange and not about
// ciphers.
//
// A record is a [wire.Data] frame {"type":"data","seq":N,"ct":B64}. With
// the default suite, [AES256GCM], each direction has its own key and IV;
// as in RFC 8446 §5.3 the nonce is the IV XOR the 64-bit sequence number,
// left-padded with zeros; and the additional data is the record type, a
// zero byte, the direction ("c2s" or "s2c") and the sequence number as 8
// big-endian bytes, so a frame cannot be moved to the other direction, to
// another position, or from data to end.
//
// Each direction starts at sequence number 0 and counts up by one. An
// [Opener] accepts only the next number: a lower one is a replay
// ([ErrReplay]), a higher one means frames were dropped or reordered
// ([ErrOutOfOrder]). A frame that fails authentication is [ErrDecrypt].
//
// # The end of a conversation
//
// AEAD per record is not stream integrity: whoever sits on the path can
// drop the last records and forge an ordinary WebSocket close. So each
// side ends its half of the conversation with a sealed [wire.End] record
// at its next sequence number, as TLS does with close_notify. A
// [Channel] reports a connection that ends without the peer's valid end
// record as [ErrTruncated].
package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/wire"
)

// Sizes of the record layer's keys.
const (
	KeySize = 32 // AES-256
	IVSize  = 12 // GCM nonce
)

// MaxPlaintext is the largest chat message one record carries, chosen so
// that the encoded frame stays under [wire.MaxMessageSize]. Both sides
// enforce it: a sealer refuses a larger plaintext ([ErrTooLarge]), an
// opener refuses a record that opens to one ([ErrPlaintextTooLarge]).
const MaxPlaintext = 32 << 10

// Record-layer errors. The Violations close the connection with 1008.
var (
	ErrReplay       error = wire.Violation("record replayed: sequence number already used")
	ErrOutOfOrder   error = wire.Violation("record out of order: sequence number skipped ahead")
	ErrDecrypt      error = wire.Violation("record failed authentication: modified or wrong key")
	ErrSeqExhausted error = wire.Violation("sequence numbers exhausted")
	// ErrTruncated: the connection ended without the peer's end record, so
	// records may have been cut off. See [TruncatedError].
	ErrTruncated error = wire.Violation("conversation cut short: the connection ended without the peer's end record")
	// ErrAfterEnd: a record arrived after the peer's end record.
	ErrAfterEnd error = wire.Violation("record after the peer's end record")
	// ErrBadEnd: an end record that authenticates but carries data.
	ErrBadEnd error = wire.Violation("end record carries data")
	// ErrTooLarge is returned by Seal for a plaintext over MaxPlaintext.
	ErrTooLarge = errors.New("plaintext too large for one record")
	// ErrPlaintextTooLarge: a record opened to more than MaxPlaintext
	// bytes. The side closes with 1009.
	ErrPlaintextTooLarge error = &wire.CodedError{Msg: "record plaintext over the 32 KiB limit", Code: websocket.StatusMessageTooBig}
	// ErrEnded is returned by Send after this side's end record.
	ErrEnded = errors.New("this side has already ended the conversation")
)

// TruncatedError reports a connection that ended without the peer's end
// record: Cause is how it ended (the peer's close frame, or a dropped
// connection). It matches [ErrTruncated] and Cause with [errors.Is].
type TruncatedError struct {
	Cause error
}

func (e *TruncatedError) Error() string {
	var ce *wire.CloseError
	if errors.As(e.Cause, &ce) {
		how := fmt.Sprintf("%d %s", int(ce.Code), wire.CodeName(ce.Code))
		if ce.Reason != "" {
			how += " (" + ce.Reason + ")"
		}
		return fmt.Sprintf("%v: closed with %s", ErrTruncated, how)
	}
	return fmt.Sprintf("%v: %v", ErrTruncated, e.Cause)
}

// Unwrap returns ErrTruncated and the cause.
func (e *TruncatedError) Unwrap() []error { return []error{ErrTruncated, e.Cause} }

// Side says which end of a connection a [Channel] is.
type Side int

// The two ends.
const (
	Client Side = iota
	Server
)

// Options configures a [Channel]. A nil *Options means the defaults.
type Options struct {
	// NoEnd makes the channel neither send nor require end records: a
	// close frame with 1000 or 1001 counts as a clean end.
	//
	// INSECURE(truncation): without an authenticated end, anyone on the
	// path can drop the last records and forge an ordinary close.
	NoEnd bool
}

// Channel is an established, encrypted connection: a [wire.Conn] with a
// Sealer for the direction this side sends and an Opener for the other.
// Send and End may be called from several goroutines; Receive from one.
type Channel struct {
	conn  *wire.Conn
	noEnd bool

	smu     sync.Mutex
	seal    *Sealer
	sentEnd bool
	out     wire.Data // the record being sent; its CT's storage is reused
	frame   []byte    // the encoded record being sent, reused likewise

	open   *Opener
	gotEnd atomic.Bool // the peer's end record has arrived
}

// New returns the Channel for side over conn, with the traffic keys s.
func New(conn *wire.Conn, s *Secrets, side Side, opts *Options) (*Channel, error) {
	out := wire.ClientToServer
	if side == Server {
		out = wire.ServerToClient
	}
	seal, err := NewSealer(s, out)
	if err != nil {
		return nil, err
	}
	open, err := NewOpener(s, out.Reverse())
	if err != nil {
		return nil, err
	}
	c := &Channel{conn: conn, seal: seal, open: open}
	if opts != nil {
		c.noEnd = opts.NoEnd
	}
	return c, nil
}

// Conn returns the underlying connection.
func (c *Channel) Conn() *wire.Conn { return c.conn }

// Send seals plaintext into the next record and writes it. It returns the
// record's sequence number.
func (c *Channel) Send(ctx context.Context, plaintext []byte) (uint64, error) {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.sentEnd {
		return 0, ErrEnded
	}
	// The record and its encoding go into buffers the channel keeps, so a
	// message costs no allocation here: a Tap copies what it keeps, and
	// the connection has written the frame by the time Write returns.
	if err := c.seal.sealInto(&c.out, plaintext); err != nil {
		return 0, err
	}
	frame, err := wire.AppendEncode(c.frame[:0], &c.out)
	if err != nil {
		return 0, err
	}
	if cap(frame) <= keepSendBuffer {
		c.frame = frame
	} else {
		c.frame, c.out.CT = nil, nil
	}
	if err := c.conn.Write(ctx, frame); err != nil {
		return 0, c.lost(err)
	}
	return c.out.Seq, nil
}

// keepSendBuffer is the largest encoded record whose buffers a Channel
// keeps for the next Send: a chat message's, not a 32 KiB one's.
const keepSendBuffer = 4 << 10

// lost turns a failed write into what it means for the conversation: a
// connection that went away before the peer's end record cut it short.
func (c *Channel) lost(err error) error {
	if errors.Is(err, wire.ErrPeerClosed) && !c.gotEnd.Load() && !c.noEnd {
		return &TruncatedError{Cause: err}
	}
	return err
}

// End seals and sends this side's end record, once: after it, this side
// sends no more records. With Options.NoEnd it does nothing.
func (c *Channel) End(ctx context.Context) error {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.sentEnd || c.noEnd {
		c.sentEnd = true
		return nil
	}
	e, err := c.seal.SealEnd()
	if err != nil {
		return err
	}
	c.sentEnd = true
	if _, err := c.conn.WriteMessage(ctx, e); err != nil {
		return c.lost(err)
	}
	return nil
}

// Ended reports whether this side has sent its end record.
func (c *Channel) Ended() bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.sentEnd
}

// Receive reads the next record and returns its plaintext and sequence
// number. Once the peer's valid end record has arrived it returns io.EOF,
// and io.EOF again when the connection then closes. A connection that
// ends before the peer's end record is a [*TruncatedError], unless the
// peer closed with a refusal ([wire.Refusal]: 1002, 1003, 1007, 1008,
// 1009 or their application-range twins): then it is the peer's
// [*wire.CloseError]. Any other error
// is fatal for the channel; the caller should pass it to [wire.Conn.Fail].
func (c *Channel) Receive(ctx context.Context) ([]byte, uint64, error) {
	m, err := c.conn.ReadMessage(ctx)
	if err != nil {
		return nil, 0, c.ending(err) // a decoding error passes unchanged
	}
	switch r := m.(type) {
	case *wire.Data:
		if c.gotEnd.Load() {
			return nil, 0, fmt.Errorf("channel: %w: data seq %d", ErrAfterEnd, r.Seq)
		}
		// r is this call's own: its plaintext can take the place of its
		// ciphertext.
		pt, err := c.open.openInPlace(r)
		if err != nil {
			return nil, 0, err
		}
		return pt, r.Seq, nil
	case *wire.End:
		if c.gotEnd.Load() {
			return nil, 0, fmt.Errorf("channel: %w: a second end record", ErrAfterEnd)
		}
		if err := c.open.OpenEnd(r); err != nil {
			return nil, 0, err
		}
		c.gotEnd.Store(true)
		return nil, r.Seq, io.EOF
	}
	return nil, 0, fmt.Errorf("wire: %w: got %s after the handshake, want data or end", wire.ErrUnexpectedMessage, m.MessageType())
}

// ending turns a read error into the end of the peer's stream, or the
// reason the stream is cut short.
func (c *Channel) ending(err error) error {
	if !errors.Is(err, wire.ErrPeerClosed) {
		return err // our own context, a watchdog, a decoding error
	}
	if c.gotEnd.Load() {
		return io.EOF
	}
	var ce *wire.CloseError
	switch {
	case c.noEnd && errors.As(err, &ce) && ce.Normal():
		// INSECURE(truncation): an ordinary close frame is taken at its word.
		c.gotEnd.Store(true)
		return io.EOF
	case errors.As(err, &ce) && wire.Refusal(ce.Code):
		return err // the peer refused to go on, and said why
	}
	return &TruncatedError{Cause: err}
}

// EndsWithRecords reports whether the channel sends and requires end
// records (false only with the insecure Options.NoEnd).
func (c *Channel) EndsWithRecords() bool { return !c.noEnd }

// PeerEnded reports whether the peer's end record has arrived.
func (c *Channel) PeerEnded() bool { return c.gotEnd.Load() }
