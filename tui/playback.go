package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
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

// tickMsg reveals the next frame while playing. gen tells a tick of the
// current play from a stale one.
type tickMsg struct{ run, gen int }

// step shows the next frame and pauses.
func (m runModel) step() (runModel, tea.Cmd) {
	m.playing = false
	m.revealNext()
	return m, nil
}

// togglePlay pauses, or plays from here at the chosen speed.
func (m runModel) togglePlay() (runModel, tea.Cmd) {
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
}

func (m runModel) faster() (runModel, tea.Cmd) {
	m.speed = min(m.speed+1, len(speeds)-1)
	return m, nil
}

func (m runModel) slower() (runModel, tea.Cmd) {
	m.speed = max(m.speed-1, 0)
	return m, nil
}

// toTheEnd shows every frame, and every frame that arrives from now on.
func (m runModel) toTheEnd() (runModel, tea.Cmd) {
	m.playing = false
	m.toEnd = true
	m.revealAll()
	return m, nil
}

// onTick reveals a frame for a tick of the current play, and asks for the
// next tick until the run's end.
func (m *runModel) onTick(t tickMsg) tea.Cmd {
	if t.run != m.run || t.gen != m.gen || !m.playing {
		return nil
	}
	m.revealNext()
	if m.atEnd() {
		m.playing = false
		return nil
	}
	return m.tick()
}

func (m *runModel) tick() tea.Cmd {
	run, gen := m.run, m.gen
	return m.ticker(speeds[m.speed].every, func(time.Time) tea.Msg { return tickMsg{run: run, gen: gen} })
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
