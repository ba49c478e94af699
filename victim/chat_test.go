package victim_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/victim"
)

// TestChat: Alice chats with Bob over every scheme; each message gets its
// reply, and the conversation ends with both end records.
func TestChat(t *testing.T) {
	t.Parallel()
	messages := [][]byte{
		[]byte("hi Bob, it's Alice"),
		{},
		[]byte("Grüße aus Köln ✓ 🔐"),
		bytes.Repeat([]byte("z"), channel.MaxPlaintext-len("got it: ")),
	}
	for _, su := range setups() {
		t.Run(su.scheme.Name+"/every message answered and the end is clean", func(t *testing.T) {
			t.Parallel()
			b := newBob(t, su, nil)
			res := b.alice().Chat(testContext(t), b.url(), messages)
			if res.Err != nil {
				t.Fatalf("Chat: %v", res.Err)
			}
			if len(res.Sent) != len(messages) || len(res.Replies) != len(messages) {
				t.Fatalf("sent %d and got %d replies, want %d of each", len(res.Sent), len(res.Replies), len(messages))
			}
			for i, m := range messages {
				if want := victim.DefaultReply(m); !bytes.Equal(res.Replies[i], want) {
					t.Errorf("reply %d = %.40q, want %.40q", i, res.Replies[i], want)
				}
			}
			sess := b.session(t)
			if sess.Ending != victim.EndClean || sess.Err != nil {
				t.Errorf("server session ended %q with %v, want %q and no error", sess.Ending, sess.Err, victim.EndClean)
			}
			if sess.MessagesReceived != len(messages) || sess.MessagesAnswered != len(messages) {
				t.Errorf("server counted %d received and %d answered, want %d", sess.MessagesReceived, sess.MessagesAnswered, len(messages))
			}
			if len(sess.Received) != len(messages) || len(sess.Replies) != len(messages) {
				t.Fatalf("server kept %d messages and %d replies, want %d", len(sess.Received), len(sess.Replies), len(messages))
			}
			for i, m := range messages {
				if !bytes.Equal(sess.Received[i], m) || !bytes.Equal(sess.Replies[i], res.Replies[i]) {
					t.Errorf("server message %d: received %.40q and replied %.40q", i, sess.Received[i], sess.Replies[i])
				}
			}
			if got := len(b.Sessions()); got != 1 {
				t.Errorf("Sessions() has %d, want 1", got)
			}
		})
	}
	t.Run("unauth-ecdh/the root path serves the scheme too", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, setupFor(t, "unauth-ecdh"), nil)
		res := b.alice().Chat(testContext(t), b.at("/"), [][]byte{[]byte("x")})
		if res.Err != nil || len(res.Replies) != 1 || string(res.Replies[0]) != "got it: x" {
			t.Errorf("Chat at / = %q, %v", res.Replies, res.Err)
		}
	})
	t.Run("unauth-ecdh/a server with its own reply", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, setupFor(t, "unauth-ecdh"), &victim.ServerOptions{Reply: bytes.ToUpper})
		res := b.alice().Chat(testContext(t), b.url(), [][]byte{[]byte("shout")})
		if res.Err != nil || len(res.Replies) != 1 || string(res.Replies[0]) != "SHOUT" {
			t.Errorf("Chat = %q, %v", res.Replies, res.Err)
		}
	})
	t.Run("unauth-ecdh/a message larger than one record is refused before it is sent", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, setupFor(t, "unauth-ecdh"), nil)
		res := b.alice().Chat(testContext(t), b.url(), [][]byte{make([]byte, channel.MaxPlaintext+1)})
		if len(res.Sent) != 0 || !errors.Is(res.Err, channel.ErrTooLarge) {
			t.Errorf("Chat sent %d messages with error %v; want nothing sent and %q", len(res.Sent), res.Err, channel.ErrTooLarge)
		}
		if sess := b.session(t); sess.MessagesReceived != 0 {
			t.Errorf("server received %d messages", sess.MessagesReceived)
		}
	})
}

