package tui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/scenarios"
)

// pickerModel is the scenario picker: the catalogue as a list, one line a
// scenario under its topic's heading, and below it the selected
// scenario's lesson. A scenario's expected outcome stays hidden until it
// has run to the end in this session, so a class can guess first.
type pickerModel struct {
	Common
	items      []scenarios.Scenario
	cursor     int
	offset     int             // the first line of the list on screen
	pane       int             // the lesson pane's height, set by SetSize
	ran        map[string]bool // scenarios run to the end this session
	noAttacker bool            // what Enter runs with
	live       bool            // the items are live attacker processes: no outcome to guess
	req        request         // for the lab to act on
	help       help.Model
}

func newPickerModel(c Common, items []scenarios.Scenario) pickerModel {
	h := help.New()
	h.Styles = c.Styles.Help
	return pickerModel{Common: c, items: items, ran: map[string]bool{}, help: h}
}

// SetSize sets the view's size.
func (m *pickerModel) SetSize(w, h int) {
	m.Width, m.Height = w, h
	m.help.SetWidth(w)
	m.pane = m.paneHeight()
	m.scroll()
}

// ShortHelp and FullHelp make the view a help.KeyMap.
func (m pickerModel) ShortHelp() []key.Binding { return pickerHelp{m.KeyMap}.ShortHelp() }

func (m pickerModel) FullHelp() [][]key.Binding { return pickerHelp{m.KeyMap}.FullHelp() }

// selectName moves the cursor to the scenario called name.
func (m *pickerModel) selectName(name string) {
	i := slices.IndexFunc(m.items, func(s scenarios.Scenario) bool { return s.Name == name })
	if i >= 0 {
		m.cursor = i
	}
	m.scroll()
}

func (m pickerModel) Update(msg tea.Msg) (pickerModel, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		k := m.KeyMap
		switch {
		case key.Matches(msg, k.Up):
			m.moveTo(m.cursor - 1)
		case key.Matches(msg, k.Down):
			m.moveTo(m.cursor + 1)
		case key.Matches(msg, k.Run) && len(m.items) > 0:
			m.req.start = &startRunMsg{name: m.items[m.cursor].Name, noAttacker: m.noAttacker}
		}
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			m.moveTo(m.cursor - 1)
		case tea.MouseWheelDown:
			m.moveTo(m.cursor + 1)
		}
	}
	return m, nil
}

func (m *pickerModel) moveTo(i int) {
	m.cursor = min(max(i, 0), max(len(m.items)-1, 0))
	m.scroll()
}

// pickerLine is one line of the list: a scenario, or a topic's heading.
type pickerLine struct {
	item  int    // the scenario's index, or -1 for a heading
	topic string // the scenario's topic, or the heading's
}

// list lays the catalogue out under its topics' headings, in catalogue
// order: a heading wherever the topic changes.
func (m *pickerModel) list() []pickerLine {
	var out []pickerLine
	for i, s := range m.items {
		if (i == 0 || s.Topic != m.items[i-1].Topic) && s.Topic != "" {
			out = append(out, pickerLine{item: -1, topic: s.Topic})
		}
		out = append(out, pickerLine{item: i, topic: s.Topic})
	}
	return out
}

// The picker's layout, top to bottom: a head of headLines, the list, the
// selected scenario's pane, and the help bar.
const headLines = 3

// listRows is how many lines of the list fit on screen.
func (m *pickerModel) listRows() int {
	return max(m.Height-headLines-m.pane-1, 1)
}

// scroll moves the list as little as it must to show the selected
// scenario. Scrolled, the list's first row is the heading of the topic
// it is in the middle of, so the selected scenario goes no higher than
// the second.
func (m *pickerModel) scroll() {
	lines, rows := m.list(), m.listRows()
	at := 0
	for i, l := range lines {
		if l.item == m.cursor {
			at = i
		}
	}
	if at <= m.offset {
		m.offset = max(at-1, 0)
	}
	if at >= m.offset+rows {
		m.offset = at - rows + 1
	}
	m.offset = max(min(m.offset, len(lines)-rows), 0)
}

// paneHeight is the height of the lesson pane: the rule above it and the
// longest scenario's lesson at this width, so the list does not jump as
// the selection moves; never more than half the screen.
func (m *pickerModel) paneHeight() int {
	h := 0
	for i := range m.items {
		h = max(h, len(m.paneText(i, true)), len(m.paneText(i, false)))
	}
	return min(1+h, max(m.Height/2, 1))
}

