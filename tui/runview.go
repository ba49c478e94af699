package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/attacker"
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
	add(m.statusLine())
	if m.tally {
		for _, l := range m.tallyLines(m.Height - fixedLines - max(m.summaryHeight, 1) + 1) {
			add(l)
		}
	} else {
		if !m.zoom {
			add(m.laneHeader())
		}
		for _, l := range m.rowLines() {
			add(l)
		}
		for _, l := range m.detailPane() {
			add(l)
		}
	}
	for _, l := range m.summaryLines() {
		add(l)
	}
	if m.typing() {
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
	right := "attack: " + m.attackName()
	switch {
	case m.noAttacker:
		right = "attacker off"
	case m.byHand:
		right = "✋ by hand: " + m.attackName()
	}
	// A long title gives way to the attack, which says what runs.
	if room := m.Width - ansi.StringWidth(right) - 2; ansi.StringWidth(left) > room && room >= 20 {
		left = ansi.Truncate(left, room, "…")
	}
	gap := m.Width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 2 {
		return left + "  " + right
	}
	return left + strings.Repeat(" ", gap) + right
}

// attackName is the attack the run runs, as the header names it.
func (m *runModel) attackName() string {
	name := m.sc.Attack
	if m.attack != "" {
		name = m.attack
	}
	if m.outcome != nil && m.outcome.Attack != "" {
		name = strings.TrimSuffix(m.outcome.Attack, attacker.InterceptSuffix)
	}
	return name
}

func (m *runModel) statusLine() string {
	st := m.Styles
	switch {
	case m.typing():
		return st.Status.Render(m.typingStatus())
	case m.notice != "":
		return st.Notice.Render(m.notice)
	}
	var parts []string
	switch {
	case m.live && m.finished:
		parts = append(parts, "■ the attacker's stream ended")
	case m.live && m.toEnd:
		parts = append(parts, "● live: frames appear as the attacker relays them")
	case m.held != nil:
		h := m.held.held
		parts = append(parts, fmt.Sprintf("✋ Mallory holds %s's %s #%d: you decide, below", finalSender(h.Dir), h.Type, h.Seq))
	case m.intercept && !m.finished:
		parts = append(parts, "✋ intercept on: Mallory holds each record for you")
	case m.playing:
		parts = append(parts, "▶ playing "+speeds[m.speed].label+" (p pauses)")
	case m.atEnd():
		parts = append(parts, "■ end of run (r restarts)")
	default:
		parts = append(parts, "⏸ paused (space steps, p plays "+speeds[m.speed].label+")")
	}
	if m.heldNote != "" && m.held == nil && m.intercept {
		parts = append(parts, m.heldNote)
	}
	if len(m.messages) > 0 {
		parts = append(parts, "Alice says "+strconv.Quote(strings.Join(m.messages, " / "))+" (M: her own script)")
	}
	shown := fmt.Sprintf("%d of %d frames shown", m.revealed, len(m.frames))
	switch {
	case m.live:
		shown = count(len(m.frames), "frame")
	case m.toEnd && !m.finished:
		shown = count(len(m.frames), "frame") + " so far"
	case !m.finished:
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
	return st.Status.Render(strings.Join(parts, " · "))
}

func (m *runModel) typingStatus() string {
	switch m.prompt {
	case promptEdit:
		return "✎ Mallory's version of the record · enter seals and sends it · esc goes back"
	case promptExport:
		return "✎ export the run · the extension picks the format: .md .mmd .har .pcapng .jsonl · esc cancels"
	}
	return "✎ typing as Alice · enter runs the scenario again with your message · esc cancels"
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
	case m.revealed == 0 && len(m.frames) == 0 && m.live && !m.finished:
		return "  waiting for the attacker's first frame: start a client against it"
	case m.revealed == 0 && len(m.frames) == 0 && !m.finished:
		return "  waiting for the first frame…"
	case m.revealed == 0:
		return "  press space to show the first frame, or p to play"
	case m.revealed > m.cleared:
		return "  no frame passes the filters (l, v)"
	}
	return "  cleared; new frames appear here"
}

