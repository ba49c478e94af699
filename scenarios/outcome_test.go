package scenarios_test

import (
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/scenarios"
)

// TestHonestyCheckCanFail: the outcome compares the attacker's bytes with
// the sender's, so a ledger that claims other bytes is caught: a read
// whose bytes differ counts as Misread, not as read.
func TestHonestyCheckCanFail(t *testing.T) {
	t.Parallel()
	o := run(t, "unauth-ecdh", nil)
	if o.AttackerRead() != 6 || o.Misread() != 0 {
		t.Fatalf("baseline: read %d, misread %d", o.AttackerRead(), o.Misread())
	}
	o.Messages[1].Recovered = []byte("my card PIN is 0000") // a lie in the ledger
	if o.AttackerRead() != 5 || o.Misread() != 1 {
		t.Errorf("after a wrong recovery: read %d, misread %d; want 5 and 1", o.AttackerRead(), o.Misread())
	}
	o.Messages[2].Sent = false // a message never sent cannot be read
	if o.Messages[2].Read() {
		t.Error("a message that was not sent counts as read")
	}
}

// TestOutcomeMatchesDeliveries: deliveries are matched in order, byte for
// byte; a duplicate and an altered message are counted, not hidden.
func TestOutcomeMatchesDeliveries(t *testing.T) {
	t.Parallel()
	o := run(t, "unauth-ecdh", &scenarios.Options{Messages: []string{"pay 100", "pay 200"}})
	if o.MessagesDelivered() != 4 || o.MessagesAltered() != 0 || o.Duplicated != 0 || len(o.Lost()) != 0 {
		t.Fatalf("clean run: %s", o.Summary())
	}
	o.Messages[0].Accepted = []byte("pay 900")
	if o.MessagesAltered() != 1 || o.MessagesDelivered() != 3 {
		t.Errorf("altered %d delivered %d", o.MessagesAltered(), o.MessagesDelivered())
	}
	if !strings.Contains(o.Summary(), "1 delivered altered") {
		t.Errorf("summary does not say so: %s", o.Summary())
	}
}

// TestSummary names who noticed, and what was lost.
func TestSummary(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"unauth-ecdh":        "attacker read 6/6 messages · victims noticed nothing",
		"pinned-ecdh":        "client refused the server: key does not match pin · attacker read 0/3 messages",
		"truncation-refused": "both victims refused: conversation cut short",
		"truncation":         `1 lost ("see you at 6")`,
	} {
		if got := run(t, name, nil).Summary(); !strings.Contains(got, want) {
			t.Errorf("%s: %q does not contain %q", name, got, want)
		}
	}
}
