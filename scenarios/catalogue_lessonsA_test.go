package scenarios_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// expectedReason is the failed check an Expect line names: the text after
// its first ": ", up to the ";".
func expectedReason(expect string) string {
	_, r, _ := strings.Cut(expect, ": ")
	r, _, _ = strings.Cut(r, ";")
	return r
}

// deliveredUnread checks that every message arrived intact both ways,
// neither victim noticed anything, and the attacker recovered nothing.
func deliveredUnread(t *testing.T, o *scenarios.Outcome) {
	t.Helper()
	for i, m := range o.Messages {
		if !m.Delivered() || m.Recovered != nil {
			t.Errorf("message %d %q: delivered %v, recovered %q", i, m.Text, m.Delivered(), m.Recovered)
		}
	}
	if o.Detected || o.ClientErr != nil || o.ServerErr != nil || o.AttackerRead() != 0 {
		t.Errorf("%s (client %v, server %v)", o.Summary(), o.ClientErr, o.ServerErr)
	}
}

// bothRefuse checks that both victims refused with reason before a single
// record, and the attacker read nothing.
func bothRefuse(t *testing.T, o *scenarios.Outcome, reason string) {
	t.Helper()
	if o.DetectedBy != "both" || o.Reason != reason || o.MessagesSent() != 0 || o.AttackerRead() != 0 {
		t.Errorf("%s (client %v, server %v); want both to refuse with %q", o.Summary(), o.ClientErr, o.ServerErr, reason)
	}
	for _, e := range o.Events {
		if e.Type == string(wire.TypeData) {
			t.Errorf("a data record crossed a leg: event %d", e.Index)
		}
	}
}

// acceptedAltered checks that the server accepted exactly one message
// other than the one sent, byte for byte, every other message arrived
// intact, nobody noticed, and the attacker read nothing.
func acceptedAltered(t *testing.T, o *scenarios.Outcome) {
	t.Helper()
	for i, m := range o.Messages {
		if !m.Sent || m.Accepted == nil {
			t.Errorf("message %d %q: sent %v, accepted %q", i, m.Text, m.Sent, m.Accepted)
		}
	}
	if o.MessagesAltered() != 1 || o.Detected || o.ClientErr != nil || o.ServerErr != nil || o.AttackerRead() != 0 {
		t.Errorf("%s (client %v, server %v); want one message altered and nobody noticing", o.Summary(), o.ClientErr, o.ServerErr)
	}
}

// acceptedTwice checks that one message was delivered a second time,
// every message arrived intact, nobody noticed, and the attacker read
// nothing.
func acceptedTwice(t *testing.T, o *scenarios.Outcome) {
	t.Helper()
	if o.Duplicated != 1 || o.MessagesDelivered() != len(o.Messages) || o.Detected || o.ClientErr != nil || o.ServerErr != nil || o.AttackerRead() != 0 {
		t.Errorf("%s (client %v, server %v); want one message delivered twice and nobody noticing", o.Summary(), o.ClientErr, o.ServerErr)
	}
}

// serverRefuses checks that the server refused with reason, and that
// nothing altered or repeated got through first.
func serverRefuses(t *testing.T, o *scenarios.Outcome, reason string) {
	t.Helper()
	if o.DetectedBy != "server" || o.Reason != reason || o.AttackerRead() != 0 || o.MessagesAltered() != 0 || o.Duplicated != 0 {
		t.Errorf("%s (server %v); want the server to refuse with %q", o.Summary(), o.ServerErr, reason)
	}
}

// replies is what Bob answers to msgs.
func replies(msgs ...string) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(victim.DefaultReply([]byte(m))))
	}
	return out
}

// texts returns the texts of the messages from one side, in order.
func texts(o *scenarios.Outcome, from string) []string {
	var out []string
	for _, m := range o.Messages {
		if m.From == from {
			out = append(out, string(m.Text))
		}
	}
	return out
}

