package attacker_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// sameByte is a random source that gives one byte value forever: with 2
// every secret exponent the lab draws is odd, with 1 it is even (an
// exponent is one more than a number read from the source).
type sameByte byte

func (b sameByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// afterPassive makes Mallory relay the first connection passively, as a
// recording, and run attack on every later one.
func afterPassive(t *testing.T, attack string, given *attacker.Given) func(*attacker.Options) {
	passive, main := lookup(t, attacker.Passive), lookup(t, attack)
	return func(o *attacker.Options) {
		o.Attack = nil
		o.Choose = func(n int, _ *http.Request) *attacker.Attack {
			if n == 1 {
				return passive
			}
			return main
		}
		o.Given = given
	}
}

// progressNotes returns the notes of the progress events.
func progressNotes(events []trace.Event) []string {
	var out []string
	for _, e := range events {
		if e.Type == trace.TypeProgress {
			out = append(out, e.Note)
		}
	}
	return out
}

// readOnArrival returns what Mallory recovered from each data record on
// the leg it arrived on, in order, for one direction of connection conn.
func readOnArrival(events []trace.Event, conn int, dir wire.Direction) [][]byte {
	leg := trace.LegA
	if dir == wire.ServerToClient {
		leg = trace.LegB
	}
	var out [][]byte
	for _, e := range records(events, leg, dir) {
		if e.Conn == conn && e.Verdict == trace.Read {
			out = append(out, e.Recovered)
		}
	}
	return out
}

// TestInjectGPMinus1SettlesAlicesSecret:
//
// ATTACK SCENARIO: Mallory sends Bob ffdhe2048's p with g = p − 1 and
// g itself as Alice's key share. Bob's public value, (p − 1)^b, is 1 when
// his exponent is even and p − 1 when it is odd; in the odd case Alice's
// secret, (p − 1)^a, is 1 or p − 1 by the parity of her exponent, which
// Mallory does not know.
//
// THIS TEST VERIFIES: with the parities forced each way, Mallory reads
// every message both ways; when there are two candidates he says so, and
// the candidate that opens Alice's first record is the one her parity
// gives: the first (1) for an even exponent, the second (p − 1) for an odd
// one.
func TestInjectGPMinus1SettlesAlicesSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		alice, bob sameByte
		settled    string // the progress note that settles it, or "" for one candidate
	}{
		{"Bob's exponent even: one candidate", 2, 1, ""},
		{"Bob's exponent odd, Alice's even: the first candidate", 1, 2, "candidate 1 of 2"},
		{"Bob's exponent odd, Alice's odd: the second candidate", 2, 2, "candidate 2 of 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			su := setup{kex.FFDHNegotiated(), &kex.ServerConfig{Rand: tt.bob}, &kex.ClientConfig{Rand: tt.alice}}
			l := newLab(t, su, lookup(t, attacker.InjectGPMinus1), nil, nil)
			events := chatThrough(t, l, l.alice(), chat)
			notes := strings.Join(progressNotes(events), "\n")
			if tt.settled == "" && strings.Contains(notes, "candidate") || tt.settled != "" && !strings.Contains(notes, tt.settled) {
				t.Errorf("progress notes:\n%s\nwant %q", notes, tt.settled)
			}
			for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
				got := readOnArrival(events, 1, dir)
				for i, m := range chat {
					want := m
					if dir == wire.ServerToClient {
						want = victim.DefaultReply(m)
					}
					if i >= len(got) || !bytes.Equal(got[i], want) {
						dump(t, events)
						t.Fatalf("%s record %d: Mallory recovered %q, want %q", dir, i, got, want)
					}
				}
			}
		})
	}
}

