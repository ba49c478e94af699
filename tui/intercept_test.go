package tui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// holding holds once Mallory holds the record seq of direction dir.
func holding(dir wire.Direction, seq uint64) func(*Model) bool {
	return func(m *Model) bool {
		h := m.run.held
		return h != nil && h.held.Dir == dir && h.held.Seq == seq && h.held.Type == wire.TypeData
	}
}

// TestInterceptEditsWithTheKeys plays Mallory by hand in the real lab, at
// 80×24, in a tea.Program.
//
// ATTACK SCENARIO: in unauth-ecdh, where Mallory holds both legs' keys,
// the learner turns intercept on, reads Alice's first message in the held
// record, rewrites it and sends it on, then lets the rest through.
//
// THIS TEST VERIFIES: the held record shows the plaintext Alice sent; the
// record Bob got is FORGED with the learner's text; Bob accepted exactly
// that text in her message's place; and the summary counts it delivered
// altered, with nobody noticing.
func TestInterceptEditsWithTheKeys(t *testing.T) {
	t.Parallel()
	const edited = "hi Bob, it's Mallory"
	l := newLab(t, Options{Scenario: "unauth-ecdh"}, 80, 24)
	l.waitFor(t, "the first run", runDone(1))
	l.keys(press("i"))
	l.waitFor(t, "Alice's first record held", holding(wire.ClientToServer, 0))
	l.keys(press("e"), tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	l.keys(typed(edited)...)
	l.keys(press("enter"))
	l.waitFor(t, "Bob's reply held", holding(wire.ServerToClient, 0))
	l.keys(press("i")) // intercept off: the rest goes through
	l.waitFor(t, "the run to end", runDone(2))
	l.keys(press("e"))
	m, s := l.final(t)

	o := m.run.outcome
	if o == nil {
		t.Fatalf("no outcome: %v", m.run.err)
	}
	if got := o.Messages[0]; string(got.Text) != "hi Bob, it's Alice" || string(got.Accepted) != edited || !got.Altered() {
		t.Errorf("Alice sent %q, Bob accepted %q; want %q in its place", got.Text, got.Accepted, edited)
	}
	if o.MessagesAltered() != 1 || o.Detected {
		t.Errorf("summary %q: want one message delivered altered, unnoticed", o.Summary())
	}
	var forged bool
	for _, e := range m.run.frames {
		if e.Leg == trace.LegB && e.Dir == wire.ClientToServer && e.Type == "data" && e.Verdict == trace.Forged && bytes.Equal(e.Recovered, []byte(edited)) {
			forged = true
		}
	}
	if !forged {
		t.Error("the record Bob got is not FORGED with the learner's text")
	}
	if flat := strings.Join(strings.Fields(s), " "); !strings.Contains(flat, "1 delivered altered") || !strings.Contains(flat, "by hand: double-ecdh") {
		t.Errorf("the screen does not show what the learner did:\n%s", s)
	}
}

// TestInterceptWithoutTheKeys:
//
// ATTACK SCENARIO: in pinned-ecdh with only a passive relay (A), Mallory
// has no key. The learner turns intercept on, tries to edit Alice's
// record, sends the first on, and flips a bit of the second.
//
// THIS TEST VERIFIES: the held record offers no plaintext, e says why it
// cannot edit; the flipped record is TAMPERED on leg B, Bob refuses it
// with the record layer's named error (a BLOCKED close that says "record
// failed authentication"), and Mallory reads nothing.
func TestInterceptWithoutTheKeys(t *testing.T) {
	t.Parallel()
	l := newLab(t, Options{Scenario: "pinned-ecdh"}, 80, 24)
	l.waitFor(t, "the first run", runDone(1))
	l.keys(press("A"))
	l.waitFor(t, "the passive run", func(m *Model) bool { return m.run.run == 2 && m.run.attack == "passive" })
	l.keys(press("i"))
	l.waitFor(t, "Alice's first record held", holding(wire.ClientToServer, 0))
	l.keys(press("e"))
	l.waitFor(t, "why e does nothing", func(m *Model) bool { return strings.Contains(m.run.notice, "no key for this record") })
	l.keys(press("enter"))
	l.waitFor(t, "Bob's reply held", holding(wire.ServerToClient, 0))
	l.keys(press("enter"))
	l.waitFor(t, "Alice's second record held", holding(wire.ClientToServer, 1))
	l.keys(press("f"))
	l.waitFor(t, "the run to end", runDone(3))
	l.keys(press("e"))
	m, s := l.final(t)

	o := m.run.outcome
	if o == nil {
		t.Fatalf("no outcome: %v", m.run.err)
	}
	if !o.Detected || !strings.Contains(o.Reason, "record failed authentication") || o.AttackerRead() != 0 {
		t.Errorf("summary %q: want Bob to refuse the record, and nothing read", o.Summary())
	}
	var tampered, blocked bool
	for _, e := range m.run.frames {
		tampered = tampered || (e.Leg == trace.LegB && e.Verdict == trace.Tampered)
		blocked = blocked || (e.Leg == trace.LegB && e.Type == trace.TypeClose && e.Verdict == trace.Blocked && strings.Contains(e.Note, "record failed authentication"))
	}
	if !tampered || !blocked {
		t.Errorf("tampered %v, blocked with the named error %v", tampered, blocked)
	}
	if !strings.Contains(strings.Join(strings.Fields(s), " "), "server refused the client: record failed authentication") {
		t.Errorf("the screen does not show Bob's refusal:\n%s", s)
	}
}

// TestInterceptRunsOnAPersonsTime: a run with intercept on wraps the
// scenario's attack (or the one A chose) in attacker.Intercept and gives
// the victims a person's time, so a held record does not time them out;
// a run without it keeps the lab's defaults.
func TestInterceptRunsOnAPersonsTime(t *testing.T) {
	t.Parallel()
	got := make(chan scenarios.Options, 4)
	capture := func(ctx context.Context, name string, o *scenarios.Options) (*scenarios.Outcome, error) {
		got <- *o
		return &scenarios.Outcome{Scenario: name}, ctx.Err()
	}
	m := open(t, Options{Scenario: "pinned-ecdh", Runner: capture}, 80, 24)
	plain := <-got
	if plain.CustomAttack != nil || plain.Timeout != 0 || plain.IdleTimeout != 0 {
		t.Errorf("a run without intercept: attack %v, timeouts %v and %v", plain.CustomAttack, plain.Timeout, plain.IdleTimeout)
	}
	m = pump(t, m, keys("A")...)
	<-got // A's run
	m = pump(t, m, keys("i")...)
	held := <-got
	if held.CustomAttack == nil || held.CustomAttack.Name != "passive"+attacker.InterceptSuffix {
		t.Fatalf("intercept runs %v, want passive held by hand", held.CustomAttack)
	}
	if held.Timeout < time.Hour || held.IdleTimeout < 30*time.Minute {
		t.Errorf("intercept gives the victims %v, and %v of quiet; a person needs longer", held.Timeout, held.IdleTimeout)
	}
	if !m.run.byHand || !strings.Contains(screen(m), "by hand: passive") {
		t.Errorf("the header does not say the run is by hand:\n%s", screen(m))
	}
}
