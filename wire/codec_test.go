package wire_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/wire"
)

// The test messages are declared the way a scheme declares its own: a
// struct whose Fields point into itself. Between them and the record
// layer's Data and End they cover every field shape, required and
// optional.

// hello is a client's opening message: two fixed-size binary fields and an
// optional list.
type hello struct {
	Nonce    []byte
	KeyShare []byte
	Offered  []string
}

func (*hello) MessageType() wire.Type { return "hello" }

func (m *hello) Fields() []wire.Field {
	return []wire.Field{
		wire.Bytes("nonce", &m.Nonce, 32, 32),
		wire.Bytes("key_share", &m.KeyShare, 32, 32),
		wire.List("offered", &m.Offered, 4, 16).Optional(),
	}
}

// answer is a server's reply: required text, bool and list, and optional
// bytes with a range, a number, text and a bool.
type answer struct {
	Chosen      string
	Pinned      bool
	Schemes     []string
	Certificate []byte
	Epoch       uint64
	Note        string
	Resumed     bool
}

func (*answer) MessageType() wire.Type { return "answer" }

func (m *answer) Fields() []wire.Field {
	return []wire.Field{
		wire.Text("chosen", &m.Chosen, 1, 16),
		wire.Bool("pinned", &m.Pinned),
		wire.List("schemes", &m.Schemes, 4, 16),
		wire.Bytes("certificate", &m.Certificate, 1, 1024).Optional(),
		wire.Uint("epoch", &m.Epoch).Optional(),
		wire.Text("note", &m.Note, 0, 64).Optional(),
		wire.Bool("resumed", &m.Resumed).Optional(),
	}
}

// testCodec is the codec a scheme with hello and answer would speak. A
// Codec is immutable, so sharing it between parallel tests is safe.
var testCodec = wire.MustCodec(&hello{}, &answer{}, &wire.Data{}, &wire.End{})

