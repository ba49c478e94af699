package tui

import (
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/scenarios"
)

// startRunMsg asks the lab to run a scenario, replacing any run in flight.
type startRunMsg struct {
	name       string
	noAttacker bool
	messages   []string // Alice's script; empty means the default one
}

// request is what a view asks of the lab, which owns the runs. The lab
// acts on it in the same Update, so keys pressed in quick succession (n,
// n) act in order.
type request struct {
	start  *startRunMsg // run this
	picker bool         // go back to the picker
}

// restart runs the same scenario again, as it was.
func (m runModel) restart() (runModel, tea.Cmd) {
	m.rerun(m.noAttacker, m.messages)
	return m, nil
}

// toggleAttacker runs the scenario again with the attacker switched.
func (m runModel) toggleAttacker() (runModel, tea.Cmd) {
	m.rerun(!m.noAttacker, m.messages)
	return m, nil
}

func (m *runModel) rerun(noAttacker bool, messages []string) {
	m.req.start = &startRunMsg{name: m.sc.Name, noAttacker: noAttacker, messages: messages}
}

func (m runModel) nextScenario() (runModel, tea.Cmd) { return m.switchScenario(1), nil }
func (m runModel) prevScenario() (runModel, tea.Cmd) { return m.switchScenario(-1), nil }

// switchScenario runs the scenario step places along the catalogue,
// keeping the attacker switch and Alice's message.
func (m runModel) switchScenario(step int) runModel {
	n := len(m.catalogue)
	if n == 0 {
		return m
	}
	name := m.sc.Name
	i := slices.IndexFunc(m.catalogue, func(s scenarios.Scenario) bool { return s.Name == name })
	i = ((i+step)%n + n) % n
	m.req.start = &startRunMsg{name: m.catalogue[i].Name, noAttacker: m.noAttacker, messages: m.messages}
	return m
}

// back asks for the picker.
func (m runModel) back() (runModel, tea.Cmd) {
	m.req.picker = true
	return m, nil
}
