package attacker_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// chatThrough has Alice chat through Mallory, checks that every message got
// its reply and that Bob saw a clean end, and waits until both nodes have
// finished, so that the ledger is complete.
func chatThrough(t *testing.T, l *lab, alice *victim.Client, msgs [][]byte) []trace.Event {
	t.Helper()
	res := alice.Chat(testContext(t), l.url(), msgs)
	l.settle()
	events := l.log.Events()
	if res.Err != nil {
		dump(t, events)
		t.Fatalf("Alice's chat through Mallory: %v", res.Err)
	}
	for i, m := range msgs {
		if i >= len(res.Replies) || !bytes.Equal(res.Replies[i], victim.DefaultReply(m)) {
			t.Fatalf("Alice got replies %q to %q", res.Replies, msgs)
		}
	}
	if sess := l.bobSession(t); sess.Ending != victim.EndClean || sess.Err != nil {
		t.Errorf("Bob's session ended %q with %v, want clean", sess.Ending, sess.Err)
	}
	return events
}

// legs is what an attack does with the records: the verdict on the leg a
// record arrives on (in) and on the leg it leaves on (out), and whether
// the same bytes cross both legs.
type legs struct {
	in, out trace.Verdict
	sameRaw bool
}

// checkRecords checks every record of a chat of msgs on both legs: each
// data record and each end record once on each leg, the receiving leg
// after the sending one, with the verdicts want, and with the plaintext
// exactly as the victim sent it on every event whose verdict says the
// attacker had it.
func checkRecords(t *testing.T, events []trace.Event, msgs [][]byte, data, end legs) {
	t.Helper()
	for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
		from, to := trace.LegA, trace.LegB
		if dir == wire.ServerToClient {
			from, to = to, from
		}
		in, out := records(events, from, dir), records(events, to, dir)
		if len(in) != len(msgs) || len(out) != len(msgs) {
			dump(t, events)
			t.Fatalf("%s: %d records on leg %s and %d on leg %s, want %d on each", dir, len(in), from, len(out), to, len(msgs))
		}
		for i, m := range msgs {
			text := m
			if dir == wire.ServerToClient {
				text = victim.DefaultReply(m)
			}
			at := fmt.Sprintf("%s record %d", dir, i)
			if in[i].Seq == nil || *in[i].Seq != uint64(i) {
				t.Errorf("%s: seq %v on leg %s, want %d", at, in[i].Seq, from, i)
			}
			checkVerdict(t, at+" on leg "+string(from), in[i], data.in, text)
			checkVerdict(t, at+" on leg "+string(to), out[i], data.out, text)
			if out[i].Index < in[i].Index {
				t.Errorf("%s: recorded leaving on leg %s (event %d) before arriving on leg %s (event %d)", at, to, out[i].Index, from, in[i].Index)
			}
			if same := bytes.Equal(in[i].Raw, out[i].Raw); same != data.sameRaw {
				t.Errorf("%s: the same bytes on both legs is %v, want %v", at, same, data.sameRaw)
			}
		}
		ein, eout := eventsWhere(events, on(from, dir, "end")), eventsWhere(events, on(to, dir, "end"))
		if len(ein) != 1 || len(eout) != 1 {
			t.Errorf("%s: %d end records on leg %s and %d on leg %s, want one each", dir, len(ein), from, len(eout), to)
			continue
		}
		checkVerdict(t, string(dir)+" end record on leg "+string(from), ein[0], end.in, []byte{})
		checkVerdict(t, string(dir)+" end record on leg "+string(to), eout[0], end.out, []byte{})
	}
}

