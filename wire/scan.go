package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is the decoder's JSON scanner. It reads one object in one pass
// and is strict where encoding/json is lenient: a field name must match
// exactly (no case folding, no escapes), a name may appear once, nothing
// may come before the opening brace or after the closing one, and a string
// must be valid UTF-8 with no raw control characters.

// valueKind is the JSON type of a member's value.
type valueKind uint8

const (
	valString valueKind = iota
	valNumber
	valTrue
	valFalse
	valNull
	valArray
	valObject
)

// member is one "name": value pair; the value is b[start:end]. name is a
// slice of the scanned message, not a copy: comparing it with a string
// costs no allocation.
type member struct {
	name       []byte
	kind       valueKind
	start, end int
}

// maxMembers bounds how many fields an object may have. No lab message has
// more than eight; the bound keeps a hostile object from costing much.
const maxMembers = 32

// maxDepth bounds the nesting of values inside unknown fields.
const maxDepth = 16

type scanner struct {
	b []byte
	i int
}

var errSyntax = errors.New("not valid JSON")

func (s *scanner) fail(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", errSyntax, s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// scanObject splits b, which must be exactly one JSON object, into its
// members, appended to ms (a caller's buffer, usually empty). It returns an
// error for anything that is not.
func scanObject(ms []member, b []byte) ([]member, error) {
	s := &scanner{b: b}
	if len(b) == 0 || b[0] != '{' {
		return nil, s.fail("a message is one JSON object, starting with '{' (no white space before it)")
	}
	if b[len(b)-1] != '}' {
		return nil, fmt.Errorf("%w: a message ends with '}', with no white space or data after it", errSyntax)
	}
	s.i = 1
	s.space()
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
		return ms, s.end()
	}
	for {
		s.space()
		name, err := s.name()
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if bytes.Equal(m.name, name) {
				return nil, fmt.Errorf("field %q appears twice", truncate(string(name)))
			}
		}
		if len(ms) == maxMembers {
			return nil, fmt.Errorf("more than %d fields", maxMembers)
		}
		s.space()
		if s.i >= len(b) || b[s.i] != ':' {
			return nil, s.fail("want ':' after a field name")
		}
		s.i++
		s.space()
		m := member{name: name, start: s.i}
		if m.kind, err = s.value(0); err != nil {
			return nil, err
		}
		m.end = s.i
		ms = append(ms, m)
		s.space()
		if s.i >= len(b) {
			return nil, s.fail("unterminated object")
		}
		switch b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return ms, s.end()
		default:
			return nil, s.fail("want ',' or '}'")
		}
	}
}

func (s *scanner) end() error {
	if s.i != len(s.b) {
		return fmt.Errorf("%w: data after the object", errSyntax)
	}
	return nil
}

// name reads a field name: a string of printable ASCII with no escapes.
// The lab's names are lowercase ASCII, and refusing escapes means a name
// has one spelling only. The name is returned as a slice of s.b.
func (s *scanner) name() ([]byte, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, s.fail("want a field name in double quotes")
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			return s.b[start:j:j], nil
		case c == '\\':
			return nil, s.fail("escape in a field name")
		case c < 0x20 || c >= 0x7f:
			return nil, s.fail("field names are printable ASCII")
		}
	}
	return nil, s.fail("unterminated field name")
}

// value skips one value and returns its kind.
func (s *scanner) value(depth int) (valueKind, error) {
	if s.i >= len(s.b) {
		return 0, s.fail("want a value")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return valString, s.skipString()
	case c == '-' || (c >= '0' && c <= '9'):
		return valNumber, s.skipNumber()
	case c == 't':
		return valTrue, s.literal("true")
	case c == 'f':
		return valFalse, s.literal("false")
	case c == 'n':
		return valNull, s.literal("null")
	case c == '[':
		return valArray, s.skipArray(depth)
	case c == '{':
		return valObject, s.skipObject(depth)
	}
	return 0, s.fail("unexpected %q", s.b[s.i])
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.fail("want %s", lit)
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) skipString() error {
	j := s.i + 1
	// Fast path: no escape before the closing quote, as in every base64
	// field; check the run at once.
	if q := bytes.IndexByte(s.b[j:], '"'); q >= 0 {
		run := s.b[j : j+q]
		if bytes.IndexByte(run, '\\') < 0 {
			if k := firstControl(run); k >= 0 {
				s.i = j + k
				return s.fail("control character in a string")
			}
			if !utf8.Valid(run) {
				s.i = j
				return s.fail("invalid UTF-8 in a string")
			}
			s.i = j + q + 1
			return nil
		}
	}
	for j < len(s.b) {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			return nil
		case c == '\\':
			j += 2
		case c < 0x20:
			s.i = j
			return s.fail("control character in a string")
		case c < utf8.RuneSelf:
			j++
		default:
			r, n := utf8.DecodeRune(s.b[j:])
			if r == utf8.RuneError && n == 1 {
				s.i = j
				return s.fail("invalid UTF-8 in a string")
			}
			j += n
		}
	}
	return s.fail("unterminated string")
}

