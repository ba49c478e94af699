package tui

import (
	"image/color"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"

	"github.com/mitmlab/mitmlab/trace"
)

// Styles holds every style the lab draws with. Colour is never the only
// signal: each verdict badge carries its word, and the selected row is
// drawn in reverse video, which survives NO_COLOR.
type Styles struct {
	Title    lipgloss.Style // the scenario's name
	Subtitle lipgloss.Style // the scenario's title
	Dim      lipgloss.Style // notes, secondary text
	Status   lipgloss.Style // the playback status line
	Notice   lipgloss.Style // a line for the person: what x wrote, why a key did nothing
	Lanes    lipgloss.Style // the lane header
	Selected lipgloss.Style // the selected row, drawn from plain text
	Rule     lipgloss.Style // the line above the detail pane
	Label    lipgloss.Style // detail pane labels
	Error    lipgloss.Style
	Held     lipgloss.Style // the rule above a record Mallory holds for the person
	Card     lipgloss.Style // the rule above a lesson card

	// Badge styles one verdict's word; Text styles what follows it on the
	// row (the recovered plaintext of a READ frame is red too).
	Badge map[trace.Verdict]lipgloss.Style
	Text  map[trace.Verdict]lipgloss.Style

	SummaryBroken lipgloss.Style // the attacker read something, or did harm nobody noticed
	SummarySafe   lipgloss.Style // the attacker read nothing and did no unnoticed harm
	SummaryWait   lipgloss.Style // no summary yet

	PickerCursor lipgloss.Style
	PickerName   lipgloss.Style
	PickerTopic  lipgloss.Style // a topic's heading
	Lesson       lipgloss.Style
	Expect       lipgloss.Style
	Hidden       lipgloss.Style

	HelpGroup lipgloss.Style
	HelpKey   lipgloss.Style
	HelpDesc  lipgloss.Style
	Help      help.Styles
	// Input is the text input for Alice's message. Its cursor does not
	// blink: steadier on a projector, and a blink is a timer to wait for.
	Input textinput.Styles
}

// Palette is the colours a theme draws with, one per meaning.
type Palette struct {
	Red     color.Color // Mallory read it
	Green   color.Color // ciphertext only; the attack failed
	Amber   color.Color // Mallory made it
	Purple  color.Color // it did not get through
	Grey    color.Color // public; secondary text
	Blue    color.Color // titles and keys
	Magenta color.Color // changed without a key
	Cyan    color.Color // taken and kept
	// Dark says the palette is for a dark background.
	Dark bool
}

// DarkPalette is for a dark background: hues that read on a projector as
// well as a laptop.
func DarkPalette() Palette {
	return Palette{
		Red:     lipgloss.Color("#ff5f5f"),
		Green:   lipgloss.Color("#5fd75f"),
		Amber:   lipgloss.Color("#ffaf00"),
		Purple:  lipgloss.Color("#af87ff"),
		Grey:    lipgloss.Color("#8a8a8a"),
		Blue:    lipgloss.Color("#5fafff"),
		Magenta: lipgloss.Color("#ff5fd7"),
		Cyan:    lipgloss.Color("#5fd7d7"),
		Dark:    true,
	}
}

// LightPalette is for a light background: the same hues, darkened until
// each stands at least 4.5:1 against white (WCAG AA for text), which
// TestLightPaletteContrast computes. The dark palette's amber and green
// are about 1.8:1 on white.
func LightPalette() Palette {
	return Palette{
		Red:     lipgloss.Color("#c0001a"),
		Green:   lipgloss.Color("#1e7a1e"),
		Amber:   lipgloss.Color("#935f00"),
		Purple:  lipgloss.Color("#6b3fc0"),
		Grey:    lipgloss.Color("#5f5f5f"),
		Blue:    lipgloss.Color("#1858b8"),
		Magenta: lipgloss.Color("#a8007c"),
		Cyan:    lipgloss.Color("#00727a"),
	}
}

// DefaultStyles returns the lab's styles for a dark background.
func DefaultStyles() Styles { return PaletteStyles(DarkPalette()) }

