package export

import (
	"strings"
	"time"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// stream is one connection on one leg: the frames that crossed it, in
// the order of the trace.
type stream struct {
	n      int // its number among the run's streams, from 0
	leg    trace.Leg
	conn   int
	tls    bool          // the connection speaks TLS: its bytes are the records
	frames []trace.Event // events with bytes on this connection, and its close frames
}

// client and server name the nodes at the ends of the stream's leg.
func (s *stream) client() string {
	if s.leg == trace.LegB {
		return Mallory
	}
	return Alice
}

func (s *stream) server() string {
	if s.leg == trace.LegA {
		return Mallory
	}
	return Bob
}

// start and end are the times of its first and last frame.
func (s *stream) start() time.Time { return s.frames[0].Time }
func (s *stream) end() time.Time   { return s.frames[len(s.frames)-1].Time }

// isRecord reports whether e is a TLS record (or bytes that should have
// been one), whose Raw is what crossed the TCP connection.
func isRecord(e trace.Event) bool {
	return strings.HasPrefix(e.Type, "tls_") || e.Type == "not_tls"
}

// isMessage reports whether e is a WebSocket message that crossed its leg:
// one with bytes, that is neither a TLS record nor a close frame.
func isMessage(e trace.Event) bool {
	return len(e.Raw) > 0 && !isRecord(e) && e.Type != trace.TypeClose && e.Type != trace.TypeProgress
}

// crossed reports whether e belongs on its connection: it has bytes, or it
// is a close frame (whose bytes the trace does not keep).
func crossed(e trace.Event) bool {
	return e.Type != trace.TypeProgress && (len(e.Raw) > 0 || e.Type == trace.TypeClose)
}

// streams splits the frames of a run into connections, by leg and
// connection number. Where one number covers several connections (the
// wire with no attacker, across a prelude), a new connection starts at a
// TLS ClientHello after other records, or at a message after a close
// frame.
func streams(events []trace.Event) []*stream {
	type key struct {
		leg  trace.Leg
		conn int
	}
	open := map[key]*stream{}
	var out []*stream
	for _, e := range events {
		if !crossed(e) {
			continue
		}
		k := key{e.Leg, e.Conn}
		s := open[k]
		if s == nil || s.ended(e) {
			s = &stream{n: len(out), leg: e.Leg, conn: e.Conn, tls: isRecord(e)}
			open[k] = s
			out = append(out, s)
		}
		s.frames = append(s.frames, e)
	}
	return out
}

// ended reports whether e must be on a new connection.
func (s *stream) ended(e trace.Event) bool {
	if s.tls {
		return e.Type == "tls_client_hello"
	}
	if e.Type == trace.TypeClose {
		return false
	}
	for _, f := range s.frames {
		if f.Type == trace.TypeClose {
			return true
		}
	}
	return false
}

// sends reports whether the stream's client sent e.
func sends(e trace.Event) bool { return e.Dir == wire.ClientToServer }
