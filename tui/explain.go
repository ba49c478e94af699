package tui

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mitmlab/mitmlab/trace"
)

// This file says, in words, what the attacker did with a frame: the
// sentence beside its badge in the detail pane, and the short text after
// the badge on its row. Each verdict has one meaning (trace.Verdict); what
// its recovered bytes are depends on the kind of frame: a chat message, an
// end record, the session secret a handshake message wrapped, or a TLS
// record's content.

// explanation is the attacker line of the detail pane for one frame.
type explanation struct {
	st   *Styles
	e    trace.Event
	kind frameKind
	who  string // "Mallory", or an eavesdropper with no attacker
}

func (x explanation) String() string {
	e, st := x.e, x.st
	switch e.Verdict {
	case trace.Public:
		return x.public()
	case trace.Intercepted:
		return "Mallory took it and did not pass it on"
	case trace.Substituted:
		if x.kind == kindClose {
			return "Mallory made this close frame himself: " + printable(e.Note)
		}
		return "Mallory made this frame himself"
	case trace.Read:
		return x.read()
	case trace.Opaque:
		if x.kind == kindEnd {
			return endRecord(e) + "; " + x.who + " cannot open it"
		}
		return x.who + " saw ciphertext only"
	case trace.Forged:
		return x.forged()
	case trace.Tampered:
		return fmt.Sprintf("Mallory changed it on the way without holding its key: %s gets bytes %s never sent", finalReceiver(e.Dir), finalSender(e.Dir))
	case trace.Replayed:
		return fmt.Sprintf("a copy of an earlier frame, which Mallory sent %s again", receiver(e))
	case trace.Dropped:
		return fmt.Sprintf("Mallory took it and withheld it on purpose: %s never gets it", finalReceiver(e.Dir))
	case trace.Blocked:
		return "it did not get through: " + printable(e.Note)
	}
	return st.Dim.Render(printable(e.Note))
}

// saysNote reports whether the sentence already carries the frame's note,
// so the pane does not print it twice.
func (x explanation) saysNote() bool {
	switch x.e.Verdict {
	case trace.Blocked:
		return true
	case trace.Substituted, trace.Public:
		return x.kind == kindClose
	case trace.Read, trace.Opaque, trace.Forged, trace.Tampered, trace.Replayed, trace.Dropped, trace.Intercepted:
		return false
	}
	return true // an unknown verdict: the sentence is the note
}

func (x explanation) public() string {
	e := x.e
	switch {
	case x.kind == kindClose:
		return "a close frame: " + printable(e.Note)
	case x.kind == kindEnd:
		return endRecord(e) + "; anyone on the path can see it"
	case e.Leg == trace.LegWire:
		return "public by design; " + x.who + " saw it"
	}
	return "public by design; " + x.who + " saw it and relayed it unchanged"
}

// read says what the attacker recovered. READ always carries the bytes.
func (x explanation) read() string {
	e, st := x.e, x.st
	red := func(s string) string { return st.text(trace.Read, s) }
	switch x.kind {
	case kindRecord:
		if len(e.Recovered) == 0 {
			return x.who + " read it: an empty message"
		}
		return x.who + " read " + red(quote(e.Recovered))
	case kindEnd:
		return "Mallory opened " + endRecord(e)
	case kindHandshake:
		return "Mallory unwrapped the session secret: " + red(hex.EncodeToString(e.Recovered))
	case kindTLS:
		return fmt.Sprintf("%s decrypted this TLS record: %d bytes, below", x.who, len(e.Recovered))
	}
	return x.who + " read " + red(quote(e.Recovered))
}

// forged says what the attacker put in a record he encrypted himself.
func (x explanation) forged() string {
	e, st := x.e, x.st
	to := receiver(e)
	switch x.kind {
	case kindEnd:
		return fmt.Sprintf("Mallory sealed an end record himself for %s: as far as %s can tell, %s has nothing more to send", to, to, finalSender(e.Dir))
	case kindTLS:
		return fmt.Sprintf("Mallory encrypted this TLS record himself for %s: %d bytes, below", to, len(e.Recovered))
	}
	if len(e.Recovered) == 0 {
		return "Mallory encrypted an empty message himself for " + to
	}
	return "Mallory encrypted " + st.text(trace.Forged, quote(e.Recovered)) + " himself for " + to
}

// endRecord says what an end record means: "Alice's end record: she has
// nothing more to send".
func endRecord(e trace.Event) string {
	from := finalSender(e.Dir)
	return fmt.Sprintf("%s's end record: %s has nothing more to send", from, pronoun(from))
}

// rowText is what follows the badge on a frame's row: what Mallory
// recovered or put in, or his note.
func rowText(e trace.Event, kind frameKind) string {
	if e.Verdict != trace.Read && e.Verdict != trace.Forged {
		return printable(e.Note)
	}
	switch kind {
	case kindRecord:
		if e.Recovered != nil {
			return quote(e.Recovered)
		}
	case kindEnd:
		return finalSender(e.Dir) + " is done" // her end record: nothing more to send
	case kindHandshake:
		if e.Verdict == trace.Read {
			return "session secret " + shortHex(e.Recovered)
		}
	case kindTLS:
		if lines, ok := readable(e.Recovered); ok && len(lines) > 0 {
			return lines[0]
		}
	}
	return printable(e.Note)
}

// maxContentHex is how many hex lines a binary TLS record's content gets
// in the detail pane; the note says what the bytes are.
const maxContentHex = 4

// contentLines shows the content of a decrypted TLS record, a line at a
// time: what readable finds, or else a short hex dump with per bytes a
// line.
func contentLines(b []byte, per int) []string {
	if lines, ok := readable(b); ok {
		return lines
	}
	lines := hexDump(b, per)
	if len(lines) > maxContentHex {
		rest := len(b) - maxContentHex*per
		lines = append(lines[:maxContentHex], fmt.Sprintf("… %d more bytes", rest))
	}
	return lines
}

// readable shows a TLS record's content as a person reads it, if it can:
// text (an HTTP request or response) line by line and in full, or
// WebSocket frames one a line.
func readable(b []byte) ([]string, bool) {
	if len(b) == 0 {
		return nil, false
	}
	if isText(b) {
		lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
		for len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		for i, l := range lines {
			lines[i] = printable(l)
		}
		return lines, true
	}
	if frames, ok := wsFrames(b); ok {
		lines := make([]string, len(frames))
		for i, f := range frames {
			lines[i] = f.String()
		}
		return lines, true
	}
	return nil, false
}

// isText reports whether b is UTF-8 text: printable characters, spaces and
// line breaks only.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\r' && r != '\n' && r != '\t' {
			return false
		}
	}
	return true
}