// paneText is scenario i's name and title, lesson and outcome (or the
// promise of one), wrapped.
func (m *pickerModel) paneText(i int, ran bool) []string {
	st := m.Styles
	s := m.items[i]
	wrap := func(text string, style func(...string) string) []string {
		var out []string
		for _, l := range strings.Split(ansi.Wrap(text, max(m.Width, 1), " "), "\n") {
			out = append(out, style(l))
		}
		return out
	}
	out := wrap(s.Name+" · "+s.Title, st.PickerName.Render)
	for _, l := range strings.Split(s.Lesson, "\n") {
		out = append(out, wrap(l, st.Lesson.Render)...)
	}
	switch {
	case m.live:
		return append(out, wrap("enter watches it again, from its last frames", st.Hidden.Render)...)
	case ran:
		return append(out, wrap("outcome: "+s.Expect, st.Expect.Render)...)
	}
	return append(out, wrap("outcome: hidden until you run it. What do you expect?", st.Hidden.Render)...)
}

func (m pickerModel) View() string {
	st := m.Styles
	head := []string{
		st.Title.Render("mitmlab") + " " + st.Subtitle.Render("a man in the middle, frame by frame"),
		st.Dim.Render("Alice (client) talks to Bob (server) over WebSocket; Mallory sits between."),
		"",
	}
	if m.noAttacker {
		head[2] = st.Dim.Render("The attacker is off: a run connects Alice straight to Bob.")
	}
	lines := append(head, m.listView()...)
	lines = append(lines, m.paneView()...)
	if len(lines) > m.Height-1 {
		lines = lines[:max(m.Height-1, 0)]
	}
	for len(lines) < m.Height-1 {
		lines = append(lines, "")
	}
	lines = append(lines, m.help.ShortHelpView(m.ShortHelp()))
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.Width, "…")
	}
	return strings.Join(lines[:max(m.Height, 0)], "\n")
}

// listView is the part of the list on screen, padded to its height.
func (m *pickerModel) listView() []string {
	st := m.Styles
	lines, rows := m.list(), m.listRows()
	numW := len(fmt.Sprint(len(m.items)))
	nameW := 0
	for _, s := range m.items {
		nameW = min(max(nameW, len(s.Name)), 26) // the longest name, forward-secrecy-static-rsa
	}
	out := make([]string, 0, rows)
	for i := m.offset; i < min(m.offset+rows, len(lines)); i++ {
		l := lines[i]
		switch {
		case i == m.offset && m.offset > 0 && l.topic != "":
			out = append(out, st.PickerTopic.Render(l.topic)) // the topic it is in
		case l.item < 0:
			out = append(out, st.PickerTopic.Render(l.topic))
		default:
			s := m.items[l.item]
			marker, name := "  ", st.PickerName.Render(padRight(s.Name, nameW))
			if l.item == m.cursor {
				marker, name = st.PickerCursor.Render("▸ "), st.Selected.Render(padRight(s.Name, nameW))
			}
			out = append(out, marker+fmt.Sprintf("%*d. ", numW, l.item+1)+name+"  "+s.Title)
		}
	}
	for len(out) < rows {
		out = append(out, "")
	}
	return out
}

// paneView is the rule, with how much of the list is off screen, and the
// selected scenario's lesson.
func (m *pickerModel) paneView() []string {
	st := m.Styles
	h := max(m.pane, 1)
	rule := ""
	var hint []string
	above, below := m.offScreen()
	if above > 0 {
		hint = append(hint, "↑ "+count(above, "more scenario"))
	}
	if below > 0 {
		hint = append(hint, "↓ "+count(below, "more scenario"))
	}
	if len(hint) > 0 {
		rule = "── " + strings.Join(hint, " · ") + " "
	}
	if w := ansi.StringWidth(rule); w < m.Width {
		rule += strings.Repeat("─", m.Width-w)
	}
	out := []string{st.Rule.Render(rule)}
	if len(m.items) > 0 {
		out = append(out, m.paneText(m.cursor, m.ran[m.items[m.cursor].Name])...)
	}
	for len(out) < h {
		out = append(out, "")
	}
	return out[:h]
}

// offScreen counts the scenarios above and below the part of the list on
// screen. Scrolled, the first row shows a heading in place of its line.
func (m *pickerModel) offScreen() (above, below int) {
	lines, rows := m.list(), m.listRows()
	for i, l := range lines {
		switch {
		case l.item < 0:
		case i < m.offset || (i == m.offset && m.offset > 0):
			above++
		case i >= m.offset+rows:
			below++
		}
	}
	return above, below
}

// count says "1 thing" or "n things".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
