package attacker

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// The attacks of the lessons on freshness, group parameters and identity
// binding.
const (
	ReplayKeyTransport = "replay-key-transport"
	InjectG1           = "inject-g-1"
	InjectGP           = "inject-g-p"
	InjectGPMinus1     = "inject-g-p-minus-1"
	SwapIdentity       = "swap-identity"
	StripToExport      = "strip-to-export"
	ReplaySignature    = "replay-signature"
)

// lessonsBAttacks are the attacks of the later lessons the issue "Every
// lesson a learner asks about" added: replays across sessions, injected
// and downgraded Diffie-Hellman groups, and a misbound identity.
func lessonsBAttacks() []*Attack {
	return []*Attack{
		{
			Name:    ReplayKeyTransport,
			Summary: "replay an earlier session's key_transport to the client: her keystream repeats, and XOR with the old records reads her new ones",
			Needs:   []Need{{"key_transport", "wrapped"}},
			applies: func(s *kex.Scheme) error {
				if s.RSAIdentity {
					return errors.New("the client wraps the secret in this scheme; there is no key_transport to replay to her")
				}
				return nil
			},
			run: runReplayKeyTransport,
		},
		{
			Name:    InjectG1,
			Summary: "change g to 1 in the client's proposed group, and her key share to 1: every secret is 1",
			Needs:   injectNeeds(),
			run:     runInjectG(gOne),
		},
		{
			Name:    InjectGP,
			Summary: "change g to p in the client's proposed group, and her key share to 0: every secret is 0",
			Needs:   injectNeeds(),
			run:     runInjectG(gP),
		},
		{
			Name:    InjectGPMinus1,
			Summary: "change g to p − 1 in the client's proposed group: every secret is 1 or p − 1",
			Needs:   injectNeeds(),
			run:     runInjectG(gPMinus1),
		},
		{
			Name:    SwapIdentity,
			Summary: "keep both key shares, swap the server's certificate and signature for Eve's own: Alice thinks Eve answers, while Bob does",
			Needs:   []Need{{"server_hello", "certificate"}},
			applies: func(s *kex.Scheme) error {
				if !s.Has("signed_hellos", "signature") && !s.Has("server_verify", "signature") {
					return errors.New("the server signs nothing here; there is no signature to swap")
				}
				return nil
			},
			run: runSwapIdentity,
		},
		{
			Name:    StripToExport,
			Summary: "strip the strong group from the client's offer, solve the 40-bit discrete log, and forge both finished MACs",
			Long:    true,
			Needs: []Need{{"dh_offer", "offered"}, {"dh_params", "key_share"},
				{"dh_client_key", "finished"}, {"dh_finished", "finished"}},
			run: runStripToExport,
		},
		{
			Name:    ReplaySignature,
			Summary: "replay an earlier session's server_hello and signature to the client, and use that session's leaked ephemeral key",
			Needs:   []Need{{"server_hello", "certificate"}, {"server_verify", "signature"}, {"client_finished", "mac"}},
			run:     runReplaySignature,
		},
	}
}

// --- shared steps ------------------------------------------------------------

// relayUnchanged passes a handshake message that came in on leg from to
// the other leg, byte for byte: public on both.
func (s *session) relayUnchanged(ctx context.Context, from trace.Leg, raw []byte, note string) error {
	p := s.parse(raw)
	to := other(from)
	s.record(from, inbound(from), p, trace.Public, nil, note)
	s.record(to, outbound(to), p, trace.Public, nil, note)
	if err := s.conn(to).Write(ctx, raw); err != nil {
		return &legError{leg: to, err: err}
	}
	return nil
}

// sendRaw writes bytes Mallory kept from an earlier connection on leg,
// recorded as replayed.
func (s *session) sendRaw(ctx context.Context, leg trace.Leg, raw []byte, note string) error {
	s.record(leg, outbound(leg), s.parse(raw), trace.Replayed, nil, note)
	if err := s.conn(leg).Write(ctx, raw); err != nil {
		return &legError{leg: leg, err: err}
	}
	return nil
}

// recording is what Mallory's own ledger kept of one earlier connection:
// the frames he saw on leg A, between him and Alice, in order. It is his
// only memory; he keeps nothing that did not cross the wire.
type recording struct {
	conn   int
	frames []trace.Event
}

// earlierSession returns the latest connection before this one whose leg A
// carried a message of each of the types in want from the server, or nil.
func (s *session) earlierSession(want ...string) *recording {
	byConn := map[int][]trace.Event{}
	for _, e := range s.n.log.Events() {
		if e.Conn > 0 && e.Conn < s.id && e.Leg == trace.LegA && len(e.Raw) > 0 && e.Type != trace.TypeClose {
			byConn[e.Conn] = append(byConn[e.Conn], e)
		}
	}
	for conn := s.id - 1; conn > 0; conn-- {
		r := &recording{conn: conn, frames: byConn[conn]}
		if !slices.ContainsFunc(want, func(t string) bool { return r.first(wire.ServerToClient, t) == nil }) {
			return r
		}
	}
	return nil
}

