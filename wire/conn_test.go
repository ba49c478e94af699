package wire_test

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
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/wire"
)

// wsPair returns the two ends of a real WebSocket connection over loopback
// TCP. Both are closed when the test ends.
func wsPair(t *testing.T) (client, server *websocket.Conn) {
	t.Helper()
	accepted := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			close(accepted)
			return
		}
		accepted <- ws
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.Dial(testContext(t), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	s := <-accepted
	if s == nil {
		c.CloseNow()
		t.FailNow()
	}
	t.Cleanup(func() {
		c.CloseNow()
		s.CloseNow()
	})
	return c, s
}

// testContext bounds a test that would otherwise hang on a broken peer. It
// is a guard, not a timing assertion.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// readClose reads from ws until the peer's close frame and returns it.
func readClose(t *testing.T, ws *websocket.Conn) websocket.CloseError {
	t.Helper()
	ctx := testContext(t)
	for {
		_, _, err := ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("read ended without a close frame: %v", err)
		}
		return ce
	}
}

func TestConnReadWrite(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	var mu sync.Mutex
	var tapped []string
	tap := func(sent bool, msg []byte) {
		mu.Lock()
		defer mu.Unlock()
		dir := "recv "
		if sent {
			dir = "sent "
		}
		tapped = append(tapped, dir+string(msg))
	}
	cc, sc := wire.NewConn(c, tap), wire.NewConn(s, nil)
	ctx := testContext(t)

	sent, err := cc.WriteMessage(ctx, &wire.ClientFinished{MAC: fill(32, 7)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sc.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent) {
		t.Errorf("Read = %s, want the bytes WriteMessage sent, %s", got, sent)
	}
	reply := []byte(`{"type":"whatever the peer sends"}`) // Read does not decode
	if err := sc.Write(ctx, reply); err != nil {
		t.Fatal(err)
	}
	if got, err := cc.Read(ctx); err != nil || !bytes.Equal(got, reply) {
		t.Errorf("Read = %s, %v; want %s", got, err, reply)
	}
	mu.Lock()
	want := []string{"sent " + string(sent), "recv " + string(reply)}
	if strings.Join(tapped, "\n") != strings.Join(want, "\n") {
		t.Errorf("tap saw %q, want %q", tapped, want)
	}
	mu.Unlock()

	// Close waits for the peer's answering close frame, which the peer
	// sends from inside Read.
	read := make(chan error, 1)
	go func() {
		_, err := sc.Read(ctx)
		read <- err
	}()
	if err := cc.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("Close: %v", err)
	}
	err = <-read
	var ce *wire.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure || ce.Reason != "bye" {
		t.Fatalf("Read after the peer's close = %v, want *CloseError 1000 bye", err)
	}
	if !errors.Is(err, wire.ErrPeerClosed) {
		t.Errorf("CloseError does not match ErrPeerClosed")
	}
	if !strings.Contains(err.Error(), "1000") || !strings.Contains(err.Error(), "bye") {
		t.Errorf("CloseError text %q lacks the code or the reason", err)
	}
}

func TestConnWriteRefusesOversize(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	tapped := 0
	cc := wire.NewConn(c, func(bool, []byte) { tapped++ })
	ctx := testContext(t)
	err := cc.Write(ctx, bytes.Repeat([]byte("x"), wire.MaxMessageSize+1))
	if !errors.Is(err, wire.ErrMessageTooLarge) {
		t.Errorf("Write of 64 KiB + 1 = %v, want ErrMessageTooLarge", err)
	}
	if tapped != 0 {
		t.Errorf("the tap saw a message that was never sent")
	}
	// Nothing went out: the next message the peer reads is the small one.
	if err := cc.Write(ctx, []byte("small")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := s.Read(ctx); err != nil || string(b) != "small" {
		t.Errorf("peer read %q, %v; want small", b, err)
	}
}

// TestConnReadLimit sends raw WebSocket messages of each size around the
// limit: 64 KiB passes, anything more closes the connection with 1009.
func TestConnReadLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		size    int
		refused bool
	}{
		{"exactly 64 KiB passes", wire.MaxMessageSize, false},
		{"64 KiB + 1 is refused with 1009", wire.MaxMessageSize + 1, true},
		{"70 KiB is refused with 1009", 70 << 10, true},
		{"256 KiB is refused with 1009", 256 << 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			sc := wire.NewConn(s, nil)
			ctx := testContext(t)
			msg := bytes.Repeat([]byte("y"), tt.size)
			wrote := make(chan error, 1)
			go func() { wrote <- c.Write(ctx, websocket.MessageText, msg) }()
			got, err := sc.Read(ctx)
			if !tt.refused {
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("Read = %d bytes, %v; want the %d-byte message", len(got), err, tt.size)
				}
				if err := <-wrote; err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, wire.ErrMessageTooLarge) {
				t.Fatalf("Read = %d bytes, %v; want ErrMessageTooLarge", len(got), err)
			}
			if code := wire.CloseCode(err); code != websocket.StatusMessageTooBig {
				t.Errorf("CloseCode = %d, want 1009", code)
			}
			failed := make(chan struct{})
			go func() {
				defer close(failed)
				sc.Fail(err) // waits for the client's answering close frame
			}()
			<-wrote // may fail: the server stops reading mid-message
			ce := readClose(t, c)
			<-failed
			if ce.Code != websocket.StatusMessageTooBig {
				t.Errorf("client got close %d %q, want 1009", ce.Code, ce.Reason)
			}
		})
	}
}

