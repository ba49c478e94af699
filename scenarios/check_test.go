package scenarios_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// chat is the ground truth of one run, worked out without looking at the
// Outcome: what Alice sends, and what Bob, answering every message with
// victim.DefaultReply, sends back.
type chat struct {
	sent    [][]byte // Alice's messages, in order
	replies [][]byte // Bob's replies, in order
}

func chatFor(script []string) chat {
	var c chat
	for _, m := range script {
		c.sent = append(c.sent, []byte(m))
		c.replies = append(c.replies, victim.DefaultReply([]byte(m)))
	}
	return c
}

// byDir returns the messages sent in direction d.
func (c chat) byDir(d wire.Direction) [][]byte {
	if d == wire.ClientToServer {
		return c.sent
	}
	return c.replies
}

func (c chat) frames() int { return len(c.sent) + len(c.replies) }

// run runs a scenario and fails the test if it could not be run at all.
func run(t *testing.T, name string, opts *scenarios.Options) *scenarios.Outcome {
	t.Helper()
	o, err := scenarios.Run(t.Context(), name, opts)
	if err != nil {
		t.Fatalf("Run(%q): %v", name, err)
	}
	return o
}

// report fails t with every problem a checker found.
func report(t *testing.T, what string, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Errorf("%s: %s", what, p)
	}
}

// messageProblems compares o.Messages with the ground truth, byte for byte:
// every message sent and accepted intact, and the attacker's recovered bytes
// equal to the text when wantRead, absent otherwise.
func messageProblems(o *scenarios.Outcome, c chat, wantRead bool) []string {
	var p []string
	if len(o.Messages) != c.frames() {
		return append(p, fmt.Sprintf("%d messages in the outcome, want %d", len(o.Messages), c.frames()))
	}
	for i := range o.Messages {
		m := &o.Messages[i]
		from, seq, text := "client", i, []byte(nil)
		if i < len(c.sent) {
			text = c.sent[i]
		} else {
			from, seq = "server", i-len(c.sent)
			text = c.replies[seq]
		}
		at := fmt.Sprintf("message %d (%s seq %d)", i, from, seq)
		if m.From != from || m.Seq != uint64(seq) {
			p = append(p, fmt.Sprintf("%s: outcome says from %s seq %d", at, m.From, m.Seq))
		}
		if !bytes.Equal(m.Text, text) {
			p = append(p, fmt.Sprintf("%s: Text %.40q, the victim sent %.40q", at, m.Text, text))
		}
		if !m.Sent {
			p = append(p, at+": not sent")
		}
		if !bytes.Equal(m.Accepted, text) {
			p = append(p, fmt.Sprintf("%s: receiver accepted %.40q, the victim sent %.40q", at, m.Accepted, text))
		}
		switch {
		case wantRead && !bytes.Equal(m.Recovered, text):
			p = append(p, fmt.Sprintf("%s: attacker recovered %.40q, the victim sent %.40q", at, m.Recovered, text))
		case !wantRead && m.Recovered != nil:
			p = append(p, fmt.Sprintf("%s: attacker recovered %.40q with no key to do it", at, m.Recovered))
		}
	}
	return p
}

// frameKey names one data frame on one leg.
type frameKey struct {
	leg trace.Leg
	dir wire.Direction
	seq uint64
}

// dataFrames indexes the data events by leg, direction and sequence number.
func dataFrames(events []trace.Event) (map[frameKey][]trace.Event, int) {
	out := make(map[frameKey][]trace.Event)
	n := 0
	for _, e := range events {
		if e.Type != string(wire.TypeData) {
			continue
		}
		n++
		var seq uint64 = 1 << 63 // a data event with no Seq lands nowhere we look
		if e.Seq != nil {
			seq = *e.Seq
		}
		k := frameKey{e.Leg, e.Dir, seq}
		out[k] = append(out[k], e)
	}
	return out, n
}

func senderLeg(d wire.Direction) trace.Leg {
	if d == wire.ClientToServer {
		return trace.LegA
	}
	return trace.LegB
}

func receiverLeg(d wire.Direction) trace.Leg {
	if d == wire.ClientToServer {
		return trace.LegB
	}
	return trace.LegA
}

var directions = []wire.Direction{wire.ClientToServer, wire.ServerToClient}

