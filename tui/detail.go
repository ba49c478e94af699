package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// labelWidth is the width of the detail pane's left column.
const labelWidth = 10

// detail is what the detail pane needs to describe one frame.
type detail struct {
	st         *Styles
	frames     []trace.Event // the frames revealed so far
	at         int           // e's position in frames
	e          trace.Event
	outcome    *scenarios.Outcome // nil while the run goes on
	noAttacker bool
	live       bool // a live attacker process: frames carry real times
	width      int
	codec      *wire.Codec // the scheme's messages
	kind       frameKind   // set by lines
}

// lines renders the detail pane: the frame, what the attacker did with it
// and recovered, what the receiver accepted, what a handshake frame
// carries or how a record compares with the other leg, and the exact
// bytes its sender sent, as JSON and as hex.
func (d *detail) lines() []string {
	d.kind = kindOf(d.e, d.codec)
	var out []string
	add := func(label, text string) {
		out = append(out, d.labelled(label, text)...)
	}
	e := d.e
	head := "── " + d.header() + " "
	if w := ansi.StringWidth(head); w < d.width {
		head += strings.Repeat("─", d.width-w)
	}
	out = append(out, d.st.Rule.Render(ansi.Truncate(head, d.width, "…")))
	if e.Name != "" {
		add("client", fmt.Sprintf("%s, connection %d", quote([]byte(e.Name)), e.Conn))
	}
	if d.live && !e.Time.IsZero() {
		add("at", e.Time.Format("15:04:05.000"))
	}
	x := d.explanation()
	add("attacker", d.st.badgeWord(e.Verdict)+"  "+x.String())
	if e.Note != "" && !x.saysNote() {
		add("", d.st.Dim.Render(printable(e.Note)))
	}
	if d.kind == kindTLS && (e.Verdict == trace.Read || e.Verdict == trace.Forged) {
		for i, l := range contentLines(e.Recovered, hexPerLine(d.width)) {
			label := ""
			if i == 0 {
				label = "content"
			}
			add(label, d.st.text(e.Verdict, l))
		}
	}
	switch d.kind {
	case kindRecord:
		add("receiver", d.receiver())
	case kindEnd:
		add("receiver", d.endReceiver())
	}
	for _, l := range d.carried() {
		add(l.label, l.text)
	}
	for _, l := range d.otherLeg() {
		add(l.label, l.text)
	}
	return append(out, d.sent()...)
}

func (d *detail) explanation() explanation {
	who := "Mallory"
	if d.noAttacker || d.e.Leg == trace.LegWire {
		who = "an eavesdropper with no keys"
	}
	return explanation{st: d.st, e: d.e, kind: d.kind, who: who}
}

func (d *detail) header() string {
	e := d.e
	size := fmt.Sprintf("%d bytes", e.Size)
	if e.Type == trace.TypeClose {
		size = "close frame"
	}
	return fmt.Sprintf("frame %d · leg %s · %s → %s · %s · %s", e.Index, e.Leg, sender(e), receiver(e), frameLabel(e), size)
}

// labelled lays text out beside a label, wrapping at the pane's width.
func (d *detail) labelled(label, text string) []string {
	w := max(d.width-labelWidth, 10)
	wrapped := strings.Split(ansi.Wrap(text, w, " "), "\n")
	out := make([]string, len(wrapped))
	for i, l := range wrapped {
		lab := ""
		if i == 0 {
			lab = label
		}
		out[i] = d.st.Label.Render(padRight(lab, labelWidth)) + l
	}
	return out
}

// receiver says what the frame's final receiver accepted: it matches the
// outcome's messages by direction and sequence number.
func (d *detail) receiver() string {
	e := d.e
	if e.Seq == nil {
		return "no sequence number: the frame did not decode"
	}
	if d.outcome == nil {
		return d.pending()
	}
	from := "client"
	if e.Dir == wire.ServerToClient {
		from = "server"
	}
	to := finalReceiver(e.Dir)
	for _, m := range d.outcome.Messages {
		if m.From != from || m.Seq != *e.Seq {
			continue
		}
		switch {
		case !m.Sent:
			return fmt.Sprintf("%s never sent message #%d", finalSender(e.Dir), m.Seq)
		case m.Accepted == nil:
			return to + " accepted nothing"
		case bytes.Equal(m.Accepted, m.Text):
			return fmt.Sprintf("%s accepted %s, just what %s sent", to, quote(m.Accepted), finalSender(e.Dir))
		}
		return fmt.Sprintf("%s accepted %s, but %s sent %s", to, quote(m.Accepted), finalSender(e.Dir), quote(m.Text))
	}
	return fmt.Sprintf("the outcome has no %s message #%d", from, *e.Seq)
}

// endReceiver says how the conversation ended for the end record's final
// receiver.
func (d *detail) endReceiver() string {
	o, to := d.outcome, finalReceiver(d.e.Dir)
	switch {
	case o == nil:
		return d.pending()
	case d.e.Dir == wire.ClientToServer && o.ServerEnding == "":
		return to + " had no session"
	case d.e.Dir == wire.ClientToServer:
		return to + "'s session ended: " + o.ServerEnding
	case o.ClientErr == nil:
		return to + "'s chat ended cleanly"
	}
	return to + "'s chat ended: " + printable(o.ClientErr.Error())
}

// pending says why there is no outcome to match a frame against yet.
func (d *detail) pending() string {
	if d.live {
		return "not known: an attacker process sees only what crosses it, not what " + finalReceiver(d.e.Dir) + " accepted"
	}
	return "pending: the run is still going"
}

// sent shows the frame's bytes: pretty-printed JSON, then hex.
func (d *detail) sent() []string {
	e := d.e
	var out []string
	if len(e.Raw) == 0 {
		text := "no message bytes"
		if e.Type == trace.TypeClose {
			text = "a WebSocket close frame, with the code and reason above"
		}
		return d.labelled("sent", text)
	}
	var pretty bytes.Buffer
	first := "sent"
	if err := json.Indent(&pretty, e.Raw, "", "  "); err == nil {
		for i, l := range strings.Split(pretty.String(), "\n") {
			lab := ""
			if i == 0 {
				lab = first
			}
			for j, part := range strings.Split(ansi.Hardwrap(printable(l), max(d.width-labelWidth, 10), true), "\n") {
				if j > 0 {
					lab = ""
				}
				out = append(out, d.st.Label.Render(padRight(lab, labelWidth))+part)
			}
		}
	} else {
		out = append(out, d.labelled(first, fmt.Sprintf("%d bytes, not JSON: shown in hex", len(e.Raw)))...)
	}
	for i, l := range hexDump(e.Raw, hexPerLine(d.width)) {
		lab := ""
		if i == 0 {
			lab = "hex"
		}
		out = append(out, d.st.Label.Render(padRight(lab, labelWidth))+d.st.Dim.Render(l))
	}
	return out
}
