package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/attacker"
)

// prompt is what the run view's text input is for.
type prompt int

const (
	promptNone   prompt = iota
	promptAlice         // Alice's message: the scenario runs again with it
	promptEdit          // the plaintext Mallory seals in a held record's place
	promptExport        // the file x writes the run to
)

// keyMatches is key.Matches, for the files that also name a key package
// variable.
func keyMatches(msg tea.KeyPressMsg, b ...key.Binding) bool { return key.Matches(msg, b...) }

// startTyping opens the text input for Alice's message.
func (m runModel) startTyping() (runModel, tea.Cmd) {
	m.prompt = promptAlice
	m.setPrompt("Alice says: ")
	m.input.Placeholder = "a chat message, e.g. my password is hunter2"
	m.input.SetValue("")
	return m, m.input.Focus()
}

// defaultScript runs the scenario again with Alice's own script, after m
// gave her another.
func (m runModel) defaultScript() (runModel, tea.Cmd) {
	if len(m.messages) == 0 {
		m.notice = "Alice already says her default script"
		return m, nil
	}
	m.rerunWith(func(s *startRunMsg) { s.messages = nil })
	return m, nil
}

// typingKey handles a key while the input is open: enter acts on the
// text, esc gives up, and every other key is text.
func (m runModel) typingKey(msg tea.KeyPressMsg) (runModel, tea.Cmd) {
	switch {
	case key.Matches(msg, m.KeyMap.Send):
		return m.submit()
	case key.Matches(msg, m.KeyMap.Cancel):
		m.stopTyping()
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

// submit acts on the typed text.
func (m runModel) submit() (runModel, tea.Cmd) {
	value := m.input.Value()
	p := m.prompt
	m.stopTyping()
	switch p {
	case promptAlice:
		if text := strings.TrimSpace(value); text != "" {
			m.rerunWith(func(s *startRunMsg) { s.messages = []string{text} })
		}
	case promptEdit:
		m.answer(attacker.EditTo([]byte(value)))
	case promptExport:
		return m, m.export(strings.TrimSpace(value))
	}
	return m, nil
}

// setPrompt sets the input's prompt, and its width to what is left of the
// line.
func (m *runModel) setPrompt(p string) {
	m.input.Prompt = p
	m.input.SetWidth(max(m.Width-ansi.StringWidth(p)-1, 10))
}

func (m *runModel) stopTyping() {
	m.prompt = promptNone
	m.input.Reset()
	m.input.Blur()
}