// checkVerdict checks one record's event: its verdict, and that it carries
// exactly text when the verdict says the attacker had the plaintext, and
// nothing otherwise.
func checkVerdict(t *testing.T, at string, e trace.Event, want trace.Verdict, text []byte) {
	t.Helper()
	if e.Verdict != want {
		t.Errorf("%s: verdict %s (%s), want %s", at, e.Verdict, e.Note, want)
	}
	switch e.Verdict {
	case trace.Read, trace.Forged:
		if e.Recovered == nil || !bytes.Equal(e.Recovered, text) {
			t.Errorf("%s: %s with %.40q, the victim sent %.40q", at, e.Verdict, e.Recovered, text)
		}
	default:
		if e.Recovered != nil {
			t.Errorf("%s: %s but carries plaintext %q", at, e.Verdict, e.Recovered)
		}
	}
}

// handshakeEvents returns the events of handshake messages on leg in
// direction dir.
func handshakeEvents(events []trace.Event, leg trace.Leg, dir wire.Direction) []trace.Event {
	return eventsWhere(events, func(e trace.Event) bool {
		return e.Leg == leg && e.Dir == dir && e.Type != string(wire.TypeData) && e.Type != string(wire.TypeEnd) && e.Type != trace.TypeClose
	})
}

// checkRelayedHandshake: a node that holds no keys passes every handshake
// message on unchanged, as public.
func checkRelayedHandshake(t *testing.T, events []trace.Event, scheme *kex.Scheme) {
	t.Helper()
	for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
		a, b := handshakeEvents(events, trace.LegA, dir), handshakeEvents(events, trace.LegB, dir)
		if len(a) != len(b) {
			t.Fatalf("%s: %d handshake messages on leg A, %d on leg B", dir, len(a), len(b))
		}
		for i := range a {
			for _, e := range []trace.Event{a[i], b[i]} {
				if e.Verdict != trace.Public || !scheme.Has(wire.Type(e.Type), "") {
					t.Errorf("%s handshake message %d on leg %s: %s %s, want a public %s message", dir, i, e.Leg, e.Type, e.Verdict, scheme.Name)
				}
			}
			if !bytes.Equal(a[i].Raw, b[i].Raw) {
				t.Errorf("%s handshake message %d: other bytes on leg B than on leg A", dir, i)
			}
		}
	}
	if n := len(eventsWhere(events, func(e trace.Event) bool {
		return e.Type != string(wire.TypeData) && e.Type != string(wire.TypeEnd) && e.Type != trace.TypeClose
	})); n != 2*len(scheme.Messages) {
		t.Errorf("%d handshake events, want each of the scheme's %d messages on both legs", n, len(scheme.Messages))
	}
}

// checkDoubleHandshake: a node that runs a handshake with each side takes
// every handshake message it receives (intercepted) and sends only its own
// (substituted).
func checkDoubleHandshake(t *testing.T, events []trace.Event) {
	t.Helper()
	for _, c := range []struct {
		leg trace.Leg
		dir wire.Direction
		v   trace.Verdict
	}{
		{trace.LegA, wire.ClientToServer, trace.Intercepted},
		{trace.LegA, wire.ServerToClient, trace.Substituted},
		{trace.LegB, wire.ClientToServer, trace.Substituted},
		{trace.LegB, wire.ServerToClient, trace.Intercepted},
	} {
		hs := handshakeEvents(events, c.leg, c.dir)
		for _, e := range hs {
			if e.Verdict != c.v {
				t.Errorf("leg %s %s %s: %s (%s), want %s", c.leg, c.dir, e.Type, e.Verdict, e.Note, c.v)
			}
			if e.Recovered != nil {
				t.Errorf("leg %s %s %s carries %q", c.leg, c.dir, e.Type, e.Recovered)
			}
		}
	}
}

