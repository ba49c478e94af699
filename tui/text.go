package tui

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// quote shows bytes that came off the wire as a Go string literal, so no
// control character in them can reach the terminal.
func quote(b []byte) string { return strconv.Quote(string(b)) }

// printable replaces characters a terminal would act on.
func printable(s string) string {
	ok := true
	for _, r := range s {
		if !unicode.IsPrint(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '·'
	}, s)
}

// shortHex shows the first bytes of b in hex and its length.
func shortHex(b []byte) string {
	const n = 6
	if len(b) <= n {
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("%s… (%d bytes)", hex.EncodeToString(b[:n]), len(b))
}

// fingerprint is a shortened "sha256/BASE64" of a digest.
func fingerprint(sum []byte) string {
	return shortPin("sha256/" + base64.StdEncoding.EncodeToString(sum))
}

// shortPin keeps enough of a pin to tell two apart on screen.
func shortPin(pin string) string {
	const keep = len("sha256/") + 12
	if len(pin) <= keep {
		return pin
	}
	return pin[:keep] + "…"
}

// padRight pads s with spaces to width cells.
func padRight(s string, width int) string {
	w := ansi.StringWidth(s)
	if w >= width {
		return s
	}
	return s + strings.Repeat(" ", width-w)
}

// hexDump renders b as offset, hex bytes and printable ASCII, per bytes a line.
func hexDump(b []byte, per int) []string {
	var out []string
	for off := 0; off < len(b); off += per {
		chunk := b[off:min(off+per, len(b))]
		var sb strings.Builder
		fmt.Fprintf(&sb, "%04x ", off)
		for i := range per {
			if i < len(chunk) {
				fmt.Fprintf(&sb, " %02x", chunk[i])
			} else {
				sb.WriteString("   ")
			}
		}
		sb.WriteString("  ")
		for _, c := range chunk {
			if c >= 0x20 && c < 0x7f {
				sb.WriteByte(c)
			} else {
				sb.WriteByte('.')
			}
		}
		out = append(out, sb.String())
	}
	return out
}

// hexPerLine is how many bytes a hex dump line holds at a pane's width.
func hexPerLine(width int) int {
	if width >= labelWidth+6+16*3+1+16 {
		return 16
	}
	return 8
}
