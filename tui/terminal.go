package tui

import (
	"context"
	"errors"
	"io"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

// Terminal is where the lab runs.
type Terminal struct {
	In  io.Reader // nil means os.Stdin
	Out io.Writer // nil means os.Stdout
	// NoColor draws without colour (the NO_COLOR convention). Bold and
	// reverse video stay, and every badge has its word.
	NoColor bool
}

// programOptions are the tea.ProgramOptions for a Terminal.
func (t Terminal) programOptions(ctx context.Context) []tea.ProgramOption {
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if t.In != nil {
		opts = append(opts, tea.WithInput(t.In))
	}
	if t.Out != nil {
		opts = append(opts, tea.WithOutput(t.Out))
	}
	if t.NoColor {
		opts = append(opts, tea.WithColorProfile(colorprofile.ASCII))
	}
	return opts
}

// Run opens the lab on a terminal and returns when the person quits or
// ctx ends. No run outlives it.
func Run(ctx context.Context, o Options, t Terminal) error {
	p := tea.NewProgram(New(o), t.programOptions(ctx)...)
	final, err := p.Run()
	if m, ok := final.(*Model); ok {
		m.Close()
	}
	if errors.Is(err, tea.ErrInterrupted) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