// fill returns n bytes counting up from start, so that a field's bytes
// differ from every other field's.
func fill(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// b64 is the standard base64 of fill(n, start), as a JSON string literal.
func b64(n int, start byte) string {
	return `"` + base64.StdEncoding.EncodeToString(fill(n, start)) + `"`
}

// kv is a message written by hand as name/raw-JSON pairs, in order, so a
// test controls every byte: duplicates, order, spelling.
type kv []string

func (k kv) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(k); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + k[i] + `":` + k[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

// with returns k with name's value replaced by raw, or name appended.
func (k kv) with(name, raw string) kv {
	out := slices.Clone(k)
	for i := 0; i < len(out); i += 2 {
		if out[i] == name {
			out[i+1] = raw
			return out
		}
	}
	return append(out, name, raw)
}

// without returns k without name.
func (k kv) without(name string) kv {
	var out kv
	for i := 0; i < len(k); i += 2 {
		if k[i] != name {
			out = append(out, k[i], k[i+1])
		}
	}
	return out
}

// renamed returns k with the field name spelled as to.
func (k kv) renamed(name, to string) kv {
	out := slices.Clone(k)
	for i := 0; i < len(out); i += 2 {
		if out[i] == name {
			out[i] = to
		}
	}
	return out
}

// Valid messages of each test type, every field present.
var (
	helloKV  = kv{"type", `"hello"`, "nonce", b64(32, 1), "key_share", b64(32, 0x40), "offered", `["pinned-ecdh"]`}
	answerKV = kv{"type", `"answer"`, "chosen", `"pinned-ecdh"`, "pinned", "true", "schemes", `["pinned-ecdh","unauth-ecdh"]`,
		"certificate", b64(300, 9), "epoch", "7", "note", `"hi"`, "resumed", "false"}
	dataKV = kv{"type", `"data"`, "seq", "1", "ct", b64(16, 5)}
	endKV  = kv{"type", `"end"`, "seq", "2", "ct", b64(16, 6)}
)

// shape describes a test type's fields for the generated cases.
type shape struct {
	valid     kv
	required  []string
	optional  []string
	emptyable map[string]string // required field → its empty JSON value, refused as missing
	fixed     map[string]int    // fixed-size binary field → its size
}

var shapes = map[wire.Type]shape{
	"hello": {helloKV, []string{"nonce", "key_share"}, []string{"offered"},
		map[string]string{"nonce": `""`, "key_share": `""`}, map[string]int{"nonce": 32, "key_share": 32}},
	"answer": {answerKV, []string{"chosen", "pinned", "schemes"}, []string{"certificate", "epoch", "note", "resumed"},
		map[string]string{"chosen": `""`}, nil},
	wire.TypeData: {dataKV, []string{"seq", "ct"}, nil, nil, nil},
	wire.TypeEnd:  {endKV, []string{"seq", "ct"}, nil, nil, nil},
}

var shapeOrder = []wire.Type{"hello", "answer", wire.TypeData, wire.TypeEnd}

// sample is one valid message of every test type, in every shape the
// format allows: optional fields present and absent, bounds reached.
func sample() []struct {
	name string
	m    wire.Message
} {
	return []struct {
		name string
		m    wire.Message
	}{
		{"hello/without offered", &hello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40)}},
		{"hello/offering pinned-ecdh", &hello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40), Offered: []string{"pinned-ecdh"}}},
		{"hello/offering four long names", &hello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40),
			Offered: []string{strings.Repeat("a", 16), strings.Repeat("b", 16), strings.Repeat("c", 16), "d"}}},
		{"answer/required fields only", &answer{Chosen: "unauth-ecdh", Schemes: []string{}}},
		{"answer/every field", &answer{Chosen: "pinned-ecdh", Pinned: true, Schemes: []string{"pinned-ecdh", "unauth-ecdh"},
			Certificate: fill(300, 9), Epoch: 7, Note: "hi", Resumed: true}},
		{"answer/largest certificate and epoch", &answer{Chosen: "x", Schemes: []string{"x"}, Certificate: fill(1024, 9), Epoch: math.MaxUint64}},
		{"answer/text that needs escapes", &answer{Chosen: `"\`, Schemes: []string{"tab\there", "line\u2028sep"},
			Note: "say \"hi\"\\\n\r\t\x00\x1f\u2029é🔑"}},
		{"data/first record", &wire.Data{Seq: 0, CT: fill(wire.TagSize, 5)}},
		{"data/empty ct of the null suite", &wire.Data{Seq: 3, CT: []byte{}}},
		{"data/last sequence number", &wire.Data{Seq: math.MaxUint64, CT: fill(100, 5)}},
		{"data/chat message of 1 KiB", &wire.Data{Seq: 1, CT: fill(1024+wire.TagSize, 5)}},
		{"data/largest ct that fits", &wire.Data{Seq: 7, CT: fill(largestCT, 5)}},
		{"end/after one record", &wire.End{Seq: 1, CT: fill(wire.TagSize, 6)}},
		{"end/last sequence number", &wire.End{Seq: math.MaxUint64, CT: fill(wire.TagSize, 6)}},
	}
}

// largestCT is the longest ct whose data record, with seq 7, encodes to at
// most 64 KiB.
const largestCT = (wire.MaxMessageSize - len(`{"type":"data","seq":7,"ct":""}`)) / 4 * 3

// equalMessages compares two messages field by field through their
// declared fields, treating nil and empty as equal, since the encoding
// omits both for an optional field.
func equalMessages(a, b wire.Message) bool {
	if a.MessageType() != b.MessageType() {
		return false
	}
	fa, fb := a.Fields(), b.Fields()
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if fa[i].Name != fb[i].Name {
			return false
		}
		switch va := fa[i].Value().(type) {
		case []byte:
			if !bytes.Equal(va, fb[i].Value().([]byte)) {
				return false
			}
		case []string:
			if !slices.Equal(va, fb[i].Value().([]string)) {
				return false
			}
		default:
			if va != fb[i].Value() {
				return false
			}
		}
	}
	return true
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	seen := map[wire.Type]bool{}
	for _, tt := range sample() {
		seen[tt.m.MessageType()] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := wire.Encode(tt.m)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got := wire.PeekType(b); got != tt.m.MessageType() {
				t.Errorf("PeekType = %q, want %q", got, tt.m.MessageType())
			}
			got, err := testCodec.Decode(b)
			if err != nil {
				t.Fatalf("Decode(%.80s...): %v", b, err)
			}
			if !equalMessages(got, tt.m) {
				t.Errorf("Decode(Encode(m)) = %+v\nwant %+v", got, tt.m)
			}
			// The encoding is a fixed point: encoding the decoded message
			// gives the same bytes.
			b2, err := wire.Encode(got)
			if err != nil || !bytes.Equal(b, b2) {
				t.Errorf("re-encode = %.80s, %v; want the first encoding %.80s", b2, err, b)
			}
		})
	}
	for _, typ := range testCodec.Types() {
		if !seen[typ] {
			t.Errorf("no round-trip case for %s", typ)
		}
	}
}

// TestEncodeBytes pins the exact wire form: "type" first, fields in their
// declared order, no white space, optional zero fields left out.
func TestEncodeBytes(t *testing.T) {
	t.Parallel()
	std := base64.StdEncoding.EncodeToString
	tests := []struct {
		name string
		m    wire.Message
		want string
	}{
		{"hello without offered leaves it out", &hello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40)},
			`{"type":"hello","nonce":"` + std(fill(32, 1)) + `","key_share":"` + std(fill(32, 0x40)) + `"}`},
		{"hello with an empty offer leaves it out", &hello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40), Offered: []string{}},
			`{"type":"hello","nonce":"` + std(fill(32, 1)) + `","key_share":"` + std(fill(32, 0x40)) + `"}`},
		{"hello with offered", &hello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40), Offered: []string{"pinned-ecdh", "unauth-ecdh"}},
			`{"type":"hello","nonce":"` + std(fill(32, 1)) + `","key_share":"` + std(fill(32, 0x40)) + `","offered":["pinned-ecdh","unauth-ecdh"]}`},
		{"required false and empty list are written", &answer{Chosen: "x"},
			`{"type":"answer","chosen":"x","pinned":false,"schemes":[]}`},
		{"every optional field present", &answer{Chosen: "x", Pinned: true, Schemes: []string{"a"}, Certificate: []byte{0xff}, Epoch: 9, Note: "n", Resumed: true},
			`{"type":"answer","chosen":"x","pinned":true,"schemes":["a"],"certificate":"/w==","epoch":9,"note":"n","resumed":true}`},
		{"text is escaped as JSON needs and U+2028/9 too", &answer{Chosen: `"\`, Note: "a\"b\\c\nd\re\tf\x00\x1f\u2028\u2029é🔑"},
			`{"type":"answer","chosen":"\"\\","pinned":false,"schemes":[],"note":"a\"b\\c\nd\re\tf\u0000\u001f\u2028\u2029é🔑"}`},
		{"data with seq 0 writes it", &wire.Data{}, `{"type":"data","seq":0,"ct":""}`},
		{"data with the largest seq", &wire.Data{Seq: math.MaxUint64, CT: []byte{1}}, `{"type":"data","seq":18446744073709551615,"ct":"AQ=="}`},
		{"end", &wire.End{Seq: 4, CT: []byte{0, 0}}, `{"type":"end","seq":4,"ct":"AAA="}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := wire.Encode(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("Encode =\n%s\nwant\n%s", b, tt.want)
			}
			prefixed, err := wire.AppendEncode([]byte("frame: "), tt.m)
			if err != nil || string(prefixed) != "frame: "+tt.want {
				t.Errorf("AppendEncode = %s, %v; want the encoding after the prefix", prefixed, err)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    wire.Message
		want error
	}{
		{"hello without a nonce", &hello{KeyShare: fill(32, 0)}, wire.ErrMissingField},
		{"hello with a 31-byte key share", &hello{Nonce: fill(32, 0), KeyShare: fill(31, 0)}, wire.ErrFieldLength},
		{"hello offering five schemes", &hello{Nonce: fill(32, 0), KeyShare: fill(32, 0), Offered: []string{"a", "b", "c", "d", "e"}}, wire.ErrFieldLength},
		{"hello offering an empty scheme name", &hello{Nonce: fill(32, 0), KeyShare: fill(32, 0), Offered: []string{""}}, wire.ErrFieldLength},
		{"hello offering a 17-byte scheme name", &hello{Nonce: fill(32, 0), KeyShare: fill(32, 0), Offered: []string{strings.Repeat("x", 17)}}, wire.ErrFieldLength},
		{"answer without chosen", &answer{}, wire.ErrMissingField},
		{"answer with a 17-byte chosen", &answer{Chosen: strings.Repeat("x", 17)}, wire.ErrFieldLength},
		{"answer with a certificate over 1 KiB", &answer{Chosen: "x", Certificate: fill(1025, 0)}, wire.ErrFieldLength},
		{"data too large for one message", &wire.Data{CT: fill(wire.MaxMessageSize, 0)}, wire.ErrMessageTooLarge},
		{"data one byte of ct over what fits", &wire.Data{Seq: 7, CT: fill(largestCT+1, 0)}, wire.ErrMessageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := wire.Encode(tt.m)
			if !errors.Is(err, tt.want) || b != nil {
				t.Fatalf("Encode = %.60s, %v; want nil and %q", b, err, tt.want)
			}
			if want := "wire: encode " + string(tt.m.MessageType()) + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start %q", err, want)
			}
			if b, err := wire.AppendEncode([]byte("prefix"), tt.m); err == nil || b != nil {
				t.Errorf("AppendEncode = %.60s, %v; want nil and an error", b, err)
			}
		})
	}
}

// wireTextCase is a message written by hand that Decode accepts.
type wireTextCase struct {
	name string
	in   string
	want wire.Message
}

func wireTextCases() []wireTextCase {
	return []wireTextCase{
		{"data with white space inside the object", "{ \"type\" : \"data\" ,\n\"seq\":\t3 ,\r\n \"ct\" : " + b64(16, 0) + " }",
			&wire.Data{Seq: 3, CT: fill(16, 0)}},
		{"fields in another order, type last", `{"ct":` + b64(16, 0) + `,"seq":18446744073709551615,"type":"data"}`,
			&wire.Data{Seq: math.MaxUint64, CT: fill(16, 0)}},
		{"seq 0", `{"type":"data","seq":0,"ct":` + b64(16, 0) + `}`, &wire.Data{CT: fill(16, 0)}},
		{"the null suite's empty ct", `{"type":"data","seq":5,"ct":""}`, &wire.Data{Seq: 5, CT: []byte{}}},
		{"canonical base64 of one byte", `{"type":"end","seq":1,"ct":"AQ=="}`, &wire.End{Seq: 1, CT: []byte{1}}},
		{"canonical base64 with a slash", `{"type":"end","seq":1,"ct":"/w=="}`, &wire.End{Seq: 1, CT: []byte{0xff}}},
		{"hello without its optional offer", kv{"type", `"hello"`, "nonce", b64(32, 0), "key_share", b64(32, 1)}.String(),
			&hello{Nonce: fill(32, 0), KeyShare: fill(32, 1)}},
		{"hello with an offer spread over lines", helloKV.with("offered", "[ \"a\" ,\n\t\"b\" ]").String(),
			&hello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40), Offered: []string{"a", "b"}}},
		{"optional fields present with zero values", answerKV.with("certificate", `""`).with("epoch", "0").
			with("note", `""`).with("resumed", "false").String(),
			&answer{Chosen: "pinned-ecdh", Pinned: true, Schemes: []string{"pinned-ecdh", "unauth-ecdh"}}},
		{"optional empty list present", helloKV.with("offered", "[]").String(), &hello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40)}},
		{"required list may be empty", answerKV.with("schemes", "[]").String(),
			&answer{Chosen: "pinned-ecdh", Pinned: true, Schemes: []string{}, Certificate: fill(300, 9), Epoch: 7, Note: "hi"}},
		{"escapes in text values", answerKV.with("note", `"\u00e9\n\"\/\\\b\f\t\r"`).String(),
			&answer{Chosen: "pinned-ecdh", Pinned: true, Schemes: []string{"pinned-ecdh", "unauth-ecdh"}, Certificate: fill(300, 9), Epoch: 7,
				Note: "é\n\"/\\\b\f\t\r"}},
		{"a surrogate pair escape", answerKV.with("note", `"\ud83d\udd11"`).String(),
			&answer{Chosen: "pinned-ecdh", Pinned: true, Schemes: []string{"pinned-ecdh", "unauth-ecdh"}, Certificate: fill(300, 9), Epoch: 7, Note: "🔑"}},
		{"escape in a list item", answerKV.with("schemes", `["\u0070inned-ecdh"]`).String(),
			&answer{Chosen: "pinned-ecdh", Pinned: true, Schemes: []string{"pinned-ecdh"}, Certificate: fill(300, 9), Epoch: 7, Note: "hi"}},
		{"raw U+2028 in text, which Encode escapes", answerKV.with("note", "\"a\u2028b\"").String(),
			&answer{Chosen: "pinned-ecdh", Pinned: true, Schemes: []string{"pinned-ecdh", "unauth-ecdh"}, Certificate: fill(300, 9), Epoch: 7, Note: "a\u2028b"}},
		// The type's value is a JSON string like any text: only field names
		// and base64 must be free of escapes.
		{"escape in the type's value", `{"type":"d\u0061ta","seq":1,"ct":""}`, &wire.Data{Seq: 1, CT: []byte{}}},
		{"text of exactly 64 bytes of two-byte characters", answerKV.with("note", `"`+strings.Repeat("é", 32)+`"`).String(),
			&answer{Chosen: "pinned-ecdh", Pinned: true, Schemes: []string{"pinned-ecdh", "unauth-ecdh"}, Certificate: fill(300, 9), Epoch: 7,
				Note: strings.Repeat("é", 32)}},
	}
}

// TestDecodeWireText decodes messages written by hand, as another
// implementation might send them: interior white space, any field order,
// escapes in text, zero-valued optional fields. The format is the bytes,
// not Go's encoder; the canonical encoding of each is what Encode writes.
func TestDecodeWireText(t *testing.T) {
	t.Parallel()
	for _, tt := range wireTextCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := testCodec.Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode(%.100s): %v", tt.in, err)
			}
			if !equalMessages(got, tt.want) {
				t.Fatalf("Decode = %+v\nwant %+v", got, tt.want)
			}
			// Encode writes the one canonical form, and that form is a
			// fixed point.
			want, err := wire.Encode(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := wire.Encode(got)
			if err != nil || !bytes.Equal(enc, want) {
				t.Errorf("Encode(Decode(in)) = %s, %v\nwant %s", enc, err, want)
			}
			again, err := testCodec.Decode(enc)
			if err != nil || !equalMessages(again, got) {
				t.Errorf("Decode of the canonical form = %+v, %v", again, err)
			}
		})
	}
}

// decodeErrorCase is one input Decode must refuse, with the sentinel it must
// wrap and the close code the lab sends for it.
type decodeErrorCase struct {
	name string
	in   string
	want error
}

// dirtyPadding sets the lowest bit of the last character before the
// padding of a canonical base64 string literal. With padding, that bit is
// a padding bit, so the result decodes, leniently, to the same bytes: the
// second spelling that strict decoding must refuse.
func dirtyPadding(lit string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	s := strings.Trim(lit, `"`)
	i := strings.IndexByte(s, '=') - 1
	if i < 0 {
		panic("dirtyPadding needs a padded string")
	}
	v := strings.IndexByte(alphabet, s[i])
	return `"` + s[:i] + string(alphabet[v|1]) + s[i+1:] + `"`
}

