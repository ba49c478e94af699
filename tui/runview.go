package tui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

// speeds are the playback speeds, as the time between two frames.
var speeds = [...]struct {
	every time.Duration
	label string
}{
	{2 * time.Second, "0.5/s"},
	{time.Second, "1/s"},
	{500 * time.Millisecond, "2/s"},
	{250 * time.Millisecond, "4/s"},
	{100 * time.Millisecond, "10/s"},
	{40 * time.Millisecond, "25/s"},
	{16 * time.Millisecond, "60/s"},
}

const defaultSpeed = 2 // 2 frames a second

// legFilters and verdictFilters are what l and v cycle through; "" is all.
var (
	legFilters     = [...]trace.Leg{"", trace.LegA, trace.LegB, trace.LegWire}
	verdictFilters = [...]trace.Verdict{"", trace.Read, trace.Opaque, trace.Forged, trace.Substituted, trace.Public, trace.Blocked}
)

// tickMsg reveals the next frame while playing. gen tells a tick of the
// current play from a stale one.
type tickMsg struct{ run, gen int }

// startRunMsg asks the lab to run a scenario, replacing any run in flight.
type startRunMsg struct {
	name       string
	noAttacker bool
	messages   []string // Alice's script; empty means the default one
}

// request is what a view asks of the lab, which owns the runs. The lab
// acts on it in the same Update, so keys pressed in quick succession (n,
// n) act in order.
type request struct {
	start  *startRunMsg // run this
	picker bool         // go back to the picker
}

// runModel is the run view: a live sequence diagram of one run, a frame at
// a time, with the selected frame's detail below.
//
// Frames arrive as fast as the lab makes them and are buffered in frames;
// only frames[:revealed] are shown, one more for each step or tick. visible
// lists, in order, the shown frames that pass the filters; only the rows on
// screen are rendered, so a long log costs nothing per keypress.
type runModel struct {
	Common
	run        int // the run's number; messages of other runs are stale
	sc         scenarios.Scenario
	noAttacker bool
	messages   []string // Alice's typed script, or nil for the default

	frames   []trace.Event
	revealed int  // frames[:revealed] are shown
	cleared  int  // frames[:cleared] were cleared with c
	toEnd    bool // reveal frames as soon as they arrive
	live     bool // a live attacker process: no verdict, nothing to re-run differently
	outcome  *scenarios.Outcome
	err      error
	finished bool // the run has ended, with an outcome or an error

	playing bool
	speed   int
	gen     int

	visible []int // positions in frames of the rows that can be shown
	cursor  int   // the selected row, an index into visible
	offset  int   // the first row on screen

	leg     int // index into legFilters
	verdict int // index into verdictFilters
	zoom    bool

	summaryHeight int        // lines of the summary bar, set by relayout
	summaryFor    summaryKey // what summaryHeight was computed for

	req request // for the lab to act on

	catalogue []scenarios.Scenario // what n and N step through

	typing bool
	input  textinput.Model
	help   help.Model
	ticker func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
}

func newRunModel(c Common, catalogue []scenarios.Scenario, ticker func(time.Duration, func(time.Time) tea.Msg) tea.Cmd) runModel {
	in := textinput.New()
	in.Prompt = "Alice says: "
	in.Placeholder = "a chat message, e.g. my password is hunter2"
	in.CharLimit = 200
	in.SetStyles(c.Styles.Input)
	h := help.New()
	h.Styles = c.Styles.Help
	return runModel{Common: c, speed: defaultSpeed, input: in, help: h, ticker: ticker, catalogue: catalogue}
}

// reset prepares the view for a new run, keeping speed, filters and the
// detail layout, which belong to the person, not the run.
func (m *runModel) reset(run int, sc scenarios.Scenario, noAttacker bool, messages []string) {
	*m = runModel{
		Common: m.Common, run: run, sc: sc, noAttacker: noAttacker, messages: messages,
		speed: m.speed, leg: m.leg, verdict: m.verdict, zoom: m.zoom,
		input: m.input, help: m.help, ticker: m.ticker, catalogue: m.catalogue,
		live: m.live,
	}
	m.relayout()
}