// firstControl returns the index of the first byte of b below 0x20, or -1.
// It tests eight bytes at a time: (x - 0x2020…20) &^ x & 0x8080…80 is
// non-zero exactly when some byte of x is below 0x20 (a borrow can mark a
// later byte too, but only after a byte that really is below 0x20, so the
// byte-by-byte scan that follows finds the right one).
func firstControl(b []byte) int {
	const ones20, highs = 0x2020202020202020, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if (x-ones20)&^x&highs != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 {
			return i
		}
	}
	return -1
}

func (s *scanner) skipNumber() error {
	j := s.i
	if s.b[j] == '-' {
		j++
	}
	digits := func() int {
		n := 0
		for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' {
			j++
			n++
		}
		return n
	}
	if digits() == 0 {
		return s.fail("malformed number")
	}
	if j < len(s.b) && s.b[j] == '.' {
		j++
		if digits() == 0 {
			return s.fail("malformed number")
		}
	}
	if j < len(s.b) && (s.b[j] == 'e' || s.b[j] == 'E') {
		j++
		if j < len(s.b) && (s.b[j] == '+' || s.b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return s.fail("malformed number")
		}
	}
	s.i = j
	return nil
}

func (s *scanner) skipArray(depth int) error {
	if depth >= maxDepth {
		return s.fail("nested too deep")
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.space()
		if _, err := s.value(depth + 1); err != nil {
			return err
		}
		s.space()
		if s.i >= len(s.b) {
			return s.fail("unterminated array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("want ',' or ']'")
		}
	}
}

func (s *scanner) skipObject(depth int) error {
	if depth >= maxDepth {
		return s.fail("nested too deep")
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("want a field name")
		}
		if err := s.skipString(); err != nil {
			return err
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("want ':'")
		}
		s.i++
		s.space()
		if _, err := s.value(depth + 1); err != nil {
			return err
		}
		s.space()
		if s.i >= len(s.b) {
			return s.fail("unterminated object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("want ',' or '}'")
		}
	}
}

// unquote decodes a scanned JSON string literal, quotes included.
func unquote(lit []byte) (string, error) {
	out, err := unquoteBytes(lit)
	return string(out), err
}

// unquoteBytes is unquote returning bytes: for a string with no escapes,
// the body of lit itself, with no copy.
func unquoteBytes(lit []byte) ([]byte, error) {
	body := lit[1 : len(lit)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return body, nil
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(body) {
			return nil, errors.New("bad escape")
		}
		switch body[i+1] {
		case '"', '\\', '/':
			out = append(out, body[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n, err := unicodeEscape(body[i:])
			if err != nil {
				return nil, err
			}
			out = utf8.AppendRune(out, r)
			i += n
			continue
		default:
			return nil, fmt.Errorf("bad escape \\%c", body[i+1])
		}
		i += 2
	}
	return out, nil
}

// unicodeEscape decodes \uXXXX, or a surrogate pair of two, at the start
// of b, and returns the rune and the bytes it took.
func unicodeEscape(b []byte) (rune, int, error) {
	r1, ok := hex4(b)
	if !ok {
		return 0, 0, errors.New(`bad \u escape`)
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6, nil
	}
	if len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
		if r2, ok := hex4(b[6:]); ok {
			if r := utf16.DecodeRune(r1, r2); r != utf8.RuneError {
				return r, 12, nil
			}
		}
	}
	return 0, 0, errors.New("unpaired surrogate in a \\u escape")
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func truncate(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
