package attacker

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// The attacks of the lessons on forward secrecy, short authentication
// strings, and what an attacker with no key can do to records.
const (
	RecordThenSteal   = "record-then-steal"
	SASGrind          = "sas-grind"
	FlipBits          = "flip-bits"
	ReplayKnownRecord = "replay-record"
)

// KnownPlaintext is the message whose layout flip-bits and replay-record
// know, as an attacker knows the format of a bank's transfer orders: its
// length tells him which record carries it, and the amount is at
// AmountOffset. Neither attack ever decrypts it.
const KnownPlaintext = "transfer 100 EUR to Bob"

// AmountOffset is where the amount starts in [KnownPlaintext]; flip-bits
// turns its "1" into a "9" by XOR with '1'^'9'.
const AmountOffset = 9

// Stolen is a server's long-term keys, as a thief takes them from its key
// files after the fact. The node hands them only to an attack with
// Steals, and only once that attack's session is over.
type Stolen struct {
	// RSAKey is the server's long-term RSA key (static-rsa), or nil.
	RSAKey *rsa.PrivateKey
	// Identity is the server's Ed25519 identity (pinned-ecdh and the
	// schemes built on it), or nil.
	Identity *kex.Identity
}

// lessonsAAttacks are the attacks of the first lessons the issue "Every
// lesson a learner asks about" added.
func lessonsAAttacks() []*Attack {
	return []*Attack{
		{
			Name:    RecordThenSteal,
			Summary: "relay and record every frame; after the session, steal the server's long-term key and decrypt the recording offline",
			Steals:  true,
			run:     runRecordThenSteal,
		},
		{
			Name:    SASGrind,
			Summary: "run one exchange with each side, grinding key shares until both users' short authentication strings match",
			Needs:   []Need{{"client_hello", "key_share"}, {"server_hello", "key_share"}},
			Long:    true,
			applies: func(s *kex.Scheme) error {
				if !s.SAS {
					return errors.New("the users compare no short authentication string in this scheme: there is nothing to grind")
				}
				return nil
			},
			run: runSASGrind,
		},
		{
			Name:    FlipBits,
			Summary: `holding no key, flip bits of the record that carries a known message: "100" becomes "900"`,
			run:     runFlipBits,
		},
		{
			Name:    ReplayKnownRecord,
			Summary: "holding no key, deliver the record that carries a known message a second time",
			run:     runReplayRecord,
		},
	}
}

// stolen returns the server's stolen keys, for an attack that steals them.
func (s *session) stolen() *Stolen {
	if !s.attack.Steals {
		return nil
	}
	return s.n.opts.Stolen
}

// --- record-then-steal -----------------------------------------------------

// maxTape bounds a recording, so a long session cannot fill the node's
// memory.
const maxTape = 4096

// runRecordThenSteal relays every frame unchanged, keeping a copy, like a
// passive eavesdropper who stores traffic he cannot read yet.
func runRecordThenSteal(_ context.Context, s *session) (relay, error) {
	return &recordRelay{passive: passiveRelay{keyless: s.keyless}}, nil
}

type recordRelay struct {
	passive passiveRelay

	mu   sync.Mutex // both directions record
	tape []taped
}

// taped is one recorded frame, with the leg it came in on.
type taped struct {
	leg trace.Leg
	dir wire.Direction
	p   parsed
}

func (r *recordRelay) pass(dir wire.Direction, in parsed) frame {
	r.mu.Lock()
	if len(r.tape) < maxTape {
		leg := trace.LegA
		if dir == wire.ServerToClient {
			leg = trace.LegB
		}
		p := in
		p.raw = bytes.Clone(in.raw)
		r.tape = append(r.tape, taped{leg, dir, p})
	}
	r.mu.Unlock()
	f := r.passive.pass(dir, in)
	if f.in == trace.Opaque {
		f.inNote += "; Mallory keeps a copy"
	}
	return f
}