// first returns the raw bytes of the first message of type typ that went
// in direction dir, or nil.
func (r *recording) first(dir wire.Direction, typ string) []byte {
	for _, e := range r.frames {
		if e.Dir == dir && e.Type == typ {
			return e.Raw
		}
	}
	return nil
}

// handshake returns the messages that went in direction dir before the
// first record.
func (r *recording) handshake(dir wire.Direction) [][]byte {
	var out [][]byte
	for _, e := range r.frames {
		if e.Type == string(wire.TypeData) || e.Type == string(wire.TypeEnd) {
			break
		}
		if e.Dir == dir {
			out = append(out, e.Raw)
		}
	}
	return out
}

// records returns the records of type typ (data or end) that went in
// direction dir, by sequence number; the first copy of each.
func (r *recording) records(dir wire.Direction, typ wire.Type) map[uint64][]byte {
	out := map[uint64][]byte{}
	for _, e := range r.frames {
		if e.Dir != dir || e.Seq == nil || e.Type != string(typ) {
			continue
		}
		if _, ok := out[*e.Seq]; !ok {
			out[*e.Seq] = e.Raw
		}
	}
	return out
}

// passiveFallback is what a replay attack does with nothing to replay: it
// says so, and relays like passive.
func (s *session) passiveFallback(format string, args ...any) (relay, error) {
	s.progress(format, args...)
	return passiveRelay{keyless: s.keyless}, nil
}

// clientHalfToBob runs the scheme's own client half toward Bob with
// Mallory's own keys, as double-handshake does, and returns its secrets.
func (s *session) clientHalfToBob(ctx context.Context) (*channel.Secrets, error) {
	sch := s.n.opts.Scheme
	s.b.SetTap(s.handshakeTap(trace.LegB, "Mallory's own handshake with Bob, as an ordinary client"))
	defer s.b.SetTap(nil)
	// INSECURE(attacker): Mallory does not care who the server is.
	ccfg := &kex.ClientConfig{SkipPinCheck: true, RSAKey: s.n.opts.RSAKey, Rand: s.n.opts.Rand}
	sb, err := sch.Client(ctx, s.b, ccfg)
	if err != nil {
		return nil, &legError{leg: trace.LegB, err: err}
	}
	sb.Suite = sch.Suite
	return sb, nil
}

// --- replay-key-transport (nonce-reuse) --------------------------------------

// runReplayKeyTransport is the nonce-reuse attack. Mallory recorded an
// earlier conversation, and knows what Alice said in it (Given.Plaintexts,
// the lesson's premise). She uses the same RSA key every time, and her keys
// come from the wrapped secret alone; so when he answers her new key with
// the old key_transport, she derives the old keys and IVs again, and her
// record n is sealed under the same key and nonce as her old record n:
// the same AES-GCM keystream. He XORs the two ciphertexts and the old
// plaintext, and has her new message, with no key. He replays Bob's old
// replies to her, which open under the old keys; toward Bob he is an
// ordinary client with his own RSA key, and forwards what he recovered.
func runReplayKeyTransport(ctx context.Context, s *session) (relay, error) {
	rec := s.earlierSession("key_transport")
	if rec == nil {
		return s.passiveFallback("replay-key-transport: Mallory has recorded no earlier session with a key_transport to replay; he only relays")
	}
	if n := len(s.n.opts.Given.plaintexts()); n > 0 {
		s.progress("connection %d: Mallory has his ledger of connection %d, and knows what Alice said in it (%d messages)", s.id, rec.conn, n)
	} else {
		s.progress("connection %d: Mallory has his ledger of connection %d, but does not know what Alice said in it", s.id, rec.conn)
	}
	raw, err := s.conn(trace.LegA).Read(ctx)
	if err != nil {
		return nil, &legError{leg: trace.LegA, err: err}
	}
	s.keep(raw)
	note := "taken by Mallory, who answers it with the key_transport of connection " + fmt.Sprint(rec.conn)
	if old := rec.first(wire.ClientToServer, string(wire.PeekType(raw))); bytes.Equal(old, raw) {
		note = fmt.Sprintf("byte for byte the key Alice sent in connection %d: she never changes it; %s", rec.conn, note)
	} else {
		note = fmt.Sprintf("not the message Alice sent in connection %d; %s", rec.conn, note)
	}
	s.record(trace.LegA, inbound(trace.LegA), s.parse(raw), trace.Intercepted, nil, note)
	for _, m := range rec.handshake(wire.ServerToClient) {
		if err := s.sendRaw(ctx, trace.LegA, m, fmt.Sprintf("Bob's %s of connection %d, replayed: if Alice's key is the same, she unwraps the same secret", wire.PeekType(m), rec.conn)); err != nil {
			return nil, err
		}
	}
	sb, err := s.clientHalfToBob(ctx)
	if err != nil {
		return nil, err
	}
	return newNonceReuseRelay(s, rec, sb)
}

