package tui

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// labelWidth is the width of the detail pane's left column.
const labelWidth = 10

// detail is what the detail pane needs to describe one frame.
type detail struct {
	st         *Styles
	frames     []trace.Event // the frames revealed so far; e is one of them
	e          trace.Event
	outcome    *scenarios.Outcome // nil while the run goes on
	noAttacker bool
	width      int
}

// lines renders the detail pane: the frame, what the attacker saw and
// recovered, what the receiver accepted, the keys a handshake frame
// carries, and the exact bytes its sender sent, as JSON and as hex.
func (d *detail) lines() []string {
	var out []string
	add := func(label, text string) {
		out = append(out, d.labelled(label, text)...)
	}
	e := d.e
	head := "── " + d.header() + " "
	if w := ansi.StringWidth(head); w < d.width {
		head += strings.Repeat("─", d.width-w)
	}
	out = append(out, d.st.Rule.Render(ansi.Truncate(head, d.width, "…")))
	add("attacker", d.attacker())
	if e.Note != "" && e.Type != trace.TypeClose {
		add("", d.st.Dim.Render(printable(e.Note)))
	}
	if e.Type == string(wire.TypeData) {
		add("receiver", d.receiver())
	}
	for _, c := range d.carried() {
		add(c.label, c.text)
	}
	out = append(out, d.sent()...)
	return out
}

func (d *detail) header() string {
	e := d.e
	size := fmt.Sprintf("%d bytes", e.Size)
	if e.Type == trace.TypeClose {
		size = "close frame"
	}
	return fmt.Sprintf("frame %d · leg %s · %s → %s · %s · %s", e.Index, e.Leg, sender(e), receiver(e), frameLabel(e), size)
}

// labelled lays text out beside a label, wrapping at the pane's width.
func (d *detail) labelled(label, text string) []string {
	w := max(d.width-labelWidth, 10)
	wrapped := strings.Split(ansi.Wrap(text, w, " "), "\n")
	out := make([]string, len(wrapped))
	for i, l := range wrapped {
		lab := ""
		if i == 0 {
			lab = label
		}
		out[i] = d.st.Label.Render(padRight(lab, labelWidth)) + l
	}
	return out
}

func (d *detail) attacker() string {
	e := d.e
	b := d.st.badgeWord(e.Verdict) + "  "
	who := "Mallory"
	if d.noAttacker || e.Leg == trace.LegWire {
		who = "an eavesdropper with no keys"
	}
	switch e.Verdict {
	case trace.Read:
		return b + who + " decrypted it and read " + d.st.text(trace.Read, quote(e.Recovered))
	case trace.Forged:
		return b + "Mallory encrypted " + d.st.text(trace.Forged, quote(e.Recovered)) + " himself for " + receiver(e)
	case trace.Opaque:
		return b + who + " saw ciphertext only"
	case trace.Public:
		if e.Type == trace.TypeClose {
			return b + "a close frame: " + printable(e.Note)
		}
		return b + "public by design; " + who + " saw it and relayed it unchanged"
	case trace.Substituted:
		return b + "Mallory made this frame himself"
	case trace.Blocked:
		return b + "it did not get through: " + printable(e.Note)
	}
	return b + printable(e.Note)
}

// receiver says what the frame's final receiver accepted: it matches the
// outcome's messages by direction and sequence number.
func (d *detail) receiver() string {
	e := d.e
	if e.Seq == nil {
		return "no sequence number: the frame did not decode"
	}
	if d.outcome == nil {
		return "pending: the run is still going"
	}
	from := "client"
	if e.Dir == wire.ServerToClient {
		from = "server"
	}
	to := finalReceiver(e.Dir)
	for _, m := range d.outcome.Messages {
		if m.From != from || m.Seq != *e.Seq {
			continue
		}
		switch {
		case !m.Sent:
			return fmt.Sprintf("%s never sent message #%d", finalSender(e.Dir), m.Seq)
		case m.Accepted == nil:
			return to + " accepted nothing"
		case bytes.Equal(m.Accepted, m.Text):
			return fmt.Sprintf("%s accepted %s, just what %s sent", to, quote(m.Accepted), finalSender(e.Dir))
		}
		return fmt.Sprintf("%s accepted %s, but %s sent %s", to, quote(m.Accepted), finalSender(e.Dir), quote(m.Text))
	}
	return fmt.Sprintf("the outcome has no %s message #%d", from, *e.Seq)
}