func TestConnBinaryMessage(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	sc := wire.NewConn(s, nil)
	ctx := testContext(t)
	if err := c.Write(ctx, websocket.MessageBinary, []byte(`{"type":"data"}`)); err != nil {
		t.Fatal(err)
	}
	_, err := sc.Read(ctx)
	if !errors.Is(err, wire.ErrBinaryMessage) {
		t.Fatalf("Read = %v, want ErrBinaryMessage", err)
	}
	failed := make(chan error, 1)
	go func() { failed <- sc.Fail(err) }() // waits for the client's answering close frame
	ce := readClose(t, c)
	if got := <-failed; got != err {
		t.Errorf("Fail returned %v, want its argument", got)
	}
	if ce.Code != websocket.StatusProtocolError {
		t.Errorf("client got close %d %q, want 1002", ce.Code, ce.Reason)
	}
}

// TestConnFail checks the close frame the peer receives for each kind of
// error, and that its reason fits a close frame.
func TestConnFail(t *testing.T) {
	t.Parallel()
	long := errors.New(strings.Repeat("très long message d'erreur ", 20))
	tests := []struct {
		name       string
		err        error
		code       websocket.StatusCode
		reasonHead string
	}{
		{"security violation closes 1008 with the check's text", wire.Violation("key does not match pin"),
			websocket.StatusPolicyViolation, "key does not match pin"},
		{"decode error closes 1002", wire.ErrUnknownField, websocket.StatusProtocolError, "unknown field"},
		{"other error closes 1011", errors.New("out of entropy"), websocket.StatusInternalError, "out of entropy"},
		{"long non-ASCII error is cut to a valid reason", long, websocket.StatusInternalError, "très long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			sc := wire.NewConn(s, nil)
			done := make(chan struct{})
			go func() {
				defer close(done)
				sc.Fail(tt.err)
			}()
			ce := readClose(t, c)
			<-done
			if ce.Code != tt.code {
				t.Errorf("close code = %d, want %d", ce.Code, tt.code)
			}
			if !strings.HasPrefix(ce.Reason, tt.reasonHead) || len(ce.Reason) > 123 || !utf8.ValidString(ce.Reason) {
				t.Errorf("close reason = %q (%d bytes), want a valid reason starting %q", ce.Reason, len(ce.Reason), tt.reasonHead)
			}
		})
	}
}

// TestConnFailAfterPeerLeft: when the peer is gone there is nobody to send
// a close frame to, so Fail drops the connection at once.
func TestConnFailAfterPeerLeft(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	cc, sc := wire.NewConn(c, nil), wire.NewConn(s, nil)
	ctx := testContext(t)
	cc.CloseNow()
	_, err := sc.Read(ctx)
	if !errors.Is(err, wire.ErrPeerClosed) {
		t.Fatalf("Read after the peer dropped = %v, want ErrPeerClosed", err)
	}
	if got := sc.Fail(err); got != err {
		t.Errorf("Fail returned %v", got)
	}
	if err := sc.Write(ctx, []byte("x")); err == nil {
		t.Errorf("Write after Fail succeeded")
	}
}
