package docs_test

// This file is a second implementation of the lab protocol, written from
// protocol.md alone. It uses the standard library's primitives and
// coder/websocket, and none of the lab's packages, so that the tests can
// check the page against the code: if this implementation and the lab's
// agree on every byte, the page says enough to interoperate.

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// b64 is standard base64 with padding (protocol.md, "Encoding rules").
var b64 = base64.StdEncoding

// extract is HKDF-Extract with SHA-256 and no salt, written as the 32 zero
// bytes RFC 5869 puts in its place.
func extract(ikm []byte) []byte {
	prk, err := hkdf.Extract(sha256.New, ikm, make([]byte, sha256.Size))
	if err != nil {
		panic(err)
	}
	return prk
}

// labelInfo is ExpandLabel's info: uint16 length, uint8 len, "mitmlab1 " +
// label, uint8 len, context.
func labelInfo(label string, context []byte, length int) []byte {
	full := "mitmlab1 " + label
	info := []byte{byte(length >> 8), byte(length)}
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, byte(len(context)))
	return append(info, context...)
}

func expandLabel(secret []byte, label string, context []byte, length int) []byte {
	out, err := hkdf.Expand(sha256.New, secret, string(labelInfo(label, context, length)), length)
	if err != nil {
		panic(err)
	}
	return out
}

// hash is SHA-256 over the concatenation of parts.
func hash(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// signedContent is 64 spaces, the context string, a zero byte and
// SHA-256(CH ‖ SH).
func signedContent(ch, sh []byte) []byte {
	c := bytes.Repeat([]byte{0x20}, 64)
	c = append(c, "mitmlab v1 server verify"...)
	c = append(c, 0)
	return append(c, hash(ch, sh)...)
}

// dirKeys are one direction's AES-256 key and IV.
type dirKeys struct{ key, iv []byte }

// trafficKeys derives both directions' keys from prk and the context.
func trafficKeys(prk, context []byte) (c2s, s2c dirKeys) {
	c2s = dirKeys{expandLabel(prk, "c2s key", context, 32), expandLabel(prk, "c2s iv", context, 12)}
	s2c = dirKeys{expandLabel(prk, "s2c key", context, 32), expandLabel(prk, "s2c iv", context, 12)}
	return c2s, s2c
}

// recordNonce is the IV XOR the sequence number, left-padded to 12 bytes.
func recordNonce(iv []byte, seq uint64) []byte {
	n := bytes.Clone(iv)
	var s [12]byte
	binary.BigEndian.PutUint64(s[4:], seq)
	for i := range n {
		n[i] ^= s[i]
	}
	return n
}

// recordAD is the direction in ASCII and the sequence number, big-endian.
func recordAD(dir string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(dir), seq)
}

func gcm(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return a
}

func seal(k dirKeys, dir string, seq uint64, plaintext []byte) []byte {
	return gcm(k.key).Seal(nil, recordNonce(k.iv, seq), plaintext, recordAD(dir, seq))
}

func open(k dirKeys, dir string, seq uint64, ct []byte) ([]byte, error) {
	return gcm(k.key).Open(nil, recordNonce(k.iv, seq), ct, recordAD(dir, seq))
}

// dataJSON is a data record as the lab writes it.
func dataJSON(seq uint64, ct []byte) []byte {
	return fmt.Appendf(nil, `{"type":"data","seq":%d,"ct":"%s"}`, seq, b64.EncodeToString(ct))
}

// record is a decoded data record.
type record struct {
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
	CT   []byte `json:"ct"`
}

// peer is one end of a lab connection, speaking raw messages.
type peer struct {
	t  *testing.T
	ws *websocket.Conn
}

func (p peer) write(ctx context.Context, msg []byte) {
	p.t.Helper()
	if err := p.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		p.t.Fatalf("write %s: %v", msg, err)
	}
}

func (p peer) read(ctx context.Context) []byte {
	p.t.Helper()
	typ, b, err := p.ws.Read(ctx)
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		p.t.Fatalf("read a %v message, want text", typ)
	}
	return b
}

// readInto reads one message and decodes it into v, checking its type.
func (p peer) readInto(ctx context.Context, typ string, v any) []byte {
	p.t.Helper()
	b := p.read(ctx)
	var env struct{ Type string }
	if err := json.Unmarshal(b, &env); err != nil || env.Type != typ {
		p.t.Fatalf("read %s, want a %s message", b, typ)
	}
	if err := json.Unmarshal(b, v); err != nil {
		p.t.Fatalf("decode %s: %v", b, err)
	}
	return b
}

// closeOf reads until the connection ends and returns the peer's close
// frame.
func (p peer) closeOf(ctx context.Context) websocket.CloseError {
	p.t.Helper()
	for {
		_, b, err := p.ws.Read(ctx)
		if err == nil {
			p.t.Logf("read %.80s while waiting for a close", b)
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			p.t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce
	}
}

// ---- reading protocol.md ----

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text from the heading line to the next heading of the
// same or a higher level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("no heading %q", heading)
	}
	rest := doc[i+1+len(heading):]
	level := strings.Count(strings.Fields(heading)[0], "#")
	re := regexp.MustCompile(`(?m)^#{1,` + fmt.Sprint(level) + `} `)
	if m := re.FindStringIndex(rest); m != nil {
		rest = rest[:m[0]]
	}
	return rest
}

// tableRows returns the cells of each row of the markdown tables in s,
// header and separator rows left out.
func tableRows(s string) [][]string {
	var rows [][]string
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "|---") {
			continue // a header
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		rows = append(rows, cells)
	}
	return rows
}

// unquote strips one pair of backquotes.
func unquote(s string) string { return strings.TrimSuffix(strings.TrimPrefix(s, "`"), "`") }
