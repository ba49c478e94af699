package scenarios

import (
	"bytes"
	"fmt"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// Message is one chat message: what its sender meant and sent, what its
// receiver accepted, and what the attacker recovered.
type Message struct {
	From string `json:"from"` // "client" or "server"
	Seq  uint64 `json:"seq"`  // record sequence number in its direction
	// Text is what the sender meant to send.
	Text []byte `json:"text"`
	// Sent is true if the sender really sent it.
	Sent bool `json:"sent"`
	// Accepted is what the receiver accepted, or nil.
	Accepted []byte `json:"accepted,omitempty"`
	// Recovered is the plaintext the attacker recovered from the frame, with
	// keys it really derived, or nil.
	Recovered []byte `json:"recovered,omitempty"`
}

// Read reports whether the attacker recovered exactly what was sent.
func (m *Message) Read() bool {
	return m.Sent && m.Recovered != nil && bytes.Equal(m.Recovered, m.Text)
}

// Delivered reports whether the receiver accepted exactly what was sent.
func (m *Message) Delivered() bool {
	return m.Sent && m.Accepted != nil && bytes.Equal(m.Accepted, m.Text)
}

// Outcome is what happened in one run, taken from the victims' own records
// and the attacker's ledger, never from the scenario's expectations.
type Outcome struct {
	Scenario  string          `json:"scenario"`
	Scheme    string          `json:"scheme"`
	Attack    attacker.Attack `json:"attack,omitempty"` // empty with no attacker
	Transport Transport       `json:"transport"`
	// Messages are Alice's script, then Bob's replies, in order.
	Messages []Message `json:"messages"`
	// Detected is true if a victim's security check failed.
	Detected   bool   `json:"detected"`
	DetectedBy string `json:"detected_by"` // "client", "server" or ""
	Reason     string `json:"reason"`      // the failed check, or another error
	// ClientErr and ServerErr are the victims' errors, nil for a normal end.
	ClientErr error `json:"-"`
	ServerErr error `json:"-"`
	// Events is the trace: every frame on every leg.
	Events []trace.Event `json:"-"`
}

func newOutcome(sc Scenario, attack attacker.Attack, t Transport, script [][]byte, chat *victim.ChatResult, sessions []*victim.ServerSession, events []trace.Event) *Outcome {
	if t == "" {
		t = Memory
	}
	o := &Outcome{Scenario: sc.Name, Scheme: sc.Scheme, Attack: attack, Transport: t, ClientErr: chat.Err, Events: events}
	var bob *victim.ServerSession
	if len(sessions) > 0 {
		bob = sessions[0]
		o.ServerErr = bob.Err
	}
	recovered := recoveredBySeq(events)
	for i, text := range script {
		m := Message{From: "client", Seq: uint64(i), Text: text, Sent: i < len(chat.Sent)}
		if bob != nil && i < len(bob.Received) {
			m.Accepted = bob.Received[i]
		}
		m.Recovered = recovered[key{wire.ClientToServer, uint64(i)}]
		o.Messages = append(o.Messages, m)
	}
	if bob != nil {
		for i, text := range bob.Replies {
			m := Message{From: "server", Seq: uint64(i), Text: text, Sent: true}
			if i < len(chat.Replies) {
				m.Accepted = chat.Replies[i]
			}
			m.Recovered = recovered[key{wire.ServerToClient, uint64(i)}]
			o.Messages = append(o.Messages, m)
		}
	}
	switch {
	case kex.Detected(o.ClientErr):
		o.Detected, o.DetectedBy, o.Reason = true, "client", kex.Reason(o.ClientErr)
	case kex.Detected(o.ServerErr):
		o.Detected, o.DetectedBy, o.Reason = true, "server", kex.Reason(o.ServerErr)
	case o.ClientErr != nil:
		o.Reason = o.ClientErr.Error()
	case o.ServerErr != nil:
		o.Reason = o.ServerErr.Error()
	}
	return o
}

type key struct {
	dir wire.Direction
	seq uint64
}

// recoveredBySeq collects the plaintext of every data frame the attacker
// read on the leg it arrived on (A from the client, B from the server).
func recoveredBySeq(events []trace.Event) map[key][]byte {
	out := make(map[key][]byte)
	for _, e := range events {
		if e.Verdict != trace.Read || e.Seq == nil {
			continue
		}
		fromSender := (e.Dir == wire.ClientToServer && e.Leg == trace.LegA) || (e.Dir == wire.ServerToClient && e.Leg == trace.LegB)
		if fromSender {
			out[key{e.Dir, *e.Seq}] = e.Recovered
		}
	}
	return out
}

// MessagesSent counts the messages the victims really sent.
func (o *Outcome) MessagesSent() int { return o.count((*Message).sent) }

// MessagesDelivered counts the messages their receivers accepted intact.
func (o *Outcome) MessagesDelivered() int { return o.count((*Message).Delivered) }

// AttackerRead counts the messages whose exact bytes the attacker recovered.
func (o *Outcome) AttackerRead() int { return o.count((*Message).Read) }

// Misread counts messages the attacker claims to have recovered whose bytes
// differ from what was sent. Anything but zero is a bug in the lab.
func (o *Outcome) Misread() int {
	return o.count(func(m *Message) bool { return m.Recovered != nil && !m.Read() })
}

func (m *Message) sent() bool { return m.Sent }

func (o *Outcome) count(f func(*Message) bool) int {
	n := 0
	for i := range o.Messages {
		if f(&o.Messages[i]) {
			n++
		}
	}
	return n
}

// Summary is the one-line verdict the CLI and TUI print, such as
// "attacker read 6/6 messages · victims noticed nothing".
func (o *Outcome) Summary() string {
	read := fmt.Sprintf("attacker read %d/%d messages", o.AttackerRead(), len(o.Messages))
	if o.Attack == "" {
		read = fmt.Sprintf("no attacker; an eavesdropper read %d/%d messages", o.AttackerRead(), len(o.Messages))
	}
	switch {
	case o.DetectedBy == "client":
		return fmt.Sprintf("client refused the server: %s · %s", o.Reason, read)
	case o.DetectedBy == "server":
		return fmt.Sprintf("server refused the client: %s · %s", o.Reason, read)
	case o.Reason != "":
		return fmt.Sprintf("%s · the chat failed: %s", read, o.Reason)
	}
	return read + " · victims noticed nothing"
}
