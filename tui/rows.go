package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// laneHeader names the lanes, each label starting above its lane.
func (m *runModel) laneHeader() string {
	g := m.laneGap()
	middle, short := "Attacker (Mallory)", "Mallory"
	if m.noAttacker {
		middle, short = "no attacker", "no attacker"
	}
	// A narrow lane takes the short name, not a cut long one.
	lane := func(long, short string) string {
		if ansi.StringWidth(long) > g-1 {
			long = short
		}
		return padRight(ansi.Truncate(long, g-1, "…"), g)
	}
	h := " " + padRight("#", m.indexWidth()) + " " + m.connHead() + lane("Client (Alice)", "Alice") + lane(middle, short) + "Server (Bob)"
	return m.Styles.Lanes.Render(h)
}

// The connection column: a live attacker process relays many clients at
// once, so each row says whose connection it is, by the name the client
// gave (?name=) or by its number.
const maxConnWidth = 12

// laneGap is the distance between two lanes: what the terminal's width
// allows once the connection column, if any, has its room.
func (m *runModel) laneGap() int {
	w := m.Width
	if m.connW > 0 {
		w -= m.connW + 1
	}
	return laneGap(w)
}

// connLabel names e's connection: "alice#3", or "#3" with no name.
func connLabel(e *trace.Event) string {
	l := "#" + strconv.Itoa(e.Conn)
	if e.Name != "" {
		l = printable(e.Name) + l
	}
	return ansi.Truncate(l, maxConnWidth, "…")
}

// connHead is the connection column's heading, padded, or "" when the
// view has no such column.
func (m *runModel) connHead() string {
	if m.connW == 0 {
		return ""
	}
	return padRight("conn", m.connW) + " "
}

// connCell is e's cell of the connection column, or "".
func (m *runModel) connCell(e *trace.Event) string {
	if m.connW == 0 {
		return ""
	}
	return padRight(connLabel(e), m.connW) + " "
}

// noteConn widens the connection column for e: it is as wide as the
// widest label so far, from "conn" up to maxConnWidth.
func (m *runModel) noteConn(e *trace.Event) {
	if m.live {
		m.connW = max(m.connW, len("conn"), ansi.StringWidth(connLabel(e)))
	}
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
	g := m.laneGap()
	left, arrow, right := diagram(e, g, m.noAttacker)
	size := fmt.Sprintf("%5d", e.Size)
	if e.Type == trace.TypeClose {
		size = "    -"
	}
	idx := fmt.Sprintf("%*d", m.indexWidth(), e.Index) + " " + m.connCell(&e)
	fixed := 1 + ansi.StringWidth(idx) + 2*g + 1 + 1 + 5 + 1 + badgeWidth + 1
	text := ansi.Truncate(rowText(e, kindOf(e, m.codec)), max(m.Width-fixed, 0), "…")
	if selected {
		plain := "▸" + idx + left + arrow + right + " " + size + " " + badgeText(e.Verdict) + " " + text
		return st.Selected.Render(padRight(plain, m.Width))
	}
	if text == "" {
		return " " + idx + left + st.text(e.Verdict, arrow) + right + " " + size + " " + st.badgeWord(e.Verdict)
	}
	return " " + idx + left + st.text(e.Verdict, arrow) + right + " " + size + " " + st.badge(e.Verdict) + " " + st.text(e.Verdict, text)
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
	label := []rune(fitLabel(frameLabel(e), max(n-3, 0)))
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

// fitLabel fits an arrow's label into n cells so that two labels that
// differ still look different: a TLS record's type loses its "tls_"
// first, and a label still too long keeps its end ("certif…_verify"),
// where types that share a start differ.
func fitLabel(s string, n int) string {
	if ansi.StringWidth(s) <= n {
		return s
	}
	if t := strings.TrimPrefix(s, tlsTypePrefix); t != s {
		s = t
		if ansi.StringWidth(s) <= n {
			return s
		}
	}
	if n < 8 {
		return ansi.Truncate(s, n, "…")
	}
	r := []rune(s)
	tail := (n - 1) / 2
	head := n - 1 - tail
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
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
