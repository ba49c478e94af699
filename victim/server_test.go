package victim_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
	"go.uber.org/goleak"
)

// TestMain fails the package if a server, session or client goroutine
// outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// bob is a victim.Server for one scheme behind a loopback httptest server,
// with every ended session delivered on ended.
type bob struct {
	*victim.Server
	http  *httptest.Server
	ended chan *victim.ServerSession
	pin   string // pinned-ecdh only
}

func (b *bob) url(path string) string {
	return "ws" + strings.TrimPrefix(b.http.URL, "http") + path
}

// session returns the next session that ended.
func (b *bob) session(t *testing.T) *victim.ServerSession {
	t.Helper()
	select {
	case s := <-b.ended:
		return s
	case <-testContext(t).Done():
		t.Fatal("no session ended")
		return nil
	}
}

func newBob(t *testing.T, scheme string, opts *victim.ServerOptions) *bob {
	t.Helper()
	s, ok := kex.ByName(scheme)
	if !ok {
		t.Fatalf("no scheme %q", scheme)
	}
	if opts == nil {
		opts = &victim.ServerOptions{}
	}
	b := &bob{ended: make(chan *victim.ServerSession, 16)}
	if scheme == kex.NamePinnedECDH {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			t.Fatal(err)
		}
		opts.Config = &kex.ServerConfig{Identity: id}
		b.pin = id.Pin()
	}
	opts.OnSessionEnd = func(s *victim.ServerSession) { b.ended <- s }
	b.Server = victim.NewServer(s, opts)
	b.http = httptest.NewServer(b.Server)
	t.Cleanup(func() {
		b.Server.Close()
		b.http.Close()
	})
	return b
}

func (b *bob) client(t *testing.T, scheme string) *victim.Client {
	s, _ := kex.ByName(scheme)
	return &victim.Client{Scheme: s, Config: &kex.ClientConfig{Pin: b.pin}}
}

func TestChatEachScheme(t *testing.T) {
	t.Parallel()
	msgs := [][]byte{[]byte("hi bob"), []byte(""), []byte("ünïcödé ✓"), bytes.Repeat([]byte("z"), channel.MaxPlaintext-len("got it: "))}
	for _, scheme := range kex.Names() {
		t.Run(scheme+"/chat round trip", func(t *testing.T) {
			t.Parallel()
			b := newBob(t, scheme, nil)
			res := b.client(t, scheme).Chat(testContext(t), b.url(victim.Path(scheme)), msgs)
			if res.Err != nil {
				t.Fatalf("Chat: %v", res.Err)
			}
			if len(res.Sent) != len(msgs) || len(res.Replies) != len(msgs) {
				t.Fatalf("sent %d, got %d replies, want %d each", len(res.Sent), len(res.Replies), len(msgs))
			}
			for i, m := range msgs {
				if want := victim.DefaultReply(m); !bytes.Equal(res.Replies[i], want) {
					t.Errorf("reply %d = %.40q, want %.40q", i, res.Replies[i], want)
				}
			}
			sess := b.session(t)
			if sess.Err != nil {
				t.Errorf("server session error after a normal close: %v", sess.Err)
			}
			if len(sess.Received) != len(msgs) {
				t.Fatalf("server received %d messages, want %d", len(sess.Received), len(msgs))
			}
			for i, m := range msgs {
				if !bytes.Equal(sess.Received[i], m) || !bytes.Equal(sess.Replies[i], victim.DefaultReply(m)) {
					t.Errorf("server message %d: received %.40q, replied %.40q", i, sess.Received[i], sess.Replies[i])
				}
			}
			if got := len(b.Sessions()); got != 1 {
				t.Errorf("Sessions() has %d, want 1", got)
			}
		})
	}
	t.Run("root path serves the scheme too", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, "unauth-ecdh", nil)
		res := b.client(t, "unauth-ecdh").Chat(testContext(t), b.url("/"), [][]byte{[]byte("x")})
		if res.Err != nil || string(res.Replies[0]) != "got it: x" {
			t.Errorf("Chat at / = %q, %v", res.Replies, res.Err)
		}
	})
	t.Run("custom reply", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, "unauth-ecdh", &victim.ServerOptions{Reply: bytes.ToUpper})
		res := b.client(t, "unauth-ecdh").Chat(testContext(t), b.url("/unauth-ecdh"), [][]byte{[]byte("shout")})
		if res.Err != nil || string(res.Replies[0]) != "SHOUT" {
			t.Errorf("Chat = %q, %v", res.Replies, res.Err)
		}
	})
	t.Run("plaintext larger than one record is refused before sending", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, "unauth-ecdh", nil)
		res := b.client(t, "unauth-ecdh").Chat(testContext(t), b.url("/unauth-ecdh"), [][]byte{make([]byte, channel.MaxPlaintext+1)})
		if !errors.Is(res.Err, channel.ErrTooLarge) || len(res.Sent) != 0 {
			t.Errorf("Chat = sent %d, %v; want ErrTooLarge and nothing sent", len(res.Sent), res.Err)
		}
		if sess := b.session(t); len(sess.Received) != 0 {
			t.Errorf("server received %d messages", len(sess.Received))
		}
	})
}

