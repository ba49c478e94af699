package tui

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// field is one value a handshake message carries.
type field struct {
	name  string
	show  string // what the pane shows: a short hex or a fingerprint
	bytes []byte // what two frames are compared by
}

// fields decodes a handshake frame into the values it carries, whatever
// its scheme: every field the message declares, in order.
func fields(codec *wire.Codec, raw []byte) ([]field, error) {
	m, err := codec.Decode(raw)
	if err != nil {
		return nil, err
	}
	var fs []field
	for _, f := range m.Fields() {
		name, show, b, ok := describeField(f)
		if ok {
			fs = append(fs, field{name, show, b})
		}
	}
	return fs, nil
}

// describeField shows one field: a certificate by its pin, an RSA key by
// its fingerprint, other bytes as short hex, text as it is. An optional
// field that is absent is left out.
func describeField(f wire.Field) (name, show string, b []byte, ok bool) {
	v := f.Value()
	switch x := v.(type) {
	case []byte:
		if len(x) == 0 && f.IsOptional() {
			return "", "", nil, false
		}
		switch f.Name {
		case "certificate":
			show = fmt.Sprintf("does not parse (%d bytes)", len(x))
			if pin, err := kex.CertificatePin(x); err == nil {
				show = "pin " + shortPin(pin) + fmt.Sprintf(" (%d bytes)", len(x))
			}
			return "cert", show, x, true
		case "spki":
			sum := sha256.Sum256(x)
			return "rsa key", "SPKI " + fingerprint(sum[:]) + fmt.Sprintf(" (%d bytes)", len(x)), x, true
		}
		return f.Name, shortHex(x), x, true
	case string:
		if x == "" && f.IsOptional() {
			return "", "", nil, false
		}
		return f.Name, x, []byte(x), true
	case []string:
		if len(x) == 0 && f.IsOptional() {
			return "", "", nil, false
		}
		return f.Name, strings.Join(x, ", "), []byte(strings.Join(x, ",")), true
	}
	s := fmt.Sprint(v)
	return f.Name, s, []byte(s), true
}

// labelledLine is one line of the detail pane beside its label.
type labelledLine struct{ label, text string }

// carried lists the values a handshake frame carries and, where the same
// message crossed the other leg, whether Mallory changed them on the way;
// then what happened to the frame as a whole.
func (d *detail) carried() []labelledLine {
	e := d.e
	if d.kind != kindHandshake || len(e.Raw) == 0 {
		return nil
	}
	fs, err := fields(d.codec, e.Raw)
	if err != nil {
		return []labelledLine{{"carries", "does not decode: " + printable(err.Error())}}
	}
	c, found := counterpart(d.frames, d.at)
	var other []field
	if found {
		other, _ = fields(d.codec, c.Raw)
	}
	var out []labelledLine
	for _, f := range fs {
		text := f.name + " " + f.show
		for _, o := range other {
			if o.name != f.name {
				continue
			}
			if bytes.Equal(o.bytes, f.bytes) {
				text += d.st.Dim.Render(fmt.Sprintf("  = leg %s", c.Leg))
			} else {
				text += d.st.Badge[trace.Substituted].Render(fmt.Sprintf("  ≠ leg %s, where %s sent %s", c.Leg, sender(c), o.show))
			}
		}
		out = append(out, labelledLine{"", text})
	}
	if len(out) > 0 {
		out[0].label = "carries"
	}
	if l := d.fate(c, found); l != "" {
		out = append(out, labelledLine{"", l})
	}
	return out
}

// fate says what became of a handshake frame as a whole, as its verdict
// and the other leg show it.
func (d *detail) fate(c trace.Event, found bool) string {
	e := d.e
	switch e.Verdict {
	case trace.Substituted:
		note := e.Note
		if note == "" {
			note = "changed by the attacker"
		}
		return d.st.Badge[trace.Substituted].Render("SUBSTITUTED: " + printable(note))
	case trace.Intercepted:
		return d.st.Badge[trace.Intercepted].Render("INTERCEPTED: Mallory kept it; it never went on to " + finalReceiver(e.Dir))
	case trace.Public:
		if found && bytes.Equal(c.Raw, e.Raw) {
			return d.st.Dim.Render(fmt.Sprintf("relayed unchanged: the same bytes crossed leg %s", c.Leg))
		}
		return d.st.Dim.Render("as its sender made it: not substituted")
	}
	return ""
}

// otherLeg compares a record with the same record on the other leg: the
// same bytes relayed, or different bytes made by Mallory.
func (d *detail) otherLeg() []labelledLine {
	e := d.e
	if d.kind != kindRecord && d.kind != kindEnd {
		return nil
	}
	c, ok := counterpart(d.frames, d.at)
	if !ok || len(c.Raw) == 0 || len(e.Raw) == 0 {
		return nil
	}
	if bytes.Equal(c.Raw, e.Raw) {
		return []labelledLine{{"other leg", d.st.Dim.Render(fmt.Sprintf("= leg %s: the same bytes crossed it", c.Leg))}}
	}
	return []labelledLine{{"other leg", fmt.Sprintf("≠ leg %s: different bytes crossed it", c.Leg)}}
}

// counterpart finds the same message on the other leg of the same
// connection: Alice's client_hello on leg A and the one Mallory sent Bob
// on leg B, say, or the record with the same sequence number. It looks
// near frames[at] only, so it stays cheap on long logs.
func counterpart(frames []trace.Event, at int) (trace.Event, bool) {
	if at < 0 || at >= len(frames) {
		return trace.Event{}, false
	}
	e := frames[at]
	if e.Leg != trace.LegA && e.Leg != trace.LegB {
		return trace.Event{}, false
	}
	const window = 64
	lo, hi := max(at-window, 0), min(at+window, len(frames))
	for j := lo; j < hi; j++ {
		c := frames[j]
		if j != at && c.Leg != e.Leg && c.Type == e.Type && c.Dir == e.Dir && c.Conn == e.Conn &&
			(c.Leg == trace.LegA || c.Leg == trace.LegB) && sameSeq(c.Seq, e.Seq) {
			return c, true
		}
	}
	return trace.Event{}, false
}

func sameSeq(a, b *uint64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