// PaletteStyles returns the lab's styles in the colours of p.
func PaletteStyles(p Palette) Styles {
	s := lipgloss.NewStyle
	badge := func(c lipgloss.Style) lipgloss.Style { return c.Bold(true) }
	st := Styles{
		Title:    s().Bold(true).Foreground(p.Blue),
		Subtitle: s().Bold(true),
		Dim:      s().Foreground(p.Grey),
		Status:   s().Foreground(p.Grey),
		Notice:   s().Bold(true).Foreground(p.Blue),
		Lanes:    s().Bold(true),
		Selected: s().Reverse(true).Bold(true),
		Rule:     s().Foreground(p.Grey),
		Label:    s().Bold(true),
		Error:    s().Foreground(p.Red).Bold(true),
		Held:     s().Bold(true).Foreground(p.Amber),
		Card:     s().Bold(true).Foreground(p.Blue),
		// Red: Mallory read it. Amber: Mallory made it, with a key or
		// without one. Cyan: Mallory took it and kept it. Magenta: Mallory
		// broke the conversation without any key (tampered, replayed,
		// dropped). Green: he saw only ciphertext. Grey: public, relayed
		// unchanged. Purple: it did not get through.
		Badge: map[trace.Verdict]lipgloss.Style{
			trace.Read:        badge(s().Foreground(p.Red)),
			trace.Opaque:      badge(s().Foreground(p.Green)),
			trace.Forged:      badge(s().Foreground(p.Amber)),
			trace.Substituted: badge(s().Foreground(p.Amber)),
			trace.Intercepted: badge(s().Foreground(p.Cyan)),
			trace.Tampered:    badge(s().Foreground(p.Magenta)),
			trace.Replayed:    badge(s().Foreground(p.Magenta)),
			trace.Dropped:     badge(s().Foreground(p.Magenta)),
			trace.Public:      s().Foreground(p.Grey),
			trace.Blocked:     badge(s().Foreground(p.Purple)),
		},
		Text: map[trace.Verdict]lipgloss.Style{
			trace.Read:        s().Foreground(p.Red),
			trace.Opaque:      s().Foreground(p.Grey),
			trace.Forged:      s().Foreground(p.Amber),
			trace.Substituted: s().Foreground(p.Grey),
			trace.Intercepted: s().Foreground(p.Grey),
			trace.Tampered:    s().Foreground(p.Magenta),
			trace.Replayed:    s().Foreground(p.Magenta),
			trace.Dropped:     s().Foreground(p.Magenta),
			trace.Public:      s().Foreground(p.Grey),
			trace.Blocked:     s().Foreground(p.Purple),
		},
		SummaryBroken: s().Bold(true).Foreground(p.Red),
		SummarySafe:   s().Bold(true).Foreground(p.Green),
		SummaryWait:   s().Foreground(p.Grey),
		PickerCursor:  s().Bold(true).Foreground(p.Blue),
		PickerName:    s().Bold(true),
		PickerTopic:   s().Bold(true).Underline(true),
		Lesson:        s(),
		Expect:        s().Foreground(p.Amber),
		Hidden:        s().Foreground(p.Grey).Italic(true),
		HelpGroup:     s().Bold(true).Underline(true),
		HelpKey:       s().Bold(true).Foreground(p.Blue),
		HelpDesc:      s(),
		Help:          help.DefaultStyles(p.Dark),
		Input:         textinput.DefaultStyles(p.Dark),
	}
	st.Input.Cursor.Blink = false
	return st
}

// Theme names a palette.
type Theme string

// The themes.
const (
	ThemeAuto  Theme = ""      // follow the terminal's background
	ThemeDark  Theme = "dark"  // a dark background
	ThemeLight Theme = "light" // a light background
)

// Themes lists the themes a person can name.
func Themes() []Theme { return []Theme{ThemeDark, ThemeLight} }

// ThemeStyles returns the styles of theme t; ThemeAuto starts dark.
func ThemeStyles(t Theme) Styles {
	if t == ThemeLight {
		return PaletteStyles(LightPalette())
	}
	return DefaultStyles()
}

// badgeWidth fits the longest verdict words, SUBSTITUTED and INTERCEPTED.
const badgeWidth = 11

// badgeText is a verdict's word, padded to badgeWidth.
func badgeText(v trace.Verdict) string {
	w := strings.ToUpper(string(v))
	if w == "" {
		w = "?"
	}
	return padRight(w, badgeWidth)
}

// badge renders a verdict's padded word in its colour.
func (s *Styles) badge(v trace.Verdict) string {
	st, ok := s.Badge[v]
	if !ok {
		st = s.Dim
	}
	return st.Render(badgeText(v))
}

// badgeWord renders a verdict's word, unpadded, in its colour.
func (s *Styles) badgeWord(v trace.Verdict) string {
	st, ok := s.Badge[v]
	if !ok {
		st = s.Dim
	}
	return st.Render(strings.TrimRight(badgeText(v), " "))
}

func (s *Styles) text(v trace.Verdict, str string) string {
	st, ok := s.Text[v]
	if !ok {
		st = s.Dim
	}
	return st.Render(str)
}
