package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

// The goldens are teatest runs of the real Model in a tea.Program at
// 80×24, the smallest terminal the lab promises to fit. Each golden is the
// last screen as text (colour stripped; see TestNoColor for colour).
// Update them with: go test ./tui -run Golden -update

// mandated are the three scenarios issue 3 names; the picker's golden
// shows them, so it does not change each time the catalogue grows.
func mandated(t *testing.T) []scenarios.Scenario {
	var out []scenarios.Scenario
	for _, name := range []string{"plaintext-rsa", "unauth-ecdh", "pinned-ecdh"} {
		sc, err := scenarios.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sc)
	}
	return out
}

func TestGoldenPicker(t *testing.T) {
	t.Parallel()
	l := newLab(t, Options{Catalogue: mandated(t)}, 80, 24)
	_, s := l.final(t)
	for _, hidden := range []string{"reads every message", "refuses the server"} {
		if strings.Contains(s, hidden) {
			t.Errorf("the picker gives the outcome away before a run: %q", hidden)
		}
	}
	teatest.RequireEqualOutput(t, []byte(s))
}

func TestGoldenHelp(t *testing.T) {
	t.Parallel()
	l := newLab(t, Options{}, 80, 24)
	l.keys(press("?"))
	_, s := l.final(t)
	teatest.RequireEqualOutput(t, []byte(s))
}

// TestGoldenRun runs each of the three mandated scenarios for real, steps
// to the end and keeps the last screen.
func TestGoldenRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		summary string
		read    bool
	}{
		{"plaintext-rsa", "attacker read 6/6 messages · victims noticed nothing", true},
		{"unauth-ecdh", "attacker read 6/6 messages · victims noticed nothing", true},
		{"pinned-ecdh", "client refused the server: key does not match pin · attacker read 0/3 messages", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, Options{Scenario: tc.name}, 80, 24)
			l.waitFor(t, "the run to end", runDone(1))
			l.keys(press("e"))
			m, s := l.final(t)
			if !strings.Contains(s, tc.summary) {
				t.Errorf("screen lacks the summary %q:\n%s", tc.summary, s)
			}
			if got := strings.Contains(s, "READ"); got != tc.read {
				t.Errorf("READ on screen = %v, want %v:\n%s", got, tc.read, s)
			}
			teatest.RequireEqualOutput(t, []byte(normalise(t, m, s)))
		})
	}
}

// TestGoldenDetail shows the detail pane, full height, for a frame the
// attacker read and for one it could not. The fixture's keys are fixed,
// so the JSON and hex are the same on every run.
func TestGoldenDetail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		noAttacker bool
		verdict    trace.Verdict
		want       []string
	}{
		{"read", false, trace.Read, []string{"READ", `Mallory decrypted it and read "my card PIN is 4921"`, `Bob accepted "my card PIN is 4921"`}},
		{"opaque", true, trace.Opaque, []string{"OPAQUE", "an eavesdropper with no keys saw ciphertext only", `Bob accepted "my card PIN is 4921"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, Options{Scenario: "unauth-ecdh", NoAttacker: tc.noAttacker, Runner: replay(t)}, 80, 24)
			l.waitFor(t, "the run to end", runDone(1))
			// Show every frame, filter to the verdict, take the first, full height.
			l.keys(press("e"))
			for range verdictIndex(tc.verdict) {
				l.keys(press("v"))
			}
			l.keys(press("home"), press("d"))
			m, s := l.final(t)
			sel := m.run.frames[m.run.visible[m.run.cursor]]
			if sel.Verdict != tc.verdict {
				t.Fatalf("selected a %s frame, want %s", sel.Verdict, tc.verdict)
			}
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Errorf("detail lacks %q:\n%s", w, s)
				}
			}
			teatest.RequireEqualOutput(t, []byte(s))
		})
	}
}

func verdictIndex(v trace.Verdict) int {
	for i, f := range verdictFilters {
		if f == v {
			return i
		}
	}
	panic("no filter for " + string(v))
}
