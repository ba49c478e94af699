package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/wire"
)

// The record layer reads every message into one buffer and seals and
// encodes into buffers it keeps (docs/performance.md). These tests pin
// down what makes that safe: a decoded message shares no storage with the
// bytes it came from, and what Read and ReadMessage return survives the
// next read.

func TestDecodedMessagesOwnTheirBytes(t *testing.T) {
	t.Parallel()
	for _, tt := range sample() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, err := wire.Encode(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := testCodec.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			for i := range raw {
				raw[i] = 'A' // valid base64 and text, so a shared byte would show
			}
			if !equalMessages(got, tt.m) {
				t.Errorf("after the input was overwritten the message is %+v, want %+v", got, tt.m)
			}
		})
	}
}

func TestReadsSurviveTheNextRead(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	cc, sc := wire.NewConn(c, testCodec), wire.NewConn(s, testCodec)
	ctx := testContext(t)
	// Sizes on both sides of the 4 KiB buffer a connection keeps, and
	// back: the buffer grows, is let go and is made again.
	var sent []wire.Message
	for i, n := range []int{16, 1024 + wire.TagSize, 8000, 100, largestCT, 300} {
		sent = append(sent, &wire.Data{Seq: uint64(i), CT: fill(n, byte(i))})
	}
	sent = append(sent, &hello{Nonce: fill(32, 1), KeyShare: fill(32, 2)}, &answer{Chosen: "x", Schemes: []string{"y"}, Note: "z"})
	go func() {
		for _, m := range sent {
			if _, err := cc.WriteMessage(ctx, m); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var got []wire.Message
	var raws [][]byte
	for i := range sent {
		if i%2 == 0 {
			m, err := sc.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("ReadMessage %d: %v", i, err)
			}
			got = append(got, m)
			continue
		}
		raw, err := sc.Read(ctx)
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		raws = append(raws, raw)
		m, err := testCodec.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	for i, m := range got {
		if !equalMessages(m, sent[i]) {
			t.Errorf("message %d is %s after the later reads, want %s", i, describe(m), describe(sent[i]))
		}
	}
	for j, raw := range raws {
		want, err := wire.Encode(sent[2*j+1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, want) {
			t.Errorf("the bytes of Read %d changed after the later reads", 2*j+1)
		}
	}
}

func TestReadMessageRefusesWhatDecodeRefuses(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	cc, sc := wire.NewConn(c, testCodec), wire.NewConn(s, testCodec)
	ctx := testContext(t)
	bad := `{"type":"data","seq":1,"ct":"AAAA","CT":"AAAA"}` // a case-folded twin
	if err := cc.Write(ctx, []byte(bad)); err != nil {
		t.Fatal(err)
	}
	_, want := testCodec.Decode([]byte(bad))
	_, err := sc.ReadMessage(ctx)
	if err == nil || want == nil || err.Error() != want.Error() || !errors.Is(err, wire.ErrUnknownField) {
		t.Errorf("ReadMessage = %v, want Decode's %v", err, want)
	}
}

// TestControlCharacterAnywhereInAString puts each control character at
// each position of a string long enough to be scanned eight bytes at a
// time, with a tail: every one is refused, and the same string without it
// decodes.
func TestControlCharacterAnywhereInAString(t *testing.T) {
	t.Parallel()
	const n = 43 // five words of eight bytes, and three more
	base := strings.Repeat("ab~ ", n/4+1)[:n]
	for c := byte(0); c < 0x20; c++ {
		for i := range n {
			note := []byte(base)
			note[i] = c
			raw := fmt.Sprintf(`{"type":"answer","chosen":"x","pinned":false,"schemes":[],"note":"%s"}`, note)
			if _, err := testCodec.Decode([]byte(raw)); !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("control character %#x at byte %d: Decode = %v, want ErrMalformed", c, i, err)
			}
		}
	}
	// The positive control: the string itself, and the bytes just above
	// the control range and at the top of ASCII, decode.
	for _, note := range []string{base, strings.Repeat(" ", n), strings.Repeat("\x7f", n), strings.Repeat("é", n/2)} {
		raw := fmt.Sprintf(`{"type":"answer","chosen":"x","pinned":false,"schemes":[],"note":"%s"}`, note)
		m, err := wire.DecodeAs[*answer](testCodec, []byte(raw))
		if err != nil || m.Note != note {
			t.Errorf("Decode(%q) = %v, %v; want the note back", note, m, err)
		}
	}
}

func describe(m wire.Message) string {
	b, err := wire.Encode(m)
	if err != nil {
		return err.Error()
	}
	if len(b) > 80 {
		return fmt.Sprintf("%s… (%d bytes)", b[:80], len(b))
	}
	return string(b)
}
