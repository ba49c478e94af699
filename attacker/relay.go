package attacker

import (
	"fmt"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// relay decides what happens to each frame after the handshake.
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
	seq *uint64      // data frames: the record sequence number
}

func parse(raw []byte) parsed {
	p := parsed{raw: raw}
	p.msg, p.err = wire.Decode(raw)
	switch {
	case p.msg != nil:
		p.typ = string(p.msg.MessageType())
	case wire.PeekType(raw) != "":
		p.typ = string(wire.PeekType(raw))
	default:
		p.typ = "invalid"
	}
	if d, ok := p.msg.(*wire.Data); ok {
		seq := d.Seq
		p.seq = &seq
	}
	return p
}

// data returns the frame as a data record, if it is a valid one.
func (p parsed) data() (*wire.Data, bool) {
	d, ok := p.msg.(*wire.Data)
	return d, ok
}

// frame is what the node did with one frame: its verdict on the leg it came
// in on, and what it sent on the other leg (out.raw nil: nothing).
type frame struct {
	in          trace.Verdict
	inRecovered []byte
	inNote      string

	out          parsed
	outVerdict   trace.Verdict
	outRecovered []byte
	outNote      string
}

// forward passes in on unchanged with the same verdict on both legs.
func forward(in parsed, v trace.Verdict, recovered []byte, note string) frame {
	return frame{in: v, inRecovered: recovered, inNote: note, out: in, outVerdict: v, outRecovered: recovered, outNote: note}
}

// opaqueRelay holds no keys: the handshake is public and data is opaque.
type opaqueRelay struct{}

func (opaqueRelay) pass(_ wire.Direction, in parsed) frame {
	switch {
	case in.typ == string(wire.TypeData):
		return forward(in, trace.Opaque, nil, "no key for this frame")
	case in.msg == nil:
		return forward(in, trace.Public, nil, "not a lab message")
	}
	return forward(in, trace.Public, nil, "")
}

// readRelay holds the victims' own session keys (swap-rsa-key): it opens
// each data frame for itself and forwards the original bytes untouched.
type readRelay struct {
	open map[wire.Direction]*channel.Opener
}

func newReadRelay(s *channel.Secrets) (*readRelay, error) {
	r := &readRelay{open: make(map[wire.Direction]*channel.Opener)}
	for _, d := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
		o, err := channel.NewOpener(s.For(d), d)
		if err != nil {
			return nil, err
		}
		r.open[d] = o
	}
	return r, nil
}

func (r *readRelay) pass(dir wire.Direction, in parsed) frame {
	d, ok := in.data()
	if !ok {
		return opaqueRelay{}.pass(dir, in)
	}
	pt, err := r.open[dir].Open(d)
	if err != nil {
		return forward(in, trace.Opaque, nil, err.Error())
	}
	return forward(in, trace.Read, pt, "decrypted with the session key the attacker holds")
}

// reencryptRelay holds one set of keys per leg (double-ecdh, impersonate,
// substitute-shares): it opens each frame with the sender's leg keys and
// seals it again for the receiver's leg.
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
	if r.open[wire.ClientToServer], err = channel.NewOpener(a.ClientToServer, wire.ClientToServer); err != nil {
		return nil, err
	}
	if r.seal[wire.ClientToServer], err = channel.NewSealer(b.ClientToServer, wire.ClientToServer); err != nil {
		return nil, err
	}
	// Server to client: opened with leg B's keys, sealed with leg A's.
	if r.open[wire.ServerToClient], err = channel.NewOpener(b.ServerToClient, wire.ServerToClient); err != nil {
		return nil, err
	}
	if r.seal[wire.ServerToClient], err = channel.NewSealer(a.ServerToClient, wire.ServerToClient); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *reencryptRelay) pass(dir wire.Direction, in parsed) frame {
	d, ok := in.data()
	if !ok && in.typ == string(wire.TypeData) {
		return frame{in: trace.Opaque, inNote: in.err.Error(), outNote: "dropped: undecodable"}
	}
	if !ok {
		return opaqueRelay{}.pass(dir, in)
	}
	pt, err := r.open[dir].Open(d)
	if err != nil {
		return frame{in: trace.Opaque, inNote: err.Error(), outNote: "dropped: the attacker could not open it"}
	}
	nd, err := r.seal[dir].Seal(pt)
	if err != nil {
		return frame{in: trace.Read, inRecovered: pt, outNote: fmt.Sprintf("dropped: %v", err)}
	}
	out, err := wire.Encode(nd)
	if err != nil {
		return frame{in: trace.Read, inRecovered: pt, outNote: fmt.Sprintf("dropped: %v", err)}
	}
	return frame{
		in: trace.Read, inRecovered: pt, inNote: "decrypted with the key the attacker shares with the sender",
		out: parsed{raw: out, msg: nd, typ: string(wire.TypeData), seq: &nd.Seq}, outVerdict: trace.Forged, outRecovered: pt, outNote: "re-encrypted with the key the attacker shares with the receiver",
	}
}
