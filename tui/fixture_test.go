package tui

import (
	"bytes"
	"context"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// The fixture is a recorded-style trace with fixed keys, nonces and key
// shares, so goldens that show bytes (the detail pane's JSON and hex) are
// the same on every run. Its data frames are real records, sealed with
// the channel package under fixed keys; the plaintext a READ frame
// "recovered" is what opening that record gives, not a copy of the input.

const (
	fixtureMessage = "my card PIN is 4921"
	fixtureReply   = "got it: my card PIN is 4921"
)

func fixedKeys(b byte) channel.Keys {
	var k channel.Keys
	for i := range k.Key {
		k.Key[i] = b
	}
	for i := range k.IV {
		k.IV[i] = b ^ 0xff
	}
	return k
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

// sealed returns the wire bytes of one record and the plaintext that
// opening it with the same keys gives back.
func sealed(t testing.TB, k channel.Keys, dir wire.Direction, text string) (raw, opened []byte) {
	t.Helper()
	s, err := channel.NewSealer(k, dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Seal([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	raw = encode(t, d)
	o, err := channel.NewOpener(k, dir)
	if err != nil {
		t.Fatal(err)
	}
	back, err := wire.DecodeAs[*wire.Data](raw)
	if err != nil {
		t.Fatal(err)
	}
	opened, err = o.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	return raw, opened
}

func seq(n uint64) *uint64 { return &n }

func frame(leg trace.Leg, dir wire.Direction, raw []byte, v trace.Verdict, recovered []byte, note string) trace.Event {
	e := trace.Event{Conn: 1, Leg: leg, Dir: dir, Type: string(wire.PeekType(raw)), Size: len(raw), Verdict: v, Recovered: recovered, Note: note, Raw: raw}
	if d, err := wire.DecodeAs[*wire.Data](raw); err == nil {
		e.Seq = seq(d.Seq)
	}
	return e
}

// mitmFixture is unauth-ecdh under double-ecdh: one message each way.
func mitmFixture(t testing.TB) ([]trace.Event, *scenarios.Outcome) {
	c2s, s2c := wire.ClientToServer, wire.ServerToClient
	aIn, aRead := sealed(t, fixedKeys(0x11), c2s, fixtureMessage)
	bOut, _ := sealed(t, fixedKeys(0x22), c2s, fixtureMessage)
	bIn, bRead := sealed(t, fixedKeys(0x33), s2c, fixtureReply)
	aOut, _ := sealed(t, fixedKeys(0x44), s2c, fixtureReply)
	events := []trace.Event{
		frame(trace.LegA, c2s, encode(t, &wire.ClientHello{Nonce: repeat(0x01, 32), KeyShare: repeat(0xa1, 32)}), trace.Public, nil, ""),
		frame(trace.LegA, s2c, encode(t, &wire.ServerHello{Nonce: repeat(0x02, 32), KeyShare: repeat(0xe1, 32)}), trace.Substituted, nil, "the attacker's own key share"),
		frame(trace.LegB, c2s, encode(t, &wire.ClientHello{Nonce: repeat(0x03, 32), KeyShare: repeat(0xe2, 32)}), trace.Substituted, nil, "the attacker's own key share"),
		frame(trace.LegB, s2c, encode(t, &wire.ServerHello{Nonce: repeat(0x04, 32), KeyShare: repeat(0xb1, 32)}), trace.Public, nil, ""),
		frame(trace.LegA, c2s, aIn, trace.Read, aRead, "decrypted with the key the attacker shares with the sender"),
		frame(trace.LegB, c2s, bOut, trace.Forged, aRead, "re-encrypted with the key the attacker shares with the receiver"),
		frame(trace.LegB, s2c, bIn, trace.Read, bRead, "decrypted with the key the attacker shares with the sender"),
		frame(trace.LegA, s2c, aOut, trace.Forged, bRead, "re-encrypted with the key the attacker shares with the receiver"),
		{Conn: 1, Leg: trace.LegA, Dir: c2s, Type: trace.TypeClose, Verdict: trace.Public, Note: "1000 StatusNormalClosure: bye"},
	}
	o := &scenarios.Outcome{
		Scenario: "unauth-ecdh", Scheme: "unauth-ecdh", Attack: attacker.DoubleECDH, Transport: scenarios.Memory,
		Messages: []scenarios.Message{
			{From: "client", Seq: 0, Text: []byte(fixtureMessage), Sent: true, Accepted: []byte(fixtureMessage), Recovered: aRead},
			{From: "server", Seq: 0, Text: []byte(fixtureReply), Sent: true, Accepted: []byte(fixtureReply), Recovered: bRead},
		},
	}
	return events, o
}

// wireFixture is unauth-ecdh with no attacker: an eavesdropper sees
// ciphertext only.
func wireFixture(t testing.TB) ([]trace.Event, *scenarios.Outcome) {
	c2s, s2c := wire.ClientToServer, wire.ServerToClient
	in, _ := sealed(t, fixedKeys(0x55), c2s, fixtureMessage)
	out, _ := sealed(t, fixedKeys(0x66), s2c, fixtureReply)
	events := []trace.Event{
		frame(trace.LegWire, c2s, encode(t, &wire.ClientHello{Nonce: repeat(0x01, 32), KeyShare: repeat(0xa1, 32)}), trace.Public, nil, ""),
		frame(trace.LegWire, s2c, encode(t, &wire.ServerHello{Nonce: repeat(0x04, 32), KeyShare: repeat(0xb1, 32)}), trace.Public, nil, ""),
		frame(trace.LegWire, c2s, in, trace.Opaque, nil, "no key for this frame"),
		frame(trace.LegWire, s2c, out, trace.Opaque, nil, "no key for this frame"),
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

// replay is a Runner that plays the fixture: the mitm trace, or the wire
// trace when the attacker is off.
func replay(t testing.TB) Runner {
	mitm, mo := mitmFixture(t)
	direct, do := wireFixture(t)
	return func(ctx context.Context, name string, opts *scenarios.Options) (*scenarios.Outcome, error) {
		events, o := mitm, *mo
		if opts.NoAttacker {
			events, o = direct, *do
		}
		for i, e := range events {
			e.Index = i
			if opts.OnEvent != nil {
				opts.OnEvent(e)
			}
			o.Events = append(o.Events, e)
		}
		return &o, ctx.Err()
	}
}
