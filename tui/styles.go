package tui

import (
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
	Lanes    lipgloss.Style // the lane header
	Selected lipgloss.Style // the selected row, drawn from plain text
	Rule     lipgloss.Style // the line above the detail pane
	Label    lipgloss.Style // detail pane labels
	Error    lipgloss.Style

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

// DefaultStyles returns the lab's styles.
func DefaultStyles() Styles {
	// The palette: hues that read on a projector as well as a laptop.
	var (
		red     = lipgloss.Color("#ff5f5f")
		green   = lipgloss.Color("#5fd75f")
		amber   = lipgloss.Color("#ffaf00")
		purple  = lipgloss.Color("#af87ff")
		grey    = lipgloss.Color("#8a8a8a")
		blue    = lipgloss.Color("#5fafff")
		magenta = lipgloss.Color("#ff5fd7")
		cyan    = lipgloss.Color("#5fd7d7")
	)
	s := lipgloss.NewStyle
	badge := func(c lipgloss.Style) lipgloss.Style { return c.Bold(true) }
	st := Styles{
		Title:    s().Bold(true).Foreground(blue),
		Subtitle: s().Bold(true),
		Dim:      s().Foreground(grey),
		Status:   s().Foreground(grey),
		Lanes:    s().Bold(true),
		Selected: s().Reverse(true).Bold(true),
		Rule:     s().Foreground(grey),
		Label:    s().Bold(true),
		Error:    s().Foreground(red).Bold(true),
		// Red: Mallory read it. Amber: Mallory made it, with a key or
		// without one. Cyan: Mallory took it and kept it. Magenta: Mallory
		// broke the conversation without any key (tampered, replayed,
		// dropped). Green: he saw only ciphertext. Grey: public, relayed
		// unchanged. Purple: it did not get through.
		Badge: map[trace.Verdict]lipgloss.Style{
			trace.Read:        badge(s().Foreground(red)),
			trace.Opaque:      badge(s().Foreground(green)),
			trace.Forged:      badge(s().Foreground(amber)),
			trace.Substituted: badge(s().Foreground(amber)),
			trace.Intercepted: badge(s().Foreground(cyan)),
			trace.Tampered:    badge(s().Foreground(magenta)),
			trace.Replayed:    badge(s().Foreground(magenta)),
			trace.Dropped:     badge(s().Foreground(magenta)),
			trace.Public:      s().Foreground(grey),
			trace.Blocked:     badge(s().Foreground(purple)),
		},
		Text: map[trace.Verdict]lipgloss.Style{
			trace.Read:        s().Foreground(red),
			trace.Opaque:      s().Foreground(grey),
			trace.Forged:      s().Foreground(amber),
			trace.Substituted: s().Foreground(grey),
			trace.Intercepted: s().Foreground(grey),
			trace.Tampered:    s().Foreground(magenta),
			trace.Replayed:    s().Foreground(magenta),
			trace.Dropped:     s().Foreground(magenta),
			trace.Public:      s().Foreground(grey),
			trace.Blocked:     s().Foreground(purple),
		},
		SummaryBroken: s().Bold(true).Foreground(red),
		SummarySafe:   s().Bold(true).Foreground(green),
		SummaryWait:   s().Foreground(grey),
		PickerCursor:  s().Bold(true).Foreground(blue),
		PickerName:    s().Bold(true),
		PickerTopic:   s().Bold(true).Underline(true),
		Lesson:        s(),
		Expect:        s().Foreground(amber),
		Hidden:        s().Foreground(grey).Italic(true),
		HelpGroup:     s().Bold(true).Underline(true),
		HelpKey:       s().Bold(true).Foreground(blue),
		HelpDesc:      s(),
		Help:          help.DefaultDarkStyles(),
		Input:         textinput.DefaultDarkStyles(),
	}
	st.Input.Cursor.Blink = false
	return st
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