// TestSchemeMismatch: a client for another scheme, or at another scheme's
// path, gets HTTP 400 naming the server's scheme, and Dial says so.
func TestSchemeMismatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		clientScheme string
		path         string
	}{
		{"unauth-ecdh client at the pinned-ecdh path", "unauth-ecdh", "/pinned-ecdh"},
		{"unauth-ecdh client at its own path", "unauth-ecdh", "/unauth-ecdh"},
		{"plaintext-rsa client at the root", "plaintext-rsa", "/"},
		{"pinned-ecdh client at the unauth-ecdh path", "pinned-ecdh", "/unauth-ecdh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBob(t, "pinned-ecdh", nil)
			s, err := b.client(t, tt.clientScheme).Dial(testContext(t), b.url(tt.path))
			var me *victim.SchemeMismatchError
			if !errors.As(err, &me) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Dial = %v, want *SchemeMismatchError", err)
			}
			if me.Client != tt.clientScheme || me.Server != "pinned-ecdh" {
				t.Errorf("SchemeMismatchError{Client: %q, Server: %q}", me.Client, me.Server)
			}
			if !strings.Contains(err.Error(), tt.clientScheme) || !strings.Contains(err.Error(), "pinned-ecdh") {
				t.Errorf("error %q does not name both schemes", err)
			}
		})
	}
	t.Run("raw request gets 400 and the Mitmlab-Scheme header", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, "pinned-ecdh", nil)
		for _, protos := range [][]string{nil, {"mitmlab.v1.unauth-ecdh"}, {"chat", "mitmlab.v1.pinned"}} {
			ws, resp, err := websocket.Dial(testContext(t), b.url("/pinned-ecdh"), &websocket.DialOptions{Subprotocols: protos})
			if err == nil {
				ws.CloseNow()
				t.Fatalf("subprotocols %q: upgrade accepted", protos)
			}
			if resp == nil || resp.StatusCode != http.StatusBadRequest || resp.Header.Get(victim.SchemeHeader) != "pinned-ecdh" {
				t.Errorf("subprotocols %q: response %v", protos, resp)
			}
		}
	})
}

// TestOriginCheck: the server never switches the Origin check off; a
// browser page from a foreign origin is refused with 403.
func TestOriginCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		origin   string
		allowed  bool
	}{
		{"foreign origin is refused", nil, "https://evil.example", false},
		{"foreign origin is refused even with a similar name", []string{"lab.example"}, "https://lab.example.evil.example", false},
		{"listed origin is allowed", []string{"lab.example"}, "https://lab.example", true},
		{"no Origin header (not a browser) is allowed", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBob(t, "unauth-ecdh", &victim.ServerOptions{OriginPatterns: tt.patterns})
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ws, resp, err := websocket.Dial(testContext(t), b.url("/unauth-ecdh"),
				&websocket.DialOptions{Subprotocols: []string{"mitmlab.v1.unauth-ecdh"}, HTTPHeader: h})
			if !tt.allowed {
				if err == nil {
					ws.CloseNow()
					t.Fatal("upgrade accepted")
				}
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Errorf("response %v, want 403", resp)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			ws.Close(websocket.StatusNormalClosure, "")
			b.session(t)
		})
	}
	t.Run("same-origin page is allowed", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, "unauth-ecdh", nil)
		h := http.Header{"Origin": {b.http.URL}}
		ws, _, err := websocket.Dial(testContext(t), b.url("/unauth-ecdh"),
			&websocket.DialOptions{Subprotocols: []string{"mitmlab.v1.unauth-ecdh"}, HTTPHeader: h})
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		ws.Close(websocket.StatusNormalClosure, "")
		b.session(t)
	})
}

