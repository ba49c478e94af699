package export

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mitmlab/mitmlab/tlslab"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// The WebSocket opcodes the exports write (RFC 6455 §5.2).
const (
	opText  = 0x1
	opClose = 0x8
)

// websocketGUID is RFC 6455 §1.3's constant for Sec-WebSocket-Accept.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// derive returns n bytes determined by the stream and a label: the
// rebuilt parts of a ws:// connection (its key, its mask keys) are the
// same each time the same run is exported.
func derive(s *stream, label string, n int) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "mitmlab export %s %s %d %d", label, s.leg, s.conn, s.n))
	return h[:n]
}

// upgrade is the HTTP upgrade of a rebuilt ws:// connection: the request
// as Go's HTTP client writes it for coder/websocket, and Bob's 101.
type upgrade struct {
	host, path, protocol, key string
}

func newUpgrade(s *stream, scheme string) upgrade {
	return upgrade{
		host:     tlslab.ServerName,
		path:     victim.Path(scheme),
		protocol: wire.Subprotocol(scheme),
		key:      base64.StdEncoding.EncodeToString(derive(s, "key", 16)),
	}
}

// accept is the Sec-WebSocket-Accept answer to the key (RFC 6455 §4.2.2).
func (u upgrade) accept() string {
	h := sha1.Sum([]byte(u.key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// requestHeaders and responseHeaders are the headers in the order they are
// written.
func (u upgrade) requestHeaders() [][2]string {
	return [][2]string{
		{"Host", u.host},
		{"User-Agent", "Go-http-client/1.1"},
		{"Connection", "Upgrade"},
		{"Sec-Websocket-Key", u.key},
		{"Sec-Websocket-Protocol", u.protocol},
		{"Sec-Websocket-Version", "13"},
		{"Upgrade", "websocket"},
		{"Accept-Encoding", "gzip"},
	}
}

func (u upgrade) responseHeaders(t time.Time) [][2]string {
	return [][2]string{
		{"Connection", "Upgrade"},
		{"Sec-Websocket-Accept", u.accept()},
		{"Sec-Websocket-Protocol", u.protocol},
		{"Upgrade", "websocket"},
		{"Date", t.UTC().Format(http.TimeFormat)},
	}
}

func (u upgrade) request() []byte {
	return httpHead("GET "+u.path+" HTTP/1.1", u.requestHeaders())
}

func (u upgrade) response(t time.Time) []byte {
	return httpHead("HTTP/1.1 101 Switching Protocols", u.responseHeaders(t))
}

func httpHead(first string, headers [][2]string) []byte {
	var b strings.Builder
	b.WriteString(first + "\r\n")
	for _, h := range headers {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// wsFrame is one final WebSocket frame carrying payload. mask, if not
// nil, is the 4-byte masking key of a client's frame (RFC 6455 §5.3).
func wsFrame(opcode byte, payload, mask []byte) []byte {
	b := []byte{0x80 | opcode, 0}
	switch n := len(payload); {
	case n < 126:
		b[1] = byte(n)
	case n <= 0xffff:
		b[1] = 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] = 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if mask == nil {
		return append(b, payload...)
	}
	b[1] |= 0x80
	b = append(b, mask...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	return b
}

// closePayload rebuilds a close frame's payload from its event's note,
// "1000 StatusNormalClosure: bye": the code, then the reason. A note with
// no code gives an empty payload (no status, RFC 6455 §7.1.5).
func closePayload(note string) []byte {
	head, reason, _ := strings.Cut(note, ": ")
	codeText, _, _ := strings.Cut(head, " ")
	code, err := strconv.ParseUint(codeText, 10, 16)
	if err != nil {
		return nil
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}
