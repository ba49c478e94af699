package tui

import (
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/trace"
)

// legFilters and verdictFilters are what l and v cycle through; "" is all.
var (
	legFilters     = [...]trace.Leg{"", trace.LegA, trace.LegB, trace.LegWire}
	verdictFilters = append([]trace.Verdict{""}, trace.Verdicts()...)
)

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

func (m runModel) cycleLeg() (runModel, tea.Cmd) {
	m.leg = (m.leg + 1) % len(legFilters)
	m.refilter()
	return m, nil
}

func (m runModel) cycleVerdict() (runModel, tea.Cmd) {
	m.verdict = (m.verdict + 1) % len(verdictFilters)
	m.refilter()
	return m, nil
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

// clear hides the rows shown so far; frames that come after appear as
// usual.
func (m runModel) clear() (runModel, tea.Cmd) {
	m.cleared = m.revealed
	m.visible = m.visible[:0]
	m.cursor, m.offset = 0, 0
	return m, nil
}

// Up, down and the page keys move the selection; in the full-height
// detail (d) they scroll it instead, and ← → step through the frames in
// either layout.
func (m runModel) up() (runModel, tea.Cmd)        { return m.movedOrScrolled(-1, -1) }
func (m runModel) down() (runModel, tea.Cmd)      { return m.movedOrScrolled(1, 1) }
func (m runModel) pageUp() (runModel, tea.Cmd)    { return m.movedOrScrolled(-m.page(), -m.detailPage()) }
func (m runModel) pageDown() (runModel, tea.Cmd)  { return m.movedOrScrolled(m.page(), m.detailPage()) }
func (m runModel) first() (runModel, tea.Cmd)     { return m.moved(-len(m.visible)) }
func (m runModel) last() (runModel, tea.Cmd)      { return m.moved(len(m.visible)) }
func (m runModel) prevFrame() (runModel, tea.Cmd) { return m.moved(-1) }
func (m runModel) nextFrame() (runModel, tea.Cmd) { return m.moved(1) }

func (m runModel) moved(n int) (runModel, tea.Cmd) {
	m.move(n)
	return m, nil
}

// movedOrScrolled moves the selection rows rows, or, when the detail has
// the whole screen and shows a frame, scrolls it lines lines.
func (m runModel) movedOrScrolled(rows, lines int) (runModel, tea.Cmd) {
	if m.zoom && !m.card && m.held == nil {
		m.scrollDetail(lines)
		return m, nil
	}
	return m.moved(rows)
}

// detailPage is how far a page key scrolls the full-height detail: its
// height less the line that says where it is, less one to keep context.
func (m *runModel) detailPage() int { return max(m.detailRows()-2, 1) }

// scrollDetail scrolls the full-height detail n lines, within its length.
func (m *runModel) scrollDetail(n int) {
	page := m.detailRows() - 1
	m.detailOff = min(max(m.detailOff+n, 0), max(len(m.detailLines())-page, 0))
}

// page is how far a page key moves: the rows on screen, less one to keep
// context.
func (m *runModel) page() int { return max(m.listRows()-1, 1) }

// wheel scrolls three rows a notch.
func (m *runModel) wheel(b tea.MouseButton) {
	switch b {
	case tea.MouseWheelUp:
		m.move(-3)
	case tea.MouseWheelDown:
		m.move(3)
	}
}

// move moves the selection n rows, and the list with it. The lesson card
// gives way to the frames.
func (m *runModel) move(n int) {
	m.card = false
	if len(m.visible) == 0 {
		return
	}
	m.cursor = min(max(m.cursor+n, 0), len(m.visible)-1)
	m.scrollToCursor()
}

// toggleZoom gives the detail pane the whole screen, or shares it again.
func (m runModel) toggleZoom() (runModel, tea.Cmd) {
	m.zoom = !m.zoom
	m.detailOff = 0
	m.scrollToCursor()
	return m, nil
}

// selected is the position in frames of the selected row, or -1.
func (m *runModel) selected() int {
	if m.cursor < len(m.visible) {
		return m.visible[m.cursor]
	}
	return -1
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
