package tui

import (
	"fmt"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

// benchLab is the lab in its run view at w×h with n frames received and
// the first shown of them revealed; the selection follows the tail.
func benchLab(b *testing.B, n, shown, w, h int) *Model {
	b.Helper()
	_, o := mitmFixture(b)
	events, _ := mitmFixture(b)
	data := events[4:8] // READ, FORGED, READ, FORGED
	frames := make([]trace.Event, n)
	for i := range frames {
		e := data[i%len(data)]
		e.Index = i
		e.Seq = seq(uint64(i / 4))
		frames[i] = e
	}
	m := New(Options{Tick: instantTick})
	next, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m = next.(*Model)
	sc, _ := scenarios.Lookup("unauth-ecdh")
	m.view = runView
	m.run.reset(1, sc, startRunMsg{})
	m.run.frames = frames
	m.run.outcome, m.run.finished = o, true
	for range shown {
		m.run.revealNext()
	}
	return m
}

// BenchmarkRunViewRender renders the run view (rows, detail pane, bars)
// with 100 and with 100,000 frames in the log. Only the rows on screen are
// drawn, so the two should cost the same.
func BenchmarkRunViewRender(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		for _, size := range [][2]int{{80, 24}, {200, 60}} {
			b.Run(fmt.Sprintf("frames=%d/%dx%d", n, size[0], size[1]), func(b *testing.B) {
				m := benchLab(b, n, n, size[0], size[1])
				b.ReportAllocs()
				for b.Loop() {
					_ = m.View()
				}
			})
		}
	}
}

// BenchmarkKeypressToFrame is one press of space (show the next frame)
// through the lab's Update, and the render of the new screen, with
// 100,000 frames in the log. At the end of the log it starts again from
// half way, outside the timer.
func BenchmarkKeypressToFrame(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprintf("frames=%d", n), func(b *testing.B) {
			m := benchLab(b, n, n/2, 120, 40)
			space := press("space")
			b.ReportAllocs()
			for b.Loop() {
				if m.run.revealed == n {
					b.StopTimer()
					m = benchLab(b, n, n/2, 120, 40)
					b.StartTimer()
				}
				next, _ := m.Update(space)
				m = next.(*Model)
				_ = m.View()
			}
		})
	}
}

// BenchmarkFilterKey is the worst keypress: a verdict filter rebuilds the
// row index over every shown frame.
func BenchmarkFilterKey(b *testing.B) {
	m := benchLab(b, 100_000, 100_000, 120, 40)
	v := press("v")
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(v)
		m = next.(*Model)
		_ = m.View()
	}
}

// BenchmarkFramesIn feeds 100,000 frames into the run view, one message
// each, as a live run does, revealing each as it comes (e). B/op is the
// memory the log and its row index take, growth included.
func BenchmarkFramesIn(b *testing.B) {
	const n = 100_000
	events, _ := mitmFixture(b)
	data := events[4:8]
	b.ReportAllocs()
	for b.Loop() {
		m := benchLab(b, 0, 0, 120, 40)
		m.run.toEnd = true
		for i := range n {
			e := data[i%len(data)]
			e.Index = i
			m.run, _ = m.run.Update(frameMsg{run: m.run.run, event: e})
		}
		if m.run.revealed != n {
			b.Fatalf("revealed %d", m.run.revealed)
		}
	}
}

// TestFrameIntakeDoesNotCopyTheModelToTheHeap guards the cost of a frame
// coming in: with room in the log, Update allocates nothing. A model that
// escapes to the heap (passed by pointer to a function value anywhere in
// Update) would cost one allocation the size of the whole model, about
// 13 KB, per frame.
func TestFrameIntakeDoesNotCopyTheModelToTheHeap(t *testing.T) {
	events, _ := mitmFixture(t)
	m := New(Options{Tick: instantTick})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m = next.(*Model)
	m.run.reset(1, scenarios.Scenario{Name: "unauth-ecdh"}, startRunMsg{})
	m.run.toEnd = true
	const n = 200
	m.run.frames = make([]trace.Event, 0, n+1)
	m.run.visible = make([]int, 0, n+1)
	i := 0
	allocs := testing.AllocsPerRun(n, func() {
		e := events[4]
		e.Index = i
		i++
		m.run, _ = m.run.Update(frameMsg{run: m.run.run, event: e})
	})
	if allocs > 0 {
		t.Errorf("a frame in costs %.1f allocations, want 0", allocs)
	}
}