// TestDefaultReply: a reply must fit one record, so the echo of a long
// message is cut, and never inside a UTF-8 sequence.
func TestDefaultReply(t *testing.T) {
	t.Parallel()
	const prefix = "got it: "
	room := channel.MaxPlaintext - len(prefix)
	tests := []struct {
		name string
		msg  string
		cut  bool
	}{
		{"a short message is echoed whole", "hi", false},
		{"an empty message gets the prefix alone", "", false},
		{"a message that just fits is echoed whole", strings.Repeat("a", room), false},
		{"32 KiB of ASCII is cut at the limit", strings.Repeat("a", channel.MaxPlaintext), true},
		{"32 KiB of two-byte runes", strings.Repeat("é", channel.MaxPlaintext/2), true},
		{"32 KiB of three-byte runes", strings.Repeat("€", channel.MaxPlaintext/3), true},
		{"32 KiB of four-byte runes", strings.Repeat("🔐", channel.MaxPlaintext/4), true},
		{"three-byte runes one byte off the boundary", "a" + strings.Repeat("€", channel.MaxPlaintext/3-1), true},
		{"three-byte runes two bytes off the boundary", "ab" + strings.Repeat("€", channel.MaxPlaintext/3-1), true},
		{"four-byte runes after one ASCII byte", "a" + strings.Repeat("🔐", channel.MaxPlaintext/4-1), true},
		{"four-byte runes after three ASCII bytes", "abc" + strings.Repeat("🔐", channel.MaxPlaintext/4-1), true},
		{"mixed runes", strings.Repeat("aé€🔐", channel.MaxPlaintext/10), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reply := victim.DefaultReply([]byte(tt.msg))
			if !bytes.HasPrefix(reply, []byte(prefix)) {
				t.Fatalf("reply %.20q does not start with %q", reply, prefix)
			}
			echo := reply[len(prefix):]
			if len(reply) > channel.MaxPlaintext {
				t.Errorf("reply is %d bytes, over the %d of one record", len(reply), channel.MaxPlaintext)
			}
			if !utf8.Valid(reply) {
				t.Errorf("reply is not valid UTF-8: it ends %q", reply[max(len(reply)-8, 0):])
			}
			if !strings.HasPrefix(tt.msg, string(echo)) {
				t.Errorf("the echo is not the start of the message")
			}
			switch {
			case !tt.cut && len(echo) != len(tt.msg):
				t.Errorf("echo is %d bytes, want the whole %d", len(echo), len(tt.msg))
			case tt.cut && (len(echo) > room || len(echo) <= room-utf8.UTFMax):
				// Only the rune the limit splits may go.
				t.Errorf("echo of a %d-byte message is %d bytes, want within a rune of %d", len(tt.msg), len(echo), room)
			}
		})
	}
}

// TestServerSessionRecords: what the server keeps of a session, and
// the name the client gave.
func TestServerSessionRecords(t *testing.T) {
	t.Parallel()
	t.Run("the client's name arrives as ?name= and names the session", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, setupFor(t, "unauth-ecdh"), nil)
		alice := b.alice()
		alice.Name = "alice & co/3"
		if res := alice.Chat(testContext(t), b.url(), [][]byte{[]byte("hi")}); res.Err != nil {
			t.Fatal(res.Err)
		}
		if sess := b.session(t); sess.Name != alice.Name || sess.Conn != 1 {
			t.Errorf("session %d is named %q, want 1 and %q", sess.Conn, sess.Name, alice.Name)
		}
	})
	t.Run("sessions are numbered from 1", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, setupFor(t, "unauth-ecdh"), nil)
		for i := 1; i <= 3; i++ {
			if res := b.alice().Chat(testContext(t), b.url(), [][]byte{[]byte("hi")}); res.Err != nil {
				t.Fatal(res.Err)
			}
			if sess := b.session(t); sess.Conn != i || sess.Name != "" {
				t.Errorf("session %d (name %q), want %d and no name", sess.Conn, sess.Name, i)
			}
		}
		if got := len(b.Sessions()); got != 3 {
			t.Errorf("Sessions() has %d, want 3", got)
		}
	})
	t.Run("with NoHistory the server counts messages and keeps none", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, setupFor(t, "unauth-ecdh"), &victim.ServerOptions{NoHistory: true})
		msgs := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
		if res := b.alice().Chat(testContext(t), b.url(), msgs); res.Err != nil || len(res.Replies) != len(msgs) {
			t.Fatalf("Chat: %d replies, %v", len(res.Replies), res.Err)
		}
		sess := b.session(t)
		if sess.MessagesReceived != len(msgs) || sess.MessagesAnswered != len(msgs) {
			t.Errorf("counted %d received and %d answered, want %d", sess.MessagesReceived, sess.MessagesAnswered, len(msgs))
		}
		if sess.Received != nil || sess.Replies != nil {
			t.Errorf("kept %d messages and %d replies, want none", len(sess.Received), len(sess.Replies))
		}
		if sess.Ending != victim.EndClean {
			t.Errorf("ending %q, want %q", sess.Ending, victim.EndClean)
		}
		if got := b.Sessions(); len(got) != 0 {
			t.Errorf("Sessions() has %d, want none", len(got))
		}
	})
}
