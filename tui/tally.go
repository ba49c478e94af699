package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/exam"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// The tally: a classroom on one attacker. Attached to a live attacker
// process (mitmlab tui --attach), t shows one line per student, told
// apart by the name their client gave (?name=): how many connections,
// how many messages Mallory read and which, and how often their client
// refused him or noticed what he did to its records. Each connection is
// graded from its events alone, as mitmlab exam grades it (exam.Tally).

// toggleTally shows the tally, or the frames again.
func (m runModel) toggleTally() (runModel, tea.Cmd) {
	m.tally = !m.tally
	return m, nil
}

// studentRead is what Mallory read from one student's clients: the
// plaintext of each record he read on its way from the client, in order.
func studentRead(frames []trace.Event) map[string][]string {
	out := map[string][]string{}
	for i := range frames {
		e := &frames[i]
		if e.Verdict == trace.Read && e.Type == string(wire.TypeData) && e.Leg == trace.LegA && e.Dir == wire.ClientToServer {
			out[e.Name] = append(out[e.Name], quote(e.Recovered))
		}
	}
	return out
}

// tallyLines is the tally, n lines at most.
func (m *runModel) tallyLines(n int) []string {
	st := m.Styles
	students := exam.Tally(m.frames)
	read := studentRead(m.frames)
	const nameW = 14
	head := fmt.Sprintf(" %-*s %5s %5s %8s %9s  %s", nameW, "student", "conns", "read", "refused", "detected", "their messages Mallory read")
	out := []string{st.Lanes.Render(head)}
	if len(students) == 0 {
		out = append(out, st.Dim.Render("  no connection yet: students start their clients against the attacker with --name"))
	}
	for _, s := range students {
		name := s.Name
		if name == "" {
			name = "(no name)"
		}
		what := "nothing"
		if r := read[s.Name]; len(r) > 0 {
			what = strings.Join(r, ", ")
		}
		line := fmt.Sprintf(" %-*s %5d %5d %8d %9d  ", nameW, ansi.Truncate(printable(name), nameW, "…"), s.Connections, s.Read, s.Refused, s.Detected)
		style := st.SummarySafe
		if !s.Passed() {
			style = st.SummaryBroken
		}
		text := what
		if len(s.Failed) > 0 {
			text += " · got through: " + strings.Join(s.Failed, ", ")
		}
		out = append(out, style.Render(line)+st.text(trace.Read, text))
	}
	for len(out) < n {
		out = append(out, "")
	}
	return out[:max(n, 0)]
}