// detailPane fills the space below the rows: the held record while
// Mallory holds one, the lesson card once a run has ended, and otherwise
// the selected frame's detail. Split, the detail is cut to the pane with a
// line that says how much more there is; full height, it scrolls.
func (m *runModel) detailPane() []string {
	n := m.detailRows()
	if n <= 0 {
		return nil
	}
	var d []string
	scrolls := false
	switch {
	case m.held != nil:
		d = m.heldLines()
	case m.card:
		d = m.cardLines()
	default:
		d = m.detailLines()
		scrolls = m.zoom
	}
	if scrolls && len(d) > n {
		return m.scrolled(d, n)
	}
	out := make([]string, 0, n)
	for r := range n {
		switch {
		case r < len(d) && (r < n-1 || len(d) <= n):
			out = append(out, d[r])
		case r == n-1 && len(d) > n:
			more := fmt.Sprintf("… %d more lines · d shows the frame full height", len(d)-n+1)
			out = append(out, m.Styles.Dim.Render(more))
		default:
			out = append(out, "")
		}
	}
	return out
}

// scrolled is n lines of the full-height detail d from its scroll offset,
// the last of them saying where it is.
func (m *runModel) scrolled(d []string, n int) []string {
	page := n - 1
	off := min(max(m.detailOff, 0), len(d)-page)
	out := append([]string(nil), d[off:off+page]...)
	where := fmt.Sprintf("── lines %d–%d of %d · ↑/↓ j/k pgup/pgdn scroll · ←/→ other frames · d splits ", off+1, off+page, len(d))
	return append(out, m.Styles.Rule.Render(fillRule(where, m.Width)))
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
// frame is shown, wrapped to the terminal's width; an error is shown whole.
func (m *runModel) summaryLines() []string {
	text, style, limit := m.summaryText()
	lines := strings.Split(ansi.Wrap(text, max(m.Width, 1), " "), "\n")
	if len(lines) > limit {
		lines = append(lines[:limit-1], strings.Join(lines[limit-1:], " "))
	}
	for i, l := range lines {
		lines[i] = style.Render(l)
	}
	return lines
}

// summaryText is what the summary bar says, its style, and how many lines
// it may take.
func (m *runModel) summaryText() (string, lipgloss.Style, int) {
	st := m.Styles
	text, style := "running… the verdict shows after the last frame", st.SummaryWait
	limit := 3
	switch {
	case m.live && m.err != nil:
		text, style, limit = liveEnding(m.err), st.Error, 6
	case m.live && m.progress != "":
		text = "live · Mallory is at work: " + m.progress
	case m.live:
		text = "live: every frame the attacker process relays, as it relays it; a live process has no final verdict"
		if m.tally {
			text = "live: the tally grows as the students' clients connect; t shows the frames"
		}
	case m.err != nil:
		text, style, limit = "the run failed: "+printable(m.err.Error()), st.Error, 6
	case m.atEnd() && m.outcome != nil:
		text, style = m.outcome.Summary(), st.SummarySafe
		if broken(m.outcome) {
			style = st.SummaryBroken
		}
	case m.finished:
		text = fmt.Sprintf("the verdict shows after the last frame: %d to go (e shows them all)", len(m.frames)-m.revealed)
	case m.progress != "":
		text = "Mallory is at work: " + m.progress
	}
	return text, style, limit
}

// broken reports whether the attack worked: Mallory read a message, or he
// harmed the conversation (a message lost, altered or delivered twice, or
// one nobody sent) and no victim noticed.
func broken(o *scenarios.Outcome) bool {
	harm := len(o.Lost()) > 0 || o.MessagesAltered() > 0 || o.Duplicated > 0 || o.Extra > 0
	return o.AttackerRead() > 0 || (harm && !o.Detected)
}

// fillRule pads a rule's head with ─ to width.
func fillRule(head string, width int) string {
	if w := ansi.StringWidth(head); w < width {
		return head + strings.Repeat("─", width-w)
	}
	return head
}

// joinDots joins parts with " · ".
func joinDots(parts []string) string { return strings.Join(parts, " · ") }