// TestReplayKeyTransport:
//
// ATTACK SCENARIO: Mallory records one conversation, knows what Alice said
// in it, and answers her next key with the recorded key_transport.
//
// THIS TEST VERIFIES: when Alice reuses her RSA key, Mallory reads her new
// messages by XOR with no key for her leg, byte for byte, Bob gets them
// intact, and Alice accepts the recorded replies; when she makes a fresh
// key for each session, the old secret does not unwrap and she refuses
// with ErrBadKeyTransport before sending a record; without the known
// plaintext he reads nothing of her leg; and with no recording at all he
// only relays, and says so.
func TestReplayKeyTransport(t *testing.T) {
	t.Parallel()
	yesterday := [][]byte{[]byte("good morning Bob, Alice here again"), []byte("the meeting moved to room 4.12")}
	today := [][]byte{[]byte("my card PIN is 4921"), {}}
	fixed := setup{kex.PlaintextRSA(), nil, &kex.ClientConfig{RSAKey: victimRSA()}}
	t.Run("a key that never changes", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, fixed, lookup(t, attacker.ReplayKeyTransport), afterPassive(t, attacker.ReplayKeyTransport, &attacker.Given{Plaintexts: yesterday}), nil)
		chatThrough(t, l, l.alice(), yesterday)
		res := l.alice().Chat(testContext(t), l.url(), today)
		l.settle()
		events := l.log.Events()
		if res.Err != nil {
			dump(t, events)
			t.Fatal(res.Err)
		}
		for i, m := range today {
			if want := victim.DefaultReply(yesterday[i]); !bytes.Equal(res.Replies[i], want) {
				t.Errorf("Alice accepted %q as the reply to %q, want yesterday's %q", res.Replies[i], m, want)
			}
		}
		if got := readOnArrival(events, 2, wire.ClientToServer); len(got) != len(today) || !bytes.Equal(got[0], today[0]) || !bytes.Equal(got[1], today[1]) {
			t.Errorf("Mallory recovered %q, Alice sent %q", got, today)
		}
		if sess := l.bobSession(t); len(sess.Received) != 2 || !bytes.Equal(sess.Received[0], today[0]) || !bytes.Equal(sess.Received[1], today[1]) {
			t.Errorf("Bob received %q, Alice sent %q", sess.Received, today)
		}
	})
	t.Run("a fresh key each session", func(t *testing.T) {
		t.Parallel()
		fresh := setup{kex.PlaintextRSA(), nil, nil}
		l := newLab(t, fresh, lookup(t, attacker.ReplayKeyTransport), afterPassive(t, attacker.ReplayKeyTransport, &attacker.Given{Plaintexts: yesterday}), nil)
		chatThrough(t, l, l.alice(), yesterday)
		res := l.alice().Chat(testContext(t), l.url(), today)
		l.settle()
		if !errors.Is(res.Err, kex.ErrBadKeyTransport) || len(res.Sent) != 0 {
			t.Errorf("Alice: sent %d, error %v; want ErrBadKeyTransport and nothing sent", len(res.Sent), res.Err)
		}
	})
	t.Run("no known plaintext", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, fixed, lookup(t, attacker.ReplayKeyTransport), afterPassive(t, attacker.ReplayKeyTransport, nil), nil)
		chatThrough(t, l, l.alice(), yesterday)
		res := l.alice().Chat(testContext(t), l.url(), today)
		l.settle()
		events := l.log.Events()
		if got := readOnArrival(events, 2, wire.ClientToServer); len(got) != 0 {
			t.Errorf("Mallory read %q with no known plaintext", got)
		}
		if len(res.Sent) == 0 {
			t.Errorf("Alice sent nothing: %v", res.Err)
		}
	})
	t.Run("nothing recorded", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, fixed, lookup(t, attacker.ReplayKeyTransport), nil, nil)
		events := chatThrough(t, l, l.alice(), today)
		if notes := progressNotes(events); len(notes) != 1 || !strings.Contains(notes[0], "only relays") {
			t.Errorf("progress notes %q", notes)
		}
		for _, e := range records(events, trace.LegA, wire.ClientToServer) {
			if e.Verdict != trace.Opaque {
				t.Errorf("event %d is %s", e.Index, e.Verdict)
			}
		}
	})
}

