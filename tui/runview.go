package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/scenarios"
)

// View draws the run view: title, status, lane header, the rows on screen,
// the detail pane, the summary bar and the help bar, each line cut to the
// terminal's width and the whole to its height.
func (m runModel) View() string {
	w := m.Width
	lines := make([]string, 0, m.Height)
	add := func(s string) { lines = append(lines, ansi.Truncate(s, w, "…")) }

	add(m.titleLine())
	add(m.Styles.Status.Render(m.statusLine()))
	if !m.zoom {
		add(m.laneHeader())
	}
	for _, l := range m.rowLines() {
		add(l)
	}
	for _, l := range m.detailPane() {
		add(l)
	}
	for _, l := range m.summaryLines() {
		add(l)
	}
	if m.typing {
		add(m.input.View())
	} else {
		add(m.help.ShortHelpView(m.ShortHelp()))
	}
	if len(lines) > m.Height {
		lines = lines[:m.Height]
	}
	return strings.Join(lines, "\n")
}

func (m *runModel) titleLine() string {
	st := m.Styles
	left := st.Title.Render(m.sc.Name) + " " + st.Subtitle.Render(m.sc.Title)
	right := "attack: " + m.sc.Attack
	if m.outcome != nil && m.outcome.Attack != "" {
		right = "attack: " + m.outcome.Attack
	}
	if m.noAttacker {
		right = "attacker off"
	}
	gap := m.Width - ansi.StringWidth(left) - len(right)
	if gap < 2 {
		return left + "  " + right
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m *runModel) statusLine() string {
	if m.typing {
		return "✎ typing as Alice · enter runs the scenario again with your message · esc cancels"
	}
	var parts []string
	switch {
	case m.playing:
		parts = append(parts, "▶ playing "+speeds[m.speed].label+" (p pauses)")
	case m.atEnd():
		parts = append(parts, "■ end of run (r restarts)")
	default:
		parts = append(parts, "⏸ paused (space steps, p plays "+speeds[m.speed].label+")")
	}
	shown := fmt.Sprintf("%d of %d frames shown", m.revealed, len(m.frames))
	if !m.finished {
		shown += " (more coming)"
	}
	parts = append(parts, shown)
	var f []string
	if l := legFilters[m.leg]; l != "" {
		f = append(f, "leg "+string(l))
	}
	if v := verdictFilters[m.verdict]; v != "" {
		f = append(f, strings.ToUpper(string(v)))
	}
	if len(f) > 0 {
		parts = append(parts, "only "+strings.Join(f, ", "))
	}
	if m.cleared > 0 {
		parts = append(parts, fmt.Sprintf("%d cleared", m.cleared))
	}
	if len(m.messages) > 0 {
		parts = append(parts, "Alice says: "+strconv.Quote(strings.Join(m.messages, " / ")))
	}
	return strings.Join(parts, " · ")
}

// rowLines is the list of frames on screen, padded to its height.
func (m *runModel) rowLines() []string {
	rows := m.listRows()
	out := make([]string, 0, rows)
	for r := range rows {
		i := m.offset + r
		switch {
		case i < len(m.visible):
			out = append(out, m.row(m.visible[i], i == m.cursor))
		case r == 0:
			out = append(out, m.Styles.Dim.Render(m.emptyHint()))
		default:
			out = append(out, "")
		}
	}
	return out
}

func (m *runModel) emptyHint() string {
	switch {
	case m.revealed == 0 && len(m.frames) == 0 && !m.finished:
		return "  waiting for the first frame…"
	case m.revealed == 0:
		return "  press space to show the first frame, or p to play"
	case m.revealed > m.cleared:
		return "  no frame passes the filters (l, v)"
	}
	return "  cleared; new frames appear here"
}

// detailPane is the selected frame's detail, cut to the pane's height with
// a line that says how much more there is.
func (m *runModel) detailPane() []string {
	n := m.detailRows()
	if n <= 0 {
		return nil
	}
	d := m.detailLines()
	out := make([]string, 0, n)
	for r := range n {
		switch {
		case r < len(d) && (r < n-1 || len(d) <= n):
			out = append(out, d[r])
		case r == n-1 && len(d) > n:
			more := fmt.Sprintf("… %d more lines", len(d)-n+1)
			if !m.zoom {
				more += " · d shows them all"
			}
			out = append(out, m.Styles.Dim.Render(more))
		default:
			out = append(out, "")
		}
	}
	return out
}

func (m *runModel) detailLines() []string {
	if len(m.visible) == 0 || m.cursor >= len(m.visible) {
		return []string{m.Styles.Rule.Render(strings.Repeat("─", m.Width))}
	}
	i := m.visible[m.cursor]
	d := detail{
		st: m.Styles, frames: m.frames[:m.revealed], at: i, e: m.frames[i], outcome: m.outcome,
		noAttacker: m.noAttacker, live: m.live, width: m.Width, codec: m.codec,
	}
	return d.lines()
}

// summaryLines is the summary bar: the outcome's own summary once every
// frame is shown, wrapped to two lines at most.
func (m *runModel) summaryLines() []string {
	st := m.Styles
	text, style := "running… the verdict shows after the last frame", st.SummaryWait
	switch {
	case m.live && m.err != nil:
		text, style = "the attacker process's stream ended: "+printable(m.err.Error()), st.Error
	case m.live:
		text = "live: every frame the attacker process relays, as it relays it; a live process has no final verdict"
	case m.err != nil:
		text, style = "the run failed: "+printable(m.err.Error()), st.Error
	case m.atEnd() && m.outcome != nil:
		text, style = m.outcome.Summary(), st.SummarySafe
		if broken(m.outcome) {
			style = st.SummaryBroken
		}
	case m.finished:
		text = fmt.Sprintf("the verdict shows after the last frame: %d to go (e shows them all)", len(m.frames)-m.revealed)
	}
	lines := strings.Split(ansi.Wrap(text, max(m.Width, 1), " "), "\n")
	if len(lines) > 2 {
		lines = []string{lines[0], strings.Join(lines[1:], " ")}
	}
	for i, l := range lines {
		lines[i] = style.Render(l)
	}
	return lines
}

// broken reports whether the attack worked: Mallory read a message, or he
// harmed the conversation (a message lost, altered or delivered twice, or
// one nobody sent) and no victim noticed.
func broken(o *scenarios.Outcome) bool {
	harm := len(o.Lost()) > 0 || o.MessagesAltered() > 0 || o.Duplicated > 0 || o.Extra > 0
	return o.AttackerRead() > 0 || (harm && !o.Detected)
}
