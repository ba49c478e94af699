package channel_test

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
	"github.com/mitmlab/mitmlab/wire"
)

// testKeys returns keys whose bytes start at start, so that two calls with
// different starts give unrelated keys.
func testKeys(start byte) channel.Keys {
	var k channel.Keys
	for i := range k.Key {
		k.Key[i] = start + byte(i)
	}
	for i := range k.IV {
		k.IV[i] = start + 0x80 + byte(i)
	}
	return k
}

func testSecrets() *channel.Secrets {
	return &channel.Secrets{ClientToServer: testKeys(0x10), ServerToClient: testKeys(0x40)}
}

func newSealer(t *testing.T, k channel.Keys, d wire.Direction) *channel.Sealer {
	t.Helper()
	s, err := channel.NewSealer(k, d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newOpener(t *testing.T, k channel.Keys, d wire.Direction) *channel.Opener {
	t.Helper()
	o, err := channel.NewOpener(k, d)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func seal(t *testing.T, s *channel.Sealer, pt string) *wire.Data {
	t.Helper()
	d, err := s.Seal([]byte(pt))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func open(t *testing.T, o *channel.Opener, d *wire.Data, want string) {
	t.Helper()
	pt, err := o.Open(d)
	if err != nil {
		t.Fatalf("Open(seq %d): %v", d.Seq, err)
	}
	if string(pt) != want {
		t.Fatalf("Open(seq %d) = %q, want %q", d.Seq, pt, want)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	k := testKeys(1)
	s, o := newSealer(t, k, wire.ClientToServer), newOpener(t, k, wire.ClientToServer)
	msgs := []string{"hello bob", "", "x", strings.Repeat("€", channel.MaxPlaintext/3), strings.Repeat("z", channel.MaxPlaintext)}
	for i, m := range msgs {
		d := seal(t, s, m)
		if d.Seq != uint64(i) {
			t.Errorf("record %d has seq %d", i, d.Seq)
		}
		if len(d.CT) != len(m)+wire.TagSize {
			t.Errorf("ct is %d bytes for %d of plaintext, want plaintext + 16-byte tag", len(d.CT), len(m))
		}
		if len(m) > 0 && bytes.Contains(d.CT, []byte(m)) {
			t.Errorf("ct contains the plaintext")
		}
		open(t, o, d, m)
		if o.Next() != uint64(i+1) {
			t.Errorf("Next = %d after opening seq %d", o.Next(), i)
		}
	}
	// The same plaintext twice gives different ciphertexts: the nonce moves.
	a, b := seal(t, s, "same"), seal(t, s, "same")
	if bytes.Equal(a.CT, b.CT) {
		t.Error("two records of the same plaintext have the same ct")
	}
}

// TestOpenRejects covers each way a frame can be wrong. After a rejection
// the Opener's state is unchanged: the genuine next frame still opens.
func TestOpenRejects(t *testing.T) {
	t.Parallel()
	flip := func(d *wire.Data, bit int) *wire.Data {
		ct := bytes.Clone(d.CT)
		ct[bit/8] ^= 1 << (bit % 8)
		return &wire.Data{Seq: d.Seq, CT: ct}
	}
	tests := []struct {
		name string
		// attack gets the first three genuine frames of "c2s" and returns
		// what the attacker delivers after the first one opened.
		attack func(t *testing.T, f []*wire.Data) *wire.Data
		want   error
	}{
		{"replay: the first frame again", func(t *testing.T, f []*wire.Data) *wire.Data { return f[0] }, channel.ErrReplay},
		{"replay: an old seq number carrying a newer ct", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 0, CT: f[1].CT}
		}, channel.ErrReplay},
		{"reorder: the third frame before the second", func(t *testing.T, f []*wire.Data) *wire.Data { return f[2] }, channel.ErrOutOfOrder},
		{"moved: the third frame's ct under the second's seq", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: f[2].CT}
		}, channel.ErrDecrypt},
		{"tamper: one bit flipped in the first ct byte", func(t *testing.T, f []*wire.Data) *wire.Data { return flip(f[1], 0) }, channel.ErrDecrypt},
		{"tamper: one bit flipped in the middle", func(t *testing.T, f []*wire.Data) *wire.Data { return flip(f[1], len(f[1].CT)*4+3) }, channel.ErrDecrypt},
		{"tamper: one bit flipped in the tag", func(t *testing.T, f []*wire.Data) *wire.Data { return flip(f[1], len(f[1].CT)*8-1) }, channel.ErrDecrypt},
		{"tamper: tag cut off", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: f[1].CT[:len(f[1].CT)-wire.TagSize]}
		}, channel.ErrDecrypt},
		{"tamper: one byte appended", func(t *testing.T, f []*wire.Data) *wire.Data {
			return &wire.Data{Seq: 1, CT: append(bytes.Clone(f[1].CT), 0)}
		}, channel.ErrDecrypt},
		{"tamper: empty ct", func(t *testing.T, f []*wire.Data) *wire.Data { return &wire.Data{Seq: 1} }, channel.ErrDecrypt},
		{"reflect: a frame the receiver itself sent, same seq", func(t *testing.T, f []*wire.Data) *wire.Data {
			s2c := newSealer(t, testSecrets().ServerToClient, wire.ServerToClient)
			seal(t, s2c, "first reply")
			return seal(t, s2c, "second reply")
		}, channel.ErrDecrypt},
		{"forge: sealed under another key", func(t *testing.T, f []*wire.Data) *wire.Data {
			other := newSealer(t, testKeys(0x99), wire.ClientToServer)
			seal(t, other, "zero")
			return seal(t, other, "forged")
		}, channel.ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sec := testSecrets()
			s, o := newSealer(t, sec.ClientToServer, wire.ClientToServer), newOpener(t, sec.ClientToServer, wire.ClientToServer)
			f := []*wire.Data{seal(t, s, "one"), seal(t, s, "two"), seal(t, s, "three")}
			open(t, o, f[0], "one")
			pt, err := o.Open(tt.attack(t, f))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %q, %v; want %q", pt, err, tt.want)
			}
			if pt != nil {
				t.Errorf("Open returned plaintext %q with its error", pt)
			}
			if code := wire.CloseCode(err); code != websocket.StatusPolicyViolation {
				t.Errorf("CloseCode = %d, want 1008", code)
			}
			if o.Next() != 1 {
				t.Errorf("a rejected frame moved Next to %d", o.Next())
			}
			open(t, o, f[1], "two")
			open(t, o, f[2], "three")
		})
	}
}

