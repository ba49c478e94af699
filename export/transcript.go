package export

import (
	"fmt"
	"unicode/utf8"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// The nodes, as the transcript names them.
const (
	Alice   = "Alice"
	Mallory = "Mallory"
	Bob     = "Bob"
)

// Ends returns the sender and receiver of e on its leg: leg A is
// Alice–Mallory, leg B Mallory–Bob, and the wire Alice–Bob.
func Ends(e trace.Event) (from, to string) {
	client, server := Alice, Bob
	switch e.Leg {
	case trace.LegA:
		server = Mallory
	case trace.LegB:
		client = Mallory
	}
	if e.Dir == wire.ServerToClient {
		return server, client
	}
	return client, server
}

// Route is "Alice → Mallory" and the like: who sent e to whom.
func Route(e trace.Event) string {
	from, to := Ends(e)
	return from + " → " + to
}

// Detail is the transcript's last column: a chat message the attacker
// read or forged, quoted; anything else he recovered, the note with a short
// look at the bytes; otherwise the note.
func Detail(e trace.Event) string {
	switch {
	case e.Recovered == nil:
		return e.Note
	case e.Type == string(wire.TypeData):
		return fmt.Sprintf("%q", e.Recovered)
	case len(e.Recovered) == 0:
		return e.Note
	}
	return e.Note + ": " + preview(e.Recovered)
}

// preview shows the start of b: quoted if it is text, else hex.
func preview(b []byte) string {
	const n = 48
	cut := b[:min(len(b), n)]
	more := ""
	if len(b) > n {
		more = fmt.Sprintf("… (%d bytes)", len(b))
	}
	if utf8.Valid(cut) && printableShare(cut) {
		return fmt.Sprintf("%q%s", cut, more)
	}
	return fmt.Sprintf("%x%s", cut, more)
}

func printableShare(b []byte) bool {
	n := 0
	for _, c := range b {
		if c >= 0x20 && c < 0x7f || c == '\r' || c == '\n' {
			n++
		}
	}
	return n*10 >= len(b)*9
}

// Size is the transcript's size column: the frame's bytes, or "-" for a
// close frame, whose bytes the trace does not keep.
func Size(e trace.Event) string {
	if e.Type == trace.TypeClose {
		return "-"
	}
	return fmt.Sprint(e.Size)
}