// TestReplaySignature:
//
// ATTACK SCENARIO: Mallory records one handshake and replays its
// server_hello and server_verify to Alice's next connection, holding, or
// not, the ephemeral key that leaked from that handshake.
//
// THIS TEST VERIFIES: against signed-share with the leak he reads every
// message both ways, byte for byte; without the leak Alice refuses the
// finished MAC he cannot recompute; against pinned-ecdh, leak or not, she
// refuses the signature, which covers her new hello.
func TestReplaySignature(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scheme *kex.Scheme
		leak   bool
		want   error
	}{
		{"signed-share with the leaked key", kex.SignedShare(), true, nil},
		{"signed-share without it", kex.SignedShare(), false, kex.ErrBadFinished},
		{"pinned-ecdh with the leaked key", kex.PinnedECDH(), true, kex.ErrBadSignature},
		{"pinned-ecdh without it", kex.PinnedECDH(), false, kex.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			given := &attacker.Given{}
			server := &kex.ServerConfig{Identity: bobIdentity()}
			if tt.leak {
				server.KeyLog = given
			}
			su := setup{tt.scheme, server, &kex.ClientConfig{Pin: bobIdentity().Pin()}}
			l := newLab(t, su, lookup(t, attacker.ReplaySignature), afterPassive(t, attacker.ReplaySignature, given), nil)
			chatThrough(t, l, l.alice(), chat)
			res := l.alice().Chat(testContext(t), l.url(), chat)
			l.settle()
			events := l.log.Events()
			if tt.want != nil {
				if !errors.Is(res.Err, tt.want) || len(res.Sent) != 0 {
					dump(t, events)
					t.Errorf("Alice: sent %d, error %v; want %v and nothing sent", len(res.Sent), res.Err, tt.want)
				}
				return
			}
			if res.Err != nil {
				dump(t, events)
				t.Fatal(res.Err)
			}
			for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
				got := readOnArrival(events, 2, dir)
				for i, m := range chat {
					if dir == wire.ServerToClient {
						m = victim.DefaultReply(m)
					}
					if i >= len(got) || !bytes.Equal(got[i], m) {
						t.Fatalf("%s: Mallory recovered %q", dir, got)
					}
				}
			}
			replayed := eventsWhere(events, func(e trace.Event) bool {
				return e.Conn == 2 && e.Verdict == trace.Replayed && e.Type == "server_hello"
			})
			if len(replayed) != 1 {
				t.Errorf("%d replayed server_hello events, want 1", len(replayed))
			}
		})
	}
}

// TestSwapIdentity:
//
// ATTACK SCENARIO: Mallory swaps Bob's certificate and signature for
// Eve's own, keeping both key shares.
//
// THIS TEST VERIFIES: a sign-only client that trusts Eve completes the
// handshake, and her records reach Bob, who answers, while Mallory sees
// only ciphertext; a client that trusts Bob alone refuses Eve's key
// (ErrPinMismatch); a pinned-ecdh client that trusts Eve refuses the
// finished MAC (ErrBadFinished).
func TestSwapIdentity(t *testing.T) {
	t.Parallel()
	eve := malloryIdentity()
	tests := []struct {
		name   string
		scheme *kex.Scheme
		others []string
		want   error
	}{
		{"sign-only/Alice trusts Eve", kex.SignOnly(), []string{eve.Pin()}, nil},
		{"sign-only/Alice trusts Bob alone", kex.SignOnly(), nil, kex.ErrPinMismatch},
		{"pinned-ecdh/Alice trusts Eve", kex.PinnedECDH(), []string{eve.Pin()}, kex.ErrBadFinished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			su := setup{tt.scheme, &kex.ServerConfig{Identity: bobIdentity()}, &kex.ClientConfig{Pin: bobIdentity().Pin(), OtherPins: tt.others}}
			l := newLab(t, su, lookup(t, attacker.SwapIdentity), nil, nil)
			if tt.want != nil {
				res := l.alice().Chat(testContext(t), l.url(), chat)
				l.settle()
				if !errors.Is(res.Err, tt.want) || len(res.Sent) != 0 {
					t.Errorf("Alice: sent %d, error %v; want %v", len(res.Sent), res.Err, tt.want)
				}
				return
			}
			events := chatThrough(t, l, l.alice(), chat)
			for _, e := range events {
				if e.Type == string(wire.TypeData) && e.Verdict != trace.Opaque {
					t.Errorf("event %d: a record is %s", e.Index, e.Verdict)
				}
			}
			sh := eventsWhere(events, on(trace.LegA, wire.ServerToClient, "server_hello"))
			if len(sh) != 1 || sh[0].Verdict != trace.Substituted || !strings.Contains(sh[0].Note, "CN=mallory in place of CN=bob") {
				t.Errorf("the server_hello Alice got: %+v", sh)
			}
		})
	}
}