// TestTamper:
//
// ATTACK SCENARIO: Alice and Bob run pinned-ecdh, so Mallory holds no key.
// He knows the layout of Alice's transfer order and XORs one byte of its
// ciphertext with '1'^'9'.
//
// THIS TEST VERIFIES: with AES-CTR and no MAC, Bob accepts "transfer 900
// EUR to Bob", byte for byte, answers it, and Alice accepts his answer,
// while nobody notices and Mallory reads nothing; with AES-GCM, Bob
// refuses the record with ErrDecrypt and accepts nothing altered. With a
// passive Mallory the same chat arrives intact (the control).
func TestTamper(t *testing.T) {
	t.Parallel()
	const altered = "transfer 900 EUR to Bob"
	for _, tr := range scenarios.Transports() {
		t.Run("tamper-ctr/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "tamper-ctr", &scenarios.Options{Transport: tr})
			acceptedAltered(t, o)
			if m := o.Messages[1]; string(m.Text) != attacker.KnownPlaintext || string(m.Accepted) != altered {
				t.Errorf("Alice sent %q, Bob accepted %q; want %q accepted", m.Text, m.Accepted, altered)
			}
			if got, want := texts(o, "server"), replies("hi Bob, it's Alice", altered, "see you at 6"); !slices.Equal(got, want) {
				t.Errorf("Bob answered %q, want %q", got, want)
			}
			for _, m := range o.Messages {
				if m.From == "server" && !m.Delivered() {
					t.Errorf("Alice accepted %q for Bob's %q", m.Accepted, m.Text)
				}
			}
			tampered := eventsWith(o.Events, trace.Tampered)
			if len(tampered) != 1 || tampered[0].Leg != trace.LegB || tampered[0].Recovered != nil {
				t.Fatalf("tampered events %+v, want one on leg B, with nothing recovered", tampered)
			}
			if diff := byteDiff(t, o.Events, tampered[0]); len(diff) != 1 || diff[0] != '1'^'9' {
				t.Errorf("the tampered ct differs from Alice's by %x, want one byte by %x", diff, '1'^'9')
			}
		})
		t.Run("tamper-gcm/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "tamper-gcm", &scenarios.Options{Transport: tr})
			serverRefuses(t, o, "record failed authentication: modified or wrong key")
			if !errors.Is(o.ServerErr, channel.ErrDecrypt) {
				t.Errorf("server error %v, want ErrDecrypt", o.ServerErr)
			}
			if got := texts(o, "server"); !slices.Equal(got, replies("hi Bob, it's Alice")) {
				t.Errorf("Bob answered %q; he should have accepted nothing after the first message", got)
			}
			if lost := o.Lost(); len(lost) != 1 || string(lost[0].Text) != attacker.KnownPlaintext {
				t.Errorf("lost %v, want the transfer order", lost)
			}
		})
		t.Run("tamper-ctr/a passive relay changes nothing/"+string(tr), func(t *testing.T) {
			t.Parallel()
			deliveredUnread(t, run(t, "tamper-ctr", &scenarios.Options{Transport: tr, Attack: attacker.Passive}))
		})
	}
}

// byteDiff XORs the ct of a changed record with the ct of the record it
// replaced (the same seq, the same direction, on the other leg) and
// returns the bytes that differ.
func byteDiff(t *testing.T, events []trace.Event, changed trace.Event) []byte {
	t.Helper()
	codec := wire.Records()
	ct := func(e trace.Event) []byte {
		d, err := wire.DecodeAs[*wire.Data](codec, e.Raw)
		if err != nil {
			t.Fatalf("event %d: %v", e.Index, err)
		}
		return d.CT
	}
	for _, e := range events {
		if e.Leg == trace.LegA && e.Dir == changed.Dir && e.Type == changed.Type && *e.Seq == *changed.Seq {
			a, b := ct(e), ct(changed)
			if len(a) != len(b) {
				t.Fatalf("lengths %d and %d", len(a), len(b))
			}
			var diff []byte
			for i := range a {
				if a[i] != b[i] {
					diff = append(diff, a[i]^b[i])
				}
			}
			return diff
		}
	}
	t.Fatalf("no original for event %d", changed.Index)
	return nil
}

func eventsWith(events []trace.Event, v trace.Verdict) []trace.Event {
	var out []trace.Event
	for _, e := range events {
		if e.Verdict == v {
			out = append(out, e)
		}
	}
	return out
}

