package attacker

import (
	"context"
	"fmt"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// runTruncate holds no keys. It relays the handshake and the records
// until the client's record that Options.TruncateAt names (its last
// message, in a scenario), drops that record and forges an ordinary close
// to each side: "bye" to the server, as if the client had left, and
// "server shutting down" to the client. Victims that require the
// authenticated end record notice; victims that take a close frame at its
// word lose the message and never know.
func runTruncate(_ context.Context, s *session) (relay, error) {
	return &truncateRelay{passive: passiveRelay{keyless: s.keyless}, at: s.n.opts.TruncateAt}, nil
}

type truncateRelay struct {
	passive passiveRelay
	at      int // the client data record to cut at, from 1; 0: the client's end record
	seen    int // client data records seen
}

func (r *truncateRelay) pass(dir wire.Direction, in parsed) frame {
	if dir != wire.ClientToServer {
		return r.passive.pass(dir, in)
	}
	switch in.msg.(type) {
	case *wire.Data:
		r.seen++
		if r.seen != r.at {
			return r.passive.pass(dir, in)
		}
	case *wire.End:
		if r.at != 0 && r.seen < r.at {
			return r.passive.pass(dir, in)
		}
	default:
		return r.passive.pass(dir, in)
	}
	return frame{
		in:     trace.Dropped,
		inNote: fmt.Sprintf("withheld by the attacker: the client's %s, cut off with everything after it", r.what(in)),
		cut: &cut{
			toB: closeFrame{websocket.StatusNormalClosure, "bye"},
			toA: closeFrame{websocket.StatusGoingAway, "server shutting down"},
		},
	}
}

// what names the record cut, counting data records from 1 as
// Options.TruncateAt does.
func (r *truncateRelay) what(in parsed) string {
	if in.typ == string(wire.TypeEnd) {
		return "end record"
	}
	return fmt.Sprintf("data record #%d (seq %d)", r.seen, *in.seq)
}
