package attacker

import (
	"fmt"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// relay decides what happens to each frame that reaches the node once its
// attack's handshake phase is over. Each direction calls pass from one
// goroutine.
type relay interface {
	pass(dir wire.Direction, in parsed) frame
}

// parsed is one message as it crossed a leg, decoded once for both the
// relay and the ledger.
type parsed struct {
	raw []byte
	msg wire.Message // nil if raw does not decode
	err error        // why it does not
	typ string       // the message type, or "invalid"
	seq *uint64      // records: the sequence number
}

func (s *session) parse(raw []byte) parsed { return parseWith(s.codec, raw) }

func parseWith(codec *wire.Codec, raw []byte) parsed {
	p := parsed{raw: raw}
	p.msg, p.err = codec.Decode(raw)
	switch {
	case p.msg != nil:
		p.typ = string(p.msg.MessageType())
	case wire.PeekType(raw) != "":
		p.typ = string(wire.PeekType(raw))
	default:
		p.typ = "invalid"
	}
	switch m := p.msg.(type) {
	case *wire.Data:
		seq := m.Seq
		p.seq = &seq
	case *wire.End:
		seq := m.Seq
		p.seq = &seq
	}
	return p
}

// frame is what the node did with one frame: its verdict on the leg it came
// in on, what it sent on (usually) the other leg, and whether it ends the
// session there.
type frame struct {
	in          trace.Verdict
	inRecovered []byte
	inNote      string
	outs        []out
	cut         *cut
}

// out is one frame the node sends.
type out struct {
	p         parsed
	v         trace.Verdict
	recovered []byte
	note      string
	back      bool // send it back on the leg it came from
}

// cut ends a session with a close of the node's own to each victim, or,
// with drop, by dropping both connections without a word.
type cut struct {
	toA, toB closeFrame
	drop     bool
}

type closeFrame struct {
	code   websocket.StatusCode
	reason string
}

// forward passes in on unchanged with the same verdict on both legs.
func forward(in parsed, v trace.Verdict, recovered []byte, note string) frame {
	return frame{in: v, inRecovered: recovered, inNote: note, outs: []out{{p: in, v: v, recovered: recovered, note: note}}}
}

// passiveRelay holds no keys: the handshake is public and records are
// opaque, unless the scheme's records need no key (the null suite), in
// which case anyone on the path reads them.
type passiveRelay struct{ keyless bool }

func (r passiveRelay) pass(_ wire.Direction, in parsed) frame {
	switch m := in.msg.(type) {
	case *wire.Data:
		if r.keyless {
			return forward(in, trace.Read, nonNil(m.CT), "records carry their plaintext: nothing in the WebSocket protects them")
		}
		return forward(in, trace.Opaque, nil, "no key for this record")
	case *wire.End:
		if r.keyless {
			return forward(in, trace.Public, nil, "an end record with no key behind it")
		}
		return forward(in, trace.Opaque, nil, "an end record; no key for it")
	case nil:
		return forward(in, trace.Public, nil, "not a valid lab message: "+in.err.Error())
	}
	return forward(in, trace.Public, nil, "")
}

// readRelay holds the victims' own session keys (swap-rsa-key): it opens
// each record for itself and forwards the original bytes untouched.
type readRelay struct {
	open    map[wire.Direction]*channel.Opener
	secrets *channel.Secrets // the victims' own, for Intercept's edits
}

func newReadRelay(s *channel.Secrets) (*readRelay, error) {
	r := &readRelay{open: make(map[wire.Direction]*channel.Opener), secrets: s}
	for _, d := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
		o, err := channel.NewOpener(s, d)
		if err != nil {
			return nil, err
		}
		r.open[d] = o
	}
	return r, nil
}

