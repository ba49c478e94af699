package scenarios

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/tlslab"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// Message is one chat message: what its sender meant and sent, what its
// receiver accepted, and what the attacker recovered.
type Message struct {
	From string `json:"from"` // "client" or "server"
	Seq  uint64 `json:"seq"`  // its position in its direction, from 0
	// Text is what the sender meant to send.
	Text []byte `json:"text"`
	// Sent is true if the sender really sent it.
	Sent bool `json:"sent"`
	// Accepted is what the receiver accepted in this message's place, or
	// nil if it accepted nothing there.
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

// Altered reports whether the receiver accepted something else in its
// place.
func (m *Message) Altered() bool {
	return m.Accepted != nil && !bytes.Equal(m.Accepted, m.Text)
}

// Outcome is what happened in one run, taken from the victims' own records
// and the attacker's ledger, never from the scenario's expectations.
type Outcome struct {
	Scenario  string    `json:"scenario"`
	Scheme    string    `json:"scheme"`
	Attack    string    `json:"attack,omitempty"` // empty with no attacker
	Transport Transport `json:"transport"`
	// Messages are Alice's script, then Bob's replies, in order.
	Messages []Message `json:"messages"`
	// Duplicated counts deliveries of a message its receiver had already
	// accepted: replays that got through. Extra counts deliveries that
	// match nothing sent.
	Duplicated int `json:"duplicated"`
	Extra      int `json:"extra"`
	// Detected is true if a victim's security check failed, or it refused
	// the server's certificate; DetectedBy says who: "client", "server" or
	// "both".
	Detected   bool   `json:"detected"`
	DetectedBy string `json:"detected_by"`
	Reason     string `json:"reason"` // the failed check, or another error
	// ClientErr and ServerErr are the victims' errors, nil for a clean end.
	ClientErr error `json:"-"`
	ServerErr error `json:"-"`
	// ServerEnding is how Bob's session ended (victim.EndClean, ...), or ""
	// if he never had one.
	ServerEnding string `json:"server_ending,omitempty"`
	// Events is the trace: every frame on every leg.
	Events []trace.Event `json:"-"`
	// KeyLog is the NSS key log (SSLKEYLOGFILE lines) of the attacker's
	// own TLS endpoints, for the scenarios over wss:// in which he
	// terminated TLS; empty otherwise. With it, a capture of the run
	// (export's .pcapng) is decrypted by Wireshark exactly as far as the
	// attacker decrypted it.
	KeyLog []byte `json:"-"`
}

func newOutcome(scenario, scheme, attack string, t Transport, script [][]byte, chat *victim.ChatResult, sessions []*victim.ServerSession, events []trace.Event) *Outcome {
	if t == "" {
		t = Memory
	}
	o := &Outcome{Scenario: scenario, Scheme: scheme, Attack: attack, Transport: t, ClientErr: chat.Err, Events: events}
	var bob *victim.ServerSession
	if len(sessions) > 0 {
		bob = sessions[0]
		o.ServerErr = bob.Err
		o.ServerEnding = bob.Ending
	}
	recovered := recoveredBySeq(events)
	var received, replies [][]byte
	if bob != nil {
		received, replies = bob.Received, bob.Replies
	}
	o.add("client", script, len(chat.Sent), received, recovered, wire.ClientToServer)
	o.add("server", replies, len(replies), chat.Replies, recovered, wire.ServerToClient)
	o.judge()
	return o
}

// add matches one direction: the sender's texts (the first sent of them
// really sent) against what the receiver accepted, in order. A delivery
// equal to an earlier message is a duplicate; one that differs stands in
// the place of the next message, altered.
func (o *Outcome) add(from string, texts [][]byte, sent int, accepted [][]byte, recovered map[key][]byte, dir wire.Direction) {
	start := len(o.Messages)
	for i, text := range texts {
		o.Messages = append(o.Messages, Message{From: from, Seq: uint64(i), Text: text, Sent: i < sent, Recovered: recovered[key{dir, uint64(i)}]})
	}
	msgs := o.Messages[start:]
	next := 0
	for _, a := range accepted {
		switch {
		case next < len(msgs) && bytes.Equal(a, msgs[next].Text):
			msgs[next].Accepted = a
			next++
		case seen(msgs[:next], a):
			o.Duplicated++
		case next < len(msgs):
			msgs[next].Accepted = a
			next++
		default:
			o.Extra++
		}
	}
}

func seen(msgs []Message, b []byte) bool {
	for _, m := range msgs {
		if bytes.Equal(m.Text, b) {
			return true
		}
	}
	return false
}

// judge sets Detected, DetectedBy and Reason from the victims' errors.
func (o *Outcome) judge() {
	c, s := refused(o.ClientErr), refused(o.ServerErr)
	switch {
	case c && s:
		o.Detected, o.DetectedBy, o.Reason = true, "both", reason(o.ClientErr)
	case c:
		o.Detected, o.DetectedBy, o.Reason = true, "client", reason(o.ClientErr)
	case s:
		o.Detected, o.DetectedBy, o.Reason = true, "server", reason(o.ServerErr)
	case o.ClientErr != nil:
		o.Reason = o.ClientErr.Error()
	case o.ServerErr != nil:
		o.Reason = o.ServerErr.Error()
	}
}

// refused reports whether err is a victim noticing: a security check that
// failed, or a TLS client refusing a certificate.
func refused(err error) bool {
	if kex.Detected(err) {
		return true
	}
	_, ok := tlslab.Refusal(err)
	return ok
}

func reason(err error) string {
	if r, ok := tlslab.Refusal(err); ok && !kex.Detected(err) {
		return r
	}
	return kex.Reason(err)
}

type key struct {
	dir wire.Direction
	seq uint64
}

// recoveredBySeq collects the plaintext of every data record the attacker
// read on the leg it arrived on (A from the client, B from the server):
// the first read of each position.
func recoveredBySeq(events []trace.Event) map[key][]byte {
	out := make(map[key][]byte)
	for _, e := range events {
		if e.Verdict != trace.Read || e.Seq == nil || e.Type != string(wire.TypeData) {
			continue
		}
		fromSender := e.Leg == trace.LegWire ||
			(e.Dir == wire.ClientToServer && e.Leg == trace.LegA) ||
			(e.Dir == wire.ServerToClient && e.Leg == trace.LegB)
		k := key{e.Dir, *e.Seq}
		if _, ok := out[k]; fromSender && !ok {
			out[k] = e.Recovered
		}
	}
	return out
}

// MessagesSent counts the messages the victims really sent.
func (o *Outcome) MessagesSent() int { return o.count((*Message).sent) }

// MessagesDelivered counts the messages their receivers accepted intact.
func (o *Outcome) MessagesDelivered() int { return o.count((*Message).Delivered) }

// MessagesAltered counts the messages whose receiver accepted other bytes
// in their place.
func (o *Outcome) MessagesAltered() int { return o.count((*Message).Altered) }

// AttackerRead counts the messages whose exact bytes the attacker recovered.
func (o *Outcome) AttackerRead() int { return o.count((*Message).Read) }

// Misread counts messages the attacker claims to have recovered whose bytes
// differ from what was sent. Anything but zero is a bug in the lab.
func (o *Outcome) Misread() int {
	return o.count(func(m *Message) bool { return m.Recovered != nil && !m.Read() })
}

// Lost returns the messages that were sent but that their receiver never
// accepted, altered or not.
func (o *Outcome) Lost() []Message {
	var out []Message
	for _, m := range o.Messages {
		if m.Sent && m.Accepted == nil {
			out = append(out, m)
		}
	}
	return out
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
	var harm []string
	if lost := o.Lost(); len(lost) > 0 {
		var names []string
		for _, m := range lost {
			names = append(names, fmt.Sprintf("%q", m.Text))
		}
		harm = append(harm, fmt.Sprintf("%d lost (%s)", len(lost), strings.Join(names, ", ")))
	}
	if n := o.MessagesAltered(); n > 0 {
		harm = append(harm, fmt.Sprintf("%d delivered altered", n))
	}
	if o.Duplicated > 0 {
		harm = append(harm, fmt.Sprintf("%d delivered twice", o.Duplicated))
	}
	if len(harm) > 0 {
		read += " · " + strings.Join(harm, ", ")
	}
	switch o.DetectedBy {
	case "client":
		return fmt.Sprintf("client refused the server: %s · %s", o.Reason, read)
	case "server":
		return fmt.Sprintf("server refused the client: %s · %s", o.Reason, read)
	case "both":
		return fmt.Sprintf("both victims refused: %s · %s", o.Reason, read)
	}
	if o.Reason != "" {
		return fmt.Sprintf("%s · the chat failed: %s", read, o.Reason)
	}
	if len(harm) > 0 {
		return read + " · and nobody noticed"
	}
	return read + " · victims noticed nothing"
}
