package attacker

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// MutationKind is one way to change one message in flight, holding no
// keys: the changes an attacker on the path can always make.
type MutationKind string

// The mutations.
const (
	FlipRaw    MutationKind = "flip-raw"    // flip one bit of the message's bytes
	FlipField  MutationKind = "flip-field"  // flip one bit of a binary field, re-encoded so it still decodes
	Drop       MutationKind = "drop"        // withhold the message
	Duplicate  MutationKind = "duplicate"   // deliver it twice
	Reorder    MutationKind = "reorder"     // hold it and deliver it after the next one the same way
	Reflect    MutationKind = "reflect"     // send it back to its sender
	ReplayOld  MutationKind = "replay-old"  // deliver a message of an earlier session (or of this one) in its place
	ForgeClose MutationKind = "forge-close" // close both legs with an ordinary close in its place
	Cut        MutationKind = "cut"         // drop both TCP connections in its place
	SwapShare  MutationKind = "swap-share"  // replace its key share with a fresh one
	LowOrder   MutationKind = "low-order"   // replace its key share with a low-order point
	Reencode   MutationKind = "reencode"    // re-encode its JSON with other white space and field order
	// WithholdEnd drops the first end record in its direction and, after
	// Param milliseconds (at least 100), forges an ordinary close to both
	// sides: a receiver that does not wait for its peer's end record has
	// closed by then.
	WithholdEnd MutationKind = "withhold-end"
)

// MutationKinds lists every kind.
func MutationKinds() []MutationKind {
	return []MutationKind{FlipRaw, FlipField, Drop, Duplicate, Reorder, Reflect, ReplayOld, ForgeClose, Cut, SwapShare, LowOrder, Reencode}
}

// Mutation is one change to one message: the Index-th message (from 0)
// that travels in direction Dir, or with Records the Index-th data record.
// Param picks which bit, field or close code, where the kind needs one.
type Mutation struct {
	Dir     wire.Direction
	Index   int
	Records bool
	Kind    MutationKind
	Param   uint32
}

func (m Mutation) String() string {
	what := "message"
	if m.Records {
		what = "data record"
	}
	if m.Kind == WithholdEnd {
		return fmt.Sprintf("%s of the %s end record", m.Kind, m.Dir)
	}
	return fmt.Sprintf("%s of %s %s #%d (param %d)", m.Kind, m.Dir, what, m.Index, m.Param)
}

// RandomMutation draws a mutation of a random kind on one of the first
// maxIndex messages of a random direction, from r (nil means crypto/rand).
func RandomMutation(r io.Reader, maxIndex int) (Mutation, error) {
	if r == nil {
		r = rand.Reader
	}
	pick := func(n int) (int, error) {
		v, err := rand.Int(r, big.NewInt(int64(n)))
		if err != nil {
			return 0, err
		}
		return int(v.Int64()), nil
	}
	var m Mutation
	kinds := MutationKinds()
	k, err := pick(len(kinds))
	if err != nil {
		return m, err
	}
	d, err := pick(2)
	if err != nil {
		return m, err
	}
	i, err := pick(maxIndex)
	if err != nil {
		return m, err
	}
	p, err := pick(1 << 30)
	if err != nil {
		return m, err
	}
	m = Mutation{Dir: wire.ClientToServer, Index: i, Kind: kinds[k], Param: uint32(p)}
	if d == 1 {
		m.Dir = wire.ServerToClient
	}
	return m, nil
}

// Mutate returns the attack that relays every message unchanged, holding
// no keys, except the one m names, which it changes as m says. The random
// mutation tests and labtest use it; the table's "mutate" entry draws a
// mutation per connection instead.
func Mutate(m Mutation) *Attack {
	return &Attack{
		Name:    MutateName,
		Summary: "change one message in flight, holding no key: " + m.String(),
		run: func(_ context.Context, s *session) (relay, error) {
			return newMutateRelay(s, m), nil
		},
	}
}

// MutateName is the name of the mutation attacks.
const MutateName = "mutate"

// runRandomMutation is the table's mutate: one random mutation among the
// first dozen messages, drawn per connection.
func runRandomMutation(_ context.Context, s *session) (relay, error) {
	m, err := RandomMutation(s.n.opts.Rand, 12)
	if err != nil {
		return nil, err
	}
	return newMutateRelay(s, m), nil
}

type mutateRelay struct {
	s       *session
	m       Mutation
	passive passiveRelay

	// Both pumps call pass, one per direction, at the same time: mu
	// guards the state below, which both directions touch.
	mu    sync.Mutex
	count map[wire.Direction]int
	held  *parsed // reorder: the message held back
	done  bool    // withhold-end: the end record is withheld
}

func newMutateRelay(s *session, m Mutation) *mutateRelay {
	return &mutateRelay{s: s, m: m, passive: passiveRelay{keyless: s.keyless}, count: make(map[wire.Direction]int)}
}

