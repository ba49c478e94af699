// Package trace is the lab's event stream: one [Event] per frame per leg,
// with the attacker's verdict on it. The attacker node and the wire taps
// write events into a [Log]; the CLI, the TUI, exports and scenario
// outcomes read them. Nothing in this package decides a verdict: whoever
// records an event says what it really did with the frame.
package trace

import (
	"sync"
	"time"

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

// Verdict is what the attacker did with a frame. Each has one meaning;
// docs/protocol.md lists them, and a test walks every event of every
// scenario to hold each event to its verdict's rule.
type Verdict string

// The verdicts.
const (
	// Public: a frame whose contents are public by design (public keys,
	// nonces, certificates, a close), which the attacker relayed
	// unchanged: the same bytes went out on the other leg.
	Public Verdict = "public"
	// Intercepted: a public frame the attacker took and did not pass on;
	// he answered it, or sent his own in its place.
	Intercepted Verdict = "intercepted"
	// Substituted: a handshake frame or close the attacker made or changed.
	Substituted Verdict = "substituted"
	// Read: a frame the attacker decrypted or unwrapped with keys he
	// really holds, or whose plaintext he recovered without them by real
	// cryptanalysis (XOR with a record under the same key and nonce).
	// The event carries the bytes he recovered.
	Read Verdict = "read"
	// Opaque: an encrypted frame the attacker could not decrypt.
	Opaque Verdict = "opaque"
	// Forged: a record the attacker encrypted himself, under a key he
	// shares with the receiver. The event carries the plaintext he put in.
	Forged Verdict = "forged"
	// Tampered: a frame the attacker changed without holding its key.
	Tampered Verdict = "tampered"
	// Replayed: a copy of an earlier frame, sent again by the attacker.
	Replayed Verdict = "replayed"
	// Dropped: a frame the attacker withheld on purpose.
	Dropped Verdict = "dropped"
	// Blocked: a frame that did not get through, or a close by which a
	// victim refused to go on (1002, 1007, 1008, 1009, or 4000 + those).
	Blocked Verdict = "blocked"
)

// Verdicts lists every verdict, in the order a summary counts them.
func Verdicts() []Verdict {
	return []Verdict{Read, Forged, Tampered, Replayed, Dropped, Opaque, Substituted, Intercepted, Public, Blocked}
}

// TypeClose is the Type of an event for a WebSocket close frame.
const TypeClose = "close"

// TypeProgress is the Type of an event that reports the progress of a
// long attack (a grind, a discrete log), not a frame: its Note says how
// far it is, its Verdict and Leg are empty, and it carries no bytes.
const TypeProgress = "progress"

// Event is one frame on one leg.
type Event struct {
	Index     int            `json:"index"`            // position in the log, from 0
	Conn      int            `json:"conn,omitempty"`   // connection number within a node, from 1
	Name      string         `json:"name,omitempty"`   // the client's ?name=, in a classroom
	Attack    string         `json:"attack,omitempty"` // the attack the node ran on this connection
	Leg       Leg            `json:"leg"`
	Dir       wire.Direction `json:"direction"`
	Type      string         `json:"message_type"` // wire type, "close", or a TLS record's
	Size      int            `json:"size"`         // bytes of the WebSocket message or TLS record
	Verdict   Verdict        `json:"verdict"`
	Seq       *uint64        `json:"seq,omitempty"`       // records: the sequence number
	Recovered []byte         `json:"recovered,omitempty"` // read: what was recovered; forged: what was put in
	Note      string         `json:"note,omitempty"`      // what the attacker did, or the close code and reason
	Time      time.Time      `json:"time"`                // when the frame crossed, set by Log.Add
	Raw       []byte         `json:"-"`                   // the bytes as they crossed the leg
}

// Log is an append-only list of events, safe for concurrent use. Events get
// their Index in the order Add is called. A bounded log keeps only its
// newest events in memory, while its counters stay exact.
type Log struct {
	mu      sync.Mutex
	events  []Event // a bounded log's ring once full: the oldest at head
	head    int
	next    int
	max     int
	counts  map[Verdict]int
	onEvent func(Event)
	now     func() time.Time
}

// NewLog returns an empty Log that keeps every event. onEvent, if not nil,
// is called with each event as it is added, one call at a time and in
// order; it must not block for long or call back into the Log.
func NewLog(onEvent func(Event)) *Log {
	return &Log{onEvent: onEvent, counts: make(map[Verdict]int), now: time.Now}
}

// NewBoundedLog returns a Log that keeps at most max events in memory
// (every event still reaches onEvent). max of zero or less keeps all.
func NewBoundedLog(max int, onEvent func(Event)) *Log {
	l := NewLog(onEvent)
	l.max = max
	return l
}

// SetClock sets the clock that stamps events; tests pass a fixed one.
func (l *Log) SetClock(now func() time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.now = now
}

// Add appends e, setting its Index and Time.
func (l *Log) Add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.Index = l.next
	l.next++
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	l.counts[e.Verdict]++
	if l.max > 0 && len(l.events) == l.max {
		// Full: the newest replaces the oldest, so a long-running
		// attacker holds max events, never more.
		l.events[l.head] = e
		l.head = (l.head + 1) % l.max
	} else {
		if l.max > 0 && len(l.events) == cap(l.events) {
			// Grow as append would, but never past max: the ring's
			// slots are all the memory the log will hold.
			grown := make([]Event, len(l.events), min(max(2*cap(l.events), 64), l.max))
			copy(grown, l.events)
			l.events = grown
		}
		l.events = append(l.events, e)
	}
	if l.onEvent != nil {
		l.onEvent(e)
	}
}

// Events returns a copy of the events the log keeps: all of them, or the
// newest for a bounded log.
func (l *Log) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Event, 0, len(l.events))
	out = append(out, l.events[l.head:]...)
	return append(out, l.events[:l.head]...)
}

// Len returns how many events were ever added.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// Counts returns how many events were ever added with each verdict.
func (l *Log) Counts() map[Verdict]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[Verdict]int, len(l.counts))
	for v, n := range l.counts {
		out[v] = n
	}
	return out
}