// TestReplay:
//
// ATTACK SCENARIO: Mallory holds no key. He delivers the record that
// carries Alice's transfer order to Bob a second time, byte for byte.
//
// THIS TEST VERIFIES: with random nonces and no sequence check, Bob
// accepts it twice and answers it twice (Duplicated is 1), and nobody
// notices; with the lab's record layer he refuses the copy with
// ErrReplay, having accepted the order once.
func TestReplay(t *testing.T) {
	t.Parallel()
	for _, tr := range scenarios.Transports() {
		t.Run("replay-no-seq/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "replay-no-seq", &scenarios.Options{Transport: tr})
			acceptedTwice(t, o)
			want := replies("hi Bob, it's Alice", attacker.KnownPlaintext, attacker.KnownPlaintext, "see you at 6")
			if got := texts(o, "server"); !slices.Equal(got, want) {
				t.Errorf("Bob answered %q, want %q", got, want)
			}
			replayed := eventsWith(o.Events, trace.Replayed)
			if len(replayed) != 1 || len(byteDiff(t, o.Events, replayed[0])) != 0 {
				t.Errorf("replayed events %+v, want one exact copy of Alice's record", replayed)
			}
		})
		t.Run("replay-seq/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "replay-seq", &scenarios.Options{Transport: tr})
			serverRefuses(t, o, "record replayed: sequence number already used")
			if !errors.Is(o.ServerErr, channel.ErrReplay) {
				t.Errorf("server error %v, want ErrReplay", o.ServerErr)
			}
			if got := texts(o, "server"); !slices.Equal(got, replies("hi Bob, it's Alice", attacker.KnownPlaintext)) {
				t.Errorf("Bob answered %q; he should have taken the order once", got)
			}
		})
	}
}

// TestForwardSecrecy:
//
// ATTACK SCENARIO: Mallory relays and records the whole chat. After it,
// he is handed Bob's long-term key and goes back to his recording.
//
// THIS TEST VERIFIES: under static-rsa he recovers every message and
// reply, byte for byte, and only after the session's last close; the
// same pinned Alice refuses an active key swap; under pinned-ecdh the
// stolen Ed25519 key opens nothing. With no theft (passive), static-rsa's
// recording stays opaque (the control).
func TestForwardSecrecy(t *testing.T) {
	t.Parallel()
	for _, tr := range scenarios.Transports() {
		t.Run("forward-secrecy-static-rsa/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "forward-secrecy-static-rsa", &scenarios.Options{Transport: tr})
			readEverything(t, o, scenarios.DefaultScript())
			offline(t, o.Events)
		})
		t.Run("forward-secrecy-static-rsa/an active swap is refused/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "forward-secrecy-static-rsa", &scenarios.Options{Transport: tr, Attack: attacker.SwapRSAKey})
			refusedBeforeData(t, o, kex.ErrPinMismatch, "key does not match pin")
		})
		t.Run("forward-secrecy-static-rsa/no theft, nothing read/"+string(tr), func(t *testing.T) {
			t.Parallel()
			deliveredUnread(t, run(t, "forward-secrecy-static-rsa", &scenarios.Options{Transport: tr, Attack: attacker.Passive}))
		})
		t.Run("forward-secrecy-ecdhe/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "forward-secrecy-ecdhe", &scenarios.Options{Transport: tr})
			deliveredUnread(t, o)
			if !hasProgress(o.Events, "only ever signed") {
				t.Error("no progress event says what the stolen key could not do")
			}
			records := 0
			for _, e := range o.Events {
				if e.Type == string(wire.TypeData) && strings.HasPrefix(e.Note, "offline, after the theft") {
					records++
					if e.Verdict != trace.Opaque {
						t.Errorf("event %d: %s after the theft", e.Index, e.Verdict)
					}
				}
			}
			if records != len(o.Messages) {
				t.Errorf("%d records tried after the theft, want %d", records, len(o.Messages))
			}
		})
	}
}

// offline checks that every read comes after the session's last close,
// after the progress event that tells of the theft.
func offline(t *testing.T, events []trace.Event) {
	t.Helper()
	lastClose, theft := -1, -1
	for _, e := range events {
		switch {
		case e.Type == trace.TypeClose:
			lastClose = e.Index
		case e.Type == trace.TypeProgress && strings.Contains(e.Note, "steals the server's long-term keys"):
			theft = e.Index
		}
	}
	if theft < lastClose {
		t.Errorf("the theft (event %d) comes before the session's last close (event %d)", theft, lastClose)
	}
	for _, e := range events {
		if e.Verdict == trace.Read && e.Index < theft {
			t.Errorf("event %d: read before the theft", e.Index)
		}
	}
}

func hasProgress(events []trace.Event, s string) bool {
	for _, e := range events {
		if e.Type == trace.TypeProgress && strings.Contains(e.Note, s) {
			return true
		}
	}
	return false
}