// nonceReuseRelay reads Alice's records by XOR with the recorded ones,
// answers each with Bob's recorded reply of the same number, and relays
// what it recovered to Bob under the keys it shares with him.
type nonceReuseRelay struct {
	conn     int               // the recorded connection
	oldC2S   map[uint64][]byte // Alice's old records, raw
	oldS2C   map[uint64][]byte // Bob's old records, raw
	known    [][]byte          // what Alice said then
	toBob    *channel.Sealer   // client to server, Mallory's keys with Bob
	fromBob  *channel.Opener   // server to client, the same
	overhead int               // the bytes a record's ct adds to its plaintext

	oldEnd    []byte // Bob's old end record, raw
	oldEndSeq uint64
	replies   uint64 // the old replies sent to Alice so far (her direction only)

	mu      sync.Mutex // both directions touch heldEnd
	heldEnd *out       // the old end record for Alice, waiting for Bob's
}

func newNonceReuseRelay(s *session, rec *recording, sb *channel.Secrets) (*nonceReuseRelay, error) {
	seal, err := channel.NewSealer(sb, wire.ClientToServer)
	if err != nil {
		return nil, err
	}
	open, err := channel.NewOpener(sb, wire.ServerToClient)
	if err != nil {
		return nil, err
	}
	r := &nonceReuseRelay{
		conn: rec.conn, oldC2S: rec.records(wire.ClientToServer, wire.TypeData), oldS2C: rec.records(wire.ServerToClient, wire.TypeData),
		known: s.n.opts.Given.plaintexts(), toBob: seal, fromBob: open,
		overhead: s.n.opts.Scheme.Suite.Overhead(),
	}
	for seq, raw := range rec.records(wire.ServerToClient, wire.TypeEnd) {
		r.oldEnd, r.oldEndSeq = raw, seq
	}
	return r, nil
}

func (r *nonceReuseRelay) pass(dir wire.Direction, in parsed) frame {
	if dir == wire.ServerToClient {
		return r.fromServer(in)
	}
	switch m := in.msg.(type) {
	case *wire.Data:
		return r.fromClient(in, m.Seq, m.CT)
	case *wire.End:
		f := frame{in: trace.Opaque, inNote: "Alice's end record: it carries nothing, and needs no key to be recognised"}
		end, err := r.toBob.SealEnd()
		if err != nil {
			return f
		}
		f.outs = append(f.outs, out{p: encodeRecord(end), v: trace.Forged, recovered: []byte{}, note: "an end record Mallory sealed himself for Bob"})
		return r.answerEnd(f)
	}
	return passiveRelay{}.pass(dir, in)
}

// fromClient recovers Alice's record seq: its ct XOR her old record seq's
// ct is her new plaintext XOR her old one.
func (r *nonceReuseRelay) fromClient(in parsed, seq uint64, ct []byte) frame {
	f := frame{in: trace.Opaque, inNote: "no earlier record with this number to XOR it with"}
	if pt, note, ok := r.recover(seq, ct); ok {
		f = frame{in: trace.Read, inRecovered: pt, inNote: note}
		if d, err := r.toBob.Seal(pt); err == nil {
			f.outs = append(f.outs, out{p: encodeRecord(d), v: trace.Forged, recovered: pt, note: "what Mallory recovered, sealed again under the key he shares with Bob"})
		}
	} else if note != "" {
		f.inNote = note
	}
	return r.answer(f, seq, "Bob's reply %[2]d of connection %[1]d, replayed: it opens under Alice's old keys, and she takes it as his answer")
}

// recover is the two-time pad: pt = ct ⊕ old ct ⊕ old pt, over the
// plaintext's length.
func (r *nonceReuseRelay) recover(seq uint64, ct []byte) (pt []byte, note string, ok bool) {
	oldRaw, had := r.oldC2S[seq]
	if !had {
		return nil, "", false
	}
	old, err := wire.DecodeAs[*wire.Data](wire.Records(), oldRaw)
	if err != nil || int(seq) >= len(r.known) {
		return nil, fmt.Sprintf("XOR with Alice's record %d of connection %d gives her two plaintexts XORed together; Mallory knows neither, so he reads nothing", seq, r.conn), false
	}
	n := len(ct) - r.overhead
	known := r.known[seq]
	if n < 0 || n > len(known) || len(old.CT)-r.overhead != len(known) {
		return nil, fmt.Sprintf("the known plaintext of record %d is %d bytes, shorter than this one's %d: Mallory could peel off only a prefix", seq, len(known), n), false
	}
	pt = make([]byte, n)
	for i := range pt {
		pt[i] = ct[i] ^ old.CT[i] ^ known[i]
	}
	return pt, fmt.Sprintf("no key: XOR with Alice's record %d of connection %d (same key, same nonce, so the same keystream) and with what she said then, %q", seq, r.conn, known), true
}

