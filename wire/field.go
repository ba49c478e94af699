package wire

import "fmt"

// Type names a message. It is the value of the "type" field.
type Type string

// A Message is one lab message. Its type is the value of the "type" field,
// and Fields lists every other field, in the order the encoder writes them.
//
// Fields must return fields that point into the message itself, so that
// the decoder fills the message in place. Schemes declare their own
// messages this way (see kex), and so can a learner's scheme:
//
//	type Hello struct{ Nonce []byte }
//
//	func (*Hello) MessageType() wire.Type { return "hello" }
//	func (m *Hello) Fields() []wire.Field {
//		return []wire.Field{wire.Bytes("nonce", &m.Nonce, 32, 32)}
//	}
type Message interface {
	MessageType() Type
	Fields() []Field
}

// kind is a field's JSON shape.
type kind uint8

const (
	kindBytes kind = iota // standard base64 string
	kindText              // JSON string
	kindUint              // JSON number: a non-negative integer
	kindList              // JSON array of strings
	kindBool              // true or false
)

func (k kind) String() string {
	switch k {
	case kindBytes:
		return "a base64 string"
	case kindText:
		return "a string"
	case kindUint:
		return "a non-negative integer"
	case kindList:
		return "an array of strings"
	}
	return "true or false"
}

// Field is one field of a message: its JSON name, its shape and bounds,
// and where its value lives. Build fields with [Bytes], [Text], [Uint],
// [List] and [Bool].
type Field struct {
	Name     string
	kind     kind
	optional bool
	min, max int // bytes: decoded length; text: bytes; list: items
	itemMax  int // list: bytes per item

	bytes *[]byte
	text  *string
	num   *uint64
	list  *[]string
	flag  *bool
}

// Bytes is a binary field, sent as standard base64 with padding. Its decoded
// length must be between min and max. A required field with min > 0 that
// is empty is [ErrMissingField].
func Bytes(name string, p *[]byte, min, max int) Field {
	return Field{Name: name, kind: kindBytes, min: min, max: max, bytes: p}
}

// Text is a string field of min to max bytes of UTF-8.
func Text(name string, p *string, min, max int) Field {
	return Field{Name: name, kind: kindText, min: min, max: max, text: p}
}

// Uint is a JSON number holding an integer from 0 to 2^64−1.
func Uint(name string, p *uint64) Field {
	return Field{Name: name, kind: kindUint, num: p}
}

// List is an array of at most maxItems strings, each 1 to maxLen bytes.
func List(name string, p *[]string, maxItems, maxLen int) Field {
	return Field{Name: name, kind: kindList, max: maxItems, itemMax: maxLen, list: p}
}

// Bool is true or false.
func Bool(name string, p *bool) Field {
	return Field{Name: name, kind: kindBool, flag: p}
}

// Optional returns f marked optional: it may be absent, and the encoder
// leaves it out when it holds its zero value.
func (f Field) Optional() Field {
	f.optional = true
	return f
}

// Value returns the field's value: a []byte, string, uint64, []string or
// bool.
func (f Field) Value() any {
	switch f.kind {
	case kindBytes:
		return *f.bytes
	case kindText:
		return *f.text
	case kindUint:
		return *f.num
	case kindList:
		return *f.list
	}
	return *f.flag
}

// IsOptional reports whether f may be absent.
func (f Field) IsOptional() bool { return f.optional }

// zero reports whether the field holds its zero value.
func (f Field) zero() bool {
	switch f.kind {
	case kindBytes:
		return len(*f.bytes) == 0
	case kindText:
		return *f.text == ""
	case kindUint:
		return *f.num == 0
	case kindList:
		return len(*f.list) == 0
	}
	return !*f.flag
}

// check checks the field's value against its bounds.
func (f Field) check() error {
	if f.optional && f.zero() {
		return nil
	}
	switch f.kind {
	case kindBytes:
		return between(f.Name, len(*f.bytes), f.min, f.max)
	case kindText:
		return between(f.Name, len(*f.text), f.min, f.max)
	case kindList:
		if len(*f.list) > f.max {
			return fmt.Errorf("%w: %q lists %d items, at most %d", ErrFieldLength, f.Name, len(*f.list), f.max)
		}
		for _, s := range *f.list {
			if s == "" || len(s) > f.itemMax {
				return fmt.Errorf("%w: an item of %q is %d bytes, want 1 to %d", ErrFieldLength, f.Name, len(s), f.itemMax)
			}
		}
	}
	return nil
}

func between(name string, n, lo, hi int) error {
	if n == 0 && lo > 0 {
		return fmt.Errorf("%w: %q", ErrMissingField, name)
	}
	if n < lo || n > hi {
		if lo == hi {
			return fmt.Errorf("%w: %q is %d bytes, want %d", ErrFieldLength, name, n, lo)
		}
		return fmt.Errorf("%w: %q is %d bytes, want %d to %d", ErrFieldLength, name, n, lo, hi)
	}
	return nil
}

// Has reports whether messages of m's type have a field called name.
func Has(m Message, name string) bool {
	for _, f := range m.Fields() {
		if f.Name == name {
			return true
		}
	}
	return false
}
