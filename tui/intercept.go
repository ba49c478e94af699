package tui

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/wire"
)

// Intercept: the person plays Mallory. With intercept on (i), the run's
// attack is wrapped in attacker.Intercept, and every record that reaches
// Mallory is held in flight until the person says what becomes of it:
// with the keys, send it on or edit its plaintext; without them, flip a
// bit of its ciphertext; either way, withhold it or replay the record
// before it. The library does the same for a test (attacker/intercept.go).

// The timeouts of a run with intercept on: a person reads, thinks and
// types while a record is held, and the victims must not give up on them
// meanwhile. They still end a run nobody answers.
const (
	interactiveTimeout = time.Hour        // the whole run
	interactiveIdle    = 30 * time.Minute // the victims' and Mallory's quiet
)

// holdMsg is a record Mallory holds for the person; reply takes the
// answer, once.
type holdMsg struct {
	run   int
	held  attacker.Held
	reply chan attacker.Action
}

// decide is the run's attacker.Decide: it hands the record to the model,
// after the events before it, and waits for the answer. A run that is
// stopped, or a person who turned intercept off, sends it on.
func (r *liveRun) decide(ctx context.Context, h attacker.Held) attacker.Action {
	if r.released.Load() {
		return attacker.Forward()
	}
	reply := make(chan attacker.Action, 1)
	select {
	case r.items <- streamItem{hold: &holdMsg{run: r.id, held: h, reply: reply}}:
	case <-r.ctx.Done():
		return attacker.Forward()
	case <-ctx.Done():
		return attacker.Forward()
	}
	select {
	case a := <-reply:
		return a
	case <-r.ctx.Done():
	case <-ctx.Done():
	}
	return attacker.Forward()
}

// release turns intercept off for the rest of the run: the record held
// now goes on, and nothing more is held.
func (r *liveRun) release() {
	if r != nil {
		r.released.Store(true)
	}
}

// hold shows a held record. Frames are shown as they arrive while a
// person plays Mallory.
func (m *runModel) hold(h holdMsg) {
	m.held = &h
	m.card = false
	m.toEnd = true
	m.revealAll()
}

// answer sends the person's decision on the held record.
func (m *runModel) answer(a attacker.Action) {
	if m.held == nil {
		return
	}
	m.held.reply <- a // buffered for exactly this one answer
	m.heldNote = describeAction(m.held.held, a)
	m.held = nil
}

func describeAction(h attacker.Held, a attacker.Action) string {
	what := fmt.Sprintf("%s %s #%d", finalSender(h.Dir)+"'s", h.Type, h.Seq)
	switch a.Verb {
	case attacker.VerbEdit:
		return fmt.Sprintf("you sealed %s in place of %s", quote(a.Plaintext), what)
	case attacker.VerbFlip:
		return fmt.Sprintf("you flipped a bit of %s", what)
	case attacker.VerbWithhold:
		return fmt.Sprintf("you withheld %s", what)
	case attacker.VerbReplay:
		return fmt.Sprintf("you replayed record #%d in place of %s", a.Record, what)
	}
	return fmt.Sprintf("you sent %s on", what)
}

// toggleIntercept turns intercept on or off. Turning it off during a run
// that holds records lets everything through from now on; otherwise the
// scenario runs again with the new setting.
func (m runModel) toggleIntercept() (runModel, tea.Cmd) {
	if m.intercept && !m.finished {
		m.intercept = false
		m.req.release = true
		m.answer(attacker.Forward())
		return m, nil
	}
	m.intercept = !m.intercept
	m.rerunWith(func(s *startRunMsg) { s.intercept = m.intercept })
	return m, nil
}