// TestPassiveRelay:
//
// ATTACK SCENARIO: Mallory sits on the path of each scheme and only
// relays.
//
// THIS TEST VERIFIES: the chat goes through untouched; every handshake
// message is public and crosses both legs as the same bytes; every record
// is opaque, except under the plain scheme's null suite, where Mallory
// reads each one without a key.
func TestPassiveRelay(t *testing.T) {
	t.Parallel()
	for _, su := range append(setups(), setup{noteECDH(), nil, nil}) {
		t.Run(su.scheme.Name+"/attacker only relays", func(t *testing.T) {
			t.Parallel()
			l := newLab(t, su, nil, nil, nil)
			events := chatThrough(t, l, l.alice(), chat)
			data, end := legs{trace.Opaque, trace.Opaque, true}, legs{trace.Opaque, trace.Opaque, true}
			if su.scheme.Suite.Keyless() {
				data, end = legs{trace.Read, trace.Read, true}, legs{trace.Public, trace.Public, true}
			}
			checkRecords(t, events, chat, data, end)
			checkRelayedHandshake(t, events, su.scheme)
			for _, e := range events {
				if e.Conn != 1 {
					t.Errorf("event %d on connection %d, want 1", e.Index, e.Conn)
				}
			}
		})
	}
}

// TestSwapRSAKey:
//
// ATTACK SCENARIO: whichever side sends its RSA key in the clear (Alice in
// plaintext-rsa, Bob in static-rsa with no pin), Mallory swaps in his own,
// unwraps the session secret that comes back, and wraps it again to the
// real key.
//
// THIS TEST VERIFIES: the victims chat on and notice nothing; the
// key_transport on the wrapping leg is READ and carries the 32-byte
// secret, which really opens the victims' records; every record is READ
// on both legs, with the victims' own bytes passed through untouched.
func TestSwapRSAKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scheme          string
		keyLeg, wrapLeg trace.Leg
		keyDir, wrapDir wire.Direction
	}{
		{"plaintext-rsa", trace.LegA, trace.LegB, wire.ClientToServer, wire.ServerToClient},
		{"static-rsa", trace.LegB, trace.LegA, wire.ServerToClient, wire.ClientToServer},
	}
	for _, tt := range tests {
		t.Run(tt.scheme+"/attacker swaps in his own RSA key", func(t *testing.T) {
			t.Parallel()
			su := setupFor(t, tt.scheme)
			l := newLab(t, su, lookup(t, attacker.SwapRSAKey), nil, nil)
			events := chatThrough(t, l, l.alice(), chat)
			checkRecords(t, events, chat, legs{trace.Read, trace.Read, true}, legs{trace.Read, trace.Read, true})

			for _, c := range []struct {
				leg trace.Leg
				dir wire.Direction
				typ string
				v   trace.Verdict
			}{
				{tt.keyLeg, tt.keyDir, "rsa_public_key", trace.Intercepted},
				{other(tt.keyLeg), tt.keyDir, "rsa_public_key", trace.Substituted},
				{tt.wrapLeg, tt.wrapDir, "key_transport", trace.Read},
				{other(tt.wrapLeg), tt.wrapDir, "key_transport", trace.Substituted},
			} {
				got := eventsWhere(events, on(c.leg, c.dir, c.typ))
				if len(got) != 1 || got[0].Verdict != c.v {
					dump(t, events)
					t.Fatalf("%s on leg %s %s: %d events, want one %s", c.typ, c.leg, c.dir, len(got), c.v)
				}
			}
			kt := eventsWhere(events, on(tt.wrapLeg, tt.wrapDir, "key_transport"))[0]
			if len(kt.Recovered) != kex.SecretSize {
				t.Fatalf("key_transport READ with %d bytes, want the %d-byte secret", len(kt.Recovered), kex.SecretSize)
			}
			// The secret is the victims' own: it opens Alice's first record.
			opener, err := channel.NewOpener(kex.RSASecrets(kt.Recovered), wire.ClientToServer)
			if err != nil {
				t.Fatal(err)
			}
			d, err := wire.DecodeAs[*wire.Data](wire.Records(), records(events, trace.LegB, wire.ClientToServer)[0].Raw)
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := opener.Open(d); err != nil || !bytes.Equal(pt, chat[0]) {
				t.Errorf("the recovered secret opens Alice's first record to %q, %v; want %q", pt, err, chat[0])
			}
		})
	}
}