// answer replays Bob's old record seq to Alice; with none, Mallory has
// nothing to answer with and closes both legs as a network failure would.
func (r *nonceReuseRelay) answer(f frame, seq uint64, format string) frame {
	old, ok := r.oldS2C[seq]
	if !ok {
		f.cut = &cut{toA: closeFrame{1001, "going away"}, toB: closeFrame{1001, "going away"}}
		f.inNote += fmt.Sprintf("; Bob sent no record %d in connection %d, so Mallory has nothing to answer with", seq, r.conn)
		return f
	}
	f.outs = append(f.outs, out{p: parseWith(wire.Records(), old), v: trace.Replayed, note: fmt.Sprintf(format, r.conn, seq), back: true})
	r.replies++
	return f
}

// answerEnd replays Bob's old end record to Alice, whatever its number:
// it is the only one Mallory has.
func (r *nonceReuseRelay) answerEnd(f frame) frame {
	if r.oldEnd == nil {
		f.cut = &cut{toA: closeFrame{1001, "going away"}, toB: closeFrame{1001, "going away"}}
		f.inNote += fmt.Sprintf("; Bob sent no end record in connection %d, so Mallory has nothing to answer with", r.conn)
		return f
	}
	note := fmt.Sprintf("Bob's end record of connection %d, replayed: Alice takes it as the end of this conversation", r.conn)
	if r.replies != r.oldEndSeq {
		note = fmt.Sprintf("Bob's end record of connection %d, replayed: its number is %d where Alice expects %d, so she will refuse it", r.conn, r.oldEndSeq, r.replies)
	}
	// Held until Bob has sent his own end record: Alice closes as soon as
	// she has one, and her close would cut Bob off before his last
	// replies.
	r.mu.Lock()
	r.heldEnd = &out{p: parseWith(wire.Records(), r.oldEnd), v: trace.Replayed, note: note}
	r.mu.Unlock()
	f.inNote += "; Mallory answers it once Bob has ended too"
	return f
}

// fromServer opens Bob's records with the keys Mallory shares with him and
// keeps them: Alice has had her answer.
func (r *nonceReuseRelay) fromServer(in parsed) frame {
	const kept = "; not passed on: Alice already had Bob's old answer"
	switch m := in.msg.(type) {
	case *wire.Data:
		pt, err := r.fromBob.Open(m)
		if err != nil {
			return frame{in: trace.Opaque, inNote: err.Error() + kept}
		}
		return frame{in: trace.Read, inRecovered: pt, inNote: "opened with the key Mallory shares with Bob" + kept}
	case *wire.End:
		f := frame{in: trace.Read, inRecovered: []byte{}, inNote: "Bob's end record, opened with the key Mallory shares with him; not passed on"}
		if err := r.fromBob.OpenEnd(m); err != nil {
			f = frame{in: trace.Opaque, inNote: err.Error() + "; not passed on"}
		}
		r.mu.Lock()
		if r.heldEnd != nil {
			f.outs = append(f.outs, *r.heldEnd)
			r.heldEnd = nil
		}
		r.mu.Unlock()
		return f
	}
	return passiveRelay{}.pass(wire.ServerToClient, in)
}

// encodeRecord encodes a record Mallory sealed.
func encodeRecord(m wire.Message) parsed {
	raw, err := wire.Encode(m)
	if err != nil {
		return parsed{typ: string(m.MessageType())}
	}
	return parseWith(wire.Records(), raw)
}

// --- inject-g-* (dh-param-injection) -----------------------------------------

// injectNeeds are the fields parameter injection uses.
func injectNeeds() []Need { return []Need{{"dh_hello", "g"}, {"dh_reply", "key_share"}} }

// An injection is the g Mallory puts in the client's proposed group.
type injection int

const (
	gOne injection = iota
	gP
	gPMinus1
)

func (g injection) String() string {
	return [...]string{"1", "p", "p − 1"}[g]
}

// powers says what every power of the injected g is.
func (g injection) powers() string {
	return [...]string{"every power of 1 is 1", "every power of p is 0 mod p", "every power of p − 1 is 1 or p − 1"}[g]
}

// value returns the injected g for the prime p.
func (g injection) value(p *big.Int) *big.Int {
	switch g {
	case gOne:
		return big.NewInt(1)
	case gP:
		return new(big.Int).Set(p)
	}
	return new(big.Int).Sub(p, big.NewInt(1))
}

