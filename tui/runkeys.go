package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// runKey is one row of the run view's key table: a binding and what it
// does. The actions live with what they act on: playback.go,
// framelist.go, runswitch.go, typing.go, intercept.go, cards.go,
// tally.go and export.go.
//
// An action takes the model and returns it, as Update does: a model
// passed by pointer to a function value would escape to the heap on every
// Update, frames included, and the model is large (the text input and
// the help).
type runKey struct {
	binding *key.Binding
	do      func(runModel) (runModel, tea.Cmd)
	// scenario marks a key that changes what runs. A view attached to a
	// live attacker process ignores it: the lab cannot change a separate
	// process.
	scenario bool
	// live marks a key only a view attached to a live process has.
	live bool
}

// runKeys is the run view's key table, in the help screen's groups. The
// KeyMap's bindings are shared and never change, so the table is built
// once per view. The keys of a held record (intercept.go) and of the text
// input (typing.go) come before it.
func runKeys(k *KeyMap) []runKey {
	return []runKey{
		// Scenarios.
		{binding: &k.Next, do: runModel.nextScenario, scenario: true},
		{binding: &k.Prev, do: runModel.prevScenario, scenario: true},
		{binding: &k.Back, do: runModel.back},
		// Playback.
		{binding: &k.Step, do: runModel.step},
		{binding: &k.Play, do: runModel.togglePlay},
		{binding: &k.Faster, do: runModel.faster},
		{binding: &k.Slower, do: runModel.slower},
		{binding: &k.ToEnd, do: runModel.toTheEnd},
		{binding: &k.Restart, do: runModel.restart},
		// The lab.
		{binding: &k.Attacker, do: runModel.toggleAttacker, scenario: true},
		{binding: &k.NextAttack, do: runModel.nextAttack, scenario: true},
		{binding: &k.Type, do: runModel.startTyping, scenario: true},
		{binding: &k.DefaultScript, do: runModel.defaultScript, scenario: true},
		// Intercept.
		{binding: &k.Intercept, do: runModel.toggleIntercept, scenario: true},
		// Frames.
		{binding: &k.Up, do: runModel.up},
		{binding: &k.Down, do: runModel.down},
		{binding: &k.PageUp, do: runModel.pageUp},
		{binding: &k.PageDown, do: runModel.pageDown},
		{binding: &k.Home, do: runModel.first},
		{binding: &k.End, do: runModel.last},
		{binding: &k.PrevFrame, do: runModel.prevFrame},
		{binding: &k.NextFrame, do: runModel.nextFrame},
		{binding: &k.Detail, do: runModel.toggleZoom},
		{binding: &k.LegFilter, do: runModel.cycleLeg},
		{binding: &k.VerdictFilter, do: runModel.cycleVerdict},
		{binding: &k.Clear, do: runModel.clear},
		{binding: &k.Lesson, do: runModel.toggleCard},
		{binding: &k.Export, do: runModel.startExport},
		{binding: &k.Tally, do: runModel.toggleTally, live: true},
	}
}

// key acts on one key pressed while not typing.
func (m runModel) key(msg tea.KeyPressMsg) (runModel, tea.Cmd) {
	for _, k := range m.keys {
		if !key.Matches(msg, *k.binding) {
			continue
		}
		if (k.scenario && m.live) || (k.live && !m.live) {
			return m, nil
		}
		return k.do(m)
	}
	return m, nil
}