// TestStripToExport:
//
// ATTACK SCENARIO: Mallory strips ffdhe2048 from Alice's signed-ffdh
// offer, solves the discrete log of Bob's export40 key share, and forges
// both finished MACs.
//
// THIS TEST VERIFIES: he reads every message both ways, byte for byte, on
// records relayed untouched; the ledger reports the solve's progress as
// progress events; the only handshake frames he changes are the offer and
// the finished MACs, and Bob's signed parameters cross unchanged.
func TestStripToExport(t *testing.T) {
	t.Parallel()
	su := setup{kex.SignedFFDH(), &kex.ServerConfig{Identity: bobIdentity()}, &kex.ClientConfig{Pin: bobIdentity().Pin()}}
	l := newLab(t, su, lookup(t, attacker.StripToExport), nil, nil)
	events := chatThrough(t, l, l.alice(), chat)
	for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
		got := readOnArrival(events, 1, dir)
		for i, m := range chat {
			if dir == wire.ServerToClient {
				m = victim.DefaultReply(m)
			}
			if i >= len(got) || !bytes.Equal(got[i], m) {
				t.Fatalf("%s: Mallory recovered %q", dir, got)
			}
		}
	}
	if n := len(progressNotes(events)); n < 3 {
		t.Errorf("%d progress events, want the solve reported", n)
	}
	substituted := map[string]int{}
	for _, e := range events {
		if e.Verdict == trace.Substituted && e.Type != trace.TypeClose {
			substituted[e.Type]++
		}
		if e.Type == "dh_params" && e.Verdict != trace.Public {
			t.Errorf("event %d: Bob's parameters are %s, want public", e.Index, e.Verdict)
		}
	}
	if substituted["dh_offer"] != 1 || substituted["dh_client_key"] != 1 || substituted["dh_finished"] != 1 || len(substituted) != 3 {
		t.Errorf("substituted frames %v", substituted)
	}
}

// TestLessonsBAttacksApply: each attack applies to the schemes of its
// lesson and says why it does not apply to the others.
func TestLessonsBAttacksApply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		attack  string
		applies []*kex.Scheme
		not     []*kex.Scheme
	}{
		{attacker.ReplayKeyTransport, []*kex.Scheme{kex.PlaintextRSA()}, []*kex.Scheme{kex.StaticRSA(), kex.PinnedECDH()}},
		{attacker.InjectG1, []*kex.Scheme{kex.FFDHNegotiated(), kex.FFDHFixed()}, []*kex.Scheme{kex.UnauthECDH(), kex.SignedFFDH()}},
		{attacker.InjectGP, []*kex.Scheme{kex.FFDHNegotiated()}, []*kex.Scheme{kex.PlaintextRSA()}},
		{attacker.InjectGPMinus1, []*kex.Scheme{kex.FFDHFixed()}, []*kex.Scheme{kex.Plain()}},
		{attacker.SwapIdentity, []*kex.Scheme{kex.SignOnly(), kex.PinnedECDH(), kex.SignedShare()}, []*kex.Scheme{kex.UnauthECDH(), kex.SignedFFDH()}},
		{attacker.StripToExport, []*kex.Scheme{kex.SignedFFDH()}, []*kex.Scheme{kex.PinnedECDH(), kex.FFDHNegotiated()}},
		{attacker.ReplaySignature, []*kex.Scheme{kex.SignedShare(), kex.PinnedECDH()}, []*kex.Scheme{kex.SignOnly(), kex.UnauthECDH()}},
	}
	for _, tt := range tests {
		a := lookup(t, tt.attack)
		for _, s := range tt.applies {
			if err := a.Applies(s, false); err != nil {
				t.Errorf("%s on %s: %v", tt.attack, s.Name, err)
			}
			if err := a.Applies(s, true); err == nil {
				t.Errorf("%s applies to %s over TLS", tt.attack, s.Name)
			}
		}
		for _, s := range tt.not {
			var na *attacker.NotApplicableError
			if err := a.Applies(s, false); !errors.As(err, &na) {
				t.Errorf("%s on %s: %v, want a NotApplicableError", tt.attack, s.Name, err)
			}
		}
	}
}
