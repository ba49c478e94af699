package attacker

import (
	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// Eavesdrop returns a tap for the client's end of a connection with no
// attacker in the middle. It records every message on [trace.LegWire] as a
// passive eavesdropper with no keys would see it: the handshake is public
// and every data frame is opaque.
func Eavesdrop(log *trace.Log) wire.Tap {
	return func(sent bool, msg []byte) {
		p := parse(append([]byte(nil), msg...))
		dir := wire.ServerToClient
		if sent {
			dir = wire.ClientToServer
		}
		f := opaqueRelay{}.pass(dir, p)
		log.Add(trace.Event{Leg: trace.LegWire, Dir: dir, Type: p.typ, Size: len(p.raw), Verdict: f.in, Seq: p.seq, Note: f.inNote, Raw: p.raw})
	}
}

// EavesdropCloses returns the close tap that goes with [Eavesdrop]: it
// records each close frame on [trace.LegWire] as the attacker node records
// closes on its legs.
func EavesdropCloses(log *trace.Log) wire.CloseTap {
	return func(sent bool, code websocket.StatusCode, reason string) {
		dir := wire.ServerToClient
		if sent {
			dir = wire.ClientToServer
		}
		log.Add(closeEvent(0, trace.LegWire, dir, code, reason))
	}
}
