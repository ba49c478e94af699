package tui

import (
	"fmt"
	"strconv"

	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

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
	text := ansi.Truncate(rowText(e, kindOf(e, m.codec)), max(m.Width-fixed, 0), "…")
	if selected {
		plain := "▸" + idx + " " + left + arrow + right + " " + size + " " + badgeText(e.Verdict) + " " + text
		return st.Selected.Render(padRight(plain, m.Width))
	}
	if text == "" {
		return " " + idx + " " + left + st.text(e.Verdict, arrow) + right + " " + size + " " + st.badgeWord(e.Verdict)
	}
	return " " + idx + " " + left + st.text(e.Verdict, arrow) + right + " " + size + " " + st.badge(e.Verdict) + " " + st.text(e.Verdict, text)
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
	if e.Dir == wire.ServerToClient {
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

// frameLabel is the text on a frame's arrow: its type, and the sequence
// number of a record.
func frameLabel(e trace.Event) string {
	if e.Seq != nil {
		return fmt.Sprintf("%s #%d", e.Type, *e.Seq)
	}
	if e.Type == "" {
		return "?"
	}
	return printable(e.Type)
}
