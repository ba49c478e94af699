package tui

import (
	"fmt"
	"path/filepath"

	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/export"
	"github.com/mitmlab/mitmlab/trace"
)

// x exports the run on screen to a file, in the format its extension
// names (package export): the Markdown transcript for a slide, a Mermaid
// diagram, HAR, a pcapng for Wireshark, or JSON Lines. The file is
// written by a command, off the update loop.

// exportedMsg reports what x wrote, or why it could not.
type exportedMsg struct {
	path string
	err  error
}

func (e exportedMsg) String() string {
	if e.err != nil {
		return "could not export: " + printable(e.err.Error())
	}
	return "wrote " + e.path
}

// startExport asks where to write the run, offering the scenario's name.
func (m runModel) startExport() (runModel, tea.Cmd) {
	m.prompt = promptExport
	m.setPrompt("export to: ")
	m.input.Placeholder = ""
	m.input.SetValue(m.sc.Name + string(export.Markdown))
	m.input.CursorEnd()
	return m, m.input.Focus()
}

// export returns the command that writes the run to name, in exportDir.
// It takes what the screen has: the frames that have arrived and, once
// the run has ended, its outcome.
func (m *runModel) export(name string) tea.Cmd {
	if name == "" {
		return nil
	}
	path := name
	if !filepath.IsAbs(path) && m.exportDir != "" {
		path = filepath.Join(m.exportDir, name)
	}
	run := export.Run{Scenario: m.sc, Events: append([]trace.Event(nil), m.frames...)}
	if m.outcome != nil {
		run.Outcome = m.outcome
	}
	if _, err := export.FormatOf(path); err != nil {
		err := fmt.Errorf("%w", err)
		return func() tea.Msg { return exportedMsg{path: path, err: err} }
	}
	return func() tea.Msg { return exportedMsg{path: path, err: export.Write(path, run)} }
}
