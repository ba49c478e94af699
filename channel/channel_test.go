package channel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// finished is a handshake message, to show that the record layer refuses
// one once the handshake is over.
type finished struct{ MAC []byte }

func (*finished) MessageType() wire.Type { return "finished" }
func (m *finished) Fields() []wire.Field {
	return []wire.Field{wire.Bytes("mac", &m.MAC, 32, 32)}
}

// schemeCodec is the codec of a scheme whose handshake ends with finished.
var schemeCodec = wire.MustCodec(&wire.Data{}, &wire.End{}, &finished{})

// frames keeps the raw messages one side's wire.Conn sent.
type frames struct {
	mu   sync.Mutex
	sent [][]byte
}

func (f *frames) tap(sent bool, msg []byte) {
	if sent {
		f.mu.Lock()
		f.sent = append(f.sent, bytes.Clone(msg))
		f.mu.Unlock()
	}
}

func (f *frames) all() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// pair is a client and a server Channel over a real WebSocket connection
// on loopback, and the frames the client sent.
type pair struct {
	client, server *channel.Channel
	clientSent     *frames
	secrets        *channel.Secrets
}

func channelPair(t *testing.T, suite channel.Suite, opts *channel.Options) *pair {
	t.Helper()
	accepted := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			close(accepted)
			return
		}
		accepted <- ws
	}))
	t.Cleanup(srv.Close)
	cws, _, err := websocket.Dial(testContext(t), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sws := <-accepted
	if sws == nil {
		cws.CloseNow()
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		cws.CloseNow()
		sws.CloseNow()
	})
	codec := schemeCodec
	p := &pair{clientSent: &frames{}, secrets: testSecrets(suite)}
	cc := wire.NewConn(cws, codec)
	cc.SetTap(p.clientSent.tap)
	if p.client, err = channel.New(cc, p.secrets, channel.Client, opts); err != nil {
		t.Fatal(err)
	}
	if p.server, err = channel.New(wire.NewConn(sws, codec), p.secrets, channel.Server, opts); err != nil {
		t.Fatal(err)
	}
	return p
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// closeWhileReceiving closes the client's connection with code while the
// server receives: Close waits for the server's answering close frame,
// which the server's Receive sends. It returns what Receive returned.
func (p *pair) closeWhileReceiving(t *testing.T, code websocket.StatusCode, reason string) error {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- p.client.Conn().Close(code, reason) }()
	_, _, err := p.server.Receive(testContext(t))
	<-closed
	return err
}

// sealerAfter returns a Sealer for the client's direction that has sealed n
// records, as the client's own has after n records: it makes what only a
// holder of the keys can make, such as a genuine record after the end.
func (p *pair) sealerAfter(t *testing.T, n int) *channel.Sealer {
	t.Helper()
	s := newSealer(t, p.secrets, wire.ClientToServer)
	for range n {
		seal(t, s, "")
	}
	return s
}