// SetSize sets the view's size.
func (m *runModel) SetSize(w, h int) {
	m.Width, m.Height = w, h
	m.help.SetWidth(w)
	m.input.SetWidth(max(w-len(m.input.Prompt)-1, 10))
	m.summaryHeight = 0 // recompute
	m.relayout()
	m.scrollToCursor()
}

// atEnd reports whether the run is over and every frame is shown.
func (m *runModel) atEnd() bool { return m.finished && m.revealed == len(m.frames) }

// ShortHelp and FullHelp make the view a help.KeyMap.
func (m runModel) ShortHelp() []key.Binding { return runHelp{m.KeyMap, m.typing, m.live}.ShortHelp() }

func (m runModel) FullHelp() [][]key.Binding { return runHelp{m.KeyMap, m.typing, m.live}.FullHelp() }

func (m runModel) Update(msg tea.Msg) (runModel, tea.Cmd) {
	m, cmd := m.update(msg)
	m.relayout()
	return m, cmd
}

func (m runModel) update(msg tea.Msg) (runModel, tea.Cmd) {
	switch msg := msg.(type) {
	case frameMsg:
		m.frames = append(m.frames, msg.event)
		if m.toEnd {
			m.revealAll()
		}
		return m, nil
	case runDoneMsg:
		m.outcome, m.err, m.finished = msg.outcome, msg.err, true
		if m.toEnd {
			m.revealAll()
		}
		return m, nil
	case tickMsg:
		if msg.run != m.run || msg.gen != m.gen || !m.playing {
			return m, nil
		}
		m.revealNext()
		if m.atEnd() {
			m.playing = false
			return m, nil
		}
		return m, m.tick()
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			m.move(-3)
		case tea.MouseWheelDown:
			m.move(3)
		}
		return m, nil
	case tea.KeyPressMsg:
		if m.typing {
			return m.updateTyping(msg)
		}
		return m.updateKey(msg)
	}
	if m.typing {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m runModel) updateTyping(msg tea.KeyPressMsg) (runModel, tea.Cmd) {
	k := m.KeyMap
	switch {
	case key.Matches(msg, k.Send):
		text := strings.TrimSpace(m.input.Value())
		m.typing = false
		m.input.Reset()
		m.input.Blur()
		if text == "" {
			return m, nil
		}
		m.restart(m.noAttacker, []string{text})
		return m, nil
	case key.Matches(msg, k.Cancel):
		m.typing = false
		m.input.Reset()
		m.input.Blur()
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m runModel) updateKey(msg tea.KeyPressMsg) (runModel, tea.Cmd) {
	k := m.KeyMap
	if m.live && (key.Matches(msg, k.Attacker) || key.Matches(msg, k.Type) || key.Matches(msg, k.Next) || key.Matches(msg, k.Prev)) {
		return m, nil // a separate process: the lab cannot switch it
	}
	switch {
	case key.Matches(msg, k.Step):
		m.playing = false
		m.revealNext()
	case key.Matches(msg, k.Play):
		if m.playing {
			m.playing = false
			return m, nil
		}
		if m.atEnd() {
			return m, nil
		}
		m.playing = true
		m.gen++
		return m, m.tick()
	case key.Matches(msg, k.Faster):
		m.speed = min(m.speed+1, len(speeds)-1)
	case key.Matches(msg, k.Slower):
		m.speed = max(m.speed-1, 0)
	case key.Matches(msg, k.ToEnd):
		m.playing = false
		m.toEnd = true
		m.revealAll()
	case key.Matches(msg, k.Restart):
		m.restart(m.noAttacker, m.messages)
	case key.Matches(msg, k.Attacker):
		m.restart(!m.noAttacker, m.messages)
	case key.Matches(msg, k.Next):
		m.switchScenario(1)
	case key.Matches(msg, k.Prev):
		m.switchScenario(-1)
	case key.Matches(msg, k.Back):
		m.req.picker = true
	case key.Matches(msg, k.Type):
		m.typing = true
		return m, m.input.Focus()
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.Down):
		m.move(1)
	case key.Matches(msg, k.PageUp):
		m.move(-max(m.listRows()-1, 1))
	case key.Matches(msg, k.PageDown):
		m.move(max(m.listRows()-1, 1))
	case key.Matches(msg, k.Home):
		m.move(-len(m.visible))
	case key.Matches(msg, k.End):
		m.move(len(m.visible))
	case key.Matches(msg, k.Detail):
		m.zoom = !m.zoom
		m.scrollToCursor()
	case key.Matches(msg, k.LegFilter):
		m.leg = (m.leg + 1) % len(legFilters)
		m.refilter()
	case key.Matches(msg, k.VerdictFilter):
		m.verdict = (m.verdict + 1) % len(verdictFilters)
		m.refilter()
	case key.Matches(msg, k.Clear):
		m.cleared = m.revealed
		m.visible = m.visible[:0]
		m.cursor, m.offset = 0, 0
	}
	return m, nil
}