// TestShortAuthenticationStrings:
//
// ATTACK SCENARIO: Alice and Bob compare a 16-bit string out of band.
// Mallory runs one exchange with each; then he grinds his share for
// Alice; then he tries the same against a client that commits first.
//
// THIS TEST VERIFIES: the plain double exchange is caught by both users
// (ErrSASMismatch); grinding makes the strings match, and he reads every
// message in both directions byte for byte, after reporting progress;
// against the commitment he grinds nothing and both users refuse. With
// no attacker, or a passive one, the strings match and the chat arrives
// (the control).
func TestShortAuthenticationStrings(t *testing.T) {
	t.Parallel()
	for _, tr := range scenarios.Transports() {
		for _, name := range []string{"sas-compare", "sas-commitment"} {
			t.Run(name+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				o := run(t, name, &scenarios.Options{Transport: tr})
				bothRefuse(t, o, "short authentication strings do not match")
				for who, err := range map[string]error{"client": o.ClientErr, "server": o.ServerErr} {
					if !errors.Is(err, kex.ErrSASMismatch) {
						t.Errorf("%s error %v, want ErrSASMismatch", who, err)
					}
				}
				if hasProgress(o.Events, "tried") {
					t.Error("the attacker reports grinding")
				}
			})
			for _, attack := range []string{"", attacker.Passive} {
				t.Run(name+"/"+orNone(attack)+"/"+string(tr), func(t *testing.T) {
					t.Parallel()
					deliveredUnread(t, run(t, name, &scenarios.Options{Transport: tr, Attack: attack, NoAttacker: attack == ""}))
				})
			}
		}
		t.Run("sas-grinding/"+string(tr), func(t *testing.T) {
			t.Parallel()
			skipLongUnderRace(t, attacker.SASGrind)
			o := run(t, "sas-grinding", &scenarios.Options{Transport: tr})
			readEverything(t, o, scenarios.DefaultScript())
			if !hasProgress(o.Events, "found one after") {
				t.Error("no progress event from the grind")
			}
		})
	}
}

// TestTrustOnFirstUse:
//
// ATTACK SCENARIO: Alice's client remembers the first key it meets. In one
// lesson Mallory answers that first contact, in the other Bob does; today
// Mallory answers with his own certificate.
//
// THIS TEST VERIFIES: with Mallory at the first contact he reads both
// conversations, today's byte for byte both ways; with a clean first
// contact Alice refuses him with ErrPinMismatch before a record, and
// talks to Bob when no one is in the middle (the control).
func TestTrustOnFirstUse(t *testing.T) {
	t.Parallel()
	for _, tr := range scenarios.Transports() {
		t.Run("tofu-first-contact/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "tofu-first-contact", &scenarios.Options{Transport: tr})
			readEverything(t, o, scenarios.DefaultScript())
			if !ledgerRead(o.Events, []byte("hello, first time here")) {
				t.Error("Mallory did not read the first contact")
			}
		})
		t.Run("tofu-later/"+string(tr), func(t *testing.T) {
			t.Parallel()
			o := run(t, "tofu-later", &scenarios.Options{Transport: tr})
			refusedBeforeData(t, o, kex.ErrPinMismatch, "key does not match pin")
		})
		t.Run("tofu-later/no attacker/"+string(tr), func(t *testing.T) {
			t.Parallel()
			deliveredUnread(t, run(t, "tofu-later", &scenarios.Options{Transport: tr, NoAttacker: true}))
		})
	}
}

// skipLongUnderRace skips a run whose attack computes for seconds (an
// attack with Long), when the race detector makes that many times
// slower: under -race the computation is tested in small in its own
// package (attacker's grind tests), and in full without -race.
func skipLongUnderRace(t *testing.T, attack string) {
	t.Helper()
	if a, err := attacker.Lookup(attack); raceEnabled && err == nil && a.Long {
		t.Skipf("%s computes for seconds; under -race its grind is tested in small in package attacker", attack)
	}
}

// TestTopicsStandTogether: the picker shows one heading per topic, so the
// scenarios of a topic follow one another in the catalogue.
func TestTopicsStandTogether(t *testing.T) {
	t.Parallel()
	done := map[string]bool{}
	cat := scenarios.Catalogue()
	for i, sc := range cat {
		if i > 0 && cat[i-1].Topic != sc.Topic {
			done[cat[i-1].Topic] = true
		}
		if done[sc.Topic] {
			t.Errorf("%s comes back to the topic %q after another", sc.Name, sc.Topic)
		}
	}
}
