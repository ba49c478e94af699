package wire

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxMessageSize is the largest WebSocket message, in bytes, that the lab
// accepts or sends: 64 KiB.
const MaxMessageSize = 64 << 10

// b64 is standard base64 with padding. Strict refuses non-zero bits in the
// padding, so that every value has exactly one encoding.
var b64 = base64.StdEncoding.Strict()

// Codec knows a set of message types: the ones one scheme's connection may
// carry. It encodes and strictly decodes them. A Codec is immutable once
// made and safe for concurrent use.
type Codec struct {
	types map[Type]reflect.Type
	order []Type
}

// NewCodec returns a codec for the types of msgs, which are usually zero
// values such as &Data{}. Each must be a pointer to a struct; two with the
// same type name are an error unless they are the same Go type.
func NewCodec(msgs ...Message) (*Codec, error) {
	c := &Codec{types: make(map[Type]reflect.Type)}
	for _, m := range msgs {
		if err := c.add(m); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// MustCodec is NewCodec for declarations that cannot fail at run time.
func MustCodec(msgs ...Message) *Codec {
	c, err := NewCodec(msgs...)
	if err != nil {
		panic(err)
	}
	return c
}

// With returns a codec for c's types and those of msgs.
func (c *Codec) With(msgs ...Message) (*Codec, error) {
	n := &Codec{types: make(map[Type]reflect.Type, len(c.types)+len(msgs)), order: slices.Clone(c.order)}
	for t, rt := range c.types {
		n.types[t] = rt
	}
	for _, m := range msgs {
		if err := n.add(m); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (c *Codec) add(m Message) error {
	rt := reflect.TypeOf(m)
	if rt == nil || rt.Kind() != reflect.Pointer || rt.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("wire: codec: %T is not a pointer to a struct", m)
	}
	t := m.MessageType()
	if t == "" || t == "type" {
		return fmt.Errorf("wire: codec: %T has an invalid type name %q", m, t)
	}
	if old, ok := c.types[t]; ok {
		if old != rt.Elem() {
			return fmt.Errorf("wire: codec: type %q is both %s and %s", t, old, rt.Elem())
		}
		return nil
	}
	seen := map[string]bool{"type": true}
	for _, f := range m.Fields() {
		if !validName(f.Name) {
			return fmt.Errorf("wire: codec: %q has a field name %q that is not lowercase letters, digits and underscores", t, f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("wire: codec: %q has two fields called %q", t, f.Name)
		}
		seen[f.Name] = true
	}
	c.types[t] = rt.Elem()
	c.order = append(c.order, t)
	return nil
}

func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Types lists the codec's message types in the order they were added.
func (c *Codec) Types() []Type { return slices.Clone(c.order) }

// New returns a zero message of type t, or nil if the codec does not know t.
func (c *Codec) New(t Type) Message {
	rt, ok := c.types[t]
	if !ok {
		return nil
	}
	return reflect.New(rt).Interface().(Message)
}

// Knows reports whether the codec has message type t.
func (c *Codec) Knows(t Type) bool {
	_, ok := c.types[t]
	return ok
}

// Encode checks m's fields against their bounds and returns its wire form:
// one JSON object, "type" first, then each field in order, with no white
// space. An optional field that holds its zero value is left out.
func Encode(m Message) ([]byte, error) {
	return AppendEncode(nil, m)
}

// AppendEncode appends m's wire form to dst.
func AppendEncode(dst []byte, m Message) ([]byte, error) {
	var buf [2]Field
	fields := fieldsOf(m, &buf)
	for _, f := range fields {
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("wire: encode %s: %w", m.MessageType(), err)
		}
		if f.kind == kindText && !utf8.ValidString(*f.text) {
			return nil, fmt.Errorf("wire: encode %s: %w: %q is not valid UTF-8", m.MessageType(), ErrMalformed, f.Name)
		}
	}
	start := len(dst)
	dst = slices.Grow(dst, encodedSize(m.MessageType(), fields))
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, string(m.MessageType()))
	for _, f := range fields {
		if f.optional && f.zero() {
			continue
		}
		dst = append(dst, ',', '"')
		dst = append(dst, f.Name...)
		dst = append(dst, '"', ':')
		switch f.kind {
		case kindBytes:
			dst = append(dst, '"')
			dst = b64.AppendEncode(dst, *f.bytes)
			dst = append(dst, '"')
		case kindText:
			dst = appendString(dst, *f.text)
		case kindUint:
			dst = strconv.AppendUint(dst, *f.num, 10)
		case kindList:
			dst = append(dst, '[')
			for i, s := range *f.list {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendString(dst, s)
			}
			dst = append(dst, ']')
		case kindBool:
			dst = strconv.AppendBool(dst, *f.flag)
		}
	}
	dst = append(dst, '}')
	if n := len(dst) - start; n > MaxMessageSize {
		return nil, fmt.Errorf("wire: encode %s: %w: %d bytes", m.MessageType(), ErrMessageTooLarge, n)
	}
	return dst, nil
}

// encodedSize estimates a message's encoded size, so Encode allocates
// once.
func encodedSize(t Type, fields []Field) int {
	n := 16 + len(t)
	for _, f := range fields {
		n += len(f.Name) + 6
		switch f.kind {
		case kindBytes:
			n += b64.EncodedLen(len(*f.bytes))
		case kindText:
			n += len(*f.text) + 8
		case kindUint:
			n += 20
		case kindList:
			for _, s := range *f.list {
				n += len(s) + 4
			}
		default:
			n += 5
		}
	}
	return n
}

// appendString appends s as a JSON string. It escapes what JSON requires
// and U+2028 and U+2029, and writes every other character as UTF-8.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			dst = append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, '"')
}

// Decode parses one message strictly, in one pass. The returned error
// wraps one of this package's decoding errors.
//
// Strict means: exactly one JSON object with nothing around it, not even
// white space; "type" names a type the codec knows; every other name is a
// field of that type, spelled exactly, once; every required field is
// present; binary fields are canonical standard base64 with padding and no
// escapes; numbers are plain non-negative integers; and every length is
// within its field's bounds.
func (c *Codec) Decode(b []byte) (Message, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("wire: %w: %d bytes, limit %d", ErrMessageTooLarge, len(b), MaxMessageSize)
	}
	var buf [8]member // more than any lab message has: no allocation
	ms, err := scanObject(buf[:0], b)
	if err != nil {
		return nil, fmt.Errorf("wire: %w: %v", ErrMalformed, err)
	}
	t, err := typeOf(b, ms)
	if err != nil {
		return nil, err
	}
	rt, ok := c.types[Type(t)]
	if !ok {
		return nil, fmt.Errorf("wire: %w: %q", ErrUnknownType, truncate(string(t)))
	}
	m := reflect.New(rt).Interface().(Message)
	if err := fill(b, ms, m); err != nil {
		return nil, fmt.Errorf("wire: %s: %w", m.MessageType(), err)
	}
	return m, nil
}