func (m runModel) tick() tea.Cmd {
	run, gen := m.run, m.gen
	return m.ticker(speeds[m.speed].every, func(time.Time) tea.Msg { return tickMsg{run: run, gen: gen} })
}

func (m *runModel) restart(noAttacker bool, messages []string) {
	m.req.start = &startRunMsg{name: m.sc.Name, noAttacker: noAttacker, messages: messages}
}

func (m *runModel) switchScenario(step int) {
	n := len(m.catalogue)
	if n == 0 {
		return
	}
	i := slices.IndexFunc(m.catalogue, func(s scenarios.Scenario) bool { return s.Name == m.sc.Name })
	i = ((i+step)%n + n) % n
	m.req.start = &startRunMsg{name: m.catalogue[i].Name, noAttacker: m.noAttacker, messages: m.messages}
}

// revealNext shows one more frame, if one has arrived.
func (m *runModel) revealNext() {
	if m.revealed < len(m.frames) {
		m.show(m.revealed)
		m.revealed++
	}
}

func (m *runModel) revealAll() {
	for m.revealed < len(m.frames) {
		m.show(m.revealed)
		m.revealed++
	}
}

// show adds frame i to the rows if it passes the filters. The selection
// follows the new row only if it was on the last row: a person reading
// further up is not thrown to the bottom.
func (m *runModel) show(i int) {
	if i < m.cleared || !m.passes(&m.frames[i]) {
		return
	}
	atTail := m.cursor >= len(m.visible)-1
	m.visible = append(m.visible, i)
	if atTail {
		m.cursor = len(m.visible) - 1
		m.scrollToCursor()
	}
}

func (m *runModel) passes(e *trace.Event) bool {
	if l := legFilters[m.leg]; l != "" && e.Leg != l {
		return false
	}
	if v := verdictFilters[m.verdict]; v != "" && e.Verdict != v {
		return false
	}
	return true
}

// refilter rebuilds the rows after a filter changed, keeping the selected
// frame selected if it still passes, and the tail followed if it was.
func (m *runModel) refilter() {
	atTail := m.cursor >= len(m.visible)-1
	sel := -1
	if m.cursor < len(m.visible) {
		sel = m.visible[m.cursor]
	}
	m.visible = m.visible[:0]
	for i := m.cleared; i < m.revealed; i++ {
		if m.passes(&m.frames[i]) {
			m.visible = append(m.visible, i)
		}
	}
	switch {
	case atTail || sel < 0:
		m.cursor = max(len(m.visible)-1, 0)
	default:
		j, _ := slices.BinarySearch(m.visible, sel)
		m.cursor = min(j, max(len(m.visible)-1, 0))
	}
	m.offset = 0
	m.scrollToCursor()
}

