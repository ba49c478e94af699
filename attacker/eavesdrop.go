package attacker

import (
	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// Eavesdrop returns a tap for the client's end of a connection with no
// attacker in the middle. It records every message on [trace.LegWire] as a
// passive eavesdropper with no keys would see it: the handshake is public,
// and records are opaque unless the scheme's records need no key.
func Eavesdrop(log *trace.Log, scheme *kex.Scheme) wire.Tap {
	codec := scheme.Codec()
	r := passiveRelay{keyless: scheme.Suite.Keyless()}
	return func(sent bool, msg []byte) {
		p := parseWith(codec, append([]byte(nil), msg...))
		dir := wire.ServerToClient
		if sent {
			dir = wire.ClientToServer
		}
		f := r.pass(dir, p)
		log.Add(trace.Event{Leg: trace.LegWire, Dir: dir, Type: p.typ, Size: len(p.raw), Verdict: f.in, Seq: p.seq, Recovered: f.inRecovered, Note: f.inNote, Raw: p.raw})
	}
}

// EavesdropCloses returns the close tap that goes with [Eavesdrop]: it
// records each close frame on [trace.LegWire].
func EavesdropCloses(log *trace.Log) wire.CloseTap {
	return func(sent bool, code websocket.StatusCode, reason string) {
		dir := wire.ServerToClient
		if sent {
			dir = wire.ClientToServer
		}
		v := trace.Public
		if wire.Refusal(code) {
			v = trace.Blocked
		}
		note := codeNote(code, reason)
		log.Add(trace.Event{Leg: trace.LegWire, Dir: dir, Type: trace.TypeClose, Verdict: v, Note: note})
	}
}
