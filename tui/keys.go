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
	Up, Down, PageUp, PageDown, Home, End key.Binding
	// Scenarios.
	Run, Next, Prev, Back key.Binding
	// Playback.
	Step, Play, Faster, Slower, ToEnd, Restart key.Binding
	// The lab.
	Attacker, Type, Send, Cancel key.Binding
	// The frame log.
	Detail, LegFilter, VerdictFilter, Clear key.Binding
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

		Attacker: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "attacker on/off")),
		Type:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "type as Alice")),
		Send:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send the typed message")),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "stop typing")),

		Detail:        key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "detail split/full")),
		LegFilter:     key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "filter leg")),
		VerdictFilter: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "filter verdict")),
		Clear:         key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clear log")),

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
		{"The lab", []key.Binding{k.Attacker, k.Type, k.Send, k.Cancel}},
		{"Frames", []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End, k.Detail, k.LegFilter, k.VerdictFilter, k.Clear}},
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
	if h.typing {
		return []key.Binding{h.k.Send, h.k.Cancel}
	}
	if h.live {
		return []key.Binding{h.k.Step, h.k.Play, h.k.Help, h.k.Quit, h.k.ToEnd, h.k.Restart, h.k.Back}
	}
	// The first six fit 80 columns; the rest show where there is room.
	return []key.Binding{h.k.Step, h.k.Play, h.k.Attacker, h.k.Type, h.k.Help, h.k.Quit, h.k.ToEnd, h.k.Restart, h.k.Next, h.k.Back}
}

func (h runHelp) FullHelp() [][]key.Binding {
	var out [][]key.Binding
	for _, g := range h.k.Groups() {
		out = append(out, g.Bindings)
	}
	return out
}