// field is one value a handshake message carries.
type field struct {
	name  string
	show  string // what the pane shows: a short hex or a fingerprint
	bytes []byte // what two frames are compared by
}

// fields decodes a handshake frame into the values it carries.
func fields(raw []byte) ([]field, error) {
	m, err := wire.Decode(raw)
	if err != nil {
		return nil, err
	}
	var fs []field
	bin := func(name string, b []byte) { fs = append(fs, field{name, shortHex(b), b}) }
	switch m := m.(type) {
	case *wire.RSAPublicKey:
		sum := sha256.Sum256(m.SPKI)
		fs = append(fs, field{"rsa key", "SPKI " + fingerprint(sum[:]) + fmt.Sprintf(" (%d bytes)", len(m.SPKI)), m.SPKI})
	case *wire.KeyTransport:
		bin("wrapped", m.Wrapped)
	case *wire.ClientHello:
		bin("nonce", m.Nonce)
		bin("key_share", m.KeyShare)
		if len(m.Offered) > 0 {
			fs = append(fs, field{"offered", strings.Join(m.Offered, ", "), []byte(strings.Join(m.Offered, ","))})
		}
	case *wire.ServerHello:
		bin("nonce", m.Nonce)
		bin("key_share", m.KeyShare)
		if m.Chosen != "" {
			fs = append(fs, field{"chosen", m.Chosen, []byte(m.Chosen)})
		}
		if len(m.Certificate) > 0 {
			show := fmt.Sprintf("does not parse (%d bytes)", len(m.Certificate))
			if pin, err := kex.CertificatePin(m.Certificate); err == nil {
				show = "pin " + shortPin(pin) + fmt.Sprintf(" (%d bytes)", len(m.Certificate))
			}
			fs = append(fs, field{"cert", show, m.Certificate})
		}
	case *wire.ServerVerify:
		bin("signature", m.Signature)
		bin("finished", m.Finished)
	case *wire.ClientFinished:
		bin("mac", m.MAC)
	}
	return fs, nil
}

type carriedLine struct{ label, text string }

// carried lists the keys and certificate a handshake frame carries and,
// where the same message crossed the other leg, whether Mallory changed
// them on the way.
func (d *detail) carried() []carriedLine {
	e := d.e
	if !handshakeType(e.Type) || len(e.Raw) == 0 {
		return nil
	}
	fs, err := fields(e.Raw)
	if err != nil {
		return []carriedLine{{"carries", "does not decode: " + printable(err.Error())}}
	}
	var other []field
	otherLeg, origin := trace.Leg(""), ""
	if c, ok := counterpart(d.frames, e); ok {
		other, _ = fields(c.Raw)
		otherLeg, origin = c.Leg, sender(c)
		if e.Leg == otherLeg {
			other = nil
		}
	}
	var out []carriedLine
	for _, f := range fs {
		text := f.name + " " + f.show
		for _, o := range other {
			if o.name != f.name {
				continue
			}
			if bytes.Equal(o.bytes, f.bytes) {
				text += d.st.Dim.Render(fmt.Sprintf("  = leg %s", otherLeg))
			} else {
				text += d.st.Badge[trace.Substituted].Render(fmt.Sprintf("  ≠ leg %s, where %s sent %s", otherLeg, origin, o.show))
			}
		}
		out = append(out, carriedLine{"", text})
	}
	if len(out) > 0 {
		out[0].label = "carries"
	}
	if e.Verdict == trace.Substituted {
		note := e.Note
		if note == "" {
			note = "changed by the attacker"
		}
		out = append(out, carriedLine{"", d.st.Badge[trace.Substituted].Render("SUBSTITUTED: " + printable(note))})
	} else if e.Verdict == trace.Public {
		out = append(out, carriedLine{"", d.st.Dim.Render("as its sender made it: not substituted")})
	}
	return out
}

