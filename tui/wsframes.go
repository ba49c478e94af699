package tui

import (
	"encoding/binary"
	"fmt"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/wire"
)

// wsFrame is one WebSocket frame (RFC 6455 §5.2) found in a decrypted TLS
// record, unmasked.
type wsFrame struct {
	fin     bool
	opcode  byte
	payload []byte
}

// wsFrames splits b into whole WebSocket frames. It reports false unless b
// is exactly a run of well-formed frames that ends a message, so a TLS
// record that holds something else is not mistaken for frames.
func wsFrames(b []byte) ([]wsFrame, bool) {
	var out []wsFrame
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, false
		}
		f := wsFrame{fin: b[0]&0x80 != 0, opcode: b[0] & 0x0f}
		if b[0]&0x70 != 0 || (f.opcode > 2 && f.opcode < 8) || f.opcode > 10 {
			return nil, false // reserved bits or opcodes
		}
		control := f.opcode >= 8
		masked := b[1]&0x80 != 0
		n := uint64(b[1] & 0x7f)
		b = b[2:]
		switch {
		case control && (n > 125 || !f.fin):
			return nil, false
		case n == 126:
			if len(b) < 2 {
				return nil, false
			}
			n, b = uint64(binary.BigEndian.Uint16(b)), b[2:]
		case n == 127:
			if len(b) < 8 {
				return nil, false
			}
			n, b = binary.BigEndian.Uint64(b), b[8:]
		}
		var mask []byte
		if masked {
			if len(b) < 4 {
				return nil, false
			}
			mask, b = b[:4], b[4:]
		}
		if n > uint64(len(b)) {
			return nil, false
		}
		f.payload = append([]byte(nil), b[:n]...)
		for i := range f.payload {
			if mask != nil {
				f.payload[i] ^= mask[i%4]
			}
		}
		b = b[n:]
		out = append(out, f)
	}
	if len(out) == 0 || !out[len(out)-1].fin {
		return nil, false
	}
	return out, true
}

// String describes the frame in a line: a text frame by its text, a close
// by its code and reason.
func (f wsFrame) String() string {
	part := ""
	if !f.fin {
		part = " (first part)"
	}
	switch f.opcode {
	case 0:
		return fmt.Sprintf("continuation frame: %s", printable(string(f.payload)))
	case 1:
		return "text frame" + part + ": " + printable(string(f.payload))
	case 2:
		return "binary frame" + part + ": " + shortHex(f.payload)
	case 8:
		if len(f.payload) < 2 {
			return "close frame, with no code"
		}
		code := websocket.StatusCode(binary.BigEndian.Uint16(f.payload))
		s := fmt.Sprintf("close frame: %d %s", int(code), wire.CodeName(code))
		if len(f.payload) > 2 {
			s += ": " + printable(string(f.payload[2:]))
		}
		return s
	case 9:
		return "ping frame"
	}
	return "pong frame"
}