// readProblems checks the ledger on its own, without the Outcome's
// Messages: each data frame appears exactly once on each leg; on the leg it
// arrived on (A from Alice, B from Bob) its verdict is read and its
// Recovered bytes are exactly what the victim sent; on the other leg its
// verdict is onward, with the same bytes. sameRaw says whether the attacker
// forwards the sender's ciphertext untouched (it holds the victims' own
// keys) or re-encrypts it (it holds one key per leg).
func readProblems(events []trace.Event, c chat, onward trace.Verdict, sameRaw bool) []string {
	var p []string
	frames, n := dataFrames(events)
	if n != 2*c.frames() {
		p = append(p, fmt.Sprintf("%d data events in the ledger, want %d (each frame once on each leg)", n, 2*c.frames()))
	}
	for _, d := range directions {
		for i, text := range c.byDir(d) {
			in := frames[frameKey{senderLeg(d), d, uint64(i)}]
			out := frames[frameKey{receiverLeg(d), d, uint64(i)}]
			at := fmt.Sprintf("%s seq %d", d, i)
			if len(in) != 1 || len(out) != 1 {
				p = append(p, fmt.Sprintf("%s: %d events on leg %s and %d on leg %s, want 1 and 1", at, len(in), senderLeg(d), len(out), receiverLeg(d)))
				continue
			}
			if in[0].Verdict != trace.Read {
				p = append(p, fmt.Sprintf("%s: verdict %s on the sender's leg %s, want read", at, in[0].Verdict, senderLeg(d)))
			}
			if !bytes.Equal(in[0].Recovered, text) {
				p = append(p, fmt.Sprintf("%s: leg %s recovered %.40q, the victim sent %.40q", at, senderLeg(d), in[0].Recovered, text))
			}
			if out[0].Verdict != onward {
				p = append(p, fmt.Sprintf("%s: verdict %s on the receiver's leg %s, want %s", at, out[0].Verdict, receiverLeg(d), onward))
			}
			if !bytes.Equal(out[0].Recovered, text) {
				p = append(p, fmt.Sprintf("%s: leg %s carries %.40q, the victim sent %.40q", at, receiverLeg(d), out[0].Recovered, text))
			}
			if same := bytes.Equal(in[0].Raw, out[0].Raw); same != sameRaw {
				p = append(p, fmt.Sprintf("%s: ciphertext identical on both legs is %v, want %v", at, same, sameRaw))
			}
		}
	}
	return p
}

// ciphertextProblems checks that the ledger shows only ciphertext: no
// event is read or carries recovered bytes, every lab data frame is opaque,
// and no message appears in clear in any frame's raw bytes. It holds for
// every transport the catalogue uses, lab frames and TLS records alike.
func ciphertextProblems(events []trace.Event, c chat) []string {
	var p []string
	for _, e := range events {
		if e.Verdict == trace.Read || e.Recovered != nil {
			p = append(p, fmt.Sprintf("event %d (leg %s %s %s): verdict %s, recovered %.40q", e.Index, e.Leg, e.Dir, e.Type, e.Verdict, e.Recovered))
		}
		if e.Type == string(wire.TypeData) && e.Verdict != trace.Opaque {
			p = append(p, fmt.Sprintf("event %d (leg %s %s data): verdict %s, want opaque", e.Index, e.Leg, e.Dir, e.Verdict))
		}
		for _, text := range append(c.sent, c.replies...) {
			if len(text) >= 8 && bytes.Contains(e.Raw, text) {
				p = append(p, fmt.Sprintf("event %d (leg %s %s %s): plaintext %.40q in clear on the wire", e.Index, e.Leg, e.Dir, e.Type, text))
			}
		}
	}
	return p
}

// opaqueProblems adds to ciphertextProblems, for the lab's own wire
// format, that each data frame is recorded once on each of legs.
func opaqueProblems(events []trace.Event, c chat, legs []trace.Leg) []string {
	p := ciphertextProblems(events, c)
	frames, n := dataFrames(events)
	if n != len(legs)*c.frames() {
		p = append(p, fmt.Sprintf("%d data events, want %d (each frame once on each of %d legs)", n, len(legs)*c.frames(), len(legs)))
	}
	for _, d := range directions {
		for i := range c.byDir(d) {
			for _, leg := range legs {
				if got := len(frames[frameKey{leg, d, uint64(i)}]); got != 1 {
					p = append(p, fmt.Sprintf("%s seq %d: %d events on leg %s, want 1", d, i, got, leg))
				}
			}
		}
	}
	return p
}

// labWire reports whether a scenario speaks the lab's own wire format (one
// of package kex's schemes) rather than, say, TLS.
func labWire(sc scenarios.Scenario) bool { return slices.Contains(kex.Names(), sc.Scheme) }

// quietProblems checks that neither victim noticed or hit anything.
func quietProblems(o *scenarios.Outcome) []string {
	var p []string
	if o.ClientErr != nil {
		p = append(p, fmt.Sprintf("client error: %v", o.ClientErr))
	}
	if o.ServerErr != nil {
		p = append(p, fmt.Sprintf("server error: %v", o.ServerErr))
	}
	if o.Detected || o.DetectedBy != "" || o.Reason != "" {
		p = append(p, fmt.Sprintf("Detected=%v DetectedBy=%q Reason=%q, want nothing noticed", o.Detected, o.DetectedBy, o.Reason))
	}
	return p
}