// afterSession is the theft and the offline decryption: once both legs
// have closed, the node hands over the server's long-term keys, and
// Mallory tries them on every frame he recorded.
func (r *recordRelay) afterSession(s *session) {
	r.mu.Lock()
	tape := r.tape
	r.mu.Unlock()
	st := s.stolen()
	if st == nil {
		s.progress("the session is over; nobody stole a key for Mallory, so his recording stays as opaque as it was")
		return
	}
	s.progress("later, after the session: Mallory steals the server's long-term keys (%s) and replays his recording of connection %d offline", st.what(), s.id)
	secrets := r.unwrapRecorded(s, st, tape)
	if secrets == nil {
		why := "no record in the recording was sealed under a key that any stolen key recovers"
		if st.Identity != nil && hasType(tape, "server_verify") {
			why = "the server's Ed25519 key only ever signed: the traffic keys came from X25519 shares that both sides erased after the handshake, and nothing recorded was encrypted to the stolen key. It would let Mallory impersonate the server in a new session; it opens no old one"
		}
		s.progress("%s", why)
		for _, t := range tape {
			if t.p.typ == string(wire.TypeData) || t.p.typ == string(wire.TypeEnd) {
				s.record(t.leg, t.dir, t.p, trace.Opaque, nil, "offline, after the theft: still no key for this record")
			}
		}
		return
	}
	secrets.Suite = s.n.opts.Scheme.Suite
	open := map[wire.Direction]*channel.Opener{}
	for _, d := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
		o, err := channel.NewOpener(secrets, d)
		if err != nil {
			s.progress("the recovered secret does not make a record key: %v", err)
			return
		}
		open[d] = o
	}
	for _, t := range tape {
		switch m := t.p.msg.(type) {
		case *wire.Data:
			pt, err := open[t.dir].Open(m)
			if err != nil {
				s.record(t.leg, t.dir, t.p, trace.Opaque, nil, "offline, after the theft: "+err.Error())
				continue
			}
			s.record(t.leg, t.dir, t.p, trace.Read, pt, "offline, after the theft: decrypted from the recording with keys from the stolen server key")
		case *wire.End:
			if err := open[t.dir].OpenEnd(m); err != nil {
				s.record(t.leg, t.dir, t.p, trace.Opaque, nil, "offline, after the theft: "+err.Error())
				continue
			}
			s.record(t.leg, t.dir, t.p, trace.Read, []byte{}, "offline, after the theft: the sender's end record, opened; it carries nothing")
		}
	}
}

// unwrapRecorded looks for a key_transport in the recording and unwraps it
// with the stolen RSA key: the session secret, whose keys open every
// record. It returns nil if there is none, or the key does not unwrap it.
func (r *recordRelay) unwrapRecorded(s *session, st *Stolen, tape []taped) *channel.Secrets {
	if st.RSAKey == nil {
		return nil
	}
	for _, t := range tape {
		kt, ok := t.p.msg.(*kex.KeyTransport)
		if !ok {
			continue
		}
		secret, err := kex.UnwrapSecret(st.RSAKey, kt.Wrapped)
		if err != nil {
			s.record(t.leg, t.dir, t.p, trace.Opaque, nil, "offline, after the theft: does not unwrap with the stolen RSA key: "+err.Error())
			return nil
		}
		s.record(t.leg, t.dir, t.p, trace.Read, secret, "offline, after the theft: unwrapped with the server's stolen RSA key: the session secret")
		return kex.RSASecrets(secret)
	}
	return nil
}

func (st *Stolen) what() string {
	switch {
	case st.RSAKey != nil && st.Identity != nil:
		return "an RSA key and an Ed25519 identity"
	case st.RSAKey != nil:
		return "its RSA-2048 key"
	case st.Identity != nil:
		return "its Ed25519 identity"
	}
	return "nothing: the server has no long-term key in this scheme"
}

func hasType(tape []taped, typ string) bool {
	for _, t := range tape {
		if t.p.typ == typ {
			return true
		}
	}
	return false
}

// --- sas-grind -------------------------------------------------------------

