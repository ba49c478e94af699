package tui

import (
	"context"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// sgr matches a Select Graphic Rendition sequence and captures its
// parameters.
var sgr = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

// colours reports whether out sets a foreground or background colour.
func colours(out []byte) bool {
	for _, m := range sgr.FindAllSubmatch(out, -1) {
		for _, p := range strings.FieldsFunc(string(m[1]), func(r rune) bool { return r == ';' || r == ':' }) {
			n, _ := strconv.Atoi(p)
			switch {
			case n >= 30 && n <= 38, n >= 40 && n <= 48, n >= 90 && n <= 97, n >= 100 && n <= 107:
				return true
			}
		}
	}
	return false
}

// TestNoColor runs the lab as a terminal that takes colour would, and as
// Terminal.NoColor (NO_COLOR) does: the same words, colour only in the
// first.
func TestNoColor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    []tea.ProgramOption
		colours bool
	}{
		{"colour", []tea.ProgramOption{tea.WithColorProfile(colorprofile.TrueColor)}, true},
		{"NO_COLOR", Terminal{NoColor: true}.programOptions(context.Background()), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, 100, 30, tc.opts...)
			l.waitFor(t, "the run to end", runDone(1))
			l.keys(press("e"))
			_, s := l.final(t)
			if !strings.Contains(s, "READ") {
				t.Fatalf("no READ badge:\n%s", s)
			}
			out, err := io.ReadAll(l.tm.FinalOutput(t, teatest.WithFinalTimeout(10*time.Second)))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "READ") {
				t.Fatal("the terminal never got a READ badge")
			}
			if got := colours(out); got != tc.colours {
				t.Errorf("colour in the output = %v, want %v", got, tc.colours)
			}
		})
	}
}

func TestProgramOptions(t *testing.T) {
	t.Parallel()
	if n := len(Terminal{}.programOptions(context.Background())); n != 1 {
		t.Errorf("a default Terminal sets %d options, want only the context", n)
	}
	if n := len(Terminal{In: os.Stdin, Out: os.Stdout, NoColor: true}.programOptions(context.Background())); n != 4 {
		t.Errorf("a full Terminal sets %d options, want 4", n)
	}
}