// rawDial opens a WebSocket to b with the right subprotocol, so that the
// test can send whatever it likes.
func rawDial(t *testing.T, b *bob, scheme string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(testContext(t), b.url(victim.Path(scheme)),
		&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol(scheme)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// readClose reads until the server's close frame and returns its code.
func readClose(t *testing.T, ws *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx := testContext(t)
	for {
		_, _, err := ws.Read(ctx)
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// TestServerRefusesBadInput: a raw client sends each kind of bad first
// message to each scheme's server.
func TestServerRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  websocket.MessageType
		msg  []byte
		code websocket.StatusCode
		want error
	}{
		{"malformed JSON", websocket.MessageText, []byte(`{"type":"client_hello",`), websocket.StatusProtocolError, wire.ErrMalformed},
		{"unknown type", websocket.MessageText, []byte(`{"type":"hello_bob"}`), websocket.StatusProtocolError, wire.ErrUnknownType},
		{"binary message", websocket.MessageBinary, []byte(`{"type":"client_hello"}`), websocket.StatusProtocolError, wire.ErrBinaryMessage},
		{"70 KiB message", websocket.MessageText, bytes.Repeat([]byte(" "), 70<<10), websocket.StatusMessageTooBig, wire.ErrMessageTooLarge},
		{"data before any handshake", websocket.MessageText, []byte(`{"type":"data","seq":0,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}`), websocket.StatusProtocolError, wire.ErrUnexpectedMessage},
	}
	for _, scheme := range kex.Names() {
		for _, tt := range tests {
			t.Run(scheme+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				b := newBob(t, scheme, nil)
				ws := rawDial(t, b, scheme)
				ctx := testContext(t)
				wrote := make(chan error, 1)
				go func() { wrote <- ws.Write(ctx, tt.typ, tt.msg) }()
				code := readClose(t, ws)
				<-wrote // the server may stop reading a 70 KiB message midway
				sess := b.session(t)
				if code != tt.code {
					t.Errorf("close code %d, want %d", code, tt.code)
				}
				if !errors.Is(sess.Err, tt.want) {
					t.Errorf("session error %v, want %q", sess.Err, tt.want)
				}
				if len(sess.Received) != 0 {
					t.Errorf("server accepted %d messages", len(sess.Received))
				}
			})
		}
	}
}

// handshakeRaw runs the scheme's real client half over a raw connection and
// returns the conn, a Sealer for the client's direction and the secrets,
// so the test can write frames an honest client never would.
func handshakeRaw(t *testing.T, b *bob, scheme string) (*wire.Conn, *channel.Sealer, *channel.Secrets) {
	t.Helper()
	s, _ := kex.ByName(scheme)
	conn := wire.NewConn(rawDial(t, b, scheme), nil)
	secrets, err := s.Client(testContext(t), conn, &kex.ClientConfig{Pin: b.pin})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := channel.NewSealer(secrets.ClientToServer, wire.ClientToServer)
	if err != nil {
		t.Fatal(err)
	}
	return conn, sealer, secrets
}

// TestServerRefusesBadRecords: after a good handshake, each record-layer
// attack makes the server close with 1008 and report the matching error,
// having accepted only the genuine frames before it.
func TestServerRefusesBadRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		attack func(t *testing.T, s *channel.Sealer, first []byte) []byte // returns the frame to send after the first
		want   error
	}{
		{"replayed data frame", func(t *testing.T, s *channel.Sealer, first []byte) []byte {
			return first
		}, channel.ErrReplay},
		{"frame from the future", func(t *testing.T, s *channel.Sealer, first []byte) []byte {
			s.Seal([]byte("dropped by mallory"))
			return encode(t, seal(t, s, "arrives early"))
		}, channel.ErrOutOfOrder},
		{"one flipped bit", func(t *testing.T, s *channel.Sealer, first []byte) []byte {
			d := seal(t, s, "pay bob 10 EUR")
			d.CT[0] ^= 1
			return encode(t, d)
		}, channel.ErrDecrypt},
	}
	for _, scheme := range kex.Names() {
		for _, tt := range tests {
			t.Run(scheme+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				b := newBob(t, scheme, nil)
				conn, sealer, secrets := handshakeRaw(t, b, scheme)
				ctx := testContext(t)
				first := encode(t, seal(t, sealer, "hello"))
				if err := conn.Write(ctx, first); err != nil {
					t.Fatal(err)
				}
				// The server answers the genuine frame.
				opener, err := channel.NewOpener(secrets.ServerToClient, wire.ServerToClient)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := conn.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				d, err := wire.DecodeAs[*wire.Data](raw)
				if err != nil {
					t.Fatal(err)
				}
				if reply, err := opener.Open(d); err != nil || string(reply) != "got it: hello" {
					t.Fatalf("reply = %q, %v", reply, err)
				}
				if err := conn.Write(ctx, tt.attack(t, sealer, first)); err != nil {
					t.Fatal(err)
				}
				code := readClose(t, conn.WebSocket())
				sess := b.session(t)
				if code != websocket.StatusPolicyViolation {
					t.Errorf("close code %d, want 1008", code)
				}
				if !errors.Is(sess.Err, tt.want) {
					t.Errorf("session error %v, want %q", sess.Err, tt.want)
				}
				if len(sess.Received) != 1 || string(sess.Received[0]) != "hello" {
					t.Errorf("server accepted %q, want only the genuine frame", sess.Received)
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

// TestServerCloseGoingAway: Server.Close ends every open session with 1001
// and waits for it.
func TestServerCloseGoingAway(t *testing.T) {
	t.Parallel()
	for _, scheme := range kex.Names() {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			b := newBob(t, scheme, nil)
			ctx := testContext(t)
			const clients = 3
			var sessions []*victim.Session
			for range clients {
				s, err := b.client(t, scheme).Dial(ctx, b.url(victim.Path(scheme)))
				if err != nil {
					t.Fatal(err)
				}
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
			codes := make([]websocket.StatusCode, clients)
			for i, s := range sessions {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.Receive(ctx)
					var ce *wire.CloseError
					if errors.As(err, &ce) {
						codes[i] = ce.Code
					} else {
						codes[i] = -1
						t.Logf("client %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			<-closed
			for i, c := range codes {
				if c != websocket.StatusGoingAway {
					t.Errorf("client %d got close %d, want 1001", i, c)
				}
			}
			if got := len(b.Sessions()); got != clients {
				t.Errorf("Sessions() = %d after Close, want %d", got, clients)
			}
		})
	}
}

// TestDialServerWithoutSubprotocol: a WebSocket server that accepts but
// names no lab subprotocol is not a lab server; Dial says so and closes
// with 1002 before any handshake message.
func TestDialServerWithoutSubprotocol(t *testing.T) {
	t.Parallel()
	got := make(chan websocket.StatusCode, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			got <- -2
			return
		}
		defer ws.CloseNow()
		_, msg, err := ws.Read(r.Context())
		if err == nil {
			t.Errorf("client sent %q to a server it should have refused", msg)
		}
		got <- websocket.CloseStatus(err)
	}))
	defer srv.Close()
	c := &victim.Client{Scheme: kex.UnauthECDH{}}
	s, err := c.Dial(testContext(t), "ws"+strings.TrimPrefix(srv.URL, "http")+"/unauth-ecdh")
	var me *victim.SchemeMismatchError
	if !errors.As(err, &me) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Dial = %v, want *SchemeMismatchError", err)
	}
	if me.Client != "unauth-ecdh" || me.Server != "" || !strings.Contains(me.Detail, `""`) {
		t.Errorf("SchemeMismatchError = %+v", me)
	}
	if code := <-got; code != websocket.StatusProtocolError {
		t.Errorf("server got close %d, want 1002", code)
	}
}