func TestChannelConversation(t *testing.T) {
	t.Parallel()
	for _, suite := range allSuites {
		t.Run(fmt.Sprintf("suite %q", suite), func(t *testing.T) {
			t.Parallel()
			p := channelPair(t, suite, nil)
			ctx := testContext(t)
			msgs := []string{"hi bob", "", "second message"}
			for i, m := range msgs {
				seq, err := p.client.Send(ctx, []byte(m))
				if err != nil || seq != uint64(i) {
					t.Fatalf("Send = %d, %v; want seq %d", seq, err, i)
				}
				got, gotSeq, err := p.server.Receive(ctx)
				if err != nil || string(got) != m || gotSeq != uint64(i) {
					t.Fatalf("Receive = %q, %d, %v; want %q, %d", got, gotSeq, err, m, i)
				}
				if _, err := p.server.Send(ctx, []byte("re: "+m)); err != nil {
					t.Fatal(err)
				}
				if got, _, err := p.client.Receive(ctx); err != nil || string(got) != "re: "+m {
					t.Fatalf("client Receive = %q, %v", got, err)
				}
			}
			if p.client.Ended() || p.server.PeerEnded() {
				t.Fatalf("ended before End")
			}
			if err := p.client.End(ctx); err != nil {
				t.Fatal(err)
			}
			if !p.client.Ended() {
				t.Errorf("Ended is false after End")
			}
			pt, seq, err := p.server.Receive(ctx)
			if err != io.EOF || pt != nil || seq != uint64(len(msgs)) {
				t.Fatalf("Receive of the end record = %q, %d, %v; want nil, %d, io.EOF", pt, seq, err, len(msgs))
			}
			if !p.server.PeerEnded() {
				t.Errorf("PeerEnded is false after the end record")
			}
			// The server may still talk after the client's end: each
			// direction ends on its own.
			if _, err := p.server.Send(ctx, []byte("last word")); err != nil {
				t.Fatal(err)
			}
			if got, _, err := p.client.Receive(ctx); err != nil || string(got) != "last word" {
				t.Fatalf("client Receive after its own end = %q, %v", got, err)
			}
			if err := p.closeWhileReceiving(t, websocket.StatusNormalClosure, "bye"); err != io.EOF {
				t.Errorf("Receive of the close after the end record = %v, want io.EOF", err)
			}
			var types []wire.Type
			for _, f := range p.clientSent.all() {
				types = append(types, wire.PeekType(f))
				if !suite.Keyless() && (bytes.Contains(f, []byte("bob")) || bytes.Contains(f, []byte("message"))) {
					t.Errorf("plaintext on the wire: %s", f)
				}
			}
			if want := []wire.Type{wire.TypeData, wire.TypeData, wire.TypeData, wire.TypeEnd}; !slices.Equal(types, want) {
				t.Errorf("client sent %q, want %q", types, want)
			}
		})
	}
}