// heldKey handles a key while a record is held and not being edited: the
// intercept's own keys first, then the run view's.
func (m runModel) heldKey(msg tea.KeyPressMsg) (runModel, tea.Cmd, bool) {
	k, h := m.KeyMap, m.held.held
	switch {
	case keyMatches(msg, k.Forward):
		m.answer(attacker.Forward())
	case keyMatches(msg, k.Edit) && h.Allows(attacker.VerbEdit):
		m.prompt = promptEdit
		m.setPrompt("Mallory seals: ")
		m.input.SetValue(string(h.Plaintext))
		m.input.CursorEnd()
		return m, m.input.Focus(), true
	case keyMatches(msg, k.Flip) && h.Allows(attacker.VerbFlip):
		m.answer(attacker.FlipBit(0))
	case keyMatches(msg, k.Withhold):
		m.answer(attacker.Withhold())
	case keyMatches(msg, k.Replay) && h.Allows(attacker.VerbReplay):
		m.answer(attacker.ReplayRecord(h.Earlier - 1))
	case keyMatches(msg, k.Edit, k.Flip, k.Replay):
		m.notice = m.cannot(msg)
	default:
		return m, nil, false
	}
	return m, nil, true
}

// cannot says why a held-record key does nothing here.
func (m *runModel) cannot(msg tea.KeyPressMsg) string {
	k := m.KeyMap
	switch {
	case keyMatches(msg, k.Edit) && m.held.held.Type != wire.TypeData:
		return "an end record carries no plaintext to edit"
	case keyMatches(msg, k.Edit):
		return "no key for this record: Mallory cannot seal another (f flips a bit)"
	case keyMatches(msg, k.Flip):
		return "Mallory holds this record's keys: e edits its plaintext"
	}
	return "no earlier record went this way: nothing to replay"
}

// heldLines is the held record's pane: what it is, what Mallory can see of
// it, and what the person can do.
func (m *runModel) heldLines() []string {
	h := m.held.held
	st := m.Styles
	d := detail{st: st, width: m.Width}
	head := fmt.Sprintf("── ✋ held: %s #%d · %s → %s (leg %s) ", h.Type, h.Seq, finalSender(h.Dir), finalReceiver(h.Dir), h.Leg)
	out := []string{st.Held.Render(fillRule(head, m.Width))}
	add := func(label, text string) { out = append(out, d.labelled(label, text)...) }
	switch {
	case h.Keys && h.Type == wire.TypeData:
		add("plaintext", st.text("read", quote(h.Plaintext)))
		add("", "Mallory holds this record's keys: he read it, and can seal anything in its place.")
	case h.Keys:
		add("plaintext", "none: "+finalSender(h.Dir)+"'s end record says "+pronoun(finalSender(h.Dir))+" has nothing more to send")
	default:
		add("ct", shortHex(ctOf(h.Raw)))
		add("", "Mallory holds no key for this record: he sees ciphertext only. Will "+finalReceiver(h.Dir)+"'s record layer notice a change?")
	}
	var can []string
	can = append(can, "enter send it on")
	if h.Allows(attacker.VerbEdit) {
		can = append(can, "e edit")
	}
	if h.Allows(attacker.VerbFlip) {
		can = append(can, "f flip a bit")
	}
	can = append(can, "w withhold")
	if h.Allows(attacker.VerbReplay) {
		can = append(can, fmt.Sprintf("y replay #%d", h.Earlier-1))
	}
	can = append(can, "i intercept off")
	add("you", joinDots(can))
	return out
}

// heldHelp is the help bar while a record is held: what can be done
// with this one.
func (m *runModel) heldHelp() []key.Binding {
	k, h := m.KeyMap, m.held.held
	out := []key.Binding{k.Forward}
	if h.Allows(attacker.VerbEdit) {
		out = append(out, k.Edit)
	}
	if h.Allows(attacker.VerbFlip) {
		out = append(out, k.Flip)
	}
	out = append(out, k.Withhold)
	if h.Allows(attacker.VerbReplay) {
		out = append(out, k.Replay)
	}
	return append(out, k.Intercept, k.Help, k.Quit)
}

// ctOf is the ct field of a record's bytes, or the bytes themselves.
func ctOf(raw []byte) []byte {
	if m, err := wire.Records().Decode(raw); err == nil {
		switch r := m.(type) {
		case *wire.Data:
			return r.CT
		case *wire.End:
			return r.CT
		}
	}
	return raw
}