// runInjectG is cryptopals 35 against a server that takes the client's
// group at its word. Mallory sends Bob the group with g replaced, and
// g itself (mod p) as Alice's key share, as if her exponent were 1; so
// Bob's shared secret (g')^b is his own public value, which crosses the
// wire. Bob's reply reaches Alice unchanged, and her secret, his value to
// the power a, is 0 or 1, or for g = p − 1 one of 1 and p − 1. Mallory
// runs no exchange of his own: he derives both legs' keys from values he
// saw.
func runInjectG(g injection) func(context.Context, *session) (relay, error) {
	return func(ctx context.Context, s *session) (relay, error) {
		hm, helloA, err := readAs[*kex.DHHello](ctx, s, trace.LegA)
		if err != nil {
			return nil, err
		}
		p := new(big.Int).SetBytes(hm.P)
		if p.Sign() == 0 {
			return nil, &legError{leg: trace.LegA, err: kex.ErrWeakGroup}
		}
		gv := g.value(p)
		share := new(big.Int).Mod(gv, p).FillBytes(make([]byte, len(hm.KeyShare)))
		s.record(trace.LegA, inbound(trace.LegA), s.parse(helloA), trace.Intercepted, nil, "Alice proposes her group; Mallory sends his own version on")
		mb := *hm
		mb.G, mb.KeyShare = gv.Bytes(), share
		if len(mb.G) == 0 {
			mb.G = []byte{0}
		}
		helloB, err := s.send(ctx, trace.LegB, &mb, trace.Substituted,
			fmt.Sprintf("g = %s in place of %s, and Alice's key share replaced by g mod p itself (%s), as if her exponent were 1", g, new(big.Int).SetBytes(hm.G), shortValue(share, p)))
		if err != nil {
			return nil, err
		}
		rm, reply, err := readAs[*kex.DHReply](ctx, s, trace.LegB)
		if err != nil {
			return nil, err
		}
		b := new(big.Int).SetBytes(rm.KeyShare)
		cands := aliceSecrets(b, p)
		if len(cands) == 0 {
			return nil, fmt.Errorf("attacker: Bob's public value is %s, not a power of g = %s", shortValue(rm.KeyShare, p), g)
		}
		note := fmt.Sprintf("Bob's public value is %s: %s; it is also his shared secret, since the share Bob got is g itself", shortValue(rm.KeyShare, p), g.powers())
		if err := s.relayUnchanged(ctx, trace.LegB, reply, note); err != nil {
			return nil, err
		}
		secretsB := kex.FFDHSecrets(rm.KeyShare, helloB, reply)
		var secretsA []*channel.Secrets
		for _, c := range cands {
			secretsA = append(secretsA, kex.FFDHSecrets(c.FillBytes(make([]byte, len(rm.KeyShare))), helloA, reply))
		}
		if len(cands) > 1 {
			s.progress("Alice's secret is (p − 1)^a: 1 if her exponent is even, p − 1 if odd. Mallory will know which when her first record opens under one of the two keys")
		} else {
			s.progress("Alice's secret is %s^a = %s and Bob's is %s: Mallory holds both legs' keys without a key exchange of his own", shortValue(rm.KeyShare, p), cands[0], shortValue(rm.KeyShare, p))
		}
		return newTrialRelay(s, secretsA, secretsB)
	}
}

// aliceSecrets lists the values Alice's secret, y^a mod p, can take when
// y is 0, 1 or p − 1; nil for any other y.
func aliceSecrets(y, p *big.Int) []*big.Int {
	pm1 := new(big.Int).Sub(p, big.NewInt(1))
	switch {
	case y.Sign() == 0, y.Cmp(big.NewInt(1)) == 0:
		return []*big.Int{y}
	case y.Cmp(pm1) == 0:
		return []*big.Int{big.NewInt(1), pm1}
	}
	return nil
}

// shortValue names a public value by its relation to p.
func shortValue(b []byte, p *big.Int) string {
	v := new(big.Int).SetBytes(b)
	switch {
	case v.Sign() == 0:
		return "0"
	case v.Cmp(big.NewInt(1)) == 0:
		return "1"
	case new(big.Int).Add(v, big.NewInt(1)).Cmp(p) == 0:
		return "p − 1"
	}
	return fmt.Sprintf("a %d-bit number", v.BitLen())
}

// trialRelay holds the keys of Bob's leg and one or more candidates for
// Alice's; the first record from Alice that opens under a candidate
// settles it, and from then on it is a reencryptRelay.
type trialRelay struct {
	s         *session
	candidate []*channel.Secrets
	b         *channel.Secrets

	mu      sync.Mutex // both directions ask for the settled relay
	settled *reencryptRelay
}

func newTrialRelay(s *session, a []*channel.Secrets, b *channel.Secrets) (relay, error) {
	if len(a) == 1 {
		return newReencryptRelay(a[0], b)
	}
	return &trialRelay{s: s, candidate: a, b: b}, nil
}