func TestChannelEnd(t *testing.T) {
	t.Parallel()
	t.Run("End sends one end record, and nothing more is sent", func(t *testing.T) {
		t.Parallel()
		p := channelPair(t, "", nil)
		ctx := testContext(t)
		for range 3 {
			if err := p.client.End(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if seq, err := p.client.Send(ctx, []byte("late")); !errors.Is(err, channel.ErrEnded) {
			t.Errorf("Send after End = %d, %v; want ErrEnded", seq, err)
		}
		if sent := p.clientSent.all(); len(sent) != 1 || wire.PeekType(sent[0]) != wire.TypeEnd {
			t.Errorf("client sent %q, want one end record", sent)
		}
	})
	t.Run("INSECURE legacy mode: NoEnd sends no end record", func(t *testing.T) {
		t.Parallel()
		p := channelPair(t, "", &channel.Options{NoEnd: true})
		ctx := testContext(t)
		if err := p.client.End(ctx); err != nil || !p.client.Ended() {
			t.Fatalf("End = %v, Ended = %v", err, p.client.Ended())
		}
		if _, err := p.client.Send(ctx, []byte("late")); !errors.Is(err, channel.ErrEnded) {
			t.Errorf("Send after End = %v, want ErrEnded", err)
		}
		if sent := p.clientSent.all(); len(sent) != 0 {
			t.Errorf("a NoEnd channel sent %q", sent)
		}
	})
}

// TestChannelEnding: how a conversation that the client ends in each way
// looks to the server. Only the peer's end record makes a clean end; a
// close frame with 1000 or 1001, or a dropped connection, without it is a
// truncation, since anyone on the path can forge one. A refusal is the
// peer's own reason.
func TestChannelEnding(t *testing.T) {
	t.Parallel()
	const drop = websocket.StatusCode(-1) // no close frame: the TCP connection goes
	type outcome int
	const (
		eof outcome = iota
		truncated
		refused
	)
	tests := []struct {
		name    string
		noEnd   bool
		sendEnd bool
		code    websocket.StatusCode
		want    outcome
	}{
		{"end record then 1000 is a clean end", false, true, websocket.StatusNormalClosure, eof},
		{"end record then a dropped connection is a clean end", false, true, drop, eof},
		{"end record then 1008 is still a clean end: the stream was complete", false, true, websocket.StatusPolicyViolation, eof},
		{"1000 without an end record is truncation", false, false, websocket.StatusNormalClosure, truncated},
		{"1001 without an end record is truncation", false, false, websocket.StatusGoingAway, truncated},
		{"a dropped connection without an end record is truncation", false, false, drop, truncated},
		{"1011 without an end record is truncation", false, false, websocket.StatusInternalError, truncated},
		{"4000 without an end record is truncation", false, false, 4000, truncated},
		{"1002 is the peer's refusal", false, false, websocket.StatusProtocolError, refused},
		{"1003 is the peer's refusal", false, false, websocket.StatusUnsupportedData, refused},
		{"1007 is the peer's refusal", false, false, websocket.StatusInvalidFramePayloadData, refused},
		{"1008 is the peer's refusal", false, false, websocket.StatusPolicyViolation, refused},
		{"1009 is the peer's refusal", false, false, websocket.StatusMessageTooBig, refused},
		{"a browser's 4008 is the peer's refusal", false, false, 4008, refused},
		{"a browser's 4002 is the peer's refusal", false, false, 4002, refused},
		{"INSECURE legacy mode: NoEnd takes 1000 as a clean end", true, false, websocket.StatusNormalClosure, eof},
		{"INSECURE legacy mode: NoEnd takes 1001 as a clean end", true, false, websocket.StatusGoingAway, eof},
		{"INSECURE legacy mode: NoEnd still sees a dropped connection as truncation", true, false, drop, truncated},
		{"INSECURE legacy mode: NoEnd still reports a refusal", true, false, websocket.StatusPolicyViolation, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts *channel.Options
			if tt.noEnd {
				opts = &channel.Options{NoEnd: true}
			}
			p := channelPair(t, "", opts)
			ctx := testContext(t)
			if _, err := p.client.Send(ctx, []byte("pay mallory 1 EUR")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := p.server.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			if tt.sendEnd {
				if err := p.client.End(ctx); err != nil {
					t.Fatal(err)
				}
				if _, _, err := p.server.Receive(ctx); err != io.EOF {
					t.Fatalf("Receive of the end record = %v, want io.EOF", err)
				}
			}
			var err error
			if tt.code == drop {
				p.client.Conn().CloseNow()
				_, _, err = p.server.Receive(ctx)
			} else {
				err = p.closeWhileReceiving(t, tt.code, "reason "+fmt.Sprint(int(tt.code)))
			}
			switch tt.want {
			case eof:
				if err != io.EOF {
					t.Fatalf("Receive = %v, want io.EOF", err)
				}
				if !p.server.PeerEnded() {
					t.Errorf("PeerEnded is false after a clean end")
				}
				if _, _, err := p.server.Receive(ctx); err != io.EOF {
					t.Errorf("Receive again = %v, want io.EOF again", err)
				}
			case truncated:
				checkTruncated(t, err, tt.code, drop)
				if p.server.PeerEnded() {
					t.Errorf("PeerEnded is true after truncation")
				}
			case refused:
				var ce *wire.CloseError
				if !errors.As(err, &ce) || ce.Code != tt.code || errors.Is(err, channel.ErrTruncated) {
					t.Fatalf("Receive = %v, want the peer's *wire.CloseError %d and no truncation", err, tt.code)
				}
				if ce.Reason != "reason "+fmt.Sprint(int(tt.code)) {
					t.Errorf("reason %q lost", ce.Reason)
				}
			}
		})
	}
}

func checkTruncated(t *testing.T, err error, code, drop websocket.StatusCode) {
	t.Helper()
	var te *channel.TruncatedError
	if !errors.As(err, &te) {
		t.Fatalf("Receive = %v, want a *TruncatedError", err)
	}
	if !errors.Is(err, channel.ErrTruncated) || !errors.Is(err, wire.ErrPeerClosed) || !wire.Detected(err) {
		t.Errorf("%v does not match ErrTruncated, ErrPeerClosed and a violation", err)
	}
	if c := wire.CloseCode(err); c != websocket.StatusPolicyViolation {
		t.Errorf("CloseCode = %d, want 1008", c)
	}
	var ce *wire.CloseError
	if code == drop {
		if errors.As(te.Cause, &ce) {
			t.Errorf("a dropped connection's cause is a close frame: %v", ce)
		}
		return
	}
	if !errors.As(err, &ce) || ce.Code != code {
		t.Errorf("cause %v, want the peer's close frame %d", te.Cause, code)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(int(code))) {
		t.Errorf("error %q does not say how the connection closed", err)
	}
}

func TestTruncatedErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cause error
		want  string
	}{
		{"a close frame with a reason", &wire.CloseError{Code: websocket.StatusNormalClosure, Reason: "bye"}, "closed with 1000 StatusNormalClosure (bye)"},
		{"a browser's close frame", &wire.CloseError{Code: 4001}, "closed with 4001"},
		{"a dropped connection", fmt.Errorf("wire: read: %w: EOF", wire.ErrPeerClosed), "peer closed the connection: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := &channel.TruncatedError{Cause: tt.cause}
			if !strings.HasPrefix(err.Error(), channel.ErrTruncated.Error()) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Error() = %q, want it to start with ErrTruncated and contain %q", err, tt.want)
			}
			if !errors.Is(err, channel.ErrTruncated) || !errors.Is(err, tt.cause) {
				t.Errorf("TruncatedError does not match ErrTruncated and its cause")
			}
		})
	}
}

