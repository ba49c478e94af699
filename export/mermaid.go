package export

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// laneID is a node's lane in the diagram.
func laneID(node string) string {
	switch node {
	case Alice:
		return "A"
	case Mallory:
		return "M"
	}
	return "B"
}

// writeMermaid writes a sequenceDiagram: a lane per node, an arrow per
// frame labelled "type · VERDICT" (with the chat message, for a data
// record the attacker read or forged), a crossed arrow for a frame that
// was dropped or blocked, a note where a new connection starts and one
// with the summary.
func writeMermaid(w io.Writer, r *Run) error {
	b := bufio.NewWriter(w)
	events := r.events()
	fmt.Fprintln(b, "sequenceDiagram")
	title := r.name()
	if r.Scenario.Title != "" {
		title += ": " + r.Scenario.Title
	}
	fmt.Fprintf(b, "    title %s\n", mermaidText(title))
	attacked := slices.ContainsFunc(events, func(e trace.Event) bool { return e.Leg == trace.LegA || e.Leg == trace.LegB })
	fmt.Fprintln(b, "    participant A as Alice (client)")
	if attacked {
		fmt.Fprintln(b, "    participant M as Mallory (attacker)")
	}
	fmt.Fprintln(b, "    participant B as Bob (server)")
	everyone := "A,B"
	conns := connCount(events)
	lastConn := -1
	for _, e := range events {
		if e.Type == trace.TypeProgress {
			over := "M"
			if !attacked {
				over = everyone
			}
			fmt.Fprintf(b, "    Note over %s: … %s\n", over, mermaidText(e.Note))
			continue
		}
		if conns > 1 && e.Conn != lastConn {
			fmt.Fprintf(b, "    Note over %s: connection %d\n", everyone, e.Conn)
		}
		lastConn = e.Conn
		from, to := Ends(e)
		fmt.Fprintf(b, "    %s%s%s: %s\n", laneID(from), mermaidArrow(e), laneID(to), mermaidText(mermaidLabel(e)))
	}
	if r.Outcome != nil {
		// The summary's parts, one line each: a long note does not wrap.
		var lines []string
		for part := range strings.SplitSeq(r.Outcome.Summary(), " · ") {
			lines = append(lines, mermaidText(part))
		}
		fmt.Fprintf(b, "    Note over %s: %s\n", everyone, strings.Join(lines, "<br/>"))
	}
	return b.Flush()
}

// mermaidLabel is the label of e's arrow, before escaping: its type, the
// record's sequence number, the verdict in capitals, and the chat message
// of a data record the attacker read or forged, quoted and cut to 40
// characters.
func mermaidLabel(e trace.Event) string {
	label := e.Type
	if e.Seq != nil {
		label += fmt.Sprintf(" %d", *e.Seq)
	}
	label += " · " + strings.ToUpper(string(e.Verdict))
	if e.Type == string(wire.TypeData) && e.Recovered != nil && utf8.Valid(e.Recovered) {
		text := []rune(string(e.Recovered))
		if len(text) > 40 {
			text = append(text[:39], '…')
		}
		label += fmt.Sprintf(" %q", string(text))
	}
	return label
}

// mermaidArrow is a solid arrow, or a crossed one for a frame that did not
// go on: dropped by the attacker, or blocked.
func mermaidArrow(e trace.Event) string {
	if e.Verdict == trace.Dropped || e.Verdict == trace.Blocked {
		return "-x"
	}
	return "->>"
}

// connCount counts the distinct connections among the frames.
func connCount(events []trace.Event) int {
	seen := map[int]bool{}
	for _, e := range events {
		if e.Type != trace.TypeProgress {
			seen[e.Conn] = true
		}
	}
	return len(seen)
}

// mermaidText escapes text for a Mermaid label or note: the characters
// its grammar or its HTML labels would take as syntax become entity codes
// (#35; for '#'), line breaks and other control characters become
// spaces.
func mermaidText(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case strings.ContainsRune("#;%<>&`{}\\", c):
			fmt.Fprintf(&b, "#%d;", c)
		case unicode.IsControl(c):
			b.WriteByte(' ')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