func (r *trialRelay) pass(dir wire.Direction, in parsed) frame {
	r.mu.Lock()
	settled := r.settled
	if settled == nil && dir == wire.ClientToServer {
		settled = r.settle(in)
		r.settled = settled
	}
	r.mu.Unlock()
	if settled != nil {
		return settled.pass(dir, in)
	}
	if in.typ == string(wire.TypeData) || in.typ == string(wire.TypeEnd) {
		return frame{in: trace.Opaque, inNote: "dropped: Mallory does not know yet which of two keys Alice holds"}
	}
	return passiveRelay{}.pass(dir, in)
}

// settle tries each candidate on Alice's record: only the right key
// opens it, the AES-GCM tag says so.
func (r *trialRelay) settle(in parsed) *reencryptRelay {
	for i, a := range r.candidate {
		o, err := channel.NewOpener(a, wire.ClientToServer)
		if err != nil {
			continue
		}
		switch m := in.msg.(type) {
		case *wire.Data:
			_, err = o.Open(m)
		case *wire.End:
			err = o.OpenEnd(m)
		default:
			return nil
		}
		if err == nil {
			rr, err := newReencryptRelay(a, r.b)
			if err != nil {
				return nil
			}
			r.s.progress("Alice's first record opens under candidate %d of %d: her secret is settled", i+1, len(r.candidate))
			return rr
		}
	}
	return nil
}

// --- swap-identity (misbinding) ----------------------------------------------

// runSwapIdentity is the identity misbinding of SIGMA (Krawczyk 2003),
// turned toward the client. Mallory is Eve, a server Alice also trusts.
// He relays Alice's hello to Bob; he sends her Bob's hello with Eve's
// certificate in it, and Eve's own signature over both hellos as Alice
// sees them: she can make that signature, since the hellos are public.
// The key shares are untouched, so Alice and Bob share a key Mallory does
// not have. If nothing binds the server's identity to that key, Alice
// believes she is talking to Eve while Bob answers her; pinned-ecdh's
// finished MAC is such a binding, and Mallory cannot recompute it.
func runSwapIdentity(ctx context.Context, s *session) (relay, error) {
	eve := s.n.opts.Identity
	if eve == nil {
		return nil, errors.New("attacker: swap-identity needs an identity of Mallory's own")
	}
	_, ch, err := readAs[*kex.ClientHello](ctx, s, trace.LegA)
	if err != nil {
		return nil, err
	}
	if err := s.relayUnchanged(ctx, trace.LegA, ch, "Alice's hello, passed on to Bob unchanged"); err != nil {
		return nil, err
	}
	shm, sh, err := readAs[*kex.ServerHello](ctx, s, trace.LegB)
	if err != nil {
		return nil, err
	}
	s.record(trace.LegB, inbound(trace.LegB), s.parse(sh), trace.Intercepted, nil,
		fmt.Sprintf("Bob's hello, certificate %s; Mallory sends it on with Eve's certificate in its place", certName(shm.Certificate)))
	shA := *shm
	shA.Certificate = eve.Certificate
	sh2, err := s.send(ctx, trace.LegA, &shA, trace.Substituted,
		fmt.Sprintf("Bob's nonce and key share kept, certificate %s in place of %s", certName(eve.Certificate), certName(shm.Certificate)))
	if err != nil {
		return nil, err
	}
	sig := kex.SignHellos(eve, ch, sh2)
	if s.n.opts.Scheme.Has("signed_hellos", "") {
		_, _, err := take[*kex.SignedHellos](ctx, s, trace.LegB, "Bob's signature; Alice gets Eve's instead")
		if err != nil {
			return nil, err
		}
		if _, err := s.send(ctx, trace.LegA, &kex.SignedHellos{Signature: sig}, trace.Substituted,
			"Eve's own signature over both hellos as Alice sees them: anyone can sign what he has seen"); err != nil {
			return nil, err
		}
		return passiveRelay{keyless: s.keyless}, nil
	}
	svm, _, err := take[*kex.ServerVerify](ctx, s, trace.LegB, "Bob's signature and finished MAC; Alice gets Eve's signature and Bob's MAC")
	if err != nil {
		return nil, err
	}
	if _, err := s.send(ctx, trace.LegA, &kex.ServerVerify{Signature: sig, Finished: svm.Finished}, trace.Substituted,
		"Eve's own signature over both hellos as Alice sees them; Bob's finished MAC kept, since Eve cannot compute one without the key Alice and Bob share"); err != nil {
		return nil, err
	}
	return passiveRelay{keyless: s.keyless}, nil
}

// certName is a certificate's subject common name, for the ledger.
func certName(der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "(unparsable)"
	}
	return "CN=" + c.Subject.CommonName
}

