package victim_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// TestServerRefusesBadInput: a raw client sends each kind of bad first
// message to each scheme's server, which closes with the code for it and
// names the error.
func TestServerRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		typ       websocket.MessageType
		msg       []byte
		code      websocket.StatusCode
		want      error
		handshake bool // only a scheme with a handshake can tell
	}{
		{"malformed JSON", websocket.MessageText, []byte(`{"type":"client_hello",`), websocket.StatusProtocolError, wire.ErrMalformed, false},
		{"an unknown type", websocket.MessageText, []byte(`{"type":"hello_bob"}`), websocket.StatusProtocolError, wire.ErrUnknownType, false},
		{"a binary message", websocket.MessageBinary, []byte(`{"type":"client_hello"}`), websocket.StatusProtocolError, wire.ErrBinaryMessage, false},
		{"a 70 KiB message", websocket.MessageText, bytes.Repeat([]byte(" "), 70<<10), websocket.StatusMessageTooBig, wire.ErrMessageTooLarge, false},
		{"invalid UTF-8 in a text message", websocket.MessageText, []byte("{\"type\":\"data\",\"seq\":0,\"ct\":\"\xff\"}"), websocket.StatusInvalidFramePayloadData, wire.ErrInvalidUTF8, false},
		{"data before the handshake", websocket.MessageText, []byte(`{"type":"data","seq":0,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}`), websocket.StatusProtocolError, wire.ErrUnexpectedMessage, true},
	}
	for _, su := range setups() {
		for _, tt := range tests {
			if tt.handshake && len(su.scheme.Messages) == 0 {
				continue // plain: a record is the first message
			}
			t.Run(su.scheme.Name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				b := newBob(t, su, nil)
				ws := rawDial(t, b.url(), su.scheme.Name)
				ctx := testContext(t)
				wrote := make(chan error, 1)
				go func() { wrote <- ws.Write(ctx, tt.typ, tt.msg) }()
				code, reason := readClose(t, ws)
				<-wrote // the server may stop reading a 70 KiB message midway
				sess := b.session(t)
				if code != tt.code {
					t.Errorf("close %d %q, want %d", code, reason, tt.code)
				}
				if !errors.Is(sess.Err, tt.want) {
					t.Errorf("session error %v, want %q", sess.Err, tt.want)
				}
				if sess.Ending != victim.EndRefused {
					t.Errorf("Ending %q, want %q", sess.Ending, victim.EndRefused)
				}
				if sess.MessagesReceived != 0 {
					t.Errorf("server accepted %d messages", sess.MessagesReceived)
				}
			})
		}
	}
}

// TestServerRefusesBadRecords:
//
// ATTACK SCENARIO: after an honest handshake, Mallory replays a record,
// drops one so the next arrives early, or flips one bit of a record.
//
// THIS TEST VERIFIES: the server closes with 1008 and reports
// channel.ErrReplay, ErrOutOfOrder or ErrDecrypt, having accepted only the
// genuine record before it. With the plain scheme's null suite nothing
// protects the records, and the flipped bit goes through: that is its
// lesson.
func TestServerRefusesBadRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// bad returns the frame sent after the genuine first one.
		bad  func(t *testing.T, s *channel.Sealer, first []byte) []byte
		want error
	}{
		{"a replayed record", func(t *testing.T, s *channel.Sealer, first []byte) []byte {
			return first
		}, channel.ErrReplay},
		{"a record from the future", func(t *testing.T, s *channel.Sealer, first []byte) []byte {
			seal(t, s, "dropped by mallory")
			return encode(t, seal(t, s, "arrives early"))
		}, channel.ErrOutOfOrder},
		{"one flipped bit", func(t *testing.T, s *channel.Sealer, first []byte) []byte {
			d := seal(t, s, "pay bob 10 EUR")
			d.CT[0] ^= 1
			return encode(t, d)
		}, channel.ErrDecrypt},
	}
	for _, su := range setups() {
		for _, tt := range tests {
			t.Run(su.scheme.Name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				b := newBob(t, su, nil)
				conn, secrets := rawHandshake(t, b)
				sealer, err := channel.NewSealer(secrets, wire.ClientToServer)
				if err != nil {
					t.Fatal(err)
				}
				opener, err := channel.NewOpener(secrets, wire.ServerToClient)
				if err != nil {
					t.Fatal(err)
				}
				ctx := testContext(t)
				first := encode(t, seal(t, sealer, "hello"))
				if err := conn.Write(ctx, first); err != nil {
					t.Fatal(err)
				}
				raw, err := conn.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				d, err := wire.DecodeAs[*wire.Data](conn.Codec(), raw)
				if err != nil {
					t.Fatal(err)
				}
				if reply, err := opener.Open(d); err != nil || string(reply) != "got it: hello" {
					t.Fatalf("reply = %q, %v", reply, err)
				}
				if err := conn.Write(ctx, tt.bad(t, sealer, first)); err != nil {
					t.Fatal(err)
				}
				if su.scheme.Suite.Keyless() && tt.want == channel.ErrDecrypt {
					// Nothing to authenticate: Bob takes the changed text.
					if _, err := conn.Read(ctx); err != nil {
						t.Fatalf("no reply to the changed record: %v", err)
					}
					conn.Close(websocket.StatusNormalClosure, "")
					sess := b.session(t)
					if len(sess.Received) != 2 || string(sess.Received[1]) == "pay bob 10 EUR" {
						t.Errorf("server received %q, want the changed text second", sess.Received)
					}
					return
				}
				code, reason := readClose(t, conn.WebSocket())
				if code != websocket.StatusPolicyViolation {
					t.Errorf("close %d %q, want 1008", code, reason)
				}
				sess := b.session(t)
				if !errors.Is(sess.Err, tt.want) {
					t.Errorf("session error %v, want %q", sess.Err, tt.want)
				}
				if sess.Ending != victim.EndRefused {
					t.Errorf("Ending %q, want %q", sess.Ending, victim.EndRefused)
				}
				if len(sess.Received) != 1 || string(sess.Received[0]) != "hello" {
					t.Errorf("server accepted %q, want only the genuine record", sess.Received)
				}
			})
		}
	}
}

func seal(t *testing.T, s *channel.Sealer, pt string) *wire.Data {
	t.Helper()
	d, err := s.Seal([]byte(pt))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func encode(t *testing.T, m wire.Message) []byte {
	t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
