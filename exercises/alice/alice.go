// Package alice is a small chat client for the course's record-layer
// exercises. It runs pinned-ecdh's handshake with the lab's own client
// half, so Mallory cannot get in there, then a record layer of its own,
// written out in short pieces so that an exercise can hand one to the
// student: the nonce of each record it seals ([Pieces.Nonce]), the check
// and opening of each record it receives ([Pieces.Open]), and the end of
// the conversation ([Pieces.Finish]). A piece left nil is the reference
// one, which follows docs/protocol.md's record layer exactly, as package
// channel does.
//
// The record layer is a second implementation on purpose: the lab's own
// (package channel) cannot be taken apart, and a student learns the record
// layer by writing one of its pieces.
package alice

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/exercises/mallory"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// Pieces are the parts of the record layer an exercise replaces.
type Pieces struct {
	// Nonce returns the AES-GCM nonce of the client's record with
	// sequence number seq, for the direction's IV.
	Nonce func(iv [channel.IVSize]byte, seq uint64) [channel.IVSize]byte
	// Open checks and opens the server's next record, data or end.
	Open func(o *Opener, r Record) ([]byte, error)
	// Finish ends the conversation after the last reply.
	Finish func(ctx context.Context, c *Chat) error
}

// Record is one record from the server, as it arrived.
type Record struct {
	Type wire.Type // wire.TypeData, or wire.TypeEnd for the server's end record
	Seq  uint64    // the sequence number the record carries
	CT   []byte    // ciphertext and tag
}

// Opener opens the server's records.
type Opener struct {
	// Next is the sequence number the server's next record must carry:
	// 0 for the first, one more after each record that opened.
	Next uint64

	aead cipher.AEAD
	iv   [channel.IVSize]byte
}

// Decrypt authenticates and decrypts r as the server's record with
// sequence number r.Seq: the nonce is the IV XOR r.Seq, and the additional
// data binds the type, the direction and r.Seq. It neither checks nor
// moves Next.
func (o *Opener) Decrypt(r Record) ([]byte, error) {
	n := nonce(o.iv, r.Seq)
	pt, err := o.aead.Open(nil, n[:], r.CT, channel.AdditionalData(r.Type, wire.ServerToClient, r.Seq))
	if err != nil {
		return nil, fmt.Errorf("%w: seq %d", channel.ErrDecrypt, r.Seq)
	}
	return pt, nil
}

// Chat is an established conversation with the server.
type Chat struct {
	conn    *wire.Conn
	timeout time.Duration
	pieces  Pieces

	seal     cipher.AEAD
	sealIV   [channel.IVSize]byte
	sendSeq  uint64
	open     *Opener
	peerEnd  bool
	received [][]byte
}

// Send seals msg into the next data record and sends it.
func (c *Chat) Send(ctx context.Context, msg []byte) error {
	return c.send(ctx, wire.TypeData, msg)
}

// SendEnd seals and sends the client's end record, at its next sequence
// number: after it, the client sends no more records.
func (c *Chat) SendEnd(ctx context.Context) error {
	return c.send(ctx, wire.TypeEnd, nil)
}

func (c *Chat) send(ctx context.Context, typ wire.Type, pt []byte) error {
	seq := c.sendSeq
	c.sendSeq++
	n := c.pieces.Nonce(c.sealIV, seq)
	ct := c.seal.Seal(nil, n[:], pt, channel.AdditionalData(typ, wire.ClientToServer, seq))
	var m wire.Message = &wire.Data{Seq: seq, CT: ct}
	if typ == wire.TypeEnd {
		m = &wire.End{Seq: seq, CT: ct}
	}
	_, err := c.conn.WriteMessage(ctx, m)
	return err
}