// DecodeAs decodes b and checks that it is a message of type T. A valid
// message of another type the codec knows is [ErrUnexpectedMessage].
func DecodeAs[T Message](c *Codec, b []byte) (T, error) {
	var zero T
	m, err := c.Decode(b)
	if err != nil {
		return zero, err
	}
	t, ok := m.(T)
	if !ok {
		want := reflect.New(reflect.TypeFor[T]().Elem()).Interface().(Message).MessageType()
		return zero, fmt.Errorf("wire: %w: got %s, want %s", ErrUnexpectedMessage, m.MessageType(), want)
	}
	return t, nil
}

// typeOf returns the value of the "type" member, unquoted: a slice of b
// itself unless it has escapes.
func typeOf(b []byte, ms []member) ([]byte, error) {
	for _, m := range ms {
		if string(m.name) != "type" {
			continue
		}
		if m.kind == valNull {
			break
		}
		if m.kind != valString {
			return nil, fmt.Errorf("wire: %w: %q is not a string", ErrMalformed, "type")
		}
		s, err := unquoteBytes(b[m.start:m.end])
		if err != nil {
			return nil, fmt.Errorf("wire: %w: %q: %v", ErrMalformed, "type", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("wire: %w: %q", ErrMissingField, "type")
}

// fill decodes the scanned members into m's fields.
func fill(b []byte, ms []member, m Message) error {
	var buf [2]Field
	fields := fieldsOf(m, &buf)
	var gotBuf [16]bool
	got := gotBuf[:]
	if len(fields) > len(got) {
		got = make([]bool, len(fields))
	}
	for _, mb := range ms {
		if string(mb.name) == "type" {
			continue
		}
		i := fieldIndex(fields, mb.name)
		if i < 0 {
			return fmt.Errorf("%w: %q", ErrUnknownField, truncate(string(mb.name)))
		}
		got[i] = true
		if err := decodeField(fields[i], b[mb.start:mb.end], mb.kind); err != nil {
			return err
		}
	}
	for i, f := range fields {
		if !got[i] && !f.optional {
			return fmt.Errorf("%w: %q", ErrMissingField, f.Name)
		}
		if err := f.check(); err != nil {
			return err
		}
	}
	return nil
}

// fieldIndex returns the index of the field called name, or -1. The match
// is exact: no case folding.
func fieldIndex(fields []Field, name []byte) int {
	for i := range fields {
		if fields[i].Name == string(name) {
			return i
		}
	}
	return -1
}

func decodeField(f Field, v []byte, k valueKind) error {
	if k == valNull {
		if f.optional {
			return fmt.Errorf("%w: %q is null; leave an optional field out instead", ErrMalformed, f.Name)
		}
		return fmt.Errorf("%w: %q", ErrMissingField, f.Name)
	}
	wrong := func() error {
		return fmt.Errorf("%w: %q is not %s", ErrMalformed, f.Name, f.kind)
	}
	switch f.kind {
	case kindBytes:
		if k != valString {
			return wrong()
		}
		body := v[1 : len(v)-1]
		if bytes.IndexByte(body, '\\') >= 0 {
			return fmt.Errorf("%w: %q: escape in a base64 string", ErrMalformed, f.Name)
		}
		out := make([]byte, b64.DecodedLen(len(body)))
		n, err := b64.Decode(out, body)
		if err != nil || (len(body) > 0 && len(body)%4 != 0) {
			return fmt.Errorf("%w: %q is not canonical standard base64 with padding", ErrMalformed, f.Name)
		}
		*f.bytes = out[:n]
	case kindText:
		if k != valString {
			return wrong()
		}
		s, err := unquote(v)
		if err != nil {
			return fmt.Errorf("%w: %q: %v", ErrMalformed, f.Name, err)
		}
		*f.text = s
	case kindUint:
		if k != valNumber {
			return wrong()
		}
		n, err := parseUint(v)
		if err != nil {
			return fmt.Errorf("%w: %q: %v", ErrMalformed, f.Name, err)
		}
		*f.num = n
	case kindList:
		if k != valArray {
			return wrong()
		}
		list, err := stringList(v)
		if err != nil {
			return fmt.Errorf("%w: %q: %v", ErrMalformed, f.Name, err)
		}
		*f.list = list
	case kindBool:
		if k != valTrue && k != valFalse {
			return wrong()
		}
		*f.flag = k == valTrue
	}
	return nil
}

// parseUint accepts a plain decimal integer from 0 to 2^64−1, with no sign,
// fraction, exponent or leading zero.
func parseUint(v []byte) (uint64, error) {
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%s is not a plain non-negative integer", truncate(string(v)))
		}
	}
	if len(v) > 1 && v[0] == '0' {
		return 0, fmt.Errorf("%s has a leading zero", truncate(string(v)))
	}
	n, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is out of range", truncate(string(v)))
	}
	return n, nil
}

// stringList decodes a scanned array whose items must all be strings.
func stringList(v []byte) ([]string, error) {
	s := &scanner{b: v, i: 1}
	out := []string{}
	s.space()
	if s.b[s.i] == ']' {
		return out, nil
	}
	for {
		s.space()
		start := s.i
		k, err := s.value(1)
		if err != nil {
			return nil, err
		}
		if k != valString {
			return nil, fmt.Errorf("an item is not a string")
		}
		item, err := unquote(v[start:s.i])
		if err != nil {
			return nil, err
		}
		out = append(out, item)
		s.space()
		if v[s.i] == ']' {
			return out, nil
		}
		s.i++ // the comma; scanObject checked the syntax
	}
}

// PeekType returns the "type" of a message without checking the rest. It
// is for logs and traces of frames that may be invalid; protocol code uses
// [Codec.Decode].
func PeekType(b []byte) Type {
	if len(b) > MaxMessageSize {
		return ""
	}
	var buf [8]member
	ms, err := scanObject(buf[:0], b)
	if err != nil {
		return ""
	}
	t, err := typeOf(b, ms)
	if err != nil {
		return ""
	}
	return Type(t)
}
