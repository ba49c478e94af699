package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// helpModel is the full help screen, drawn from the KeyMap's groups.
type helpModel struct {
	Common
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

func (m helpModel) View() string {
	st := m.Styles
	groups := m.KeyMap.Groups()
	var blocks [][]string
	total := 0
	for _, g := range groups {
		b := m.group(g)
		blocks = append(blocks, b)
		total += len(b)
	}
	wheel := []string{st.HelpGroup.Render("Mouse"), st.HelpKey.Render(padRight("wheel", keyColumn)) + st.HelpDesc.Render("scroll the frames")}
	blocks = append(blocks, wheel)
	total += len(wheel)

	head := []string{st.Title.Render("mitmlab") + " " + st.Subtitle.Render("keys"), ""}
	foot := st.Dim.Render("? or esc closes this help · q quits")
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
		colW := m.Width / 2
		lcol := lipgloss.NewStyle().Width(colW).Render(strings.Join(left, "\n"))
		body = strings.Split(lipgloss.JoinHorizontal(lipgloss.Top, lcol, strings.Join(right, "\n")), "\n")
	} else {
		for _, b := range blocks {
			body = append(body, b...)
		}
	}
	lines := append(head, body...)
	if len(lines) > m.Height-1 {
		lines = lines[:max(m.Height-1, 0)]
	}
	for len(lines) < m.Height-1 {
		lines = append(lines, "")
	}
	lines = append(lines, foot)
	for i, l := range lines {
		lines[i] = ansi.Truncate(strings.TrimRight(l, " "), m.Width, "…")
	}
	return strings.Join(lines, "\n")
}