// nested returns an unknown field's value nested depth arrays deep.
func nested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// manyFields returns a data frame with n members in all, the extra ones
// unknown.
func manyFields(n int) string {
	k := dataKV
	for i := len(k) / 2; i < n; i++ {
		k = k.with(fmt.Sprintf("x%d", i), "0")
	}
	return k.String()
}

func decodeErrorCases() []decodeErrorCase {
	var (
		malformed = wire.ErrMalformed
		unknownT  = wire.ErrUnknownType
		unknownF  = wire.ErrUnknownField
		missing   = wire.ErrMissingField
		length    = wire.ErrFieldLength
		tooLarge  = wire.ErrMessageTooLarge
	)
	data := dataKV.String()
	seq := func(raw string) string { return dataKV.with("seq", raw).String() }
	ct := func(raw string) string { return dataKV.with("ct", raw).String() }
	note := func(raw string) string { return answerKV.with("note", raw).String() }
	schemes := func(raw string) string { return answerKV.with("schemes", raw).String() }
	cases := []decodeErrorCase{
		{"malformed JSON/not JSON at all", `hello`, malformed},
		{"malformed JSON/empty message", ``, malformed},
		{"malformed JSON/only spaces", `   `, malformed},
		{"malformed JSON/object cut short", data[:len(data)-5], malformed},
		{"malformed JSON/closing brace only at the end", `{"type":"data","seq":1,"ct":"AQ==}`, malformed},
		{"malformed JSON/single quotes", `{'type':'data'}`, malformed},
		{"malformed JSON/trailing comma", data[:len(data)-1] + `,}`, malformed},
		{"malformed JSON/missing colon", `{"type" "data"}`, malformed},
		{"malformed JSON/invalid UTF-8 outside strings", "{\"type\":\"data\",\xff}", malformed},
		{"not an object/array", `[{"type":"data"}]`, malformed},
		{"not an object/string", `"data"`, malformed},
		{"not an object/number", `42`, malformed},
		{"not an object/true", `true`, malformed},
		{"not an object/null", `null`, malformed},
		{"white space/a space before the object", " " + data, malformed},
		{"white space/a newline before the object", "\n" + data, malformed},
		{"white space/a byte order mark before the object", "\ufeff" + data, malformed},
		{"white space/a space after the object", data + " ", malformed},
		{"white space/a tab after the object", data + "\t", malformed},
		{"white space/CRLF after the object", data + "\r\n", malformed},
		{"trailing data/second object", data + `{}`, malformed},
		{"trailing data/second copy of the frame", data + data, malformed},
		{"trailing data/garbage", data + `x`, malformed},
		{"trailing data/NUL byte", data + "\x00", malformed},
		{"trailing data/extra closing brace", data + "}", malformed},
		{"duplicate field/seq twice with the same value", dataKV.with("seq2", "1").renamed("seq2", "seq").String(), malformed},
		{"duplicate field/seq twice with different values", strings.Replace(data, `"seq":1`, `"seq":1,"seq":0`, 1), malformed},
		{"duplicate field/type twice", strings.Replace(data, `"type":"data"`, `"type":"data","type":"data"`, 1), malformed},
		{"duplicate field/nonce twice", helloKV.with("nonce2", b64(32, 1)).renamed("nonce2", "nonce").String(), malformed},
		{"duplicate field/an unknown field twice", dataKV.with("x", "1").with("y", "1").renamed("y", "x").String(), malformed},
		{"field name/escaped letter", strings.Replace(data, `"seq"`, `"s\u0065q"`, 1), malformed},
		{"field name/escaped upper-case letter", strings.Replace(data, `"seq"`, `"\u0053eq"`, 1), malformed},
		{"field name/escaped type", strings.Replace(data, `"type"`, `"\u0074ype"`, 1), malformed},
		{"field name/escaped slash", dataKV.with(`\/x`, "1").String(), malformed},
		{"field name/non-ASCII", dataKV.with("séq", "1").String(), malformed},
		{"field name/control character", dataKV.with("s\teq", "1").String(), malformed},
		{"field name/DEL character", dataKV.with("s\x7feq", "1").String(), malformed},
		{"unknown type/hello2", `{"type":"hello2"}`, unknownT},
		{"unknown type/empty string", `{"type":""}`, unknownT},
		{"unknown type/upper case DATA", strings.Replace(data, `"data"`, `"DATA"`, 1), unknownT},
		{"unknown type/trailing space", strings.Replace(data, `"data"`, `"data "`, 1), unknownT},
		{"unknown type/escaped NUL after the name", strings.Replace(data, `"data"`, `"data\u0000"`, 1), unknownT},
		{"unknown type/very long name", `{"type":"` + strings.Repeat("é", 1000) + `"}`, unknownT},
		{"type/a number", `{"type":7}`, malformed},
		{"type/an object", `{"type":{"name":"data"}}`, malformed},
		{"type/an array", `{"type":["data"]}`, malformed},
		{"type/true", `{"type":true}`, malformed},
		{"type/invalid UTF-8", "{\"type\":\"d\xffta\"}", malformed},
		{"type/a bad escape", `{"type":"d\x61ta"}`, malformed},
		{"type/a lone surrogate", `{"type":"\ud800"}`, malformed},
		{"missing type/empty object", `{}`, missing},
		{"missing type/empty object with a space", `{ }`, missing},
		{"missing type/data frame without type", dataKV.without("type").String(), missing},
		{"missing type/null type", dataKV.with("type", "null").String(), missing},
		{"missing type/Type instead of type", dataKV.renamed("type", "Type").String(), missing},
		{"unknown field/Type beside type", strings.Replace(data, `"type":"data"`, `"type":"data","Type":"data"`, 1), unknownF},
		{"unknown field/Nonce instead of nonce", helloKV.renamed("nonce", "Nonce").String(), unknownF},
		{"unknown field/SEQ instead of seq", dataKV.renamed("seq", "SEQ").String(), unknownF},
		{"unknown field/Ct instead of ct", dataKV.renamed("ct", "Ct").String(), unknownF},
		{"unknown field/a field of another message in data", dataKV.with("nonce", b64(32, 0)).String(), unknownF},
		{"unknown field/an unknown field that is null", dataKV.with("extra", "null").String(), unknownF},
		{"unknown field/a value nested 16 deep", dataKV.with("extra", nested(16)).String(), unknownF},
		{"unknown field/32 fields in all", manyFields(32), unknownF},
		{"nested too deep/an unknown value nested 17 deep", dataKV.with("extra", nested(17)).String(), malformed},
		{"nested too deep/objects nested 17 deep", dataKV.with("extra", strings.Repeat(`{"a":`, 17)+"1"+strings.Repeat("}", 17)).String(), malformed},
		{"nested too deep/a list nested 17 deep", helloKV.with("offered", nested(17)).String(), malformed},
		{"too many fields/33 fields in all", manyFields(33), malformed},
		{"bad base64/non-zero padding bits in one byte", ct(`"AR=="`), malformed},
		{"bad base64/non-zero padding bits in two bytes", ct(`"AAB="`), malformed},
		{"bad base64/non-zero padding bits in a 32-byte nonce", helloKV.with("nonce", dirtyPadding(b64(32, 1))).String(), malformed},
		{"bad base64/missing padding", ct(`"AQ"`), malformed},
		{"bad base64/short padding", ct(`"AQ="`), malformed},
		{"bad base64/too much padding", ct(`"AQ==="`), malformed},
		{"bad base64/only padding", ct(`"===="`), malformed},
		{"bad base64/padding in the middle", ct(`"AQ==AQ=="`), malformed},
		{"bad base64/a space inside", ct(`"AQ =="`), malformed},
		{"bad base64/URL-safe alphabet", ct(`"-_8="`), malformed},
		{"bad base64/not base64 at all", ct(`"!!!!"`), malformed},
		{"bad base64/unpadded whole nonce", helloKV.with("nonce", `"`+base64.RawStdEncoding.EncodeToString(fill(32, 1))+`"`).String(), malformed},
		{"bad base64/hex of 32 bytes decodes as base64 of 48", helloKV.with("nonce", fmt.Sprintf(`"%x"`, fill(32, 0))).String(), length},
		{"base64 with escapes/escaped slash", ct(`"\/w=="`), malformed},
		{"base64 with escapes/escaped letter", ct(`"A\u0051=="`), malformed},
		{"base64 with escapes/escaped newline", ct(`"AQ\n=="`), malformed},
		{"base64 with escapes/escaped padding", ct(`"AQ\u003d="`), malformed},
		{"numbers/leading zero", seq("01"), malformed},
		{"numbers/two zeros", seq("00"), malformed},
		{"numbers/negative", seq("-1"), malformed},
		{"numbers/negative zero", seq("-0"), malformed},
		{"numbers/plus sign", seq("+1"), malformed},
		{"numbers/fractional", seq("1.5"), malformed},
		{"numbers/a zero fraction", seq("1.0"), malformed},
		{"numbers/exponent", seq("1e3"), malformed},
		{"numbers/upper-case exponent", seq("1E3"), malformed},
		{"numbers/huge exponent", seq("1e30"), malformed},
		{"numbers/hexadecimal", seq("0x10"), malformed},
		{"numbers/one more than the largest seq", seq("18446744073709551616"), malformed},
		{"numbers/far more than the largest seq", seq(strings.Repeat("9", 40)), malformed},
		{"numbers/seq as a string", seq(`"1"`), malformed},
		{"numbers/seq as true", seq("true"), malformed},
		{"numbers/an optional number that is negative", answerKV.with("epoch", "-7").String(), malformed},
		{"null/required seq", seq("null"), missing},
		{"null/required ct", ct("null"), missing},
		{"null/optional offered", helloKV.with("offered", "null").String(), malformed},
		{"null/optional certificate", answerKV.with("certificate", "null").String(), malformed},
		{"null/optional epoch", answerKV.with("epoch", "null").String(), malformed},
		{"null/optional note", note("null"), malformed},
		{"null/optional resumed", answerKV.with("resumed", "null").String(), malformed},
		{"wrong JSON type/nonce is a number", helloKV.with("nonce", "5").String(), malformed},
		{"wrong JSON type/nonce is an array of bytes", helloKV.with("nonce", "[1,2,3]").String(), malformed},
		{"wrong JSON type/chosen is a number", answerKV.with("chosen", "1").String(), malformed},
		{"wrong JSON type/pinned is a string", answerKV.with("pinned", `"true"`).String(), malformed},
		{"wrong JSON type/pinned is 1", answerKV.with("pinned", "1").String(), malformed},
		{"wrong JSON type/pinned is True", answerKV.with("pinned", "True").String(), malformed},
		{"wrong JSON type/offered is a string", helloKV.with("offered", `"pinned-ecdh"`).String(), malformed},
		{"wrong JSON type/offered is an object", helloKV.with("offered", `{"a":"b"}`).String(), malformed},
		{"arrays of non-strings/numbers", schemes("[1,2]"), malformed},
		{"arrays of non-strings/null", schemes("[null]"), malformed},
		{"arrays of non-strings/a nested array", schemes(`[["a"]]`), malformed},
		{"arrays of non-strings/an object", schemes(`[{"a":"b"}]`), malformed},
		{"arrays of non-strings/a string then a number", schemes(`["a",1]`), malformed},
		{"arrays of non-strings/true", schemes(`[true]`), malformed},
		{"arrays/trailing comma", schemes(`["a",]`), malformed},
		{"invalid strings/invalid UTF-8 in text", note("\"\xff\""), malformed},
		{"invalid strings/overlong UTF-8 in text", note("\"\xc0\xaf\""), malformed},
		{"invalid strings/UTF-8 of a surrogate in text", note("\"\xed\xa0\x80\""), malformed},
		{"invalid strings/truncated UTF-8 in text", note("\"\xe2\x82\""), malformed},
		{"invalid strings/invalid UTF-8 in a list item", schemes("[\"a\xffb\"]"), malformed},
		{"invalid strings/invalid UTF-8 in an unknown field", dataKV.with("x", "\"\xff\"").String(), malformed},
		{"invalid strings/raw control character", note("\"a\x01b\""), malformed},
		{"invalid strings/raw tab", note("\"a\tb\""), malformed},
		{"invalid strings/raw newline", note("\"a\nb\""), malformed},
		{"invalid strings/lone high surrogate escape", note(`"\ud800"`), malformed},
		{"invalid strings/lone low surrogate escape", note(`"\udc00"`), malformed},
		{"invalid strings/surrogates in the wrong order", note(`"\udc00\ud800"`), malformed},
		{"invalid strings/unknown escape", note(`"\x41"`), malformed},
		{"invalid strings/short unicode escape", note(`"\u12"`), malformed},
		{"invalid strings/non-hex unicode escape", note(`"\u12g4"`), malformed},
		{"wrong length/chosen of 17 bytes", answerKV.with("chosen", `"`+strings.Repeat("x", 17)+`"`).String(), length},
		{"wrong length/note of 65 bytes", note(`"` + strings.Repeat("x", 65) + `"`), length},
		{"wrong length/note of 33 two-byte characters", note(`"` + strings.Repeat("é", 33) + `"`), length},
		{"wrong length/note of 65 bytes once unescaped", note(`"` + strings.Repeat(`\u0078`, 65) + `"`), length},
		{"wrong length/certificate over 1 KiB", answerKV.with("certificate", b64(1025, 0)).String(), length},
		{"wrong length/offered lists 5 schemes", helloKV.with("offered", `["a","b","c","d","e"]`).String(), length},
		{"wrong length/offered scheme name is empty", helloKV.with("offered", `["pinned-ecdh",""]`).String(), length},
		{"wrong length/offered scheme name of 17 bytes", helloKV.with("offered", `["`+strings.Repeat("x", 17)+`"]`).String(), length},
		{"over 64 KiB/valid data frame one byte too long", oversize(wire.MaxMessageSize + 1), tooLarge},
		{"over 64 KiB/70 KiB of garbage", strings.Repeat("x", 70<<10), tooLarge},
		{"over 64 KiB/1 MiB of spaces", strings.Repeat(" ", 1<<20), tooLarge},
	}
	for _, typ := range shapeOrder {
		sh := shapes[typ]
		cases = append(cases, decodeErrorCase{fmt.Sprintf("unknown field/%s with an extra field", typ), sh.valid.with("extra", "1").String(), unknownF})
		for _, f := range sh.required {
			cases = append(cases,
				decodeErrorCase{fmt.Sprintf("missing field/%s without %s", typ, f), sh.valid.without(f).String(), missing},
				decodeErrorCase{fmt.Sprintf("null field/%s with %s null", typ, f), sh.valid.with(f, "null").String(), missing},
				decodeErrorCase{fmt.Sprintf("unknown field/%s with %s capitalised", typ, f), sh.valid.renamed(f, strings.ToUpper(f[:1])+f[1:]).String(), unknownF},
				decodeErrorCase{fmt.Sprintf("field name/%s with %s escaped", typ, f),
					strings.Replace(sh.valid.String(), `"`+f+`"`, `"\u00`+fmt.Sprintf("%x", f[0])+f[1:]+`"`, 1), malformed},
			)
			if empty, ok := sh.emptyable[f]; ok {
				cases = append(cases, decodeErrorCase{fmt.Sprintf("empty field/%s with %s empty", typ, f), sh.valid.with(f, empty).String(), missing})
			}
		}
		for _, f := range sh.optional {
			cases = append(cases, decodeErrorCase{fmt.Sprintf("null field/%s with optional %s null", typ, f), sh.valid.with(f, "null").String(), malformed})
		}
		for _, f := range slices.Sorted(maps.Keys(sh.fixed)) {
			n := sh.fixed[f]
			cases = append(cases,
				decodeErrorCase{fmt.Sprintf("wrong length/%s %s one byte short", typ, f), sh.valid.with(f, b64(n-1, 0)).String(), length},
				decodeErrorCase{fmt.Sprintf("wrong length/%s %s one byte long", typ, f), sh.valid.with(f, b64(n+1, 0)).String(), length},
				decodeErrorCase{fmt.Sprintf("wrong length/%s %s of 1 byte", typ, f), sh.valid.with(f, b64(1, 0)).String(), length},
			)
		}
	}
	return cases
}