func other(l trace.Leg) trace.Leg {
	if l == trace.LegA {
		return trace.LegB
	}
	return trace.LegA
}

// TestReencryptingAttacks:
//
// ATTACK SCENARIO: Mallory runs one handshake with each side, with keys of
// his own: double-ecdh against unauth-ecdh, impersonate against a
// pinned-ecdh client that skips its pin check, strip-offer against one
// that accepts a fallback, double-handshake against a learner's scheme.
//
// THIS TEST VERIFIES: the victims chat on and notice nothing; every record
// is READ on the sender's leg and FORGED on the receiver's, with the same
// plaintext and other bytes; every handshake message Mallory received is
// INTERCEPTED and every one he sent is SUBSTITUTED.
func TestReencryptingAttacks(t *testing.T) {
	t.Parallel()
	both := []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
	tests := []struct {
		name   string
		su     setup
		attack string
	}{
		{"unauth-ecdh/attacker runs one key exchange with each side", setupFor(t, "unauth-ecdh"), attacker.DoubleECDH},
		{"pinned-ecdh without a pin check/attacker presents his own certificate",
			setup{kex.PinnedECDH(), &kex.ServerConfig{Identity: bobIdentity()}, &kex.ClientConfig{SkipPinCheck: true}}, attacker.Impersonate},
		{"pinned-ecdh with a fallback/attacker strips the offer",
			setup{kex.PinnedECDH(), &kex.ServerConfig{Identity: bobIdentity(), Schemes: both},
				&kex.ClientConfig{Pin: bobIdentity().Pin(), Offer: both, AcceptFallback: true}}, attacker.StripOffer},
		{"note-ecdh/attacker runs the learner's own halves with each side", setup{noteECDH(), nil, nil}, attacker.DoubleHandshake},
		{"plain/attacker runs the empty handshake with each side", setupFor(t, "plain"), attacker.DoubleHandshake},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, tt.su, lookup(t, tt.attack), nil, nil)
			events := chatThrough(t, l, l.alice(), chat)
			checkRecords(t, events, chat, legs{trace.Read, trace.Forged, tt.su.scheme.Suite.Keyless()}, legs{trace.Read, trace.Forged, tt.su.scheme.Suite.Keyless()})
			checkDoubleHandshake(t, events)
			if len(tt.su.scheme.Messages) > 0 && len(handshakeEvents(events, trace.LegA, wire.ClientToServer)) == 0 {
				t.Error("no handshake messages in the ledger")
			}
		})
	}
}

// TestAttacksTheVictimsDetect:
//
// ATTACK SCENARIO: Mallory tries the attacks on pinned-ecdh against a
// client that checks its pin and refuses a downgrade.
//
// THIS TEST VERIFIES: Alice refuses with 1008 and the named check that
// failed; Mallory relays her refusal to Bob, and the ledger shows it
// BLOCKED on both legs; Bob sees the client refuse; Mallory reads and
// forges nothing.
func TestAttacksTheVictimsDetect(t *testing.T) {
	t.Parallel()
	both := []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
	tests := []struct {
		name   string
		attack string
		su     setup
		want   error
	}{
		{"pinned-ecdh/attacker presents his own certificate", attacker.Impersonate, setupFor(t, "pinned-ecdh"), kex.ErrPinMismatch},
		{"pinned-ecdh/attacker keeps the certificate and swaps the key shares", attacker.SubstituteShares, setupFor(t, "pinned-ecdh"), kex.ErrBadSignature},
		{"pinned-ecdh offering both/attacker strips the offer", attacker.StripOffer,
			setup{kex.PinnedECDH(), &kex.ServerConfig{Identity: bobIdentity(), Schemes: both}, &kex.ClientConfig{Pin: bobIdentity().Pin(), Offer: both}},
			kex.ErrDowngrade},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, tt.su, lookup(t, tt.attack), nil, nil)
			res := l.alice().Chat(testContext(t), l.url(), chat)
			l.settle()
			events := l.log.Events()
			if !errors.Is(res.Err, tt.want) || len(res.Sent) != 0 {
				t.Fatalf("Chat sent %d messages and ended with %v, want %q before any", len(res.Sent), res.Err, tt.want)
			}
			for _, leg := range []trace.Leg{trace.LegA, trace.LegB} {
				cs := closesOn(events, leg)
				if len(cs) == 0 || cs[0].Dir != wire.ClientToServer || cs[0].Verdict != trace.Blocked || !containsAll(cs[0].Note, "1008", kex.Reason(tt.want)) {
					dump(t, events)
					t.Errorf("leg %s: closes %v, want Alice's 1008 first, BLOCKED", leg, cs)
				}
			}
			if sess := l.bobSession(t); sess.Ending != victim.EndPeer {
				t.Errorf("Bob's session ended %q (%v), want %q", sess.Ending, sess.Err, victim.EndPeer)
			}
			for _, e := range events {
				if e.Verdict == trace.Read || e.Verdict == trace.Forged || e.Type == string(wire.TypeData) {
					t.Errorf("event %d: %s %s on leg %s", e.Index, e.Verdict, e.Type, e.Leg)
				}
			}
		})
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !bytes.Contains([]byte(s), []byte(sub)) {
			return false
		}
	}
	return true
}

