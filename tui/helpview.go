package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/trace"
)

// helpModel is the help screen: every key, drawn from the KeyMap's groups,
// then the legend of the badges and the legs. It scrolls when it does not
// fit.
type helpModel struct {
	Common
	offset int // the first line on screen
}

// SetSize sets the view's size.
func (m *helpModel) SetSize(w, h int) { m.Width, m.Height = w, h }

// ShortHelp and FullHelp make the view a help.KeyMap.
func (m helpModel) ShortHelp() []key.Binding { return []key.Binding{m.KeyMap.Help, m.KeyMap.Quit} }

func (m helpModel) FullHelp() [][]key.Binding {
	var out [][]key.Binding
	for _, g := range m.KeyMap.Groups() {
		out = append(out, g.Bindings)
	}
	return out
}

// keyColumn is the width of the key column.
const keyColumn = 9

func (m helpModel) group(g KeyGroup) []string {
	st := m.Styles
	lines := []string{st.HelpGroup.Render(g.Title)}
	for _, b := range g.Bindings {
		h := b.Help()
		lines = append(lines, st.HelpKey.Render(padRight(h.Key, keyColumn))+st.HelpDesc.Render(h.Desc))
	}
	return append(lines, "")
}

// key scrolls the help.
func (m *helpModel) key(msg tea.KeyPressMsg) {
	k := m.KeyMap
	page := max(m.Height-3, 1)
	switch {
	case key.Matches(msg, k.Up):
		m.offset--
	case key.Matches(msg, k.Down):
		m.offset++
	case key.Matches(msg, k.PageUp):
		m.offset -= page
	case key.Matches(msg, k.PageDown):
		m.offset += page
	case key.Matches(msg, k.Home):
		m.offset = 0
	case key.Matches(msg, k.End):
		m.offset = len(m.lines())
	}
	m.offset = min(max(m.offset, 0), max(len(m.lines())-m.body(), 0))
}

// body is how many lines of the help fit between its head and its foot.
func (m *helpModel) body() int { return max(m.Height-3, 0) }

// lines is the whole help, keys then legend, laid out at the width.
func (m *helpModel) lines() []string {
	st := m.Styles
	var blocks [][]string
	total := 0
	for _, g := range m.KeyMap.Groups() {
		b := m.group(g)
		blocks = append(blocks, b)
		total += len(b)
	}
	wheel := []string{st.HelpGroup.Render("Mouse"), st.HelpKey.Render(padRight("wheel", keyColumn)) + st.HelpDesc.Render("scroll the frames"), ""}
	blocks = append(blocks, wheel)
	total += len(wheel)

	var body []string
	if m.Width >= 2*36 {
		// Two columns: groups fill the left one up to half the lines.
		var left, right []string
		for _, b := range blocks {
			if len(left) < total/2 {
				left = append(left, b...)
			} else {
				right = append(right, b...)
			}
		}
		colW := min(m.Width/2, 52)
		lcol := lipgloss.NewStyle().Width(colW).Render(strings.Join(left, "\n"))
		body = strings.Split(lipgloss.JoinHorizontal(lipgloss.Top, lcol, strings.Join(right, "\n")), "\n")
	} else {
		for _, b := range blocks {
			body = append(body, b...)
		}
	}
	return append(body, m.legend()...)
}

// legend is what the badges and the legs mean, wrapped to the width.
func (m *helpModel) legend() []string {
	st := m.Styles
	d := detail{st: st, width: m.Width}
	out := []string{st.HelpGroup.Render("Badges") + st.Dim.Render("  what Mallory did with each frame (colour is never the only sign)")}
	for _, v := range trace.Verdicts() {
		for i, l := range strings.Split(ansi.Wrap(verdictMeaning(v), max(m.Width-badgeWidth-2, 10), " "), "\n") {
			word := strings.Repeat(" ", badgeWidth)
			if i == 0 {
				word = st.badge(v)
			}
			out = append(out, word+"  "+l)
		}
	}
	out = append(out, "", st.HelpGroup.Render("Legs")+st.Dim.Render("  the hops a frame crosses, one arrow per frame per leg"))
	for _, l := range legs() {
		out = append(out, d.labelled(l.leg, l.means)...)
	}
	return out
}

func (m helpModel) View() string {
	st := m.Styles
	all := m.lines()
	body := m.body()
	off := min(max(m.offset, 0), max(len(all)-body, 0))
	head := st.Title.Render("mitmlab") + " " + st.Subtitle.Render("keys and legend")
	lines := []string{head, ""}
	lines = append(lines, all[off:min(off+body, len(all))]...)
	for len(lines) < m.Height-1 {
		lines = append(lines, "")
	}
	foot := "? or esc closes this help · q quits"
	if len(all) > body {
		foot = "↑/↓ pgup/pgdn scroll (" + strings.TrimSpace(lineRange(off, min(off+body, len(all)), len(all))) + ") · " + foot
	}
	lines = append(lines[:max(m.Height-1, 0)], st.Dim.Render(foot))
	for i, l := range lines {
		lines[i] = ansi.Truncate(strings.TrimRight(l, " "), m.Width, "…")
	}
	return strings.Join(lines[:max(min(len(lines), m.Height), 0)], "\n")
}

// lineRange says which lines of how many are on screen: "lines 1–20 of 62".
func lineRange(from, to, of int) string {
	return fmt.Sprintf("lines %d–%d of %d", from+1, to, of)
}
