package tui

import (
	"bytes"
	"context"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// The fixture is a recorded-style trace with fixed keys, nonces and key
// shares, so goldens that show bytes (the detail pane's JSON and hex) are
// the same on every run. Its records are real, sealed with the channel
// package under fixed keys; the plaintext a READ frame "recovered" is
// what opening that record gives, not a copy of the input.

const (
	fixtureMessage = "my card PIN is 4921"
	fixtureReply   = "got it: my card PIN is 4921"
)

// fixedSecrets are the traffic secrets of one leg, the same on every run.
func fixedSecrets(b byte) *channel.Secrets {
	var s channel.Secrets
	for i := range s.ClientToServer.Key {
		s.ClientToServer.Key[i] = b
		s.ServerToClient.Key[i] = b + 1
	}
	for i := range s.ClientToServer.IV {
		s.ClientToServer.IV[i] = b ^ 0xff
		s.ServerToClient.IV[i] = (b + 1) ^ 0xff
	}
	return &s
}

func repeat(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func encode(t testing.TB, m wire.Message) []byte {
	t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// leg seals the records of one direction of one leg and opens them again
// with the same keys, as the receiver would.
type leg struct {
	t    testing.TB
	seal *channel.Sealer
	open *channel.Opener
}

func newLeg(t testing.TB, s *channel.Secrets, dir wire.Direction) *leg {
	t.Helper()
	sl, err := channel.NewSealer(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	op, err := channel.NewOpener(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	return &leg{t: t, seal: sl, open: op}
}

// record returns the wire bytes of the next data record and the plaintext
// that opening it gives back.
func (l *leg) record(text string) (raw, opened []byte) {
	l.t.Helper()
	d, err := l.seal.Seal([]byte(text))
	if err != nil {
		l.t.Fatal(err)
	}
	raw = encode(l.t, d)
	back, err := wire.DecodeAs[*wire.Data](wire.Records(), raw)
	if err != nil {
		l.t.Fatal(err)
	}
	if opened, err = l.open.Open(back); err != nil {
		l.t.Fatal(err)
	}
	return raw, opened
}

// end returns the wire bytes of the direction's end record, checked by
// opening it.
func (l *leg) end() []byte {
	l.t.Helper()
	e, err := l.seal.SealEnd()
	if err != nil {
		l.t.Fatal(err)
	}
	raw := encode(l.t, e)
	back, err := wire.DecodeAs[*wire.End](wire.Records(), raw)
	if err != nil {
		l.t.Fatal(err)
	}
	if err := l.open.OpenEnd(back); err != nil {
		l.t.Fatal(err)
	}
	return raw
}

func seq(n uint64) *uint64 { return &n }

func frame(l trace.Leg, dir wire.Direction, raw []byte, v trace.Verdict, recovered []byte, note string) trace.Event {
	e := trace.Event{Conn: 1, Leg: l, Dir: dir, Type: string(wire.PeekType(raw)), Size: len(raw), Verdict: v, Recovered: recovered, Note: note, Raw: raw}
	if m, err := wire.Records().Decode(raw); err == nil {
		switch m := m.(type) {
		case *wire.Data:
			e.Seq = seq(m.Seq)
		case *wire.End:
			e.Seq = seq(m.Seq)
		}
	}
	return e
}

// mitmFixture is unauth-ecdh under double-ecdh: one message each way, and
// Alice's end record.
func mitmFixture(t testing.TB) ([]trace.Event, *scenarios.Outcome) {
	c2s, s2c := wire.ClientToServer, wire.ServerToClient
	legA, legB := fixedSecrets(0x11), fixedSecrets(0x33)
	aIn, bOut := newLeg(t, legA, c2s), newLeg(t, legB, c2s)
	bIn, aOut := newLeg(t, legB, s2c), newLeg(t, legA, s2c)
	msgIn, msgRead := aIn.record(fixtureMessage)
	msgOut, _ := bOut.record(fixtureMessage)
	replyIn, replyRead := bIn.record(fixtureReply)
	replyOut, _ := aOut.record(fixtureReply)
	events := []trace.Event{
		frame(trace.LegA, c2s, encode(t, &kex.ClientHello{Nonce: repeat(0x01, 32), KeyShare: repeat(0xa1, 32)}), trace.Intercepted, nil, "taken by the attacker, who answers it himself"),
		frame(trace.LegA, s2c, encode(t, &kex.ServerHello{Nonce: repeat(0x02, 32), KeyShare: repeat(0xe1, 32)}), trace.Substituted, nil, "the attacker's own key share"),
		frame(trace.LegB, c2s, encode(t, &kex.ClientHello{Nonce: repeat(0x03, 32), KeyShare: repeat(0xe2, 32)}), trace.Substituted, nil, "the attacker's own key share"),
		frame(trace.LegB, s2c, encode(t, &kex.ServerHello{Nonce: repeat(0x04, 32), KeyShare: repeat(0xb1, 32)}), trace.Intercepted, nil, "taken by the attacker, who answers it himself"),
		frame(trace.LegA, c2s, msgIn, trace.Read, msgRead, "decrypted with the key the attacker shares with the sender"),
		frame(trace.LegB, c2s, msgOut, trace.Forged, msgRead, "re-encrypted with the key the attacker shares with the receiver"),
		frame(trace.LegB, s2c, replyIn, trace.Read, replyRead, "decrypted with the key the attacker shares with the sender"),
		frame(trace.LegA, s2c, replyOut, trace.Forged, replyRead, "re-encrypted with the key the attacker shares with the receiver"),
		frame(trace.LegA, c2s, aIn.end(), trace.Read, []byte{}, "the sender's end record, opened with the key the attacker shares with the sender"),
		frame(trace.LegB, c2s, bOut.end(), trace.Forged, []byte{}, "an end record the attacker sealed himself, with the key he shares with the receiver"),
		{Conn: 1, Leg: trace.LegA, Dir: c2s, Type: trace.TypeClose, Verdict: trace.Public, Note: "1000 StatusNormalClosure: bye"},
	}
	o := &scenarios.Outcome{
		Scenario: "unauth-ecdh", Scheme: "unauth-ecdh", Attack: attacker.DoubleECDH, Transport: scenarios.Memory,
		ServerEnding: "clean",
		Messages: []scenarios.Message{
			{From: "client", Seq: 0, Text: []byte(fixtureMessage), Sent: true, Accepted: []byte(fixtureMessage), Recovered: msgRead},
			{From: "server", Seq: 0, Text: []byte(fixtureReply), Sent: true, Accepted: []byte(fixtureReply), Recovered: replyRead},
		},
	}
	return events, o
}

// wireFixture is unauth-ecdh with no attacker: an eavesdropper sees
// ciphertext only.
func wireFixture(t testing.TB) ([]trace.Event, *scenarios.Outcome) {
	c2s, s2c := wire.ClientToServer, wire.ServerToClient
	keys := fixedSecrets(0x55)
	in, _ := newLeg(t, keys, c2s).record(fixtureMessage)
	out, _ := newLeg(t, keys, s2c).record(fixtureReply)
	events := []trace.Event{
		frame(trace.LegWire, c2s, encode(t, &kex.ClientHello{Nonce: repeat(0x01, 32), KeyShare: repeat(0xa1, 32)}), trace.Public, nil, ""),
		frame(trace.LegWire, s2c, encode(t, &kex.ServerHello{Nonce: repeat(0x04, 32), KeyShare: repeat(0xb1, 32)}), trace.Public, nil, ""),
		frame(trace.LegWire, c2s, in, trace.Opaque, nil, "no key for this record"),
		frame(trace.LegWire, s2c, out, trace.Opaque, nil, "no key for this record"),
	}
	o := &scenarios.Outcome{
		Scenario: "unauth-ecdh", Scheme: "unauth-ecdh", Transport: scenarios.Memory,
		Messages: []scenarios.Message{
			{From: "client", Seq: 0, Text: []byte(fixtureMessage), Sent: true, Accepted: []byte(fixtureMessage)},
			{From: "server", Seq: 0, Text: []byte(fixtureReply), Sent: true, Accepted: []byte(fixtureReply)},
		},
	}
	return events, o
}

// play is a Runner that plays a fixed trace and outcome.
func play(events []trace.Event, o *scenarios.Outcome) Runner {
	return func(ctx context.Context, name string, opts *scenarios.Options) (*scenarios.Outcome, error) {
		out := *o
		out.Events = nil
		for i, e := range events {
			e.Index = i
			if opts.OnEvent != nil {
				opts.OnEvent(e)
			}
			out.Events = append(out.Events, e)
		}
		return &out, ctx.Err()
	}
}

// replay is a Runner that plays the fixture: the mitm trace, or the wire
// trace when the attacker is off.
func replay(t testing.TB) Runner {
	mitm := play(mitmFixture(t))
	direct := play(wireFixture(t))
	return func(ctx context.Context, name string, opts *scenarios.Options) (*scenarios.Outcome, error) {
		if opts.NoAttacker {
			return direct(ctx, name, opts)
		}
		return mitm(ctx, name, opts)
	}
}