func (m *runModel) move(n int) {
	if len(m.visible) == 0 {
		return
	}
	m.cursor = min(max(m.cursor+n, 0), len(m.visible)-1)
	m.scrollToCursor()
}

func (m *runModel) scrollToCursor() {
	rows := m.listRows()
	if rows <= 0 {
		return
	}
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+rows {
		m.offset = m.cursor - rows + 1
	}
	m.offset = max(min(m.offset, len(m.visible)-rows), 0)
}

// The layout, top to bottom: title, status, lane header, rows, detail
// pane, summary bar (one line, two if it must wrap), help bar (or the
// text input while typing).
const fixedLines = 4

func (m *runModel) bodyRows() int { return max(m.Height-fixedLines-max(m.summaryHeight, 1), 0) }

// relayout recomputes the summary bar's height, which the rows and the
// detail pane share the screen with, after anything that may change it.
// Doing it once per Update, not once per row revealed, keeps a fast
// stream of frames cheap.
func (m *runModel) relayout() {
	k := summaryKey{m.finished, m.atEnd(), m.err != nil, len(m.frames) - m.revealed, m.Width}
	if !m.finished {
		k.toGo = 0 // the text does not count frames while the run goes on
	}
	if k == m.summaryFor && m.summaryHeight > 0 {
		return
	}
	m.summaryFor = k
	if h := len(m.summaryLines()); h != m.summaryHeight {
		m.summaryHeight = h
		m.scrollToCursor()
	}
}

// summaryKey is what the summary bar's text depends on.
type summaryKey struct {
	finished, atEnd, failed bool
	toGo, width             int
}

func (m *runModel) listRows() int {
	body := m.bodyRows()
	switch {
	case m.zoom:
		return 0
	case body < 8:
		return body
	}
	return body - m.detailRows()
}

func (m *runModel) detailRows() int {
	body := m.bodyRows()
	switch {
	case m.zoom:
		return body + 1 // the lane header's line too
	case body < 8:
		return 0
	}
	return body * 11 / 20
}

// laneGap is the distance between two lanes, from the terminal's width.
func laneGap(width int) int {
	if width >= 100 {
		return min(19+(width-100)/6, 28)
	}
	return min(max((width-20)/3, 8), 19)
}