// TestEavesdrop: with no attacker in the middle, the taps on Alice's end
// record the wire as an eavesdropper with no keys sees it.
func TestEavesdrop(t *testing.T) {
	t.Parallel()
	for _, su := range setups() {
		t.Run(su.scheme.Name+"/a wire with no attacker", func(t *testing.T) {
			t.Parallel()
			ended := make(chan *victim.ServerSession, 1)
			bob := victim.NewServer(su.scheme, &victim.ServerOptions{Config: su.server, OnSessionEnd: func(s *victim.ServerSession) { ended <- s }})
			srv := newHTTPServer(t, bob)
			log := trace.NewLog(nil)
			alice := &victim.Client{Scheme: su.scheme, Config: su.client,
				Tap: attacker.Eavesdrop(log, su.scheme), CloseTap: attacker.EavesdropCloses(log)}
			if res := alice.Chat(testContext(t), srv+victim.Path(su.scheme.Name), chat); res.Err != nil {
				t.Fatal(res.Err)
			}
			select {
			case <-ended:
			case <-testContext(t).Done():
				t.Fatal("Bob ended no session")
			}
			events := log.Events()
			data, end := trace.Opaque, trace.Opaque
			if su.scheme.Suite.Keyless() {
				data, end = trace.Read, trace.Public
			}
			counts := map[string]int{}
			for _, e := range events {
				counts[e.Type]++
				if e.Leg != trace.LegWire {
					t.Errorf("event %d on leg %s, want %s", e.Index, e.Leg, trace.LegWire)
				}
				want := trace.Public
				switch e.Type {
				case string(wire.TypeData):
					want = data
					text := chat[*e.Seq]
					if e.Dir == wire.ServerToClient {
						text = victim.DefaultReply(text)
					}
					checkVerdict(t, fmt.Sprintf("%s record %d", e.Dir, *e.Seq), e, want, text)
					continue
				case string(wire.TypeEnd):
					want = end
				}
				if e.Verdict != want || e.Recovered != nil {
					t.Errorf("event %d, %s %s: %s carrying %q, want %s", e.Index, e.Dir, e.Type, e.Verdict, e.Recovered, want)
				}
			}
			if counts["data"] != 2*len(chat) || counts["end"] != 2 || counts[trace.TypeClose] == 0 || len(events)-counts["data"]-counts["end"]-counts[trace.TypeClose] != len(su.scheme.Messages) {
				t.Errorf("event counts %v, want %d records, 2 end records, the closes and %d handshake messages", counts, 2*len(chat), len(su.scheme.Messages))
			}
		})
	}
}