// runSASGrind runs one exchange with each side of a SAS scheme, and
// chooses the key share he sends the client so that both users read the
// same string. Without a commitment he finishes with the server first,
// then grinds; against a scheme whose client commits to its key share
// first, he has nothing to grind against, and says so.
func runSASGrind(ctx context.Context, s *session) (relay, error) {
	if s.n.opts.Scheme.Has("commit", "hash") {
		return runSASCommitted(ctx, s)
	}
	const kept = "taken by the attacker, who answers it with his own"
	chm, ch, err := take[*kex.ClientHello](ctx, s, trace.LegA, kept)
	if err != nil {
		return nil, err
	}
	toServer, err := kex.NewKeyShare(s.n.opts.Rand)
	if err != nil {
		return nil, err
	}
	ch2, err := s.send(ctx, trace.LegB, &kex.ClientHello{Nonce: toServer.Nonce, KeyShare: toServer.Public()}, trace.Substituted,
		"the attacker's own key share, toward the server")
	if err != nil {
		return nil, err
	}
	shm, sh, err := take[*kex.ServerHello](ctx, s, trace.LegB, kept)
	if err != nil {
		return nil, err
	}
	sharedB, err := toServer.Shared(shm.KeyShare)
	if err != nil {
		return nil, &legError{leg: trace.LegB, err: err}
	}
	target := kex.SAS(sharedB, ch2, sh)
	s.progress("the server will read out %s. Nothing has bound the attacker to a key share for the client yet: he grinds shares until hers reads %s too (about %s tries for %d bits)",
		target, target, thousands(1<<kex.SASBits), kex.SASBits)

	toClient, err := kex.NewKeyShare(s.n.opts.Rand) // for its nonce; the grind finds the key
	if err != nil {
		return nil, err
	}
	hello, err := newHelloTemplate(toClient.Nonce)
	if err != nil {
		return nil, err
	}
	want := kex.SASValue(sharedB, ch2, sh)
	start := time.Now()
	res, err := grindShares(s.n.ctx, s.n.opts.Rand, chm.KeyShare, start.Add(s.n.opts.HandshakeTimeout),
		func(pub, shared []byte) bool { return kex.SASValue(shared, ch, hello.with(pub)) == want },
		func(n int64) { s.progress("tried %s key shares for the client", thousands(n)) })
	if err != nil {
		return nil, &legError{leg: trace.LegA, err: err}
	}
	s.progress("found one after %s tries in %s: the client's string will read %s, the server's %s",
		thousands(res.tries), time.Since(start).Round(time.Millisecond), target, target)
	toClient.Private = res.priv
	if b, err := wire.Encode(&kex.ServerHello{Nonce: toClient.Nonce, KeyShare: toClient.Public()}); err != nil || !bytes.Equal(b, hello.with(toClient.Public())) {
		return nil, errors.New("attacker: the server_hello template does not encode as wire.Encode does")
	}
	sh2, err := s.send(ctx, trace.LegA, &kex.ServerHello{Nonce: toClient.Nonce, KeyShare: toClient.Public()}, trace.Substituted,
		"a key share the attacker ground for: its string matches the server's, "+target)
	if err != nil {
		return nil, err
	}
	sharedA, err := toClient.Shared(chm.KeyShare)
	if err != nil {
		return nil, &legError{leg: trace.LegA, err: err}
	}
	if got := kex.SAS(sharedA, ch, sh2); got != target {
		return nil, fmt.Errorf("attacker: the ground share reads %s, not %s", got, target)
	}
	return reencrypt(s, kex.SASSecrets(sharedA, ch, sh2), kex.SASSecrets(sharedB, ch2, sh))
}

// runSASCommitted is the same attacker against a client that commits to
// its key share first. Toward the server he must commit to his own share
// before he sees the server's; toward the client he must show his share
// before she reveals hers. Each string depends on a value chosen after his
// choice: there is nothing to grind.
func runSASCommitted(ctx context.Context, s *session) (relay, error) {
	const kept = "taken by the attacker, who answers it with his own"
	_, cmA, err := take[*kex.Commit](ctx, s, trace.LegA, "the client's commitment: the hash of a key share she has not shown yet")
	if err != nil {
		return nil, err
	}
	toServer, err := kex.NewKeyShare(s.n.opts.Rand)
	if err != nil {
		return nil, err
	}
	chB := &kex.ClientHello{Nonce: toServer.Nonce, KeyShare: toServer.Public()}
	ch2, err := wire.Encode(chB)
	if err != nil {
		return nil, err
	}
	cm2, err := s.send(ctx, trace.LegB, &kex.Commit{Hash: kex.CommitTo(ch2)}, trace.Substituted,
		"the attacker's commitment to his own key share, toward the server")
	if err != nil {
		return nil, err
	}
	shm, sh, err := take[*kex.ServerHello](ctx, s, trace.LegB, kept)
	if err != nil {
		return nil, err
	}
	if _, err := s.send(ctx, trace.LegB, chB, trace.Substituted,
		"the key share he committed to: he cannot change it now that he has seen the server's"); err != nil {
		return nil, err
	}
	sharedB, err := toServer.Shared(shm.KeyShare)
	if err != nil {
		return nil, &legError{leg: trace.LegB, err: err}
	}
	target := kex.SAS(sharedB, cm2, sh, ch2)
	s.progress("the server will read out %s. To grind a share for the client, the attacker would need hers: it is hidden behind her commitment until he has sent his. Nothing to grind against: he sends one share, and the strings match once in %s",
		target, thousands(1<<kex.SASBits))
	toClient, err := kex.NewKeyShare(s.n.opts.Rand)
	if err != nil {
		return nil, err
	}
	sh2, err := s.send(ctx, trace.LegA, &kex.ServerHello{Nonce: toClient.Nonce, KeyShare: toClient.Public()}, trace.Substituted,
		"the attacker's key share, shown before the client reveals hers")
	if err != nil {
		return nil, err
	}
	chm, ch, err := take[*kex.ClientHello](ctx, s, trace.LegA, "the client's key share, revealed: it matches her commitment")
	if err != nil {
		return nil, err
	}
	sharedA, err := toClient.Shared(chm.KeyShare)
	if err != nil {
		return nil, &legError{leg: trace.LegA, err: err}
	}
	got := kex.SAS(sharedA, cmA, sh2, ch)
	if got == target {
		s.progress("the client will read %s, the server %s: a match, by a 1-in-%s chance", got, target, thousands(1<<kex.SASBits))
	} else {
		s.progress("the client will read %s, the server %s: they differ, and the users will hang up", got, target)
	}
	return reencrypt(s, kex.SASSecrets(sharedA, cmA, sh2, ch), kex.SASSecrets(sharedB, cm2, sh, ch2))
}

