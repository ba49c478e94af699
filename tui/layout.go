package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// The run view's layout, top to bottom: title, status, lane header, rows,
// detail pane, summary bar (one line, two if it must wrap), help bar (or
// the text input while typing).
const fixedLines = 4

func (m *runModel) bodyRows() int { return max(m.Height-fixedLines-max(m.summaryHeight, 1), 0) }

// relayout recomputes the summary bar's height, which the rows and the
// detail pane share the screen with, after anything that may change it.
// Doing it once per Update, not once per row revealed, keeps a fast
// stream of frames cheap.
func (m *runModel) relayout() {
	text, _, limit := m.summaryText()
	k := summaryKey{text, limit, m.Width}
	if k == m.summaryFor && m.summaryHeight > 0 {
		return
	}
	m.summaryFor = k
	if h := len(m.summaryLines()); h != m.summaryHeight {
		m.summaryHeight = h
		m.scrollToCursor()
	}
}

// summaryKey is what the summary bar's height depends on.
type summaryKey struct {
	text         string
	limit, width int
}

// listRows is how many rows of frames the screen has room for.
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

// detailRows is how many lines the detail pane gets: a little over half
// the body, all of it zoomed, none on a tiny terminal.
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

// The smallest terminal the lab draws on. Below it, every view would be
// cut, so the lab says what it needs instead.
const (
	MinWidth  = 64
	MinHeight = 20
)

// tooSmall is the screen of a terminal below MinWidth×MinHeight: what the
// lab needs and what it has, centred, every line within the terminal.
func tooSmall(st *Styles, w, h int) string {
	msg := []string{
		st.Error.Render(fmt.Sprintf("terminal too small: need %d×%d", MinWidth, MinHeight)),
		st.Dim.Render(fmt.Sprintf("this one is %d×%d; make it larger, or press q", w, h)),
	}
	lines := make([]string, h)
	top := max((h-len(msg))/2, 0)
	for i, l := range msg {
		if top+i >= h {
			break
		}
		l = ansi.Wrap(l, w, " ")
		l, _, _ = strings.Cut(l, "\n")
		if pad := (w - ansi.StringWidth(l)) / 2; pad > 0 {
			l = strings.Repeat(" ", pad) + l
		}
		lines[top+i] = ansi.Truncate(l, w, "")
	}
	return strings.Join(lines, "\n")
}
