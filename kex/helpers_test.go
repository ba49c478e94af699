package kex_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// testContext bounds a test that would otherwise hang on a broken peer. It
// is a guard, not a timing assertion.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wsPair returns the two ends of a real WebSocket connection on loopback,
// negotiated as the lab does, with scheme's subprotocol. Both ends are
// dropped when the test ends.
func wsPair(t *testing.T) (client, server *websocket.Conn) {
	t.Helper()
	accepted := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"mitmlab.v1.test"}})
		if err != nil {
			close(accepted)
			return
		}
		accepted <- ws
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.Dial(testContext(t), "ws"+strings.TrimPrefix(srv.URL, "http"),
		&websocket.DialOptions{Subprotocols: []string{"mitmlab.v1.test"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	s := <-accepted
	if s == nil {
		c.CloseNow()
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		c.CloseNow()
		s.CloseNow()
	})
	return c, s
}

type result struct {
	secrets *channel.Secrets
	err     error
}

// run starts one handshake half and returns where its result arrives. The
// test must receive from the channel, so the goroutine always ends.
func run(half func() (*channel.Secrets, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		s, err := half()
		ch <- result{s, err}
	}()
	return ch
}

// closeCode reads from ws, the fake peer's raw end, until the real half's
// close frame arrives, and returns its code and reason. Messages before it
// are skipped. It returns -1 when the connection ended without a close
// frame.
func closeCode(t *testing.T, ws *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx := testContext(t)
	for {
		_, _, err := ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return websocket.CloseStatus(err), ce.Reason
		}
		return -1, err.Error()
	}
}

// wantHandshakeError checks that err is a *kex.HandshakeError for scheme,
// side and step, wrapping want.
func wantHandshakeError(t *testing.T, err error, want error, scheme string, side kex.Side, step string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("handshake error = %v, want %q", err, want)
	}
	var he *kex.HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("error %v is not a *kex.HandshakeError", err)
	}
	if he.Scheme != scheme || he.Side != side || (step != "" && he.Step != step) {
		t.Errorf("HandshakeError{%s %s %q}, want {%s %s %q}", he.Scheme, he.Side, he.Step, scheme, side, step)
	}
}

// wantPeerClosed checks that err is a handshake cut short by a close frame
// with code.
func wantPeerClosed(t *testing.T, err error, code websocket.StatusCode) {
	t.Helper()
	if !errors.Is(err, kex.ErrTruncatedHandshake) {
		t.Errorf("error = %v, want ErrTruncatedHandshake", err)
	}
	var ce *wire.CloseError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Errorf("error = %v, want the peer's close frame with %d", err, code)
	}
}

// newIdentity makes an identity or fails the test.
func newIdentity(t *testing.T, name string) *kex.Identity {
	t.Helper()
	id, err := kex.NewIdentity(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// nonce returns 32 random bytes.
func nonce() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// x25519 returns a fresh key pair for a fake peer.
func x25519(t *testing.T) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// readMsg reads one message of type T on a fake peer's conn.
func readMsg[T wire.Message](t *testing.T, ctx context.Context, c *wire.Conn) (T, []byte) {
	t.Helper()
	b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("fake peer read: %v", err)
	}
	m, err := wire.DecodeAs[T](b)
	if err != nil {
		t.Fatalf("fake peer decode %s: %v", b, err)
	}
	return m, b
}

// writeMsg writes one message from a fake peer and returns its bytes.
func writeMsg(t *testing.T, ctx context.Context, c *wire.Conn, m wire.Message) []byte {
	t.Helper()
	b, err := c.WriteMessage(ctx, m)
	if err != nil {
		t.Fatalf("fake peer write: %v", err)
	}
	return b
}
