package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// startTyping opens the text input for Alice's message.
func (m runModel) startTyping() (runModel, tea.Cmd) {
	m.typing = true
	return m, m.input.Focus()
}

// typingKey handles a key while Alice's message is being typed: enter
// runs the scenario again with it as her whole script, esc gives up, and
// every other key is text.
func (m runModel) typingKey(msg tea.KeyPressMsg) (runModel, tea.Cmd) {
	switch {
	case key.Matches(msg, m.KeyMap.Send):
		text := strings.TrimSpace(m.input.Value())
		m.stopTyping()
		if text != "" {
			m.rerun(m.noAttacker, []string{text})
		}
		return m, nil
	case key.Matches(msg, m.KeyMap.Cancel):
		m.stopTyping()
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m *runModel) stopTyping() {
	m.typing = false
	m.input.Reset()
	m.input.Blur()
}