func (m runModel) View() string {
	w := m.Width
	lines := make([]string, 0, m.Height)
	add := func(s string) { lines = append(lines, ansi.Truncate(s, w, "…")) }

	add(m.titleLine())
	add(m.Styles.Status.Render(m.statusLine()))
	if !m.zoom {
		add(m.laneHeader())
	}
	rows := m.listRows()
	for r := range rows {
		i := m.offset + r
		if i >= len(m.visible) {
			if r == 0 && len(m.visible) == 0 {
				add(m.Styles.Dim.Render(m.emptyHint()))
				continue
			}
			add("")
			continue
		}
		add(m.row(m.visible[i], i == m.cursor))
	}
	if n := m.detailRows(); n > 0 {
		d := m.detailLines()
		for r := range n {
			switch {
			case r < len(d) && (r < n-1 || len(d) <= n):
				add(d[r])
			case r == n-1 && len(d) > n:
				more := fmt.Sprintf("… %d more lines", len(d)-n+1)
				if !m.zoom {
					more += " · d shows them all"
				}
				add(m.Styles.Dim.Render(more))
			default:
				add("")
			}
		}
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
	right := "attack: " + string(m.sc.Attack)
	if m.outcome != nil && m.outcome.Attack != "" {
		right = "attack: " + string(m.outcome.Attack)
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

// laneHeader names the lanes, each label starting above its lane.
func (m *runModel) laneHeader() string {
	g := laneGap(m.Width)
	middle := "Attacker (Mallory)"
	if m.noAttacker {
		middle = "no attacker"
	}
	lane := func(s string) string { return padRight(ansi.Truncate(s, g-1, "…"), g) }
	h := " " + padRight("#", m.indexWidth()) + " " + lane("Client (Alice)") + lane(middle) + "Server (Bob)"
	return m.Styles.Lanes.Render(h)
}

func (m *runModel) indexWidth() int {
	return max(len(strconv.Itoa(len(m.frames)-1)), 2)
}

// row renders frame i as one line: index, arrow across the lanes, size,
// verdict badge, and what the attacker got. The selected row is drawn
// from plain text in reverse video, so it shows without colour too.
func (m *runModel) row(i int, selected bool) string {
	e := m.frames[i]
	st := m.Styles
	g := laneGap(m.Width)
	left, arrow, right := diagram(e, g, m.noAttacker)
	size := fmt.Sprintf("%5d", e.Size)
	if e.Type == trace.TypeClose {
		size = "    -"
	}
	idx := fmt.Sprintf("%*d", m.indexWidth(), e.Index)
	fixed := 1 + len(idx) + 1 + 2*g + 1 + 1 + 5 + 1 + badgeWidth + 1
	text := ansi.Truncate(rowText(e), max(m.Width-fixed, 0), "…")
	if selected {
		plain := "▸" + idx + " " + left + arrow + right + " " + size + " " + badgeText(e.Verdict) + " " + text
		return st.Selected.Render(padRight(plain, m.Width))
	}
	if text == "" {
		return " " + idx + " " + left + st.text(e.Verdict, arrow) + right + " " + size + " " + st.badgeWord(e.Verdict)
	}
	return " " + idx + " " + left + st.text(e.Verdict, arrow) + right + " " + size + " " + st.badge(e.Verdict) + " " + st.text(e.Verdict, text)
}

// rowText is what follows the badge: the plaintext Mallory recovered or
// injected, quoted, or his note.
func rowText(e trace.Event) string {
	if e.Recovered != nil && (e.Verdict == trace.Read || e.Verdict == trace.Forged) {
		return quote(e.Recovered)
	}
	return printable(e.Note)
}

// diagram draws a frame's arrow across three lanes g columns apart, split
// into the part left of the arrow, the arrow, and the part right of it.
func diagram(e trace.Event, g int, noAttacker bool) (left, arrow, right string) {
	width := 2*g + 1
	cells := make([]rune, width)
	for i := range cells {
		cells[i] = ' '
	}
	mid := '│'
	if noAttacker {
		mid = '┊'
	}
	cells[0], cells[g], cells[2*g] = '│', mid, '│'
	p, q := 0, 2*g
	switch e.Leg {
	case trace.LegA:
		q = g
	case trace.LegB:
		p = g
	}
	n := q - p - 1 // cells between the lanes
	label := []rune(ansi.Truncate(frameLabel(e), max(n-3, 0), "…"))
	in := make([]rune, n)
	for i := range in {
		in[i] = '─'
	}
	head := '▶'
	if e.Verdict == trace.Blocked {
		head = '✕'
	}
	if e.Dir == "s2c" {
		if e.Verdict != trace.Blocked {
			head = '◀'
		}
		in[0] = head
		copy(in[2:], label)
	} else {
		in[n-1] = head
		copy(in[1:], label)
	}
	return string(cells[:p+1]), string(in), string(cells[q:])
}

func (m *runModel) detailLines() []string {
	if len(m.visible) == 0 || m.cursor >= len(m.visible) {
		return []string{m.Styles.Rule.Render(strings.Repeat("─", m.Width))}
	}
	i := m.visible[m.cursor]
	d := detail{st: m.Styles, frames: m.frames[:m.revealed], e: m.frames[i], outcome: m.outcome, noAttacker: m.noAttacker, width: m.Width}
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
		if m.outcome.AttackerRead() > 0 {
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
