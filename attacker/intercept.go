package attacker

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// Intercept returns inner with a person's hand on every record: Burp's
// intercept, for this lab. inner runs the handshake as it always does;
// after it, each data and end record that reaches Mallory is held in
// flight, and decide says what becomes of it before anything is sent on.
//
// What decide may ask for depends on what inner holds ([Held.Allows]):
//
//   - with the record's keys (double-ecdh, impersonate, swap-rsa-key, the
//     null suite) Mallory reads the record, so he can send it on, seal
//     other plaintext in its place ([Edit]; the receiver accepts it and
//     the frame is FORGED), withhold it or replay an earlier one;
//   - without them (passive, truncate) he can send it on, flip a bit of
//     its ciphertext ([Flip]; TAMPERED), withhold it (DROPPED) or replay
//     an earlier record (REPLAYED), and the receiver's record layer
//     refuses what it must.
//
// Handshake messages and closes pass as inner passes them. An attack that
// only copies bytes over TLS (passive over wss://) never sees a record, so
// nothing is held.
//
// The victims keep their timeouts while a record is held: a person who
// holds one for longer than their idle timeout ends the conversation.
// scenarios.Options.IdleTimeout and Timeout lengthen them for an
// interactive run.
func Intercept(inner *Attack, decide Decide) *Attack {
	a := *inner
	a.Name = inner.Name + InterceptSuffix
	a.Summary = inner.Summary + "; every record held for a decision before it goes on"
	a.run = func(ctx context.Context, s *session) (relay, error) {
		r, err := inner.run(ctx, s)
		if err != nil {
			return nil, err
		}
		return newInterceptRelay(s, r, decide), nil
	}
	return &a
}

// InterceptSuffix ends the name of an [Intercept] attack: the inner
// attack's name, then this.
const InterceptSuffix = "+intercept"

// Decide judges one held record and says what Mallory does with it. It is
// called from the relay of the record's direction, for one held record of
// a connection at a time, and holds that direction until it returns. ctx
// ends when the node closes; a Decide that waits for a person must return
// then (its answer is carried out on legs that are closing).
type Decide func(ctx context.Context, h Held) Action

// Held is one record Mallory holds in flight.
type Held struct {
	Conn int    // the connection, from 1
	Name string // the client's ?name=, in a classroom
	// Leg is the leg it came in on and Dir its direction: from Alice on
	// leg A, from Bob on leg B.
	Leg trace.Leg
	Dir wire.Direction
	// Type is wire.TypeData or wire.TypeEnd, and Seq its sequence number.
	Type wire.Type
	Seq  uint64
	// Raw is the record as it came in.
	Raw []byte
	// Keys says Mallory holds the record's keys: Plaintext is what he read
	// (empty for an end record), and he can seal other plaintext in its
	// place.
	Keys      bool
	Plaintext []byte
	// Earlier counts the data records Mallory has already sent on in this
	// direction on this connection: Replay(0) to Replay(Earlier-1) send one
	// again.
	Earlier int
}

// Allows reports whether Mallory can do v with this record: Edit needs
// the keys and a data record, Flip a record he has no keys for, Replay an
// earlier record; Forward and Withhold are always possible.
func (h Held) Allows(v Verb) bool {
	switch v {
	case VerbForward, VerbWithhold:
		return true
	case VerbEdit:
		return h.Keys && h.Type == wire.TypeData
	case VerbFlip:
		return !h.Keys
	case VerbReplay:
		return h.Earlier > 0
	}
	return false
}

// Verb is what Mallory does with a held record.
type Verb string

// The verbs.
const (
	VerbForward  Verb = "forward"  // send it on as the attack would
	VerbEdit     Verb = "edit"     // seal Action.Plaintext in its place (needs the keys)
	VerbFlip     Verb = "flip"     // flip bit Action.Bit of its ciphertext (without the keys)
	VerbWithhold Verb = "withhold" // send nothing on
	VerbReplay   Verb = "replay"   // send earlier record Action.Record in its place
)

// Action is a decision on a held record.
type Action struct {
	Verb      Verb
	Plaintext []byte // VerbEdit: what to seal in the record's place
	Bit       int    // VerbFlip: which bit of the ct, from 0, modulo its length
	Record    int    // VerbReplay: which earlier record, from 0
}

// Forward sends the held record on as the attack would.
func Forward() Action { return Action{Verb: VerbForward} }