// helloTemplate is a server_hello with a fixed nonce, into which the
// grind writes each key share it tries: the bytes wire.Encode would give,
// without encoding the whole message again each time.
type helloTemplate struct {
	raw []byte // the hello with an all-zero key share
	at  int    // where the key share's base64 starts in raw
}

func newHelloTemplate(nonce []byte) (*helloTemplate, error) {
	zero := make([]byte, kex.KeyShareSize)
	raw, err := wire.Encode(&kex.ServerHello{Nonce: nonce, KeyShare: zero})
	if err != nil {
		return nil, err
	}
	field := []byte(`"key_share":"` + base64.StdEncoding.EncodeToString(zero) + `"`)
	at := bytes.Index(raw, field)
	if at < 0 {
		return nil, errors.New("attacker: no key_share in the encoded server_hello")
	}
	return &helloTemplate{raw: raw, at: at + len(`"key_share":"`)}, nil
}

// with returns the hello carrying key share pub.
func (h *helloTemplate) with(pub []byte) []byte {
	out := bytes.Clone(h.raw)
	base64.StdEncoding.Encode(out[h.at:], pub)
	return out
}

// reencrypt is the relay for a session with one set of keys per leg, in
// the scheme's record suite.
func reencrypt(s *session, a, b *channel.Secrets) (relay, error) {
	a.Suite, b.Suite = s.n.opts.Scheme.Suite, s.n.opts.Scheme.Suite
	return newReencryptRelay(a, b)
}

// thousands writes n with commas: 65,536.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// --- flip-bits and replay-record ---------------------------------------------

// runFlipBits relays every frame, holding no key, but changes the client's
// record that carries KnownPlaintext: it XORs the ciphertext byte under
// the amount with '1'^'9'. A cipher with no integrity delivers "900"; an
// AEAD refuses the record.
func runFlipBits(_ context.Context, s *session) (relay, error) {
	return &knownRecordRelay{passive: passiveRelay{keyless: s.keyless}, suite: s.n.opts.Scheme.Suite, act: flip}, nil
}

// runReplayRecord relays every frame, holding no key, and delivers the
// client's record that carries KnownPlaintext twice.
func runReplayRecord(_ context.Context, s *session) (relay, error) {
	return &knownRecordRelay{passive: passiveRelay{keyless: s.keyless}, suite: s.n.opts.Scheme.Suite, act: replay}, nil
}

// knownRecordRelay is a passive relay that acts once, on the first client
// data record whose plaintext is as long as KnownPlaintext.
type knownRecordRelay struct {
	passive passiveRelay
	suite   channel.Suite
	act     func(r *knownRecordRelay, in parsed, f frame) frame
	done    bool // only the client's pump touches it
}

func (r *knownRecordRelay) pass(dir wire.Direction, in parsed) frame {
	f := r.passive.pass(dir, in)
	d, ok := in.msg.(*wire.Data)
	if r.done || !ok || dir != wire.ClientToServer || len(d.CT)-r.suite.Overhead() != len(KnownPlaintext) {
		return f
	}
	r.done = true
	return r.act(r, in, f)
}

// plaintextAt is where a record's plaintext starts in its ct: after the
// nonce for the random-nonce suite, at once for the others (GCM's tag and
// nothing else comes after it).
func plaintextAt(s channel.Suite) int {
	if s == channel.RandomNonce {
		return channel.IVSize
	}
	return 0
}

func flip(r *knownRecordRelay, in parsed, f frame) frame {
	d := in.msg.(*wire.Data)
	ct := bytes.Clone(d.CT)
	at := plaintextAt(r.suite) + AmountOffset
	ct[at] ^= '1' ^ '9'
	raw, err := wire.Encode(&wire.Data{Seq: d.Seq, CT: ct})
	if err != nil {
		return f
	}
	note := fmt.Sprintf(`byte %d of ct XOR 0x%02x, with no key: where the plaintext says "1" it now says "9", unless something checks`, at, '1'^'9')
	return frame{in: f.in, inRecovered: f.inRecovered, inNote: f.inNote + "; this record is as long as the known transfer order",
		outs: []out{{p: parseWith(wire.Records(), raw), v: trace.Tampered, note: note}}}
}

func replay(_ *knownRecordRelay, in parsed, f frame) frame {
	f.inNote += "; this record is as long as the known transfer order"
	f.outs = append(f.outs, out{p: in, v: trace.Replayed, note: "the same record again, byte for byte, with no key: will the server take the order twice?"})
	return f
}