// TestDirectionIsAuthenticated: with the very same key and IV in both
// directions, a frame still does not open in the other direction, because
// the direction is in the additional data.
func TestDirectionIsAuthenticated(t *testing.T) {
	t.Parallel()
	k := testKeys(7)
	s := newSealer(t, k, wire.ClientToServer)
	d := seal(t, s, "to bob")
	if _, err := newOpener(t, k, wire.ServerToClient).Open(d); !errors.Is(err, channel.ErrDecrypt) {
		t.Errorf("c2s frame opened as s2c with the same keys: %v, want ErrDecrypt", err)
	}
	open(t, newOpener(t, k, wire.ClientToServer), d, "to bob")
}

func TestWrongKeys(t *testing.T) {
	t.Parallel()
	k := testKeys(3)
	d := seal(t, newSealer(t, k, wire.ClientToServer), "secret")
	wrongKey, wrongIV := k, k
	wrongKey.Key[31] ^= 1
	wrongIV.IV[0] ^= 0x80
	for name, k := range map[string]channel.Keys{"key differs in one bit": wrongKey, "IV differs in one bit": wrongIV} {
		if pt, err := newOpener(t, k, wire.ClientToServer).Open(d); !errors.Is(err, channel.ErrDecrypt) {
			t.Errorf("%s: Open = %q, %v; want ErrDecrypt", name, pt, err)
		}
	}
}

func TestSealTooLarge(t *testing.T) {
	t.Parallel()
	s := newSealer(t, testKeys(1), wire.ServerToClient)
	d, err := s.Seal(make([]byte, channel.MaxPlaintext+1))
	if !errors.Is(err, channel.ErrTooLarge) || d != nil {
		t.Fatalf("Seal(MaxPlaintext+1) = %v, %v; want ErrTooLarge", d, err)
	}
	// A refused plaintext uses no sequence number.
	if d := seal(t, s, "fits"); d.Seq != 0 {
		t.Errorf("next record has seq %d, want 0", d.Seq)
	}
}

// TestLargestRecordFitsOneMessage: a record of MaxPlaintext bytes, with the
// longest possible sequence number, encodes within wire.MaxMessageSize.
func TestLargestRecordFitsOneMessage(t *testing.T) {
	t.Parallel()
	s := newSealer(t, testKeys(1), wire.ClientToServer)
	d, err := s.Seal(bytes.Repeat([]byte{0xff}, channel.MaxPlaintext))
	if err != nil {
		t.Fatal(err)
	}
	d.Seq = 1<<64 - 2 // 20 digits, as long as a seq gets
	b, err := wire.Encode(d)
	if err != nil {
		t.Fatalf("Encode of the largest record: %v", err)
	}
	if len(b) > wire.MaxMessageSize {
		t.Fatalf("largest record encodes to %d bytes, over %d", len(b), wire.MaxMessageSize)
	}
	if _, err := wire.Decode(b); err != nil {
		t.Errorf("Decode of the largest record: %v", err)
	}
	t.Logf("largest record: %d bytes of %d", len(b), wire.MaxMessageSize)
}

