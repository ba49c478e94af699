package victim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// TestServerSeesHowTheConversationEnded:
//
// ATTACK SCENARIO: Mallory, holding no key, cuts the chat after a message
// and sends Bob an ordinary close, or drops the connection, as if Alice
// had finished.
//
// THIS TEST VERIFIES: Bob calls a conversation clean only when Alice's
// sealed end record arrived. A close without it, 1000 included, or a
// dropped connection is truncated (channel.ErrTruncated); a close with a
// refusal code is the client refusing, not a truncation.
func TestServerSeesHowTheConversationEnded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		leave    func(t *testing.T, ch *channel.Channel)
		ending   string
		want     error                // matched with errors.Is; nil means no error
		wantCode websocket.StatusCode // the client's close code in the error, if any
	}{
		{
			name: "client sends its end record, then closes",
			leave: func(t *testing.T, ch *channel.Channel) {
				ctx := testContext(t)
				if err := ch.End(ctx); err != nil {
					t.Fatalf("End: %v", err)
				}
				if _, _, err := ch.Receive(ctx); err != io.EOF {
					t.Errorf("after the client's end record Receive = %v, want io.EOF (the server's)", err)
				}
				ch.Conn().Close(websocket.StatusNormalClosure, "bye")
			},
			ending: victim.EndClean,
		},
		{
			name: "client closes with 1000 and no end record",
			leave: func(t *testing.T, ch *channel.Channel) {
				ch.Conn().WebSocket().Close(websocket.StatusNormalClosure, "bye")
			},
			ending: victim.EndTruncated, want: channel.ErrTruncated,
		},
		{
			name: "client goes away with 1001 and no end record",
			leave: func(t *testing.T, ch *channel.Channel) {
				ch.Conn().WebSocket().Close(websocket.StatusGoingAway, "bye")
			},
			ending: victim.EndTruncated, want: channel.ErrTruncated,
		},
		{
			name:   "client's TCP connection drops",
			leave:  func(t *testing.T, ch *channel.Channel) { ch.Conn().CloseNow() },
			ending: victim.EndTruncated, want: channel.ErrTruncated,
		},
		{
			name: "client refuses with 1008",
			leave: func(t *testing.T, ch *channel.Channel) {
				ch.Conn().WebSocket().Close(websocket.StatusPolicyViolation, "record failed authentication")
			},
			ending: victim.EndPeer, want: wire.ErrPeerClosed, wantCode: websocket.StatusPolicyViolation,
		},
		{
			name: "a browser client refuses with 4008",
			leave: func(t *testing.T, ch *channel.Channel) {
				ch.Conn().WebSocket().Close(wire.AppCode(websocket.StatusPolicyViolation), "record failed authentication")
			},
			ending: victim.EndPeer, want: wire.ErrPeerClosed, wantCode: 4008,
		},
	}
	for _, su := range setups() {
		for _, tt := range tests {
			t.Run(su.scheme.Name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				b := newBob(t, su, nil)
				ch := rawChannel(t, b)
				ctx := testContext(t)
				if _, err := ch.Send(ctx, []byte("hello")); err != nil {
					t.Fatal(err)
				}
				if reply, _, err := ch.Receive(ctx); err != nil || string(reply) != "got it: hello" {
					t.Fatalf("reply %q, %v", reply, err)
				}
				tt.leave(t, ch)
				sess := b.session(t)
				if sess.Ending != tt.ending {
					t.Errorf("Ending = %q (error %v), want %q", sess.Ending, sess.Err, tt.ending)
				}
				switch {
				case tt.want == nil && sess.Err != nil:
					t.Errorf("Err = %v, want nil", sess.Err)
				case tt.want != nil && !errors.Is(sess.Err, tt.want):
					t.Errorf("Err = %v, want %q", sess.Err, tt.want)
				}
				var ce *wire.CloseError
				if tt.wantCode != 0 && (!errors.As(sess.Err, &ce) || ce.Code != tt.wantCode) {
					t.Errorf("Err = %v, want the client's close %d", sess.Err, tt.wantCode)
				}
				if len(sess.Received) != 1 || string(sess.Received[0]) != "hello" {
					t.Errorf("server received %q, want only \"hello\"", sess.Received)
				}
			})
		}
	}
	t.Run("unauth-ecdh/client leaves at once after its end record", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, setupFor(t, "unauth-ecdh"), nil)
		ctx := testContext(t)
		s, err := b.alice().Dial(ctx, b.url())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Leave(ctx, "interrupted"); err != nil {
			t.Errorf("Leave: %v", err)
		}
		if sess := b.session(t); sess.Ending != victim.EndClean || sess.Err != nil {
			t.Errorf("session ended %q with %v, want clean: the end record came before the 1001", sess.Ending, sess.Err)
		}
	})
}

