package export

import (
	"bytes"
	"testing"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// TestStreamsSplitConnections: frames are grouped by leg and connection;
// on one number that covers several connections (the wire with no
// attacker, across a prelude), a message after a close, or a TLS
// ClientHello after records, starts a new connection. Frames with no
// bytes (dropped before they crossed) and progress reports are on none.
func TestStreamsSplitConnections(t *testing.T) {
	t.Parallel()
	c2s, s2c := wire.ClientToServer, wire.ServerToClient
	ev := func(leg trace.Leg, conn int, dir wire.Direction, typ string, raw string) trace.Event {
		return trace.Event{Leg: leg, Conn: conn, Dir: dir, Type: typ, Raw: []byte(raw)}
	}
	events := []trace.Event{
		ev(trace.LegWire, 0, c2s, "client_hello", "1"),
		ev(trace.LegWire, 0, s2c, "server_hello", "2"),
		ev(trace.LegWire, 0, c2s, trace.TypeClose, ""),
		ev(trace.LegWire, 0, s2c, trace.TypeClose, ""),
		{Type: trace.TypeProgress, Note: "half way"},
		ev(trace.LegWire, 0, c2s, "client_hello", "3"), // the second conversation
		ev(trace.LegA, 2, c2s, "tls_client_hello", "4"),
		ev(trace.LegA, 2, s2c, "tls_server_hello", "5"),
		ev(trace.LegB, 2, c2s, "data", ""), // no bytes: it never crossed leg B
		ev(trace.LegA, 2, c2s, "tls_client_hello", "6"),
	}
	got := streams(events)
	want := []struct {
		leg   trace.Leg
		tls   bool
		bytes string
	}{
		{trace.LegWire, false, "12"},
		{trace.LegWire, false, "3"},
		{trace.LegA, true, "45"},
		{trace.LegA, true, "6"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d streams, want %d", len(got), len(want))
	}
	for i, s := range got {
		var b []byte
		for _, f := range s.frames {
			b = append(b, f.Raw...)
		}
		if s.n != i || s.leg != want[i].leg || s.tls != want[i].tls || string(b) != want[i].bytes {
			t.Errorf("stream %d: n=%d leg=%s tls=%v bytes %q; want %+v", i, s.n, s.leg, s.tls, b, want[i])
		}
	}
}

// TestWebSocketFrames: frames of every length encoding parse back to
// their payload, masked or not; a close frame's payload is rebuilt from
// its note.
func TestWebSocketFrames(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 125, 126, 65535, 65536, 70000} {
		p := bytes.Repeat([]byte{'x'}, n)
		for _, mask := range [][]byte{nil, {1, 2, 3, 4}} {
			ops, payloads := wsFrames(t, wsFrame(opText, p, mask), mask != nil)
			if len(ops) != 1 || ops[0] != opText || !bytes.Equal(payloads[0], p) {
				t.Errorf("a %d-byte frame (mask %v) does not parse back", n, mask)
			}
		}
	}
	for note, want := range map[string]string{
		"1000 StatusNormalClosure: bye":                         "\x03\xe8bye",
		"1008 StatusPolicyViolation: key does not match pin: a": "\x03\xf0key does not match pin: a",
		"4008 StatusCode(4008)":                                 "\x0f\xa8",
		"no code here":                                          "",
	} {
		if got := closePayload(note); string(got) != want {
			t.Errorf("closePayload(%q) = %q, want %q", note, got, want)
		}
	}
}