// handshakeType reports whether t is one of the v1 wire format's
// handshake messages, the ones fields can decode.
func handshakeType(t string) bool {
	switch wire.Type(t) {
	case wire.TypeRSAPublicKey, wire.TypeKeyTransport, wire.TypeClientHello, wire.TypeServerHello, wire.TypeServerVerify, wire.TypeClientFinished:
		return true
	}
	return false
}

// counterpart finds the same handshake message on the other leg of the
// same connection: Alice's client_hello on leg A and the one Mallory sent
// Bob on leg B, say. It looks near e only, so it stays cheap on long logs.
func counterpart(frames []trace.Event, e trace.Event) (trace.Event, bool) {
	if e.Leg != trace.LegA && e.Leg != trace.LegB {
		return trace.Event{}, false
	}
	const window = 64
	lo, hi := max(e.Index-window, 0), min(e.Index+window, len(frames))
	for j := lo; j < hi; j++ {
		c := frames[j]
		if c.Index != e.Index && c.Leg != e.Leg && c.Type == e.Type && c.Dir == e.Dir && c.Conn == e.Conn && (c.Leg == trace.LegA || c.Leg == trace.LegB) {
			return c, true
		}
	}
	return trace.Event{}, false
}

// sent shows the frame's bytes: pretty-printed JSON, then hex.
func (d *detail) sent() []string {
	e := d.e
	var out []string
	if len(e.Raw) == 0 {
		text := "no message bytes"
		if e.Type == trace.TypeClose {
			text = "a WebSocket close frame, with the code and reason above"
		}
		return d.labelled("sent", text)
	}
	var pretty bytes.Buffer
	first := "sent"
	if err := json.Indent(&pretty, e.Raw, "", "  "); err == nil {
		for i, l := range strings.Split(pretty.String(), "\n") {
			lab := ""
			if i == 0 {
				lab = first
			}
			for j, part := range strings.Split(ansi.Hardwrap(printable(l), max(d.width-labelWidth, 10), true), "\n") {
				if j > 0 {
					lab = ""
				}
				out = append(out, d.st.Label.Render(padRight(lab, labelWidth))+part)
			}
		}
	} else {
		out = append(out, d.labelled(first, fmt.Sprintf("%d bytes, not JSON: shown in hex", len(e.Raw)))...)
	}
	per := 8
	if d.width >= labelWidth+6+16*3+1+16 {
		per = 16
	}
	for i, l := range hexDump(e.Raw, per) {
		lab := ""
		if i == 0 {
			lab = "hex"
		}
		out = append(out, d.st.Label.Render(padRight(lab, labelWidth))+d.st.Dim.Render(l))
	}
	return out
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

// sender and receiver name the ends of a frame's leg.
func sender(e trace.Event) string {
	from, _ := ends(e)
	return from
}

func receiver(e trace.Event) string {
	_, to := ends(e)
	return to
}

func ends(e trace.Event) (from, to string) {
	from, to = "Alice", "Bob"
	switch e.Leg {
	case trace.LegA:
		to = "Mallory"
	case trace.LegB:
		from = "Mallory"
	}
	if e.Dir == wire.ServerToClient {
		from, to = to, from
	}
	return from, to
}

// finalSender and finalReceiver name the victims at the ends of a direction.
func finalSender(d wire.Direction) string {
	if d == wire.ServerToClient {
		return "Bob"
	}
	return "Alice"
}

func finalReceiver(d wire.Direction) string {
	if d == wire.ServerToClient {
		return "Alice"
	}
	return "Bob"
}

// frameLabel is the text on a frame's arrow: its type, and the sequence
// number of a data frame.
func frameLabel(e trace.Event) string {
	if e.Seq != nil {
		return fmt.Sprintf("%s #%d", e.Type, *e.Seq)
	}
	if e.Type == "" {
		return "?"
	}
	return printable(e.Type)
}

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