// --- strip-to-export (export-downgrade) --------------------------------------

// runStripToExport is the shape of FREAK and Logjam. Mallory strips the
// strong group from Alice's offer, so Bob, who still speaks export40,
// chooses it and signs his parameters: a signature that covers both nonces
// and the group, not the offer, so Alice accepts it. The finished MACs do
// cover the offer, and would expose the edit; but they are keyed by the
// shared secret, and in a 40-bit group Mallory computes Bob's exponent in
// a second (baby-step giant-step), then the secret, and forges both MACs.
// The records then flow untouched, and he reads them all.
func runStripToExport(ctx context.Context, s *session) (relay, error) {
	chm, chA, err := readAs[*kex.DHOffer](ctx, s, trace.LegA)
	if err != nil {
		return nil, err
	}
	s.record(trace.LegA, inbound(trace.LegA), s.parse(chA), trace.Intercepted, nil,
		fmt.Sprintf("Alice offers %q; Mallory sends her hello on with the weakest group only", chm.Offered))
	chmB := *chm
	chmB.Offered = []string{kex.GroupExport40}
	chB, err := s.send(ctx, trace.LegB, &chmB, trace.Substituted, "offer stripped to export40; the nonce kept")
	if err != nil {
		return nil, err
	}
	shm, sh, err := readAs[*kex.DHParams](ctx, s, trace.LegB)
	if err != nil {
		return nil, err
	}
	group := kex.GroupByName(shm.Group)
	if err := s.relayUnchanged(ctx, trace.LegB, sh, fmt.Sprintf("Bob chose %s and signed it, with both nonces and his key share; his signature does not cover Alice's offer, so it verifies for her too", shm.Group)); err != nil {
		return nil, err
	}
	if group == nil || group.Name != kex.GroupExport40 {
		return nil, fmt.Errorf("attacker: Bob chose %q, which Mallory cannot break", shm.Group)
	}
	b, err := s.discreteLog(group, shm.KeyShare)
	if err != nil {
		return nil, err
	}
	ckm, ckA, err := readAs[*kex.DHClientKey](ctx, s, trace.LegA)
	if err != nil {
		return nil, err
	}
	y, err := group.CheckPublic(ckm.KeyShare)
	if err != nil {
		return nil, &legError{leg: trace.LegA, err: err}
	}
	shared := group.Shared(b, y)
	sched := kex.NewFFDHSchedule(shared, chm.Nonce, shm.Nonce)
	if !bytes.Equal(ckm.Finished, sched.ClientFinished(chA, sh, ckm.KeyShare)) {
		return nil, errors.New("attacker: Alice's finished MAC does not verify with the secret Mallory computed")
	}
	s.record(trace.LegA, inbound(trace.LegA), s.parse(ckA), trace.Intercepted, nil,
		"Alice's key share and finished MAC; the MAC verifies with the secret Mallory computed, so he has it right")
	ckB, err := s.send(ctx, trace.LegB, &kex.DHClientKey{KeyShare: ckm.KeyShare, Finished: sched.ClientFinished(chB, sh, ckm.KeyShare)}, trace.Substituted,
		"Alice's key share kept; her finished MAC forged over the stripped offer Bob saw, with the broken secret")
	if err != nil {
		return nil, err
	}
	sfm, sf, err := readAs[*kex.DHFinished](ctx, s, trace.LegB)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(sfm.Finished, sched.ServerFinished(chB, sh, ckB)) {
		return nil, errors.New("attacker: Bob's finished MAC does not verify with the secret Mallory computed")
	}
	s.record(trace.LegB, inbound(trace.LegB), s.parse(sf), trace.Intercepted, nil, "Bob's finished MAC, over the stripped offer; Alice gets one over hers")
	if _, err := s.send(ctx, trace.LegA, &kex.DHFinished{Finished: sched.ServerFinished(chA, sh, ckA)}, trace.Substituted,
		"Bob's finished MAC forged over Alice's own offer, with the broken secret"); err != nil {
		return nil, err
	}
	secrets := sched.Traffic()
	secrets.Suite = s.n.opts.Scheme.Suite
	return newReadRelay(secrets)
}

// discreteLog solves for Bob's secret exponent, reporting its progress
// about eight times.
func (s *session) discreteLog(g *kex.FFGroup, share []byte) (*big.Int, error) {
	y, err := g.CheckPublic(share)
	if err != nil {
		return nil, &legError{leg: trace.LegB, err: err}
	}
	s.progress("discrete log of Bob's key share in %s (a %d-bit prime, a %d-bit subgroup): baby-step giant-step, at most %s steps", g.Name, g.P.BitLen(), g.Q.BitLen(), groupDigits(2*sqrtCeil(g.Q)))
	next := 0
	x, err := g.DiscreteLog(s.n.ctx, y, func(done, total int) {
		if done*8 >= next*total && done < total {
			s.progress("discrete log: %s of at most %s steps", groupDigits(done), groupDigits(total))
			next = done*8/total + 1
		}
	})
	if err != nil {
		return nil, err
	}
	s.progress("found: Bob's secret exponent is %d (g^%d mod p is his key share); with Alice's key share it gives the session secret", x, x)
	return x, nil
}

