package wire_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
// TCP. Both are dropped when the test ends, and the server is shut down.
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
// is a guard against a hang, not a timing assertion.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// readClose reads from ws until the peer's close frame and returns it.
// coder/websocket answers the close frame from inside Read.
func readClose(t *testing.T, ws *websocket.Conn) websocket.CloseError {
	t.Helper()
	ce, err := readCloseFrame(testContext(t), ws)
	if err != nil {
		t.Fatal(err)
	}
	return ce
}

// readCloseFrame is readClose for a goroutine other than the test's.
func readCloseFrame(ctx context.Context, ws *websocket.Conn) (websocket.CloseError, error) {
	for {
		_, _, err := ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			return ce, fmt.Errorf("read ended without a close frame: %w", err)
		}
		return ce, nil
	}
}

// closeRecord is one call of a CloseTap.
type closeRecord struct {
	sent   bool
	code   websocket.StatusCode
	reason string
}

// recorder keeps what a Conn's taps saw.
type recorder struct {
	mu     sync.Mutex
	msgs   []string
	closes []closeRecord
}

func (r *recorder) tap(sent bool, msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	dir := "recv "
	if sent {
		dir = "sent "
	}
	r.msgs = append(r.msgs, dir+string(msg))
}

func (r *recorder) onClose(sent bool, code websocket.StatusCode, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closes = append(r.closes, closeRecord{sent, code, reason})
}

func (r *recorder) seen() ([]string, []closeRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...), append([]closeRecord(nil), r.closes...)
}

func TestConnReadWriteAndClose(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	var crec, srec recorder
	cc, sc := wire.NewConn(c, testCodec), wire.NewConn(s, testCodec)
	cc.SetTap(crec.tap)
	cc.OnClose(crec.onClose)
	sc.OnClose(srec.onClose)
	if cc.Codec() != testCodec || cc.WebSocket() != c {
		t.Errorf("Codec or WebSocket do not return what NewConn was given")
	}
	ctx := testContext(t)

	sent, err := cc.WriteMessage(ctx, &hello{Nonce: fill(32, 7), KeyShare: fill(32, 8)})
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
	if _, err := wire.DecodeAs[*hello](sc.Codec(), got); err != nil {
		t.Errorf("the bytes read do not decode: %v", err)
	}
	reply := []byte(` {"type":"whatever the peer sends"} `) // Read does not decode
	if err := sc.Write(ctx, reply); err != nil {
		t.Fatal(err)
	}
	if got, err := cc.Read(ctx); err != nil || !bytes.Equal(got, reply) {
		t.Errorf("Read = %s, %v; want %s", got, err, reply)
	}
	msgs, _ := crec.seen()
	if want := []string{"sent " + string(sent), "recv " + string(reply)}; strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("tap saw %q, want %q", msgs, want)
	}

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
	if err := cc.Close(websocket.StatusGoingAway, "again"); err != nil {
		t.Errorf("a second Close: %v, want nil", err)
	}
	if _, closes := crec.seen(); len(closes) != 1 || closes[0] != (closeRecord{true, websocket.StatusNormalClosure, "bye"}) {
		t.Errorf("the closer's close tap saw %+v, want one sent 1000 bye", closes)
	}
	if _, closes := srec.seen(); len(closes) != 1 || closes[0] != (closeRecord{false, websocket.StatusNormalClosure, "bye"}) {
		t.Errorf("the peer's close tap saw %+v, want one received 1000 bye", closes)
	}
}