// EditTo seals plaintext in the held record's place.
func EditTo(plaintext []byte) Action { return Action{Verb: VerbEdit, Plaintext: plaintext} }

// FlipBit flips one bit of the held record's ciphertext.
func FlipBit(bit int) Action { return Action{Verb: VerbFlip, Bit: bit} }

// Withhold sends nothing on.
func Withhold() Action { return Action{Verb: VerbWithhold} }

// ReplayRecord sends earlier data record i (from 0) of the same direction
// again, in the held record's place.
func ReplayRecord(i int) Action { return Action{Verb: VerbReplay, Record: i} }

// interceptRelay holds each record for decide. It wraps the relay its
// inner attack returned: that relay passes everything else, and the
// records when decide says forward and Mallory holds no keys.
type interceptRelay struct {
	s      *session
	inner  relay
	keys   recordKeys // nil if inner holds no keys for the records
	decide Decide

	hold sync.Mutex // one held record per connection at a time

	mu   sync.Mutex
	sent map[wire.Direction][]parsed // data records sent on, for replays
}

func newInterceptRelay(s *session, inner relay, decide Decide) *interceptRelay {
	r := &interceptRelay{s: s, inner: inner, decide: decide, sent: make(map[wire.Direction][]parsed)}
	switch k := inner.(type) {
	case *reencryptRelay:
		r.keys = reencryptKeys{k}
	case *readRelay:
		r.keys = readKeys{k}
	case passiveRelay:
		if k.keyless {
			r.keys = nullKeys{}
		}
	}
	return r
}

// recordKeys is what a relay with keys lets Intercept do: open a record
// on its way in, and send one on.
type recordKeys interface {
	// open opens a record that came in, as the relay would.
	open(dir wire.Direction, in parsed) ([]byte, error)
	// forward sends the opened record on as the relay would.
	forward(dir wire.Direction, in parsed, pt []byte) (out, error)
	// seal seals pt as a data record at in's position, for the receiver
	// (for an end record, the receiver's end record).
	seal(dir wire.Direction, in parsed, pt []byte) (parsed, error)
}

func (r *interceptRelay) pass(dir wire.Direction, in parsed) frame {
	if in.msg == nil || (in.typ != string(wire.TypeData) && in.typ != string(wire.TypeEnd)) {
		return r.inner.pass(dir, in)
	}
	r.hold.Lock()
	defer r.hold.Unlock()
	var f frame
	if r.keys != nil {
		f = r.passKeyed(dir, in)
	} else {
		f = r.passKeyless(dir, in)
	}
	r.keep(dir, f)
	return f
}

// held describes in for decide.
func (r *interceptRelay) held(dir wire.Direction, in parsed) Held {
	r.mu.Lock()
	earlier := len(r.sent[dir])
	r.mu.Unlock()
	leg := trace.LegA
	if dir == wire.ServerToClient {
		leg = trace.LegB
	}
	return Held{
		Conn: r.s.id, Name: r.s.name, Leg: leg, Dir: dir,
		Type: wire.Type(in.typ), Seq: *in.seq, Raw: in.raw, Earlier: earlier,
	}
}

// ask asks decide, and turns what it may not do into a forward.
func (r *interceptRelay) ask(h Held) (Action, string) {
	a := r.decide(r.s.n.ctx, h)
	if h.Allows(a.Verb) && (a.Verb != VerbReplay || (a.Record >= 0 && a.Record < h.Earlier)) {
		return a, ""
	}
	why := fmt.Sprintf("asked to %s, which is not possible here", a.Verb)
	switch {
	case a.Verb == VerbEdit && !h.Keys:
		why = "asked to edit, but Mallory holds no key to seal a record with"
	case a.Verb == VerbEdit:
		why = "asked to edit an end record, which carries nothing"
	case a.Verb == VerbFlip:
		why = "asked to flip a bit, but Mallory holds the keys: he edits instead"
	case a.Verb == VerbReplay:
		why = fmt.Sprintf("asked to replay record %d, but there are %d earlier records", a.Record, h.Earlier)
	}
	return Forward(), why + "; sent on unchanged"
}