// TestChannelAfterEnd: nothing counts after the peer's end record, not even
// a record only the peer could have sealed.
func TestChannelAfterEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		after func(t *testing.T, s *channel.Sealer) wire.Message
	}{
		{"a genuine data record", func(t *testing.T, s *channel.Sealer) wire.Message { return seal(t, s, "one more thing") }},
		{"a second genuine end record", func(t *testing.T, s *channel.Sealer) wire.Message { return sealEnd(t, s) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := channelPair(t, "", nil)
			ctx := testContext(t)
			if _, err := p.client.Send(ctx, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			if err := p.client.End(ctx); err != nil {
				t.Fatal(err)
			}
			s := p.sealerAfter(t, 2)
			if _, err := p.client.Conn().WriteMessage(ctx, tt.after(t, s)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := p.server.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			if _, _, err := p.server.Receive(ctx); err != io.EOF {
				t.Fatalf("Receive of the end record = %v, want io.EOF", err)
			}
			pt, _, err := p.server.Receive(ctx)
			if !errors.Is(err, channel.ErrAfterEnd) || pt != nil {
				t.Fatalf("Receive after the end = %q, %v; want ErrAfterEnd", pt, err)
			}
			if code := wire.CloseCode(err); code != websocket.StatusPolicyViolation {
				t.Errorf("CloseCode = %d, want 1008", code)
			}
		})
	}
}

// TestChannelRefusesOnTheWire: frames an attacker without the keys can
// make from what it saw, delivered to the server after the first record.
func TestChannelRefusesOnTheWire(t *testing.T) {
	t.Parallel()
	// seen is what the attacker works from: the data record at seq 0 that
	// the server has opened, and the two records the client could send
	// next at seq 1, a data record or its end record.
	type seen struct{ first, nextData, nextEnd []byte }
	tests := []struct {
		name  string
		forge func(s seen) []byte
		want  error
	}{
		{"replay: the first record again, byte for byte", func(s seen) []byte { return s.first }, channel.ErrReplay},
		{"relabel: the next end record as data", func(s seen) []byte {
			return bytes.Replace(s.nextEnd, []byte(`"type":"end"`), []byte(`"type":"data"`), 1)
		}, channel.ErrDecrypt},
		{"relabel: the next data record as the end", func(s seen) []byte {
			return bytes.Replace(s.nextData, []byte(`"type":"data"`), []byte(`"type":"end"`), 1)
		}, channel.ErrDecrypt},
		{"move: the first record to the next seq", func(s seen) []byte {
			return bytes.Replace(s.first, []byte(`"seq":0`), []byte(`"seq":1`), 1)
		}, channel.ErrDecrypt},
		{"skip: the record after next", func(s seen) []byte {
			return bytes.Replace(s.nextData, []byte(`"seq":1`), []byte(`"seq":2`), 1)
		}, channel.ErrOutOfOrder},
		{"a handshake message after the handshake", func(seen) []byte {
			b, _ := wire.Encode(&finished{MAC: make([]byte, 32)})
			return b
		}, wire.ErrUnexpectedMessage},
		{"a malformed frame", func(s seen) []byte { return append([]byte(" "), s.nextData...) }, wire.ErrMalformed},
		{"a ct shorter than a tag", func(seen) []byte { return []byte(`{"type":"data","seq":1,"ct":"AQ=="}`) }, wire.ErrFieldLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := channelPair(t, "", nil)
			ctx := testContext(t)
			if _, err := p.client.Send(ctx, []byte("pay mallory 1 EUR")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := p.server.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			// The next records come from sealers with the client's keys
			// and are never sent: the server sees only the forgery.
			nextData, err := wire.Encode(seal(t, p.sealerAfter(t, 1), "pay mallory 1000 EUR"))
			if err != nil {
				t.Fatal(err)
			}
			nextEnd, err := wire.Encode(sealEnd(t, p.sealerAfter(t, 1)))
			if err != nil {
				t.Fatal(err)
			}
			forged := tt.forge(seen{p.clientSent.all()[0], nextData, nextEnd})
			if err := p.client.Conn().Write(ctx, forged); err != nil {
				t.Fatal(err)
			}
			pt, _, err := p.server.Receive(ctx)
			if !errors.Is(err, tt.want) || pt != nil {
				t.Fatalf("Receive of %.80s = %q, %v; want %q", forged, pt, err, tt.want)
			}
			if p.server.PeerEnded() {
				t.Errorf("a refused frame ended the conversation")
			}
		})
	}
}

// TestChannelConcurrentSend: many goroutines send at once. Each record gets
// its own sequence number, the numbers are consecutive, and the records
// reach the peer in that order with the plaintext that was sent under
// each. Run with -race.
func TestChannelConcurrentSend(t *testing.T) {
	t.Parallel()
	const senders, each = 16, 8
	p := channelPair(t, "", nil)
	ctx := testContext(t)
	var (
		mu   sync.Mutex
		sent = map[uint64]string{}
		wg   sync.WaitGroup
		errs = make(chan error, senders*each)
	)
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				msg := fmt.Sprintf("sender %d message %d", g, i)
				seq, err := p.client.Send(ctx, []byte(msg))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if old, dup := sent[seq]; dup {
					errs <- fmt.Errorf("seq %d given to %q and %q", seq, old, msg)
				}
				sent[seq] = msg
				mu.Unlock()
			}
		})
	}
	received := map[uint64]string{}
	for i := range senders * each {
		pt, seq, err := p.server.Receive(ctx)
		if err != nil {
			t.Fatalf("Receive %d: %v", i, err)
		}
		if seq != uint64(i) {
			t.Fatalf("record %d has seq %d", i, seq)
		}
		received[seq] = string(pt)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(sent) != senders*each {
		t.Fatalf("%d distinct seqs for %d records", len(sent), senders*each)
	}
	for seq, msg := range sent {
		if seq >= senders*each {
			t.Errorf("seq %d is not among the first %d", seq, senders*each)
		}
		if received[seq] != msg {
			t.Errorf("seq %d: sent %q, received %q", seq, msg, received[seq])
		}
	}
}