// oversize returns a data frame of exactly n bytes that is valid but for
// its size: the ct fills it up, and a longer seq makes up the rest.
func oversize(n int) string {
	for seq := uint64(1); ; seq = seq*10 + 1 {
		head, tail := fmt.Sprintf(`{"type":"data","seq":%d,"ct":"`, seq), `"}`
		ctLen := (n - len(head) - len(tail)) / 4 * 3
		s := head + base64.StdEncoding.EncodeToString(fill(ctLen, 0)) + tail
		if len(s) == n {
			return s
		}
	}
}

// sentinels are every named error in package wire; a decoding error must
// wrap exactly one.
var sentinels = []error{wire.ErrMalformed, wire.ErrUnknownType, wire.ErrUnknownField, wire.ErrMissingField,
	wire.ErrFieldLength, wire.ErrMessageTooLarge, wire.ErrUnexpectedMessage, wire.ErrBinaryMessage,
	wire.ErrInvalidUTF8, wire.ErrPeerClosed}

// wantCode is the close code the lab sends for a decoding error.
func wantCode(sentinel error) websocket.StatusCode {
	switch sentinel {
	case wire.ErrMessageTooLarge:
		return websocket.StatusMessageTooBig
	case wire.ErrInvalidUTF8:
		return websocket.StatusInvalidFramePayloadData
	}
	return websocket.StatusProtocolError
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, tt := range decodeErrorCases() {
		if names[tt.name] {
			t.Errorf("two cases called %q", tt.name)
		}
		names[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := testCodec.Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode(%.100q) = %+v, want an error wrapping %q", tt.in, m, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode(%.100q) = %v, want an error wrapping %q", tt.in, err, tt.want)
			}
			for _, p := range decodeErrorProblems([]byte(tt.in), m, err) {
				t.Error(p)
			}
			if got, want := wire.CloseCode(err), wantCode(tt.want); got != want {
				t.Errorf("CloseCode(%v) = %d, want %d", err, got, want)
			}
			if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error is %d bytes long; it must not echo the input", len(err.Error()))
			}
		})
	}
}