// passKeyless holds a record Mallory cannot open.
func (r *interceptRelay) passKeyless(dir wire.Direction, in parsed) frame {
	a, refused := r.ask(r.held(dir, in))
	base := passiveRelay{keyless: r.s.keyless}.pass(dir, in) // what he sees of it
	switch a.Verb {
	case VerbFlip:
		p, bit, err := r.flip(in, a.Bit)
		if err != nil {
			refused = "asked to flip a bit: " + err.Error() + "; sent on unchanged"
			break
		}
		note := fmt.Sprintf("held, and bit %d of its ct flipped by hand, without the key", bit)
		return frame{in: base.in, inRecovered: base.inRecovered, inNote: base.inNote,
			outs: []out{{p: p, v: trace.Tampered, note: note}}}
	case VerbWithhold:
		return frame{in: trace.Dropped, inNote: "held, and withheld by hand: it never goes on"}
	case VerbReplay:
		return frame{in: trace.Dropped, inNote: "held, and withheld by hand: an earlier record goes in its place",
			outs: []out{r.replay(dir, a.Record)}}
	}
	f := r.inner.pass(dir, in)
	if refused != "" {
		f.inNote = join(f.inNote, refused)
	}
	return f
}

// passKeyed holds a record Mallory opens.
func (r *interceptRelay) passKeyed(dir wire.Direction, in parsed) frame {
	pt, err := r.keys.open(dir, in)
	if err != nil {
		// It does not open: the relay says so, as it would have.
		return r.inner.pass(dir, in)
	}
	h := r.held(dir, in)
	h.Keys, h.Plaintext = true, pt
	a, refused := r.ask(h)
	f := frame{in: trace.Read, inRecovered: pt, inNote: "decrypted with the key the attacker holds, and held"}
	if in.typ == string(wire.TypeEnd) {
		f.inNote = "the sender's end record, opened with the key the attacker holds, and held"
	}
	switch a.Verb {
	case VerbEdit:
		p, err := r.keys.seal(dir, in, a.Plaintext)
		if err != nil {
			f.inNote = join(f.inNote, "the edit could not be sealed ("+err.Error()+"); nothing sent on")
			return f
		}
		note := fmt.Sprintf("edited by hand: Mallory sealed %s in place of %s", strconv.Quote(string(a.Plaintext)), strconv.Quote(string(pt)))
		f.outs = []out{{p: p, v: trace.Forged, recovered: nonNil(a.Plaintext), note: note}}
		return f
	case VerbWithhold:
		f.inNote = join(f.inNote, "withheld by hand: it never goes on")
		return f
	case VerbReplay:
		f.inNote = join(f.inNote, "withheld by hand: an earlier record goes in its place")
		f.outs = []out{r.replay(dir, a.Record)}
		return f
	}
	o, err := r.keys.forward(dir, in, pt)
	if err != nil {
		f.inNote = join(f.inNote, fmt.Sprintf("could not be sent on: %v", err))
		return f
	}
	f.inNote = join(f.inNote, refused)
	f.outs = []out{o}
	return f
}

// flip returns in with one bit of its ct flipped, re-encoded so that it
// still decodes and reaches the receiver's record layer.
func (r *interceptRelay) flip(in parsed, bit int) (parsed, int, error) {
	var ct []byte
	var msg wire.Message
	switch m := in.msg.(type) {
	case *wire.Data:
		d := &wire.Data{Seq: m.Seq, CT: append([]byte(nil), m.CT...)}
		ct, msg = d.CT, d
	case *wire.End:
		e := &wire.End{Seq: m.Seq, CT: append([]byte(nil), m.CT...)}
		ct, msg = e.CT, e
	}
	if len(ct) == 0 {
		return parsed{}, 0, fmt.Errorf("an empty ct has no bit to flip")
	}
	bit = ((bit % (len(ct) * 8)) + len(ct)*8) % (len(ct) * 8)
	ct[bit/8] ^= 1 << (bit % 8)
	raw, err := wire.Encode(msg)
	if err != nil {
		return parsed{}, 0, err
	}
	return r.s.parse(raw), bit, nil
}

// replay is earlier data record i of direction dir, sent again.
func (r *interceptRelay) replay(dir wire.Direction, i int) out {
	r.mu.Lock()
	p := r.sent[dir][i]
	r.mu.Unlock()
	return out{p: p, v: trace.Replayed, note: fmt.Sprintf("replayed by hand: the record sent on as #%d, again", i)}
}