func TestConnWriteRefusesOversize(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	var rec recorder
	cc := wire.NewConn(c, testCodec)
	cc.SetTap(rec.tap)
	ctx := testContext(t)
	err := cc.Write(ctx, bytes.Repeat([]byte("x"), wire.MaxMessageSize+1))
	if !errors.Is(err, wire.ErrMessageTooLarge) {
		t.Errorf("Write of 64 KiB + 1 = %v, want ErrMessageTooLarge", err)
	}
	if msgs, _ := rec.seen(); len(msgs) != 0 {
		t.Errorf("the tap saw a message that was never sent")
	}
	if _, err := cc.WriteMessage(ctx, &hello{}); !errors.Is(err, wire.ErrMissingField) {
		t.Errorf("WriteMessage of an invalid hello = %v, want ErrMissingField", err)
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
		{"256 KiB is refused with 1009", 256 << 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			sc := wire.NewConn(s, testCodec)
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
			if !errors.Is(err, wire.ErrMessageTooLarge) || got != nil {
				t.Fatalf("Read = %d bytes, %v; want ErrMessageTooLarge", len(got), err)
			}
			if code := wire.CloseCode(err); code != websocket.StatusMessageTooBig {
				t.Errorf("CloseCode = %d, want 1009", code)
			}
			failed := make(chan struct{})
			go func() {
				defer close(failed)
				sc.Fail(err)
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

// TestConnRefusesWhatIsNotText: the lab speaks UTF-8 text messages only. A
// refused message reaches neither the tap nor the caller, and Fail closes
// with the code the error calls for.
func TestConnRefusesWhatIsNotText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  websocket.MessageType
		msg  []byte
		want error
		code websocket.StatusCode
	}{
		{"a binary message is a protocol error", websocket.MessageBinary, []byte(`{"type":"data"}`), wire.ErrBinaryMessage, websocket.StatusProtocolError},
		{"an empty binary message too", websocket.MessageBinary, nil, wire.ErrBinaryMessage, websocket.StatusProtocolError},
		{"invalid UTF-8 in a text message is 1007", websocket.MessageText, []byte("{\"type\":\"d\xffta\"}"), wire.ErrInvalidUTF8, websocket.StatusInvalidFramePayloadData},
		{"a UTF-8 surrogate in a text message is 1007", websocket.MessageText, []byte("{\"type\":\"\xed\xa0\x80\"}"), wire.ErrInvalidUTF8, websocket.StatusInvalidFramePayloadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			var rec recorder
			sc := wire.NewConn(s, testCodec)
			sc.SetTap(rec.tap)
			ctx := testContext(t)
			if err := c.Write(ctx, tt.typ, tt.msg); err != nil {
				t.Fatal(err)
			}
			got, err := sc.Read(ctx)
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("Read = %q, %v; want %q", got, err, tt.want)
			}
			if msgs, _ := rec.seen(); len(msgs) != 0 {
				t.Errorf("the tap saw a refused message: %q", msgs)
			}
			failed := make(chan error, 1)
			go func() { failed <- sc.Fail(err) }() // waits for the client's answering close frame
			ce := readClose(t, c)
			if got := <-failed; got != err {
				t.Errorf("Fail returned %v, want its argument", got)
			}
			if ce.Code != tt.code {
				t.Errorf("client got close %d %q, want %d", ce.Code, ce.Reason, tt.code)
			}
		})
	}
}

// TestConnFail checks the close frame the peer receives for each kind of
// error, that its reason fits a close frame, and that the Conn then
// returns the error from Read and Write.
func TestConnFail(t *testing.T) {
	t.Parallel()
	long := errors.New(strings.Repeat("très long message d'erreur ", 20))
	tests := []struct {
		name       string
		err        error
		code       websocket.StatusCode
		reasonHead string
	}{
		{"a failed check closes 1008 with the check's text", wire.Violation("key does not match pin"),
			websocket.StatusPolicyViolation, "key does not match pin"},
		{"a decoding error closes 1002", wire.ErrUnknownField, websocket.StatusProtocolError, "unknown field"},
		{"a coded error closes with its code", &wire.CodedError{Msg: "record too big", Code: websocket.StatusMessageTooBig},
			websocket.StatusMessageTooBig, "record too big"},
		{"an idle timeout closes 1001", wire.ErrIdleTimeout, websocket.StatusGoingAway, "idle timeout"},
		{"another error closes 1011", errors.New("out of entropy"), websocket.StatusInternalError, "out of entropy"},
		{"a long non-ASCII error is cut to a valid reason", long, websocket.StatusInternalError, "très long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			var rec recorder
			sc := wire.NewConn(s, testCodec)
			sc.OnClose(rec.onClose)
			done := make(chan error, 1)
			go func() { done <- sc.Fail(tt.err) }()
			ce := readClose(t, c)
			if got := <-done; got != tt.err {
				t.Errorf("Fail returned %v, want its argument", got)
			}
			if ce.Code != tt.code {
				t.Errorf("close code = %d, want %d", ce.Code, tt.code)
			}
			if !strings.HasPrefix(ce.Reason, tt.reasonHead) || len(ce.Reason) > 123 || !utf8.ValidString(ce.Reason) {
				t.Errorf("close reason = %q (%d bytes), want a valid reason starting %q", ce.Reason, len(ce.Reason), tt.reasonHead)
			}
			if _, closes := rec.seen(); len(closes) != 1 || closes[0] != (closeRecord{true, tt.code, ce.Reason}) {
				t.Errorf("close tap saw %+v, want the frame sent", closes)
			}
			ctx := testContext(t)
			if _, err := sc.Read(ctx); err != tt.err {
				t.Errorf("Read after Fail = %v, want the failure", err)
			}
			if err := sc.Write(ctx, []byte("x")); err != tt.err {
				t.Errorf("Write after Fail = %v, want the failure", err)
			}
			if err := sc.Fail(errors.New("a second failure")); err == nil {
				t.Errorf("a second Fail returned nil")
			}
			if _, err := sc.Read(ctx); err != tt.err {
				t.Errorf("a second Fail replaced the first failure: Read = %v", err)
			}
		})
	}
}