func sqrtCeil(q *big.Int) int {
	m := new(big.Int).Sqrt(q)
	return int(m.Int64()) + 1
}

// groupDigits writes n with thin groups of three digits: 1,482,912.
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// --- replay-signature (signature-replay) -------------------------------------

// runReplaySignature replays a recorded server_hello and server_verify to
// Alice. Against a server that signs only its own key share, the old
// signature still verifies: nothing in it is Alice's. With that session's
// ephemeral key (the lesson's premise: one leaked key-log line, handed to
// Mallory by Given) he computes her new shared secret, recomputes the
// finished MAC and completes her handshake; toward Bob he is an ordinary
// client. Against pinned-ecdh, whose signature covers Alice's fresh nonce
// and key share, the old signature does not verify.
func runReplaySignature(ctx context.Context, s *session) (relay, error) {
	rec := s.earlierSession("server_hello", "server_verify")
	if rec == nil {
		return s.passiveFallback("replay-signature: Mallory has recorded no earlier session with a server signature to replay; he only relays")
	}
	oldSH := rec.first(wire.ServerToClient, "server_hello")
	oldSV := rec.first(wire.ServerToClient, "server_verify")
	shm, err := wire.DecodeAs[*kex.ServerHello](s.codec, oldSH)
	if err != nil {
		return nil, err
	}
	svm, err := wire.DecodeAs[*kex.ServerVerify](s.codec, oldSV)
	if err != nil {
		return nil, err
	}
	leak := leakFor(s.n.opts.Given, shm.KeyShare)
	if leak != nil {
		s.progress("connection %d: Mallory has his ledger of connection %d, and a leaked key-log line whose key is that server_hello's key share", s.id, rec.conn)
	} else {
		s.progress("connection %d: Mallory has his ledger of connection %d, and no leaked key for it", s.id, rec.conn)
	}
	chm, ch, err := take[*kex.ClientHello](ctx, s, trace.LegA, fmt.Sprintf("taken by Mallory, who answers it with Bob's messages of connection %d", rec.conn))
	if err != nil {
		return nil, err
	}
	if err := s.sendRaw(ctx, trace.LegA, oldSH, fmt.Sprintf("Bob's server_hello of connection %d: his certificate, his old nonce and key share", rec.conn)); err != nil {
		return nil, err
	}
	if leak == nil {
		if err := s.sendRaw(ctx, trace.LegA, oldSV, fmt.Sprintf("Bob's server_verify of connection %d, unchanged: without that session's key Mallory cannot recompute its finished MAC", rec.conn)); err != nil {
			return nil, err
		}
		// Alice refuses it, one check or another; her close ends the session.
		_, _, err := readAs[*kex.ClientFinished](ctx, s, trace.LegA)
		if err == nil {
			err = errors.New("attacker: Alice accepted a finished MAC Mallory could not compute")
		}
		return nil, err
	}
	shared, err := leak.Shared(chm.KeyShare)
	if err != nil {
		return nil, &legError{leg: trace.LegA, err: err}
	}
	sched := kex.NewPinnedSchedule(shared, ch, oldSH)
	sv, err := s.send(ctx, trace.LegA, &kex.ServerVerify{Signature: svm.Signature, Finished: sched.ServerFinished(svm.Signature)}, trace.Substituted,
		fmt.Sprintf("Bob's signature of connection %d, kept as it was; the finished MAC recomputed from the leaked ephemeral key and Alice's new key share", rec.conn))
	if err != nil {
		return nil, err
	}
	cfm, cf, err := readAs[*kex.ClientFinished](ctx, s, trace.LegA)
	if err != nil {
		return nil, err
	}
	if !sched.VerifyClientFinished(sv, cfm.MAC) {
		return nil, &legError{leg: trace.LegA, err: kex.ErrBadFinished}
	}
	s.record(trace.LegA, inbound(trace.LegA), s.parse(cf), trace.Intercepted, nil,
		"Alice's finished MAC verifies under the leaked key: she took Bob's old signature for a new one")
	sb, err := s.clientHalfToBob(ctx)
	if err != nil {
		return nil, err
	}
	return newReencryptRelay(sched.Traffic(sv, cf), sb)
}

// leakFor returns the leaked ephemeral key whose public key is share, or
// nil.
func leakFor(g *Given, share []byte) *kex.KeyShare {
	_, ks := g.leaked()
	if ks == nil || !bytes.Equal(ks.Public(), share) {
		return nil
	}
	return ks
}