// TestEveryDecodeErrorIsTested: each named decoding error has a case, so
// none of them is only a name.
func TestEveryDecodeErrorIsTested(t *testing.T) {
	t.Parallel()
	got := map[error]int{}
	for _, c := range decodeErrorCases() {
		got[c.want]++
	}
	for _, s := range []error{wire.ErrMalformed, wire.ErrUnknownType, wire.ErrUnknownField, wire.ErrMissingField,
		wire.ErrFieldLength, wire.ErrMessageTooLarge} {
		if got[s] == 0 {
			t.Errorf("no case for %q", s)
		}
	}
}

// TestDecodeSizeBoundary: exactly 64 KiB is allowed, one byte more is not.
func TestDecodeSizeBoundary(t *testing.T) {
	t.Parallel()
	in := oversize(wire.MaxMessageSize)
	if len(in) != 64<<10 {
		t.Fatalf("test frame is %d bytes", len(in))
	}
	if _, err := testCodec.Decode([]byte(in)); err != nil {
		t.Errorf("Decode of a valid frame of exactly 64 KiB: %v", err)
	}
	if _, err := testCodec.Decode([]byte(oversize(wire.MaxMessageSize + 1))); !errors.Is(err, wire.ErrMessageTooLarge) {
		t.Errorf("Decode of 64 KiB + 1 = %v, want ErrMessageTooLarge", err)
	}
}

