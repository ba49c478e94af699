// Package trace is the lab's event stream: one [Event] per frame per leg,
// with the attacker's verdict on it. The attacker node and the wire taps
// write events into a [Log]; the CLI, the TUI and scenario outcomes read
// them. Nothing in this package decides a verdict: whoever records an event
// says what it really did with the frame.
package trace

import (
	"sync"

	"github.com/mitmlab/mitmlab/wire"
)

// Leg names a hop between two nodes.
type Leg string

// The legs. With an attacker in the middle there are two; without one, the
// client and server share one wire.
const (
	LegA    Leg = "A"    // client ↔ attacker
	LegB    Leg = "B"    // attacker ↔ server
	LegWire Leg = "wire" // client ↔ server, no attacker
)

// Verdict is what the attacker could do with a frame.
type Verdict string

// The verdicts, as docs/protocol.md defines them.
const (
	// Public: a handshake frame whose contents are public by design
	// (public keys, nonces, certificates), relayed unchanged.
	Public Verdict = "public"
	// Substituted: a handshake frame the attacker changed or made up.
	Substituted Verdict = "substituted"
	// Read: a data frame the attacker decrypted with keys it derived.
	Read Verdict = "read"
	// Opaque: a data frame the attacker could not decrypt.
	Opaque Verdict = "opaque"
	// Forged: a data frame the attacker encrypted itself, under a key it
	// shares with the receiver.
	Forged Verdict = "forged"
	// Blocked: a frame that did not get through: the attacker could not
	// deliver it, or the receiver refused the connection.
	Blocked Verdict = "blocked"
)

// TypeClose is the Type of an event for a WebSocket close frame.
const TypeClose = "close"

// Event is one frame on one leg.
type Event struct {
	Index     int            `json:"index"`          // position in the log, from 0
	Conn      int            `json:"conn,omitempty"` // connection number within a node, from 1
	Leg       Leg            `json:"leg"`
	Dir       wire.Direction `json:"direction"`
	Type      string         `json:"message_type"` // wire type, or "close"
	Size      int            `json:"size"`         // bytes of the WebSocket message
	Verdict   Verdict        `json:"verdict"`
	Seq       *uint64        `json:"seq,omitempty"`       // data frames: the record sequence number
	Recovered []byte         `json:"recovered,omitempty"` // read: plaintext recovered; forged: plaintext injected
	Note      string         `json:"note,omitempty"`      // what the attacker did, or the close code and reason
	Raw       []byte         `json:"-"`                   // the message bytes as they crossed the leg
}

// Log is an append-only list of events, safe for concurrent use. Events get
// their Index in the order Add is called.
type Log struct {
	mu      sync.Mutex
	events  []Event
	onEvent func(Event)
}

// NewLog returns an empty Log. onEvent, if not nil, is called with each
// event as it is added, one call at a time and in order; it must not block
// for long or call back into the Log.
func NewLog(onEvent func(Event)) *Log {
	return &Log{onEvent: onEvent}
}

// Add appends e, setting its Index.
func (l *Log) Add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.Index = len(l.events)
	l.events = append(l.events, e)
	if l.onEvent != nil {
		l.onEvent(e)
	}
}

// Events returns a copy of the events so far.
func (l *Log) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}
