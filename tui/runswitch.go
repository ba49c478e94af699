package tui

import (
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
)

// startRunMsg asks the lab to run a scenario, replacing any run in flight.
type startRunMsg struct {
	name       string
	noAttacker bool
	messages   []string // Alice's script; empty means the default one
	attack     string   // the attack to run; empty means the scenario's own
	intercept  bool     // Mallory holds each record for the person
}

// request is what a view asks of the lab, which owns the runs. The lab
// acts on it in the same Update, so keys pressed in quick succession (n,
// n) act in order.
type request struct {
	start   *startRunMsg // run this
	picker  bool         // go back to the picker
	release bool         // intercept off: let every record of this run through
}

// current is how the scenario runs now, to run it again.
func (m *runModel) current() startRunMsg {
	return startRunMsg{name: m.sc.Name, noAttacker: m.noAttacker, messages: m.messages, attack: m.attack, intercept: m.intercept}
}

// rerunWith runs the scenario again, as it is but for what change sets.
func (m *runModel) rerunWith(change func(*startRunMsg)) {
	s := m.current()
	change(&s)
	m.req.start = &s
}

// restart runs the same scenario again, as it was.
func (m runModel) restart() (runModel, tea.Cmd) {
	m.rerunWith(func(*startRunMsg) {})
	return m, nil
}

// toggleAttacker runs the scenario again with the attacker switched.
func (m runModel) toggleAttacker() (runModel, tea.Cmd) {
	m.rerunWith(func(s *startRunMsg) { s.noAttacker = !s.noAttacker })
	return m, nil
}

// nextAttack runs the scenario again with the next attack that applies
// to it: A goes from the scenario's own attack to the passive relay (what
// a listener with no keys sees), then through the rest of the attack
// table, and back.
func (m runModel) nextAttack() (runModel, tea.Cmd) {
	names := []string{m.sc.Attack}
	for _, a := range m.sc.Applicable() {
		if a.Name == attacker.Passive && a.Name != m.sc.Attack {
			names = append(names, a.Name)
		}
	}
	for _, a := range m.sc.Applicable() {
		if !slices.Contains(names, a.Name) {
			names = append(names, a.Name)
		}
	}
	cur := m.attack
	if cur == "" {
		cur = m.sc.Attack
	}
	next := names[(slices.Index(names, cur)+1)%len(names)]
	if next == m.sc.Attack {
		next = ""
	}
	m.rerunWith(func(s *startRunMsg) { s.attack, s.noAttacker = next, false })
	return m, nil
}

func (m runModel) nextScenario() (runModel, tea.Cmd) { return m.switchScenario(1), nil }
func (m runModel) prevScenario() (runModel, tea.Cmd) { return m.switchScenario(-1), nil }

// switchScenario runs the scenario step places along the catalogue,
// keeping the attacker switch, intercept and Alice's message; the attack
// is the new scenario's own.
func (m runModel) switchScenario(step int) runModel {
	n := len(m.catalogue)
	if n == 0 {
		return m
	}
	name := m.sc.Name
	i := slices.IndexFunc(m.catalogue, func(s scenarios.Scenario) bool { return s.Name == name })
	i = ((i+step)%n + n) % n
	m.rerunWith(func(s *startRunMsg) { s.name, s.attack = m.catalogue[i].Name, "" })
	return m
}

// back asks for the picker.
func (m runModel) back() (runModel, tea.Cmd) {
	m.req.picker = true
	return m, nil
}