// TestSeqBounds: the largest uint64 is a valid seq, one more is not.
func TestSeqBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		seq  string
		want uint64
		err  error
	}{
		{"seq 0", "0", 0, nil},
		{"seq 2^53+1 keeps every digit", "9007199254740993", 1<<53 + 1, nil},
		{"seq 2^64-1 is the largest", "18446744073709551615", math.MaxUint64, nil},
		{"seq 2^64 is refused", "18446744073709551616", 0, wire.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := wire.DecodeAs[*wire.Data](testCodec, []byte(dataKV.with("seq", tt.seq).String()))
			if !errors.Is(err, tt.err) || (err == nil && d.Seq != tt.want) {
				t.Errorf("Decode = %+v, %v; want seq %d, error %v", d, err, tt.want, tt.err)
			}
		})
	}
}

func TestDecodeAs(t *testing.T) {
	t.Parallel()
	hb, err := wire.Encode(&hello{Nonce: fill(32, 0), KeyShare: fill(32, 1)})
	if err != nil {
		t.Fatal(err)
	}
	db, err := wire.Encode(&wire.Data{Seq: 1, CT: fill(16, 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the expected type", func(t *testing.T) {
		t.Parallel()
		m, err := wire.DecodeAs[*hello](testCodec, hb)
		if err != nil || !bytes.Equal(m.KeyShare, fill(32, 1)) {
			t.Errorf("DecodeAs = %+v, %v", m, err)
		}
	})
	t.Run("data where a hello is due", func(t *testing.T) {
		t.Parallel()
		m, err := wire.DecodeAs[*hello](testCodec, db)
		if !errors.Is(err, wire.ErrUnexpectedMessage) || m != nil {
			t.Fatalf("DecodeAs = %+v, %v; want nil and ErrUnexpectedMessage", m, err)
		}
		if code := wire.CloseCode(err); code != websocket.StatusProtocolError {
			t.Errorf("CloseCode = %d, want 1002", code)
		}
		if !strings.Contains(err.Error(), "got data, want hello") {
			t.Errorf("error %q does not name both types", err)
		}
	})
	t.Run("a malformed message stays malformed", func(t *testing.T) {
		t.Parallel()
		if _, err := wire.DecodeAs[*hello](testCodec, []byte(" "+string(hb))); !errors.Is(err, wire.ErrMalformed) || errors.Is(err, wire.ErrUnexpectedMessage) {
			t.Errorf("DecodeAs = %v, want only ErrMalformed", err)
		}
	})
	t.Run("a type the codec does not know is unknown, not unexpected", func(t *testing.T) {
		t.Parallel()
		if _, err := wire.DecodeAs[*wire.Data](wire.Records(), hb); !errors.Is(err, wire.ErrUnknownType) {
			t.Errorf("DecodeAs with the records codec = %v, want ErrUnknownType", err)
		}
	})
}

func TestPeekType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     wire.Type
	}{
		{"data", dataKV.String(), wire.TypeData},
		{"a type no codec knows", `{"type":"nobody"}`, "nobody"},
		{"a message with a bad field still shows its type", dataKV.with("seq", "-1").String(), wire.TypeData},
		{"malformed", `{"type":"data"`, ""},
		{"white space around", " " + dataKV.String(), ""},
		{"no type", `{"seq":1}`, ""},
		{"type is a number", `{"type":1}`, ""},
		{"oversize", oversize(wire.MaxMessageSize + 1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := wire.PeekType([]byte(tt.in)); got != tt.want {
				t.Errorf("PeekType = %q, want %q", got, tt.want)
			}
		})
	}
}