func (r *readRelay) pass(dir wire.Direction, in parsed) frame {
	switch m := in.msg.(type) {
	case *wire.Data:
		pt, err := r.open[dir].Open(m)
		if err != nil {
			return forward(in, trace.Opaque, nil, err.Error())
		}
		return forward(in, trace.Read, pt, "decrypted with the session key the attacker holds")
	case *wire.End:
		if err := r.open[dir].OpenEnd(m); err != nil {
			return forward(in, trace.Opaque, nil, err.Error())
		}
		return forward(in, trace.Read, []byte{}, "the sender's end record, opened with the session key the attacker holds; it carries nothing")
	}
	return passiveRelay{}.pass(dir, in)
}

// reencryptRelay holds one set of keys per leg (double-ecdh, impersonate,
// substitute-shares, strip-offer): it opens each record with the sender's
// leg keys and seals it again for the receiver's leg.
type reencryptRelay struct {
	open map[wire.Direction]*channel.Opener // keys shared with the sender
	seal map[wire.Direction]*channel.Sealer // keys shared with the receiver
}

// newReencryptRelay takes the secrets of leg A (with the client) and leg B
// (with the server).
func newReencryptRelay(a, b *channel.Secrets) (*reencryptRelay, error) {
	r := &reencryptRelay{
		open: make(map[wire.Direction]*channel.Opener),
		seal: make(map[wire.Direction]*channel.Sealer),
	}
	var err error
	// Client to server: opened with leg A's keys, sealed with leg B's.
	if r.open[wire.ClientToServer], err = channel.NewOpener(a, wire.ClientToServer); err != nil {
		return nil, err
	}
	if r.seal[wire.ClientToServer], err = channel.NewSealer(b, wire.ClientToServer); err != nil {
		return nil, err
	}
	// Server to client: opened with leg B's keys, sealed with leg A's.
	if r.open[wire.ServerToClient], err = channel.NewOpener(b, wire.ServerToClient); err != nil {
		return nil, err
	}
	if r.seal[wire.ServerToClient], err = channel.NewSealer(a, wire.ServerToClient); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *reencryptRelay) pass(dir wire.Direction, in parsed) frame {
	var (
		pt  []byte
		msg wire.Message
		err error
	)
	switch m := in.msg.(type) {
	case *wire.Data:
		if pt, err = r.open[dir].Open(m); err == nil {
			msg, err = r.seal[dir].Seal(pt)
		}
	case *wire.End:
		if err = r.open[dir].OpenEnd(m); err == nil {
			pt = []byte{}
			msg, err = r.seal[dir].SealEnd()
		}
	default:
		if in.typ == string(wire.TypeData) || in.typ == string(wire.TypeEnd) {
			return frame{in: trace.Opaque, inNote: in.err.Error() + "; dropped: the attacker cannot re-encrypt what does not decode"}
		}
		return passiveRelay{}.pass(dir, in)
	}
	if pt == nil {
		return frame{in: trace.Opaque, inNote: err.Error() + "; dropped: the attacker could not open it"}
	}
	if err != nil {
		return frame{in: trace.Read, inRecovered: pt, inNote: fmt.Sprintf("decrypted; dropped: %v", err)}
	}
	raw, err := wire.Encode(msg)
	if err != nil {
		return frame{in: trace.Read, inRecovered: pt, inNote: fmt.Sprintf("decrypted; dropped: %v", err)}
	}
	inNote := "decrypted with the key the attacker shares with the sender"
	outNote := "re-encrypted with the key the attacker shares with the receiver"
	if in.msg.MessageType() == wire.TypeEnd {
		inNote = "the sender's end record, opened with the key the attacker shares with the sender"
		outNote = "an end record the attacker sealed himself, with the key he shares with the receiver"
	}
	return frame{
		in: trace.Read, inRecovered: pt, inNote: inNote,
		outs: []out{{p: parseWith(wire.Records(), raw), v: trace.Forged, recovered: pt, note: outNote}},
	}
}

// nonNil returns b, or an empty slice for nil: an empty message is not
// "nothing".
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
