package tui

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// pane renders the detail pane of e, alone in its run, as plain text.
func pane(t *testing.T, e trace.Event, noAttacker bool) string {
	t.Helper()
	st := DefaultStyles()
	sc, err := scenarios.Lookup("plaintext-rsa")
	if err != nil {
		t.Fatal(err)
	}
	d := detail{st: &st, frames: []trace.Event{e}, e: e, noAttacker: noAttacker, width: 200, codec: codecFor(sc)}
	return ansi.Strip(strings.Join(d.lines(), "\n"))
}

// TestAttackerLineSaysWhatHappened gives each verdict its one meaning, for
// each kind of frame it can fall on: what the pane's attacker line says,
// and what it must never say.
func TestAttackerLineSaysWhatHappened(t *testing.T) {
	t.Parallel()
	c2s, s2c := wire.ClientToServer, wire.ServerToClient
	secret := []byte{0x90, 0xe8, 0x3c, 0xe2, 0x4b, 0x6d, 0x6a, 0x8f}
	upgrade := "GET /plain HTTP/1.1\r\nHost: bob.lab\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-Websocket-Version: 13\r\n\r\n"
	for _, tc := range []struct {
		name       string
		e          trace.Event
		noAttacker bool
		want       []string
		never      []string
	}{
		{
			name: "a chat message Mallory read",
			e:    trace.Event{Leg: trace.LegA, Dir: c2s, Type: "data", Seq: seq(0), Verdict: trace.Read, Recovered: []byte("hi Bob")},
			want: []string{`READ  Mallory read "hi Bob"`},
		},
		{
			name:  "an empty chat message Mallory read",
			e:     trace.Event{Leg: trace.LegA, Dir: c2s, Type: "data", Seq: seq(0), Verdict: trace.Read, Recovered: []byte{}},
			want:  []string{"READ  Mallory read it: an empty message"},
			never: []string{`read ""`},
		},
		{
			name: "a chat message an eavesdropper read in a keyless record",
			e:    trace.Event{Leg: trace.LegWire, Dir: c2s, Type: "data", Seq: seq(0), Verdict: trace.Read, Recovered: []byte("hi Bob")},
			want: []string{`READ  an eavesdropper with no keys read "hi Bob"`},
		},
		{
			name:  "Alice's end record, opened",
			e:     trace.Event{Leg: trace.LegA, Dir: c2s, Type: "end", Seq: seq(3), Verdict: trace.Read, Recovered: []byte{}},
			want:  []string{"READ  Mallory opened Alice's end record: she has nothing more to send"},
			never: []string{`read ""`},
		},
		{
			name: "Bob's end record, sealed by Mallory",
			e:    trace.Event{Leg: trace.LegA, Dir: s2c, Type: "end", Seq: seq(3), Verdict: trace.Forged, Recovered: []byte{}},
			want: []string{"FORGED  Mallory sealed an end record himself for Alice: as far as Alice can tell, Bob has nothing more to send"},
		},
		{
			name: "an end record Mallory cannot open",
			e:    trace.Event{Leg: trace.LegA, Dir: s2c, Type: "end", Seq: seq(3), Verdict: trace.Opaque},
			want: []string{"OPAQUE  Bob's end record: he has nothing more to send; Mallory cannot open it"},
		},
		{
			name:  "an end record with no key behind it",
			e:     trace.Event{Leg: trace.LegA, Dir: c2s, Type: "end", Seq: seq(3), Verdict: trace.Public},
			want:  []string{"PUBLIC  Alice's end record: she has nothing more to send; anyone on the path can see it"},
			never: []string{"public by design"},
		},
		{
			name:  "the secret Mallory unwrapped from key_transport",
			e:     trace.Event{Leg: trace.LegB, Dir: s2c, Type: "key_transport", Verdict: trace.Read, Recovered: secret, Raw: []byte(`{"type":"key_transport","wrapped":"AA=="}`)},
			want:  []string{"READ  Mallory unwrapped the session secret: " + hex.EncodeToString(secret)},
			never: []string{"PUBLIC", "relayed unchanged"},
		},
		{
			name:  "Alice's RSA key, kept by Mallory",
			e:     trace.Event{Leg: trace.LegA, Dir: c2s, Type: "rsa_public_key", Verdict: trace.Intercepted, Note: "the client's RSA key, kept by the attacker"},
			want:  []string{"INTERCEPTED  Mallory took it and did not pass it on"},
			never: []string{"PUBLIC", "relayed unchanged"},
		},
		{
			name:  "Mallory's own RSA key",
			e:     trace.Event{Leg: trace.LegB, Dir: c2s, Type: "rsa_public_key", Verdict: trace.Substituted},
			want:  []string{"SUBSTITUTED  Mallory made this frame himself"},
			never: []string{"PUBLIC", "relayed unchanged"},
		},
		{
			name: "a hello relayed as it was",
			e:    trace.Event{Leg: trace.LegA, Dir: c2s, Type: "client_hello", Verdict: trace.Public},
			want: []string{"PUBLIC  public by design; Mallory saw it and relayed it unchanged"},
		},
		{
			name:       "a hello on the wire",
			e:          trace.Event{Leg: trace.LegWire, Dir: c2s, Type: "client_hello", Verdict: trace.Public},
			noAttacker: true,
			want:       []string{"PUBLIC  public by design; an eavesdropper with no keys saw it"},
			never:      []string{"relayed"},
		},
		{
			name: "a close relayed",
			e:    trace.Event{Leg: trace.LegA, Dir: c2s, Type: trace.TypeClose, Verdict: trace.Public, Note: "1000 StatusNormalClosure: bye"},
			want: []string{"PUBLIC  a close frame: 1000 StatusNormalClosure: bye"},
		},
		{
			name:  "a close Mallory made",
			e:     trace.Event{Leg: trace.LegB, Dir: c2s, Type: trace.TypeClose, Verdict: trace.Substituted, Note: "1000 StatusNormalClosure: bye"},
			want:  []string{"SUBSTITUTED  Mallory made this close frame himself: 1000 StatusNormalClosure: bye"},
			never: []string{"PUBLIC"},
		},
		{
			name: "a close that refused",
			e:    trace.Event{Leg: trace.LegA, Dir: c2s, Type: trace.TypeClose, Verdict: trace.Blocked, Note: "1008 StatusPolicyViolation: key does not match pin"},
			want: []string{"BLOCKED  it did not get through: 1008 StatusPolicyViolation: key does not match pin"},
		},
		{
			name:  "a record Mallory withheld",
			e:     trace.Event{Leg: trace.LegA, Dir: c2s, Type: "data", Seq: seq(2), Verdict: trace.Dropped, Note: "withheld by the attacker"},
			want:  []string{"DROPPED  Mallory took it and withheld it on purpose: Bob never gets it"},
			never: []string{"relayed unchanged"},
		},
		{
			name: "a record Mallory changed without its key",
			e:    trace.Event{Leg: trace.LegB, Dir: c2s, Type: "data", Seq: seq(0), Verdict: trace.Tampered},
			want: []string{"TAMPERED  Mallory changed it on the way without holding its key: Bob gets bytes Alice never sent"},
		},
		{
			name: "a record Mallory sent twice",
			e:    trace.Event{Leg: trace.LegB, Dir: c2s, Type: "data", Seq: seq(0), Verdict: trace.Replayed},
			want: []string{"REPLAYED  a copy of an earlier frame, which Mallory sent Bob again"},
		},
		{
			name: "a record Mallory encrypted himself",
			e:    trace.Event{Leg: trace.LegB, Dir: c2s, Type: "data", Seq: seq(0), Verdict: trace.Forged, Recovered: []byte("hi Bob")},
			want: []string{`FORGED  Mallory encrypted "hi Bob" himself for Bob`},
		},
		{
			name: "a named student's connection, in a classroom",
			e:    trace.Event{Conn: 2, Name: "ana\x1b[2J", Leg: trace.LegA, Dir: c2s, Type: "data", Seq: seq(0), Verdict: trace.Opaque},
			want: []string{`client    "ana\x1b[2J", connection 2`},
		},
		{
			name: "ciphertext only",
			e:    trace.Event{Leg: trace.LegA, Dir: c2s, Type: "data", Seq: seq(0), Verdict: trace.Opaque},
			want: []string{"OPAQUE  Mallory saw ciphertext only"},
		},
		{
			name: "the HTTP upgrade in a TLS record Mallory decrypted",
			e:    trace.Event{Leg: trace.LegA, Dir: c2s, Type: "tls_application_data", Verdict: trace.Read, Recovered: []byte(upgrade)},
			want: []string{
				"READ  Mallory decrypted this TLS record: 106 bytes, below",
				"content   GET /plain HTTP/1.1\n          Host: bob.lab\n          Connection: Upgrade\n          Upgrade: websocket\n          Sec-Websocket-Version: 13\nsent",
			},
			never: []string{`\r\n`},
		},
		{
			name: "a TLS record Mallory encrypted himself",
			e:    trace.Event{Leg: trace.LegB, Dir: c2s, Type: "tls_application_data", Verdict: trace.Forged, Recovered: []byte(upgrade)},
			want: []string{"FORGED  Mallory encrypted this TLS record himself for Bob: 106 bytes, below", "content   GET /plain HTTP/1.1"},
		},
		{
			name: "a WebSocket frame in a TLS record",
			e:    trace.Event{Leg: trace.LegB, Dir: s2c, Type: "tls_application_data", Verdict: trace.Read, Recovered: append([]byte{0x81, 0x05}, "hello"...)},
			want: []string{"content   text frame: hello"},
		},
		{
			name: "a TLS handshake message Mallory decrypted",
			e:    trace.Event{Leg: trace.LegA, Dir: c2s, Type: "tls_finished", Verdict: trace.Read, Recovered: []byte{0x14, 0, 0, 2, 0xab, 0xcd}},
			want: []string{"content   0000  14 00 00 02 ab cd"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pane(t, tc.e, tc.noAttacker)
			for _, w := range tc.want {
				if !strings.Contains(p, w) {
					t.Errorf("the pane lacks %q:\n%s", w, p)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(p, n) {
					t.Errorf("the pane says %q:\n%s", n, p)
				}
			}
		})
	}
}

// TestLiveDetailKnowsNoReceiver: a live attacker process never has an
// outcome, so the pane says what it cannot know instead of "pending".
func TestLiveDetailKnowsNoReceiver(t *testing.T) {
	t.Parallel()
	st := DefaultStyles()
	e := trace.Event{Conn: 1, Leg: trace.LegA, Dir: wire.ClientToServer, Type: "data", Seq: seq(0), Verdict: trace.Read, Recovered: []byte("hi")}
	d := detail{st: &st, frames: []trace.Event{e}, e: e, live: true, width: 200, codec: wire.Records()}
	p := ansi.Strip(strings.Join(d.lines(), "\n"))
	if !strings.Contains(p, "receiver  not known: an attacker process sees only what crosses it, not what Bob accepted") || strings.Contains(p, "pending") {
		t.Errorf("live pane:\n%s", p)
	}
}

// TestRowTextSaysWhatMalloryGot checks the text after a row's badge.
func TestRowTextSaysWhatMalloryGot(t *testing.T) {
	t.Parallel()
	sc, _ := scenarios.Lookup("plaintext-rsa")
	codec := codecFor(sc)
	for _, tc := range []struct {
		e    trace.Event
		want string
	}{
		{trace.Event{Type: "data", Dir: wire.ClientToServer, Verdict: trace.Read, Recovered: []byte("hi")}, `"hi"`},
		{trace.Event{Type: "data", Dir: wire.ClientToServer, Verdict: trace.Opaque, Note: "no key for this record"}, "no key for this record"},
		{trace.Event{Type: "end", Dir: wire.ClientToServer, Verdict: trace.Read, Recovered: []byte{}}, "Alice is done"},
		{trace.Event{Type: "end", Dir: wire.ServerToClient, Verdict: trace.Forged, Recovered: []byte{}}, "Bob is done"},
		{trace.Event{Type: "key_transport", Verdict: trace.Read, Recovered: make([]byte, 32)}, "session secret 000000000000… (32 bytes)"},
		{trace.Event{Type: "tls_application_data", Verdict: trace.Read, Recovered: []byte("GET / HTTP/1.1\r\nHost: bob.lab\r\n\r\n")}, "GET / HTTP/1.1"},
		{trace.Event{Type: "tls_finished", Verdict: trace.Read, Recovered: []byte{0x14, 0, 0, 0}, Note: "decrypted by the attacker: Finished"}, "decrypted by the attacker: Finished"},
	} {
		if got := rowText(tc.e, kindOf(tc.e, codec)); got != tc.want {
			t.Errorf("%s %s: row text %q, want %q", tc.e.Type, tc.e.Verdict, got, tc.want)
		}
	}
}

func TestWSFrames(t *testing.T) {
	t.Parallel()
	masked := func(op byte, payload string) []byte {
		key := []byte{1, 2, 3, 4}
		b := append([]byte{0x80 | op, 0x80 | byte(len(payload))}, key...)
		for i := range payload {
			b = append(b, payload[i]^key[i%4])
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want []string // nil: not frames
	}{
		{"a text frame from the server", append([]byte{0x81, 0x02}, "hi"...), []string{"text frame: hi"}},
		{"a masked text frame from the client", masked(1, `{"type":"data"}`), []string{`text frame: {"type":"data"}`}},
		{"two frames", append(masked(1, "a"), masked(8, "\x03\xe8bye")...), []string{"text frame: a", "close frame: 1000 StatusNormalClosure: bye"}},
		{"a 126-length frame", append([]byte{0x82, 126, 0, 200}, make([]byte, 200)...), []string{"binary frame: 000000000000… (200 bytes)"}},
		{"a close_notify alert is not a frame", []byte{0x01, 0x00}, nil},
		{"a TLS Finished is not a frame", []byte{0x14, 0x00, 0x00, 0x20}, nil},
		{"a truncated frame", []byte{0x81, 0x05, 'h'}, nil},
		{"a fragmented control frame", []byte{0x08, 0x00}, nil},
		{"nothing", nil, nil},
	} {
		frames, ok := wsFrames(tc.b)
		if ok != (tc.want != nil) {
			t.Errorf("%s: ok = %v", tc.name, ok)
			continue
		}
		var got []string
		for _, f := range frames {
			got = append(got, f.String())
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestPlaintextRSAKeyTransportIsRead is the old bug: Bob's key_transport,
// which Mallory unwraps, was a grey PUBLIC. It is READ, with the secret
// Mallory really unwrapped, on its row and in its pane.
func TestPlaintextRSAKeyTransportIsRead(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "plaintext-rsa", Runner: seeded}, 100, 30)
	m = pump(t, m, keys("space", "space", "space")...)
	e := m.run.frames[2]
	if e.Type != string((&kex.KeyTransport{}).MessageType()) || e.Verdict != trace.Read || len(e.Recovered) != 32 {
		t.Fatalf("frame 2 is %s %s with %d bytes recovered", e.Type, e.Verdict, len(e.Recovered))
	}
	s := screen(m)
	rows := strings.Split(s, "\n")
	if !strings.Contains(rows[5], "key_transport") || !strings.Contains(rows[5], "READ        session secret "+hex.EncodeToString(e.Recovered[:6])) {
		t.Errorf("frame 2's row: %q", rows[5])
	}
	if !strings.Contains(strings.Join(strings.Fields(s), " "), "READ Mallory unwrapped the session secret: "+hex.EncodeToString(e.Recovered)) {
		t.Errorf("frame 2's pane:\n%s", s)
	}
	if strings.Contains(rows[5], "PUBLIC") {
		t.Errorf("frame 2 is drawn PUBLIC: %q", rows[5])
	}
}