// Message types that no codec may accept.

type valueMessage struct{}

func (valueMessage) MessageType() wire.Type { return "value" }
func (valueMessage) Fields() []wire.Field   { return nil }

type notStruct []byte

func (*notStruct) MessageType() wire.Type { return "not_struct" }
func (*notStruct) Fields() []wire.Field   { return nil }

type unnamed struct{}

func (*unnamed) MessageType() wire.Type { return "" }
func (*unnamed) Fields() []wire.Field   { return nil }

type calledType struct{}

func (*calledType) MessageType() wire.Type { return "type" }
func (*calledType) Fields() []wire.Field   { return nil }

type twoNonces struct{ A, B []byte }

func (*twoNonces) MessageType() wire.Type { return "two_nonces" }
func (m *twoNonces) Fields() []wire.Field {
	return []wire.Field{wire.Bytes("nonce", &m.A, 32, 32), wire.Bytes("nonce", &m.B, 32, 32)}
}

type typeField struct{ T string }

func (*typeField) MessageType() wire.Type { return "type_field" }
func (m *typeField) Fields() []wire.Field {
	return []wire.Field{wire.Text("type", &m.T, 1, 8)}
}

// otherHello is a second Go type that claims the name "hello".
type otherHello struct{}

func (*otherHello) MessageType() wire.Type { return "hello" }
func (*otherHello) Fields() []wire.Field   { return nil }

func TestNewCodecRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msgs []wire.Message
		want string
	}{
		{"a struct value, not a pointer", []wire.Message{valueMessage{}}, "not a pointer to a struct"},
		{"a pointer to a slice", []wire.Message{new(notStruct)}, "not a pointer to a struct"},
		{"a nil message", []wire.Message{nil}, "not a pointer to a struct"},
		{"an empty type name", []wire.Message{&unnamed{}}, "invalid type name"},
		{"a type called type", []wire.Message{&calledType{}}, "invalid type name"},
		{"two fields with one name", []wire.Message{&twoNonces{}}, `two fields called "nonce"`},
		{"a field called type", []wire.Message{&typeField{}}, `two fields called "type"`},
		{"one name for two Go types", []wire.Message{&hello{}, &otherHello{}}, `type "hello" is both`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := wire.NewCodec(tt.msgs...)
			if err == nil || c != nil {
				t.Fatalf("NewCodec = %v, %v; want an error", c, err)
			}
			if !strings.HasPrefix(err.Error(), "wire: codec: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewCodec error %q, want one containing %q", err, tt.want)
			}
			if _, err := testCodec.With(tt.msgs...); err == nil {
				t.Errorf("With accepted what NewCodec refuses")
			}
			defer func() {
				if recover() == nil {
					t.Errorf("MustCodec did not panic")
				}
			}()
			wire.MustCodec(tt.msgs...)
		})
	}
}

func TestCodecTypes(t *testing.T) {
	t.Parallel()
	c, err := wire.NewCodec(&hello{}, &wire.Data{}, &hello{})
	if err != nil {
		t.Fatalf("the same Go type twice: %v", err)
	}
	if got := c.Types(); !slices.Equal(got, []wire.Type{"hello", wire.TypeData}) {
		t.Errorf("Types = %q, want hello and data once each, in order", got)
	}
	c.Types()[0] = "changed"
	if c.Types()[0] != "hello" {
		t.Errorf("Types shares the codec's slice")
	}
	if !c.Knows("hello") || c.Knows("answer") || c.Knows(wire.TypeEnd) {
		t.Errorf("Knows is wrong")
	}
	if m, ok := c.New("hello").(*hello); !ok || m.Nonce != nil {
		t.Errorf("New(hello) = %#v, want a zero *hello", c.New("hello"))
	}
	if c.New("hello") == c.New("hello") {
		t.Errorf("New returns the same message twice")
	}
	if m := c.New("answer"); m != nil {
		t.Errorf("New(answer) = %#v, want nil", m)
	}

	wider, err := c.With(&answer{}, &wire.End{})
	if err != nil {
		t.Fatal(err)
	}
	if got := wider.Types(); !slices.Equal(got, []wire.Type{"hello", wire.TypeData, "answer", wire.TypeEnd}) {
		t.Errorf("With: Types = %q", got)
	}
	if c.Knows("answer") {
		t.Errorf("With changed the codec it was called on")
	}
	if _, err := wider.Decode([]byte(answerKV.String())); err != nil {
		t.Errorf("the wider codec does not decode answer: %v", err)
	}
	if _, err := c.Decode([]byte(answerKV.String())); !errors.Is(err, wire.ErrUnknownType) {
		t.Errorf("the narrow codec decodes answer: %v", err)
	}
	if rec := wire.Records(); !slices.Equal(rec.Types(), []wire.Type{wire.TypeData, wire.TypeEnd}) {
		t.Errorf("Records().Types() = %q", rec.Types())
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	m := &answer{Chosen: "c", Pinned: true, Schemes: []string{"s"}, Certificate: []byte{1}, Epoch: 2, Note: "n", Resumed: true}
	want := []struct {
		name     string
		value    any
		optional bool
	}{
		{"chosen", "c", false}, {"pinned", true, false}, {"schemes", []string{"s"}, false},
		{"certificate", []byte{1}, true}, {"epoch", uint64(2), true}, {"note", "n", true}, {"resumed", true, true},
	}
	fs := m.Fields()
	if len(fs) != len(want) {
		t.Fatalf("%d fields", len(fs))
	}
	for i, f := range fs {
		w := want[i]
		if f.Name != w.name || f.IsOptional() != w.optional || fmt.Sprint(f.Value()) != fmt.Sprint(w.value) ||
			fmt.Sprintf("%T", f.Value()) != fmt.Sprintf("%T", w.value) {
			t.Errorf("field %d = %s %v (%T) optional %v; want %s %v (%T) optional %v",
				i, f.Name, f.Value(), f.Value(), f.IsOptional(), w.name, w.value, w.value, w.optional)
		}
	}
	if !wire.Has(m, "note") || wire.Has(m, "nonce") || wire.Has(&wire.Data{}, "Seq") {
		t.Errorf("Has is wrong")
	}
}

// TestDecodeErrorsAreShortAndUTF8: an error's text becomes a close reason,
// so it must be valid UTF-8 even when the input is not, and must not grow
// with the input.
func TestDecodeErrorsAreShortAndUTF8(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"type":"` + strings.Repeat("é", 5000) + `"}`,
		dataKV.with(strings.Repeat("x", 5000), "1").String(),
		`{"type":"` + strings.Repeat("a", 39) + `é"}`,
		dataKV.with("seq", strings.Repeat("1", 5000)).String(),
	} {
		_, err := testCodec.Decode([]byte(in))
		if err == nil {
			t.Fatalf("Decode(%.60q) accepted", in)
		}
		if !utf8.ValidString(err.Error()) || len(err.Error()) > 200 {
			t.Errorf("error %q (%d bytes) is not a short UTF-8 text", err, len(err.Error()))
		}
	}
}
