package tui

import (
	"testing"

	"charm.land/bubbles/v2/key"
)

// TestRunKeyTableCoversTheKeyMap: every key the run view answers to has
// one row in its key table, and the table has no key the help does not
// list. Enter (run), typing's enter and esc, help and quit belong to
// other views or to the lab.
func TestRunKeyTableCoversTheKeyMap(t *testing.T) {
	t.Parallel()
	k := DefaultKeyMap()
	notRun := map[*key.Binding]bool{&k.Run: true, &k.Send: true, &k.Cancel: true, &k.Help: true, &k.Quit: true}
	rows := map[*key.Binding]int{}
	for _, r := range runKeys(&k) {
		rows[r.binding]++
		if r.do == nil {
			t.Errorf("key %q has no action", r.binding.Help().Key)
		}
	}
	listed := map[*key.Binding]bool{}
	for _, g := range k.Groups() {
		for i := range g.Bindings {
			// Groups copies the bindings; find each in the KeyMap by its help.
			for _, b := range []*key.Binding{&k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.Home, &k.End, &k.Run, &k.Next, &k.Prev, &k.Back,
				&k.Step, &k.Play, &k.Faster, &k.Slower, &k.ToEnd, &k.Restart, &k.Attacker, &k.Type, &k.Send, &k.Cancel,
				&k.Detail, &k.LegFilter, &k.VerdictFilter, &k.Clear, &k.Help, &k.Quit} {
				if b.Help() == g.Bindings[i].Help() {
					listed[b] = true
				}
			}
		}
	}
	for b := range listed {
		switch {
		case notRun[b] && rows[b] > 0:
			t.Errorf("key %q (%s) is in the run view's table", b.Help().Key, b.Help().Desc)
		case !notRun[b] && rows[b] != 1:
			t.Errorf("key %q (%s) has %d rows in the run view's table, want 1", b.Help().Key, b.Help().Desc, rows[b])
		}
	}
	for b := range rows {
		if !listed[b] {
			t.Errorf("the run view's table has key %q, which the help does not list", b.Help().Key)
		}
	}
}

// TestScenarioKeysAreOffWhenLive: the keys that change what runs are the
// ones a live attacker process ignores.
func TestScenarioKeysAreOffWhenLive(t *testing.T) {
	t.Parallel()
	k := DefaultKeyMap()
	want := map[*key.Binding]bool{&k.Next: true, &k.Prev: true, &k.Attacker: true, &k.Type: true}
	for _, r := range runKeys(&k) {
		if r.scenario != want[r.binding] {
			t.Errorf("key %q: scenario = %v", r.binding.Help().Key, r.scenario)
		}
	}
}