// Receive returns the server's next message. It returns io.EOF once the
// server's end record has arrived, the refusal if the server (or whoever
// answers for it) refused, and an error that wraps [channel.ErrTruncated]
// if the connection ended without the server's end record.
func (c *Chat) Receive(ctx context.Context) ([]byte, error) {
	if c.peerEnd {
		return nil, io.EOF
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	raw, err := c.conn.Read(rctx)
	var ce *wire.CloseError
	switch {
	case errors.As(err, &ce) && wire.Refusal(ce.Code):
		return nil, err
	case errors.Is(err, wire.ErrPeerClosed):
		return nil, fmt.Errorf("%w (%w)", channel.ErrTruncated, err)
	case err != nil:
		return nil, err
	}
	m, err := c.conn.Codec().Decode(raw)
	if err != nil {
		return nil, err
	}
	var r Record
	switch m := m.(type) {
	case *wire.Data:
		r = Record{Type: wire.TypeData, Seq: m.Seq, CT: m.CT}
	case *wire.End:
		r = Record{Type: wire.TypeEnd, Seq: m.Seq, CT: m.CT}
	default:
		return nil, fmt.Errorf("%w: got %s after the handshake", wire.ErrUnexpectedMessage, m.MessageType())
	}
	pt, err := c.pieces.Open(c.open, r)
	if err != nil {
		return nil, refused(err)
	}
	if r.Type == wire.TypeEnd {
		if len(pt) != 0 {
			return nil, channel.ErrBadEnd
		}
		c.peerEnd = true
		return nil, io.EOF
	}
	c.received = append(c.received, pt)
	return pt, nil
}

// Close closes the connection with 1000, "bye".
func (c *Chat) Close() error {
	return c.conn.Close(websocket.StatusNormalClosure, "bye")
}

// refused makes an error from a student's Open a refusal: whatever they
// returned, the record was refused, and the connection closes with 1008.
func refused(err error) error {
	if wire.CloseCode(err) != websocket.StatusInternalError {
		return err
	}
	return &refusal{err}
}

type refusal struct{ err error }

func (r *refusal) Error() string                   { return r.err.Error() }
func (r *refusal) Unwrap() error                   { return r.err }
func (r *refusal) CloseCode() websocket.StatusCode { return websocket.StatusPolicyViolation }

// Client returns the client with pieces in place, for mallory.Check. It
// speaks pinned-ecdh with the pin it is given.
func Client(pieces Pieces) mallory.Client {
	if pieces.Nonce == nil {
		pieces.Nonce = nonce
	}
	if pieces.Open == nil {
		pieces.Open = open
	}
	if pieces.Finish == nil {
		pieces.Finish = finish
	}
	return func(ctx context.Context, conn mallory.Conn) mallory.Chat {
		var out mallory.Chat
		c, err := dial(ctx, conn, pieces)
		if err != nil {
			out.Err = err
			return out
		}
		out.Err = c.chat(ctx, conn.Messages, &out)
		if out.Err != nil {
			c.conn.Fail(out.Err)
		}
		out.Received = c.received
		return out
	}
}

// chat sends each message and waits for its reply, then finishes.
func (c *Chat) chat(ctx context.Context, messages []string, out *mallory.Chat) error {
	for _, m := range messages {
		if err := c.Send(ctx, []byte(m)); err != nil {
			return err
		}
		out.Sent = append(out.Sent, []byte(m))
		if _, err := c.Receive(ctx); err != nil {
			if errors.Is(err, io.EOF) {
				break // the server ended the conversation first
			}
			return err
		}
	}
	return c.pieces.Finish(ctx, c)
}

// dial connects, runs the lab's pinned-ecdh client half and sets up the
// record layer.
func dial(ctx context.Context, conn mallory.Conn, pieces Pieces) (*Chat, error) {
	dctx, cancel := context.WithTimeout(ctx, conn.Timeout)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, conn.URL, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol(conn.Scheme.Name)}})
	if err != nil {
		return nil, err
	}
	wc := wire.NewConn(ws, conn.Scheme.Codec())
	dog := wc.Watch(conn.Timeout, wire.ErrHandshakeTimeout)
	secrets, err := conn.Scheme.Client(ctx, wc, &kex.ClientConfig{Pin: conn.Pin})
	dog.Stop()
	if err != nil {
		wc.CloseNow()
		return nil, err
	}
	c := &Chat{conn: wc, timeout: conn.Timeout, pieces: pieces, sealIV: secrets.ClientToServer.IV, open: &Opener{iv: secrets.ServerToClient.IV}}
	if c.seal, err = gcm(secrets.ClientToServer.Key); err != nil {
		return nil, wc.Fail(err)
	}
	if c.open.aead, err = gcm(secrets.ServerToClient.Key); err != nil {
		return nil, wc.Fail(err)
	}
	return c, nil
}

func gcm(key [channel.KeySize]byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// nonce is the reference Nonce: the IV XOR the sequence number, as 8
// big-endian bytes in the IV's last 8 (RFC 8446 §5.3).
func nonce(iv [channel.IVSize]byte, seq uint64) [channel.IVSize]byte {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		iv[channel.IVSize-8+i] ^= s[i]
	}
	return iv
}

// open is the reference Open: only the next sequence number opens.
func open(o *Opener, r Record) ([]byte, error) {
	switch {
	case r.Seq < o.Next:
		return nil, fmt.Errorf("%w: got seq %d, want %d", channel.ErrReplay, r.Seq, o.Next)
	case r.Seq > o.Next:
		return nil, fmt.Errorf("%w: got seq %d, want %d", channel.ErrOutOfOrder, r.Seq, o.Next)
	}
	pt, err := o.Decrypt(r)
	if err != nil {
		return nil, err
	}
	o.Next++
	return pt, nil
}

// finish is the reference Finish: send the end record, read until the
// server's, then close.
func finish(ctx context.Context, c *Chat) error {
	if err := c.SendEnd(ctx); err != nil {
		return err
	}
	for {
		if _, err := c.Receive(ctx); err != nil {
			if errors.Is(err, io.EOF) {
				return c.Close()
			}
			return err
		}
	}
}
