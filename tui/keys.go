package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
)

// KeyMap is every key the lab answers to. One KeyMap drives the keys
// themselves, the help bar of each view, the help screen and the key table
// in docs/tui.md (a test keeps that table and this map in step).
type KeyMap struct {
	// Moving around.
	Up, Down, PageUp, PageDown, Home, End, PrevFrame, NextFrame key.Binding
	// Scenarios.
	Run, Next, Prev, Back key.Binding
	// Playback.
	Step, Play, Faster, Slower, ToEnd, Restart key.Binding
	// The lab.
	Attacker, NextAttack, Type, DefaultScript, Send, Cancel key.Binding
	// Intercept: Mallory holds each record for a person to judge.
	Intercept, Forward, Edit, Flip, Withhold, Replay key.Binding
	// The frame log.
	Detail, LegFilter, VerdictFilter, Clear, Lesson, Export key.Binding
	// A live attacker process.
	Tally key.Binding
	// Everywhere.
	Help, Quit key.Binding
}

// DefaultKeyMap returns the lab's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Home:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first frame")),
		End:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last frame; follow new ones")),
		// Up and down scroll the detail when it has the whole screen, so
		// the arrows beside them step through the frames in either layout.
		PrevFrame: key.NewBinding(key.WithKeys("left"), key.WithHelp("←", "previous frame")),
		NextFrame: key.NewBinding(key.WithKeys("right"), key.WithHelp("→", "next frame")),

		Run:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run")),
		Next: key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next scenario")),
		Prev: key.NewBinding(key.WithKeys("N", "shift+n"), key.WithHelp("N", "previous scenario")),
		Back: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "all scenarios")),

		Step:    key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "step")),
		Play:    key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "play")),
		Faster:  key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "faster")),
		Slower:  key.NewBinding(key.WithKeys("-", "_"), key.WithHelp("-", "slower")),
		ToEnd:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "to the end")),
		Restart: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restart")),

		Attacker:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "attacker on/off")),
		NextAttack:    key.NewBinding(key.WithKeys("A", "shift+a"), key.WithHelp("A", "next attack")),
		Type:          key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "type as Alice")),
		DefaultScript: key.NewBinding(key.WithKeys("M", "shift+m"), key.WithHelp("M", "Alice's default script")),
		Send:          key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send the typed message")),
		Cancel:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "stop typing")),

		Intercept: key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "intercept on/off")),
		Forward:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send the held record on")),
		Edit:      key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit it (with keys)")),
		Flip:      key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "flip a bit (no keys)")),
		Withhold:  key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "withhold it")),
		Replay:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "replay the one before")),

		Detail:        key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "detail split/full; ↑↓ scroll it")),
		LegFilter:     key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "filter leg")),
		VerdictFilter: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "filter verdict")),
		Clear:         key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clear log")),
		Lesson:        key.NewBinding(key.WithKeys("L", "shift+l"), key.WithHelp("L", "lesson card")),
		Export:        key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "export the run")),

		Tally: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "tally per student")),

		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// KeyGroup is a titled set of bindings on the help screen.
type KeyGroup struct {
	Title    string
	Bindings []key.Binding
}

// Groups returns every binding, grouped as the help screen and
// docs/tui.md show them.
func (k KeyMap) Groups() []KeyGroup {
	return []KeyGroup{
		{"Scenarios", []key.Binding{k.Run, k.Next, k.Prev, k.Back}},
		{"Playback", []key.Binding{k.Step, k.Play, k.Faster, k.Slower, k.ToEnd, k.Restart}},
		{"The lab", []key.Binding{k.Attacker, k.NextAttack, k.Type, k.DefaultScript, k.Send, k.Cancel}},
		{"Intercept", []key.Binding{k.Intercept, k.Forward, k.Edit, k.Flip, k.Withhold, k.Replay}},
		{"Frames", []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End, k.PrevFrame, k.NextFrame, k.Detail, k.LegFilter, k.VerdictFilter, k.Clear, k.Lesson, k.Export, k.Tally}},
		{"General", []key.Binding{k.Help, k.Quit}},
	}
}

// Markdown returns the key table that docs/tui.md carries.
func (k KeyMap) Markdown() string {
	var b strings.Builder
	b.WriteString("| Keys | Does | Group |\n|---|---|---|\n")
	for _, g := range k.Groups() {
		for _, kb := range g.Bindings {
			var keys []string
			for _, s := range kb.Keys() {
				keys = append(keys, "`"+s+"`")
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", strings.Join(keys, " "), kb.Help().Desc, g.Title)
		}
	}
	b.WriteString("| mouse wheel | scroll the frames | Frames |\n")
	return b.String()
}

// pickerHelp is the picker's help bar.
type pickerHelp struct{ k *KeyMap }

func (h pickerHelp) ShortHelp() []key.Binding {
	return []key.Binding{h.k.Up, h.k.Down, h.k.Run, h.k.Help, h.k.Quit}
}

func (h pickerHelp) FullHelp() [][]key.Binding { return [][]key.Binding{h.ShortHelp()} }

// runHelp is the run view's help bar.
type runHelp struct {
	k      *KeyMap
	typing bool
	live   bool // attached to a live attacker process
}

func (h runHelp) ShortHelp() []key.Binding {
	switch {
	case h.typing:
		return []key.Binding{h.k.Send, h.k.Cancel}
	case h.live:
		return []key.Binding{h.k.Tally, h.k.Help, h.k.Quit, h.k.Detail, h.k.Export, h.k.Restart, h.k.Back}
	}
	// The first six fit 80 columns; the rest show where there is room.
	return []key.Binding{h.k.Step, h.k.Play, h.k.Attacker, h.k.Intercept, h.k.Help, h.k.Quit, h.k.ToEnd, h.k.Type, h.k.NextAttack, h.k.Restart, h.k.Next, h.k.Back}
}

func (h runHelp) FullHelp() [][]key.Binding {
	var out [][]key.Binding
	for _, g := range h.k.Groups() {
		out = append(out, g.Bindings)
	}
	return out
}