func TestSecretsFor(t *testing.T) {
	t.Parallel()
	sec := testSecrets()
	if sec.For(wire.ClientToServer) != sec.ClientToServer || sec.For(wire.ServerToClient) != sec.ServerToClient {
		t.Error("For returns the wrong direction's keys")
	}
}

func TestErrorsAreViolations(t *testing.T) {
	t.Parallel()
	for _, err := range []error{channel.ErrReplay, channel.ErrOutOfOrder, channel.ErrDecrypt, channel.ErrSeqExhausted} {
		if code := wire.CloseCode(err); code != websocket.StatusPolicyViolation {
			t.Errorf("CloseCode(%v) = %d, want 1008", err, code)
		}
	}
	if code := wire.CloseCode(channel.ErrTooLarge); code == websocket.StatusPolicyViolation {
		t.Errorf("ErrTooLarge is the sender's own mistake, not the peer's violation")
	}
}

// channelPair returns a client and a server Channel over a real WebSocket
// connection on loopback, and the raw frames the client's wire.Conn saw.
func channelPair(t *testing.T) (client, server *channel.Channel, sent func() [][]byte) {
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
	var mu sync.Mutex
	var frames [][]byte
	tap := func(s bool, msg []byte) {
		if s {
			mu.Lock()
			frames = append(frames, bytes.Clone(msg))
			mu.Unlock()
		}
	}
	sec := testSecrets()
	client, err = channel.New(wire.NewConn(cws, tap), sec, channel.Client)
	if err != nil {
		t.Fatal(err)
	}
	server, err = channel.New(wire.NewConn(sws, nil), sec, channel.Server)
	if err != nil {
		t.Fatal(err)
	}
	return client, server, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return frames
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestChannelOverWebSocket(t *testing.T) {
	t.Parallel()
	client, server, sent := channelPair(t)
	ctx := testContext(t)
	for i, m := range []string{"hi bob", "second message"} {
		seq, err := client.Send(ctx, []byte(m))
		if err != nil || seq != uint64(i) {
			t.Fatalf("Send = %d, %v", seq, err)
		}
		got, gotSeq, err := server.Receive(ctx)
		if err != nil || string(got) != m || gotSeq != uint64(i) {
			t.Fatalf("Receive = %q, %d, %v; want %q, %d", got, gotSeq, err, m, i)
		}
		if _, err := server.Send(ctx, []byte("re: "+m)); err != nil {
			t.Fatal(err)
		}
		got, _, err = client.Receive(ctx)
		if err != nil || string(got) != "re: "+m {
			t.Fatalf("client Receive = %q, %v", got, err)
		}
	}
	for _, f := range sent() {
		if bytes.Contains(f, []byte("bob")) || bytes.Contains(f, []byte("message")) {
			t.Errorf("plaintext on the wire: %s", f)
		}
		if wire.PeekType(f) != wire.TypeData {
			t.Errorf("frame on the wire is not data: %s", f)
		}
	}
}

// TestChannelRejectsReplayOnTheWire re-sends, byte for byte, a frame the
// client already sent.
func TestChannelRejectsReplayOnTheWire(t *testing.T) {
	t.Parallel()
	client, server, sent := channelPair(t)
	ctx := testContext(t)
	if _, err := client.Send(ctx, []byte("pay mallory 1 EUR")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := server.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := client.Conn().Write(ctx, sent()[0]); err != nil {
		t.Fatal(err)
	}
	got, _, err := server.Receive(ctx)
	if !errors.Is(err, channel.ErrReplay) {
		t.Errorf("Receive of a replayed frame = %q, %v; want ErrReplay", got, err)
	}
}

func TestChannelRejectsHandshakeMessageAsData(t *testing.T) {
	t.Parallel()
	client, server, _ := channelPair(t)
	ctx := testContext(t)
	if _, err := client.Conn().WriteMessage(ctx, &wire.ClientFinished{MAC: make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := server.Receive(ctx); !errors.Is(err, wire.ErrUnexpectedMessage) {
		t.Errorf("Receive = %v, want ErrUnexpectedMessage", err)
	}
}
