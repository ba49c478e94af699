package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/scenarios"
)

// pickerModel is the scenario picker: every scenario in the catalogue with
// its title and lesson. A scenario's expected outcome stays hidden until it
// has run to the end in this session, so a class can guess first.
type pickerModel struct {
	Common
	items      []scenarios.Scenario
	cursor     int
	ran        map[string]bool // scenarios run to the end this session
	noAttacker bool            // what Enter runs with
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
}

// ShortHelp and FullHelp make the view a help.KeyMap.
func (m pickerModel) ShortHelp() []key.Binding { return pickerHelp{m.KeyMap}.ShortHelp() }

func (m pickerModel) FullHelp() [][]key.Binding { return pickerHelp{m.KeyMap}.FullHelp() }

// selectName moves the cursor to the scenario called name.
func (m *pickerModel) selectName(name string) {
	for i, s := range m.items {
		if s.Name == name {
			m.cursor = i
		}
	}
}

func (m pickerModel) Update(msg tea.Msg) (pickerModel, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		k := m.KeyMap
		switch {
		case key.Matches(msg, k.Up):
			m.cursor = max(m.cursor-1, 0)
		case key.Matches(msg, k.Down):
			m.cursor = min(m.cursor+1, len(m.items)-1)
		case key.Matches(msg, k.Run):
			m.req.start = &startRunMsg{name: m.items[m.cursor].Name, noAttacker: m.noAttacker}
		}
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			m.cursor = max(m.cursor-1, 0)
		case tea.MouseWheelDown:
			m.cursor = min(m.cursor+1, len(m.items)-1)
		}
	}
	return m, nil
}

func (m pickerModel) View() string {
	st := m.Styles
	w := m.Width
	head := []string{
		st.Title.Render("mitmlab") + " " + st.Subtitle.Render("a man in the middle, frame by frame"),
		st.Dim.Render("Alice (client) talks to Bob (server) over WebSocket; Mallory sits between."),
		"",
	}
	if m.noAttacker {
		head[2] = st.Dim.Render("The attacker is off: a run connects Alice straight to Bob.")
	}
	var blocks [][]string
	for i, s := range m.items {
		var b []string
		marker := "  "
		name := st.PickerName.Render(s.Name)
		if i == m.cursor {
			marker = st.PickerCursor.Render("▸ ")
			name = st.Selected.Render(s.Name)
		}
		b = append(b, marker+fmt.Sprintf("%d. ", i+1)+name+" · "+s.Title)
		for _, l := range strings.Split(s.Lesson, "\n") {
			for _, wl := range strings.Split(ansi.Wrap(l, max(w-5, 20), " "), "\n") {
				b = append(b, "     "+st.Lesson.Render(wl))
			}
		}
		if m.ran[s.Name] {
			b = append(b, "     "+st.Expect.Render("outcome: "+s.Expect))
		} else {
			b = append(b, "     "+st.Hidden.Render("outcome: hidden until you run it. What do you expect?"))
		}
		b = append(b, "")
		blocks = append(blocks, b)
	}
	// Scroll by whole scenarios so the selected one is on screen.
	room := m.Height - len(head) - 1
	first := 0
	for first < m.cursor {
		n := 0
		for _, b := range blocks[first : m.cursor+1] {
			n += len(b)
		}
		if n <= room {
			break
		}
		first++
	}
	lines := append([]string(nil), head...)
	shown := 0
	for _, b := range blocks[first:] {
		if len(lines)+len(b) > m.Height-1 && shown > 0 {
			break
		}
		lines = append(lines, b...)
		shown++
	}
	if more := len(blocks) - first - shown; more > 0 || first > 0 {
		var hint []string
		if first > 0 {
			hint = append(hint, fmt.Sprintf("↑ %d more", first))
		}
		if more > 0 {
			hint = append(hint, fmt.Sprintf("↓ %d more", more))
		}
		lines = append(lines, st.Dim.Render("  "+strings.Join(hint, " · ")))
	}
	if len(lines) > m.Height-1 {
		lines = lines[:max(m.Height-1, 0)]
	}
	for len(lines) < m.Height-1 {
		lines = append(lines, "")
	}
	lines = append(lines, m.help.ShortHelpView(m.ShortHelp()))
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	return strings.Join(lines, "\n")
}