func (r *mutateRelay) pass(dir wire.Direction, in parsed) frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m.Kind == WithholdEnd {
		return r.withhold(dir, in)
	}
	i := r.count[dir]
	if !r.m.Records || in.typ == string(wire.TypeData) {
		r.count[dir]++
	} else {
		i = -1 // not a data record: never the one to change
	}
	f := r.passive.pass(dir, in)
	if dir == r.m.Dir && r.held != nil && i == r.m.Index+1 {
		// reorder: the held message goes out after this one
		f.outs = append(f.outs, out{p: *r.held, v: trace.Replayed, note: "held back by the attacker and delivered late, out of order"})
		r.held = nil
	}
	if dir != r.m.Dir || i != r.m.Index {
		return f
	}
	note := "mutation: " + r.m.String()
	switch r.m.Kind {
	case FlipRaw:
		b := append([]byte(nil), in.raw...)
		bit := int(r.m.Param) % (len(b) * 8)
		b[bit/8] ^= 1 << (bit % 8)
		return r.changed(f, in, b, note)
	case FlipField, SwapShare, LowOrder:
		b, ok := r.editField(in)
		if !ok {
			return f
		}
		return r.changed(f, in, b, note)
	case Reencode:
		b, ok := reencode(in.raw)
		if !ok {
			return f
		}
		return r.changed(f, in, b, note)
	case Drop:
		return frame{in: trace.Dropped, inNote: note}
	case Duplicate:
		f.outs = append(f.outs, out{p: in, v: trace.Replayed, note: note + ": a second copy"})
		return f
	case Reorder:
		held := in
		r.held = &held
		return frame{in: trace.Dropped, inNote: note + ": held back for now"}
	case Reflect:
		return frame{in: trace.Dropped, inNote: note, outs: []out{{p: in, v: trace.Replayed, note: note + ": sent back to its sender", back: true}}}
	case ReplayOld:
		old := r.old(in)
		if old == nil {
			return f
		}
		return frame{in: trace.Dropped, inNote: note, outs: []out{{p: r.s.parse(old), v: trace.Replayed, note: note + ": an older message in its place"}}}
	case ForgeClose:
		code := websocket.StatusNormalClosure
		if r.m.Param%2 == 1 {
			code = websocket.StatusGoingAway
		}
		return frame{in: trace.Dropped, inNote: note, cut: &cut{toA: closeFrame{code, "bye"}, toB: closeFrame{code, "bye"}}}
	case Cut:
		return frame{in: trace.Dropped, inNote: note, cut: &cut{drop: true}}
	}
	return f
}

// withhold drops the first end record in the mutation's direction and,
// after a while, forges an ordinary close to both sides.
func (r *mutateRelay) withhold(dir wire.Direction, in parsed) frame {
	if r.done || dir != r.m.Dir || in.typ != string(wire.TypeEnd) {
		return r.passive.pass(dir, in)
	}
	r.done = true
	hold := time.Duration(max(r.m.Param, 100)) * time.Millisecond
	r.s.after(hold, func() {
		r.s.closeLeg(trace.LegB, websocket.StatusNormalClosure, "bye", &substituted)
		r.s.closeLeg(trace.LegA, websocket.StatusNormalClosure, "bye", &substituted)
	})
	return frame{in: trace.Dropped, inNote: fmt.Sprintf("withheld by the attacker for %s, then both sides get an ordinary close: does the receiver wait for the end record?", hold)}
}

// changed sends b in place of in: tampered, since the attacker holds no
// key for it.
func (r *mutateRelay) changed(f frame, in parsed, b []byte, note string) frame {
	p := r.s.parse(b)
	return frame{in: f.in, inRecovered: f.inRecovered, inNote: f.inNote, outs: []out{{p: p, v: trace.Tampered, note: note}}}
}

// editField changes one binary field of a message that decodes, and
// re-encodes it: a bit flip, or a key share swapped for a fresh or a
// low-order one.
func (r *mutateRelay) editField(in parsed) ([]byte, bool) {
	if in.msg == nil {
		return nil, false
	}
	m, err := r.s.codec.Decode(in.raw) // a copy of its own to change
	if err != nil {
		return nil, false
	}
	var fields []wire.Field
	for _, f := range m.Fields() {
		if b, ok := f.Value().([]byte); ok && len(b) > 0 {
			if (r.m.Kind == SwapShare || r.m.Kind == LowOrder) && f.Name != "key_share" {
				continue
			}
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil, false
	}
	f := fields[int(r.m.Param)%len(fields)]
	b := f.Value().([]byte)
	switch r.m.Kind {
	case FlipField:
		bit := int(r.m.Param/7) % (len(b) * 8)
		b[bit/8] ^= 1 << (bit % 8)
	case SwapShare:
		if _, err := io.ReadFull(randOr(r.s.n.opts.Rand), b); err != nil {
			return nil, false
		}
	case LowOrder:
		lowOrder := lowOrderPoints()
		copy(b, lowOrder[int(r.m.Param)%len(lowOrder)])
	}
	out, err := wire.Encode(m)
	return out, err == nil
}

// old finds an earlier message of the same type: from an earlier session
// if the node remembers one, else from this one.
func (r *mutateRelay) old(in parsed) []byte {
	for _, b := range append(r.s.n.recalled(), r.s.framesSeen()...) {
		if wire.PeekType(b) == wire.Type(in.typ) && string(b) != string(in.raw) {
			return b
		}
	}
	return nil
}

// lowOrderPoints are X25519 points of small order (RFC 7748 §7; the list
// libsodium refuses): each makes the shared secret all zeros.
func lowOrderPoints() [][]byte {
	return [][]byte{
		make([]byte, 32),                       // 0
		append([]byte{1}, make([]byte, 31)...), // 1
		{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
		{0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
	}
}

// reencode writes the same JSON object with its fields in another order
// and a space after each colon: the same message, other bytes.
func reencode(raw []byte) ([]byte, bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || len(fields) == 0 {
		return nil, false
	}
	names := slices.Sorted(maps.Keys(fields))
	slices.Reverse(names)
	out := []byte{'{'}
	for i, n := range names {
		if i > 0 {
			out = append(out, ',')
		}
		k, _ := json.Marshal(n)
		out = append(append(append(out, k...), ':', ' '), fields[n]...)
	}
	return append(out, '}'), true
}

func randOr(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