// TestChannelReceiveOwnFailures: our own context and our own watchdog end a
// Receive with their own errors, not as a truncation by the peer.
func TestChannelReceiveOwnFailures(t *testing.T) {
	t.Parallel()
	t.Run("a cancelled context", func(t *testing.T) {
		t.Parallel()
		p := channelPair(t, "", nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err := p.server.Receive(ctx)
		if !errors.Is(err, context.Canceled) || errors.Is(err, channel.ErrTruncated) {
			t.Errorf("Receive = %v, want context.Canceled and no truncation", err)
		}
	})
	t.Run("an idle watchdog that fires", func(t *testing.T) {
		t.Parallel()
		p := channelPair(t, "", nil)
		ctx := testContext(t)
		peer := make(chan error, 1)
		go func() {
			_, _, err := p.client.Receive(ctx) // answers the close frame
			peer <- err
		}()
		w := p.server.Conn().Watch(50*time.Millisecond, wire.ErrIdleTimeout)
		defer w.Stop()
		_, _, err := p.server.Receive(ctx)
		if !errors.Is(err, wire.ErrIdleTimeout) || errors.Is(err, channel.ErrTruncated) {
			t.Errorf("Receive = %v, want the idle timeout and no truncation", err)
		}
		// The client, which saw 1001 and no end record, reports truncation.
		checkTruncated(t, <-peer, websocket.StatusGoingAway, -1)
	})
}
