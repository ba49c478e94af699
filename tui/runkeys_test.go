package tui

import (
	"reflect"
	"testing"

	"charm.land/bubbles/v2/key"
)

// bindings returns a pointer to every binding in k, by its field name.
func bindings(k *KeyMap) map[string]*key.Binding {
	out := map[string]*key.Binding{}
	v := reflect.ValueOf(k).Elem()
	for i := range v.NumField() {
		if b, ok := v.Field(i).Addr().Interface().(*key.Binding); ok {
			out[v.Type().Field(i).Name] = b
		}
	}
	return out
}

// TestRunKeyTableCoversTheKeyMap: every key the run view answers to has
// one row in its key table, and the table has no key the help does not
// list. Enter (run), the text input's enter and esc, a held record's keys
// (intercept.go answers them first), help and quit belong to other views,
// modes or the lab.
func TestRunKeyTableCoversTheKeyMap(t *testing.T) {
	t.Parallel()
	k := DefaultKeyMap()
	all := bindings(&k)
	notRun := map[*key.Binding]bool{}
	for _, name := range []string{"Run", "Send", "Cancel", "Help", "Quit", "Forward", "Edit", "Flip", "Withhold", "Replay"} {
		notRun[all[name]] = true
	}
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
			for _, b := range all {
				if b.Help() == g.Bindings[i].Help() {
					listed[b] = true
				}
			}
		}
	}
	for name, b := range all {
		if !listed[b] {
			t.Errorf("key %s (%q) is in no group of the help", name, b.Help().Key)
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
// ones a live attacker process ignores, and the tally is the one key only
// it has.
func TestScenarioKeysAreOffWhenLive(t *testing.T) {
	t.Parallel()
	k := DefaultKeyMap()
	want := map[*key.Binding]bool{&k.Next: true, &k.Prev: true, &k.Attacker: true, &k.NextAttack: true, &k.Type: true, &k.DefaultScript: true, &k.Intercept: true}
	for _, r := range runKeys(&k) {
		if r.scenario != want[r.binding] {
			t.Errorf("key %q: scenario = %v", r.binding.Help().Key, r.scenario)
		}
		if r.live != (r.binding == &k.Tally) {
			t.Errorf("key %q: live = %v", r.binding.Help().Key, r.live)
		}
	}
}