// TestServerShutdown: Server.Close ends each open session in order, with
// the server's end record and then 1001, so the client knows nothing was
// cut.
func TestServerShutdown(t *testing.T) {
	t.Parallel()
	for _, su := range setups() {
		t.Run(su.scheme.Name+"/open sessions get the end record, then 1001", func(t *testing.T) {
			t.Parallel()
			b := newBob(t, su, nil)
			ctx := testContext(t)
			const clients = 2
			var (
				sessions []*victim.Session
				taps     [clients]closes
			)
			for i := range clients {
				alice := b.alice()
				alice.CloseTap = taps[i].tap
				s, err := alice.Dial(ctx, b.url())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(s.Drop)
				if err := s.Send(ctx, []byte("ping")); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Receive(ctx); err != nil {
					t.Fatal(err)
				}
				sessions = append(sessions, s)
			}
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				b.Server.Close()
			}()
			var wg sync.WaitGroup
			for i, s := range sessions {
				wg.Go(func() {
					if _, err := s.Receive(ctx); err != io.EOF {
						t.Errorf("client %d: Receive = %v, want io.EOF: the server's end record", i, err)
					}
					if _, err := s.Receive(ctx); err != io.EOF {
						t.Errorf("client %d: Receive after the end = %v, want io.EOF again", i, err)
					}
				})
			}
			wg.Wait()
			<-closed
			for i := range taps {
				if f, ok := taps[i].received(); !ok || f.code != websocket.StatusGoingAway || f.reason != "server shutting down" {
					t.Errorf("client %d got close %+v (%v), want 1001 \"server shutting down\"", i, f, ok)
				}
			}
			got := b.Sessions()
			if len(got) != clients {
				t.Fatalf("Sessions() = %d after Close, want %d", len(got), clients)
			}
			for _, sess := range got {
				if sess.Ending != victim.EndShutdown || sess.Err != nil {
					t.Errorf("session %d ended %q with %v, want %q and no error", sess.Conn, sess.Ending, sess.Err, victim.EndShutdown)
				}
			}
		})
	}
	t.Run("unauth-ecdh/Chat reports that the server ended before answering", func(t *testing.T) {
		t.Parallel()
		var once sync.Once
		release, replying := make(chan struct{}), make(chan struct{})
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		reply := func(msg []byte) []byte {
			if string(msg) == "wait for me" {
				close(replying)
				<-release
			}
			return victim.DefaultReply(msg)
		}
		b := newBob(t, setupFor(t, "unauth-ecdh"), &victim.ServerOptions{Reply: reply})
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			<-replying
			b.Server.Close()
		}()
		msgs := [][]byte{[]byte("hi"), []byte("wait for me"), []byte("never sent")}
		res := b.alice().Chat(testContext(t), b.url(), msgs)
		once.Do(func() { close(release) })
		<-closed
		if !errors.Is(res.Err, victim.ErrServerEnded) {
			t.Errorf("Chat error %v, want ErrServerEnded", res.Err)
		}
		if len(res.Sent) != 2 || len(res.Replies) != 1 || string(res.Replies[0]) != "got it: hi" {
			t.Errorf("Chat sent %q and got %q; want the first two sent and one reply", res.Sent, res.Replies)
		}
		if sess := b.session(t); sess.Ending != victim.EndShutdown || sess.Err != nil {
			t.Errorf("session ended %q with %v, want %q", sess.Ending, sess.Err, victim.EndShutdown)
		}
	})
}

// rawBob is a server for su that runs the scheme's real server half,
// answers one message and then leaves as leave says, which an honest Bob
// never does. It returns Bob's URL; the test waits for the handler.
func rawBob(t *testing.T, su setup, leave func(ctx context.Context, ch *channel.Channel)) string {
	t.Helper()
	ctx := testContext(t)
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol(su.scheme.Name)}})
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer ws.CloseNow()
		conn := wire.NewConn(ws, su.scheme.Codec())
		secrets, err := su.scheme.Server(ctx, conn, su.server)
		if err != nil {
			t.Errorf("server half: %v", err)
			return
		}
		secrets.Suite = su.scheme.Suite
		ch, err := channel.New(conn, secrets, channel.Server, nil)
		if err != nil {
			t.Error(err)
			return
		}
		msg, _, err := ch.Receive(ctx)
		if err != nil {
			t.Errorf("server Receive: %v", err)
			return
		}
		if _, err := ch.Send(ctx, victim.DefaultReply(msg)); err != nil {
			t.Errorf("server Send: %v", err)
			return
		}
		leave(ctx, ch)
	}))
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return wsURL(srv) + victim.Path(su.scheme.Name)
}

// TestClientNoticesCutConversation:
//
// ATTACK SCENARIO: Mallory, holding no key, cuts Bob's last replies and
// forges "1001 server shutting down" to Alice, or drops her connection.
//
// THIS TEST VERIFIES: Alice's Receive returns io.EOF only after Bob's
// sealed end record; a 1001 without it, or a dropped connection, is
// channel.ErrTruncated.
func TestClientNoticesCutConversation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		leave func(ctx context.Context, ch *channel.Channel)
		want  error
	}{
		{"a forged 1001 with no end record", func(_ context.Context, ch *channel.Channel) {
			ch.Conn().WebSocket().Close(websocket.StatusGoingAway, "server shutting down")
		}, channel.ErrTruncated},
		{"a forged 1000 with no end record", func(_ context.Context, ch *channel.Channel) {
			ch.Conn().WebSocket().Close(websocket.StatusNormalClosure, "bye")
		}, channel.ErrTruncated},
		{"a dropped connection", func(_ context.Context, ch *channel.Channel) { ch.Conn().CloseNow() }, channel.ErrTruncated},
		{"the end record, then 1001", func(ctx context.Context, ch *channel.Channel) {
			ch.End(ctx)
			ch.Conn().WebSocket().Close(websocket.StatusGoingAway, "server shutting down")
		}, io.EOF},
	}
	for _, su := range setups() {
		for _, tt := range tests {
			t.Run(su.scheme.Name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				url := rawBob(t, su, tt.leave)
				alice := &victim.Client{Scheme: su.scheme, Config: su.client}
				ctx := testContext(t)
				s, err := alice.Dial(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Drop()
				if err := s.Send(ctx, []byte("hello")); err != nil {
					t.Fatal(err)
				}
				if r, err := s.Receive(ctx); err != nil || !bytes.Equal(r, []byte("got it: hello")) {
					t.Fatalf("reply %q, %v", r, err)
				}
				if _, err := s.Receive(ctx); !errors.Is(err, tt.want) {
					t.Errorf("Receive = %v, want %q", err, tt.want)
				}
			})
		}
	}
}