// TestConnFailAfterPeerLeft: when the peer is gone there is nobody to send
// a close frame to, so Fail drops the connection at once.
func TestConnFailAfterPeerLeft(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	cc, sc := wire.NewConn(c, testCodec), wire.NewConn(s, testCodec)
	var rec recorder
	sc.OnClose(rec.onClose)
	ctx := testContext(t)
	cc.CloseNow()
	_, err := sc.Read(ctx)
	if !errors.Is(err, wire.ErrPeerClosed) {
		t.Fatalf("Read after the peer dropped = %v, want ErrPeerClosed", err)
	}
	var ce *wire.CloseError
	if errors.As(err, &ce) {
		t.Errorf("a dropped connection reads as a close frame: %v", ce)
	}
	if got := sc.Fail(err); got != err {
		t.Errorf("Fail returned %v", got)
	}
	if _, closes := rec.seen(); len(closes) != 0 {
		t.Errorf("close tap saw %+v for a connection with no close frames", closes)
	}
	if err := sc.Write(ctx, []byte("x")); err == nil {
		t.Errorf("Write after Fail succeeded")
	}
}

// TestConnPeerRefusal: a browser peer refuses with an application-range
// code, and Read reports it as the peer's CloseError, which the lab reads
// as the RFC code.
func TestConnPeerRefusal(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	sc := wire.NewConn(s, testCodec)
	ctx := testContext(t)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(wire.AppCode(websocket.StatusPolicyViolation), "pin mismatch") }()
	_, err := sc.Read(ctx)
	<-closed
	var ce *wire.CloseError
	if !errors.As(err, &ce) || ce.Code != 4008 || ce.Reason != "pin mismatch" {
		t.Fatalf("Read = %v, want the peer's 4008 pin mismatch", err)
	}
	if wire.Canonical(ce.Code) != websocket.StatusPolicyViolation || !wire.Refusal(ce.Code) || ce.Normal() {
		t.Errorf("4008 does not read as a refusal with 1008")
	}
}

// TestConnReadOwnContext: a read that our own context ends is not the
// peer closing.
func TestConnReadOwnContext(t *testing.T) {
	t.Parallel()
	_, s := wsPair(t)
	sc := wire.NewConn(s, testCodec)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := sc.Read(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, wire.ErrPeerClosed) {
		t.Errorf("Read with a cancelled context = %v, want context.Canceled and not ErrPeerClosed", err)
	}
}

// TestWatchdog: a watchdog that fires fails the connection. The blocked
// Read returns the timeout error, and the peer sees the timeout's close
// code with a reason that says how long it waited. The durations are short
// so that the test never waits out a real timeout.
func TestWatchdog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		code   websocket.StatusCode
		reason string
	}{
		{"handshake timeout closes 1008", wire.ErrHandshakeTimeout, websocket.StatusPolicyViolation, "handshake timed out after 50ms"},
		{"idle timeout closes 1001", wire.ErrIdleTimeout, websocket.StatusGoingAway, "idle timeout after 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			sc := wire.NewConn(s, testCodec)
			ctx := testContext(t)
			type closeFrame struct {
				ce  websocket.CloseError
				err error
			}
			peer := make(chan closeFrame, 1)
			go func() {
				ce, err := readCloseFrame(ctx, c)
				peer <- closeFrame{ce, err}
			}()
			w := sc.Watch(50*time.Millisecond, tt.err)
			_, err := sc.Read(ctx) // blocks: the peer sends nothing
			if !errors.Is(err, tt.err) {
				t.Fatalf("blocked Read = %v, want an error matching %v", err, tt.err)
			}
			if err.Error() != tt.reason {
				t.Errorf("error text %q, want %q", err, tt.reason)
			}
			if got := wire.CloseCode(err); got != tt.code {
				t.Errorf("CloseCode = %d, want %d", got, tt.code)
			}
			got := <-peer
			if got.err != nil {
				t.Fatal(got.err)
			}
			if ce := got.ce; ce.Code != tt.code || ce.Reason != tt.reason {
				t.Errorf("peer saw close %d %q, want %d %q", ce.Code, ce.Reason, tt.code, tt.reason)
			}
			if w.Stop() {
				t.Errorf("Stop after the watchdog fired reported true")
			}
			if _, err := sc.Read(ctx); !errors.Is(err, tt.err) {
				t.Errorf("the next Read = %v, want the timeout again", err)
			}
		})
	}
}

// TestWatchdogStopped: a watchdog stopped in time leaves the connection
// alone. The duration is long so that it cannot fire during the test.
func TestWatchdogStopped(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	sc := wire.NewConn(s, testCodec)
	ctx := testContext(t)
	w := sc.Watch(time.Hour, wire.ErrHandshakeTimeout)
	w.Kick()
	if !w.Stop() {
		t.Errorf("Stop of a watchdog that had not fired reported false")
	}
	idle := sc.Watch(0, wire.ErrIdleTimeout) // zero watches nothing
	idle.Kick()
	if !idle.Stop() {
		t.Errorf("Stop of a zero watchdog reported false")
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if b, err := sc.Read(ctx); err != nil || string(b) != "still here" {
		t.Errorf("Read = %q, %v; want the message", b, err)
	}
}
