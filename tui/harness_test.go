package tui

import (
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// lab drives the real Model inside a tea.Program (teatest) at a fixed
// terminal size, and waits on the model's own state, never on a clock.
type lab struct {
	tm *teatest.TestModel

	mu   sync.Mutex
	cond func(*Model) bool
	met  chan struct{}
}

// probeMsg gives the program's filter a chance to look at the model.
type probeMsg struct{}

func newLab(t *testing.T, o Options, w, h int, opts ...tea.ProgramOption) *lab {
	t.Helper()
	l := &lab{}
	filter := func(m tea.Model, msg tea.Msg) tea.Msg {
		l.mu.Lock()
		defer l.mu.Unlock()
		if lm, ok := m.(*Model); ok && l.cond != nil && l.cond(lm) {
			close(l.met)
			l.cond = nil
		}
		if _, ok := msg.(probeMsg); ok {
			return nil
		}
		return msg
	}
	l.tm = teatest.NewTestModel(t, New(o), teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(append(opts, tea.WithFilter(filter))...))
	t.Cleanup(func() {
		_ = l.tm.Quit()
		// teatest's Quit does not reach the model, as q would: stop the
		// run in flight, which may be waiting for a held record's answer.
		if m, ok := l.tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model); ok {
			m.Close()
		}
	})
	return l
}

// waitFor blocks until cond holds for the model the program holds. The
// filter evaluates cond on the program's own goroutine; probes make sure
// it gets to look after the last real message.
func (l *lab) waitFor(t *testing.T, what string, cond func(*Model) bool) {
	t.Helper()
	met := make(chan struct{})
	l.mu.Lock()
	l.cond, l.met = cond, met
	l.mu.Unlock()
	deadline := time.After(20 * time.Second)
	probe := time.NewTicker(5 * time.Millisecond)
	defer probe.Stop()
	for {
		select {
		case <-met:
			return
		case <-probe.C:
			l.tm.Send(probeMsg{})
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// runDone holds once run number n has ended.
func runDone(n int) func(*Model) bool {
	return func(m *Model) bool { return m.view == runView && m.run.run == n && m.run.finished }
}

func (l *lab) keys(ks ...tea.KeyPressMsg) {
	for _, k := range ks {
		l.tm.Send(k)
	}
}

// final quits and returns the model's last screen as plain text.
func (l *lab) final(t *testing.T) (*Model, string) {
	t.Helper()
	if err := l.tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m, ok := l.tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	if !ok {
		t.Fatal("final model is not a Model")
	}
	return m, screen(m)
}

// screen is the model's view without colour: goldens hold the text.
func screen(m *Model) string { return ansi.Strip(m.View().Content) }

// Keys as a terminal sends them.
func press(s string) tea.KeyPressMsg {
	switch s {
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(s)
	if len(r) != 1 {
		panic("press: unknown key " + s)
	}
	return tea.KeyPressMsg{Code: r[0], Text: s}
}

func typed(s string) []tea.KeyPressMsg {
	var out []tea.KeyPressMsg
	for _, r := range s {
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return out
}