// keep remembers the data records f sends on, for later replays.
func (r *interceptRelay) keep(dir wire.Direction, f frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range f.outs {
		if !o.back && o.v != trace.Replayed && o.p.typ == string(wire.TypeData) {
			r.sent[dir] = append(r.sent[dir], o.p)
		}
	}
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// reencryptKeys: one set of keys per leg; a record is opened with the
// sender's and sealed again with the receiver's.
type reencryptKeys struct{ r *reencryptRelay }

func (k reencryptKeys) open(dir wire.Direction, in parsed) ([]byte, error) {
	switch m := in.msg.(type) {
	case *wire.Data:
		return k.r.open[dir].Open(m)
	case *wire.End:
		return []byte{}, k.r.open[dir].OpenEnd(m)
	}
	return nil, fmt.Errorf("not a record")
}

func (k reencryptKeys) forward(dir wire.Direction, in parsed, pt []byte) (out, error) {
	p, err := k.seal(dir, in, pt)
	if err != nil {
		return out{}, err
	}
	note := "re-encrypted with the key the attacker shares with the receiver"
	if in.typ == string(wire.TypeEnd) {
		note = "an end record the attacker sealed himself, with the key he shares with the receiver"
	}
	return out{p: p, v: trace.Forged, recovered: pt, note: note}, nil
}

func (k reencryptKeys) seal(dir wire.Direction, in parsed, pt []byte) (parsed, error) {
	var msg wire.Message
	var err error
	if in.typ == string(wire.TypeEnd) {
		msg, err = k.r.seal[dir].SealEnd()
	} else {
		msg, err = k.r.seal[dir].Seal(pt)
	}
	if err != nil {
		return parsed{}, err
	}
	raw, err := wire.Encode(msg)
	if err != nil {
		return parsed{}, err
	}
	return parseWith(wire.Records(), raw), nil
}

// readKeys: the victims' own keys (swap-rsa-key). A record goes on as its
// sender sent it; an edit is sealed with the same keys at the same
// sequence number.
type readKeys struct{ r *readRelay }

func (k readKeys) open(dir wire.Direction, in parsed) ([]byte, error) {
	switch m := in.msg.(type) {
	case *wire.Data:
		return k.r.open[dir].Open(m)
	case *wire.End:
		return []byte{}, k.r.open[dir].OpenEnd(m)
	}
	return nil, fmt.Errorf("not a record")
}

func (k readKeys) forward(_ wire.Direction, in parsed, pt []byte) (out, error) {
	note := "decrypted with the session key the attacker holds"
	if in.typ == string(wire.TypeEnd) {
		note = "the sender's end record, opened with the session key the attacker holds; it carries nothing"
	}
	return out{p: in, v: trace.Read, recovered: pt, note: note}, nil
}

func (k readKeys) seal(dir wire.Direction, in parsed, pt []byte) (parsed, error) {
	if k.r.secrets == nil {
		return parsed{}, fmt.Errorf("the relay kept no keys to seal with")
	}
	s, err := channel.NewSealer(k.r.secrets, dir)
	if err != nil {
		return parsed{}, err
	}
	for s.Next() < *in.seq { // the sealer's position: the held record's
		if _, err := s.Seal(nil); err != nil {
			return parsed{}, err
		}
	}
	d, err := s.Seal(pt)
	if err != nil {
		return parsed{}, err
	}
	raw, err := wire.Encode(d)
	if err != nil {
		return parsed{}, err
	}
	return parseWith(wire.Records(), raw), nil
}

// nullKeys: the null suite, whose records carry their plaintext; anyone on
// the path reads them and can write others.
type nullKeys struct{}

func (nullKeys) open(_ wire.Direction, in parsed) ([]byte, error) {
	switch m := in.msg.(type) {
	case *wire.Data:
		return nonNil(append([]byte(nil), m.CT...)), nil
	case *wire.End:
		return []byte{}, nil
	}
	return nil, fmt.Errorf("not a record")
}

func (nullKeys) forward(dir wire.Direction, in parsed, pt []byte) (out, error) {
	f := passiveRelay{keyless: true}.pass(dir, in)
	return f.outs[0], nil
}

func (nullKeys) seal(_ wire.Direction, in parsed, pt []byte) (parsed, error) {
	// The null suite's ct is the plaintext: Mallory writes a record of his
	// own with no key at all.
	raw, err := wire.Encode(&wire.Data{Seq: *in.seq, CT: nonNil(pt)})
	if err != nil {
		return parsed{}, err
	}
	return parseWith(wire.Records(), raw), nil
}
