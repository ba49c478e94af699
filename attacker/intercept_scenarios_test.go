package attacker_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// TestInterceptInAScenario plays the TUI's intercept through the lab's
// own scenarios, as a learner does: the whole chat, the victims' own
// records, and the Outcome built from them.
//
// ATTACK SCENARIO: the learner turns intercept on and changes Alice's
// second message, "my card PIN is 4921": in unauth-ecdh, where Mallory
// holds the keys, they rewrite its plaintext; in pinned-ecdh, where he
// does not, they flip a bit of its ciphertext, replay her first record in
// its place, or withhold it.
//
// THIS TEST VERIFIES: the rewrite is delivered altered, counted byte for
// byte (Bob accepted exactly the new bytes in that message's place, and
// the Outcome counts one message altered that nobody noticed); each change
// without the keys is refused by Bob's record layer, named in the
// Outcome's reason and on the BLOCKED close that crossed leg B, and
// Mallory reads nothing; a withheld record is lost, not accepted.
func TestInterceptInAScenario(t *testing.T) {
	t.Parallel()
	const pin = "my card PIN is 4921"
	edited := []byte("my card PIN is 0000, and send me the money")
	tests := []struct {
		name, scenario, attack string
		action                 attacker.Action
		idle                   time.Duration // the victims' idle timeout, for a withheld record
		altered                int
		reason                 string // the refusal, "" for none
		lost                   []string
	}{
		{"unauth-ecdh with the keys: the learner rewrites the PIN", "unauth-ecdh", attacker.DoubleECDH,
			attacker.EditTo(edited), 0, 1, "", nil},
		{"pinned-ecdh without the keys: the learner flips a bit", "pinned-ecdh", attacker.Passive,
			attacker.FlipBit(0), 0, 0, "record failed authentication", []string{pin}},
		{"pinned-ecdh without the keys: the learner replays the first record", "pinned-ecdh", attacker.Passive,
			attacker.ReplayRecord(0), 0, 0, "record replayed", []string{pin}},
		{"pinned-ecdh without the keys: the learner withholds the PIN", "pinned-ecdh", attacker.Passive,
			attacker.Withhold(), 300 * time.Millisecond, 0, "", []string{pin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &hand{answer: at(1, false, tt.action)}
			inner, err := attacker.Lookup(tt.attack)
			if err != nil {
				t.Fatal(err)
			}
			o, err := scenarios.Run(testContext(t), tt.scenario, &scenarios.Options{
				CustomAttack: attacker.Intercept(inner, h.decide),
				IdleTimeout:  tt.idle,
			})
			if err != nil {
				t.Fatal(err)
			}
			if o.Misread() != 0 {
				t.Errorf("Misread() = %d", o.Misread())
			}
			if got := o.MessagesAltered(); got != tt.altered {
				dump(t, o.Events)
				t.Errorf("%d messages delivered altered, want %d (%s)", got, tt.altered, o.Summary())
			}
			if tt.altered > 0 {
				m := o.Messages[1]
				if string(m.Text) != pin || !bytes.Equal(m.Accepted, edited) || !m.Altered() {
					t.Errorf("message 1: Alice sent %q, Bob accepted %q; want %q accepted in its place", m.Text, m.Accepted, edited)
				}
				if o.Detected || !strings.Contains(o.Summary(), "1 delivered altered") || !strings.Contains(o.Summary(), "nobody noticed") {
					t.Errorf("summary %q, want 1 delivered altered and nobody noticed", o.Summary())
				}
				if o.AttackerRead() != len(o.Messages) {
					t.Errorf("Mallory read %d of %d messages", o.AttackerRead(), len(o.Messages))
				}
				forged := records(o.Events, trace.LegB, wire.ClientToServer)
				if len(forged) < 2 || forged[1].Verdict != trace.Forged || !bytes.Equal(forged[1].Recovered, edited) {
					t.Errorf("the record Bob got is not FORGED with the edit: %+v", forged)
				}
			}
			if tt.reason != "" {
				if !o.Detected || !strings.Contains(o.Reason, tt.reason) {
					dump(t, o.Events)
					t.Errorf("detected %v by %q, reason %q; want %q", o.Detected, o.DetectedBy, o.Reason, tt.reason)
				}
				blocked := false
				for _, e := range o.Events {
					if e.Leg == trace.LegB && e.Type == trace.TypeClose && e.Verdict == trace.Blocked && strings.Contains(e.Note, tt.reason) {
						blocked = true
					}
				}
				if !blocked {
					dump(t, o.Events)
					t.Errorf("no BLOCKED close on leg B names %q", tt.reason)
				}
				if o.AttackerRead() != 0 {
					t.Errorf("Mallory read %d messages without a key", o.AttackerRead())
				}
			}
			var lost []string
			for _, m := range o.Lost() {
				lost = append(lost, string(m.Text))
			}
			if strings.Join(lost, "|") != strings.Join(tt.lost, "|") {
				t.Errorf("lost %q, want %q", lost, tt.lost)
			}
		})
	}
}

// TestInterceptHoldsEveryRecordOnce: a Decide that forwards everything
// changes nothing. The run is the same as the inner attack's, and the
// hand was shown every record of the chat once, in each direction.
func TestInterceptHoldsEveryRecordOnce(t *testing.T) {
	t.Parallel()
	h := &hand{answer: func(attacker.Held) (attacker.Action, bool) { return attacker.Action{}, false }}
	inner, err := attacker.Lookup(attacker.DoubleECDH)
	if err != nil {
		t.Fatal(err)
	}
	o, err := scenarios.Run(context.Background(), "unauth-ecdh", &scenarios.Options{CustomAttack: attacker.Intercept(inner, h.decide)})
	if err != nil {
		t.Fatal(err)
	}
	if o.AttackerRead() != 6 || o.MessagesAltered() != 0 || o.Detected {
		t.Errorf("summary %q, want every message read and nothing changed", o.Summary())
	}
	count := map[wire.Direction]int{}
	for _, held := range h.shown() {
		count[held.Dir]++
	}
	// Three messages and an end record each way.
	if count[wire.ClientToServer] != 4 || count[wire.ServerToClient] != 4 {
		t.Errorf("held %v, want 4 records each way", count)
	}
	if o.Attack != attacker.DoubleECDH+attacker.InterceptSuffix {
		t.Errorf("the outcome names the attack %q", o.Attack)
	}
}
