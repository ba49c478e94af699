package wire_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/wire"
)

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

// sample is one valid message of every type, in every shape the format
// allows (optional fields present and absent).
func sample() map[string]wire.Message {
	return map[string]wire.Message{
		"rsa_public_key":                  &wire.RSAPublicKey{SPKI: fill(294, 0x30)},
		"rsa_public_key/largest spki":     &wire.RSAPublicKey{SPKI: fill(2048, 1)},
		"key_transport":                   &wire.KeyTransport{Wrapped: fill(wire.WrappedSize, 1)},
		"client_hello/unauth-ecdh":        &wire.ClientHello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40)},
		"client_hello/pinned-ecdh":        &wire.ClientHello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40), Offered: []string{"pinned-ecdh"}},
		"client_hello/sixteen offered":    &wire.ClientHello{Nonce: fill(32, 1), KeyShare: fill(32, 0x40), Offered: strings.Split(strings.Repeat("x,", 15)+strings.Repeat("y", 64), ",")},
		"server_hello/unauth-ecdh":        &wire.ServerHello{Nonce: fill(32, 2), KeyShare: fill(32, 0x50)},
		"server_hello/pinned-ecdh":        &wire.ServerHello{Nonce: fill(32, 2), KeyShare: fill(32, 0x50), Chosen: "pinned-ecdh", Certificate: fill(300, 9)},
		"server_hello/largest cert":       &wire.ServerHello{Nonce: fill(32, 2), KeyShare: fill(32, 0x50), Chosen: "pinned-ecdh", Certificate: fill(16<<10, 9)},
		"server_verify":                   &wire.ServerVerify{Signature: fill(64, 3), Finished: fill(32, 0x60)},
		"client_finished":                 &wire.ClientFinished{MAC: fill(32, 4)},
		"data/first record":               &wire.Data{Seq: 0, CT: fill(wire.TagSize, 5)},
		"data/last sequence number":       &wire.Data{Seq: math.MaxUint64, CT: fill(100, 5)},
		"data/largest ct that fits":       &wire.Data{Seq: 7, CT: fill(49100, 5)},
		"data/chat message of 1 KiB":      &wire.Data{Seq: 1, CT: fill(1024+wire.TagSize, 5)},
		"data/chat message with seq 2^53": &wire.Data{Seq: 1 << 53, CT: fill(40, 5)},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	seen := map[wire.Type]bool{}
	for name, m := range sample() {
		seen[m.MessageType()] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := wire.Encode(m)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got := wire.PeekType(b); got != m.MessageType() {
				t.Errorf("PeekType = %q, want %q", got, m.MessageType())
			}
			got, err := wire.Decode(b)
			if err != nil {
				t.Fatalf("Decode(%.80s...): %v", b, err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("Decode(Encode(m)) = %+v\nwant %+v", got, m)
			}
			// The encoding is canonical: encoding the decoded message
			// gives the same bytes.
			b2, err := wire.Encode(got)
			if err != nil || !bytes.Equal(b, b2) {
				t.Errorf("re-encode = %.80s, %v; want the first encoding", b2, err)
			}
		})
	}
	for _, typ := range []wire.Type{wire.TypeRSAPublicKey, wire.TypeKeyTransport, wire.TypeClientHello,
		wire.TypeServerHello, wire.TypeServerVerify, wire.TypeClientFinished, wire.TypeData} {
		if !seen[typ] {
			t.Errorf("no round-trip case for %s", typ)
		}
	}
}

// TestEncodeSetsType checks that a message's "type" comes from its Go type,
// not from whatever the caller left in the field.
func TestEncodeSetsType(t *testing.T) {
	t.Parallel()
	m := &wire.ClientFinished{Type: "data", MAC: fill(32, 1)}
	b, err := wire.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"client_finished","mac":"` + base64.StdEncoding.EncodeToString(fill(32, 1)) + `"}`
	if string(b) != want {
		t.Errorf("Encode = %s\nwant     %s", b, want)
	}
}

// TestDecodeWireText decodes messages written by hand, as another
// implementation would send them: the format is the bytes, not Go's encoder.
func TestDecodeWireText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want wire.Message
	}{
		{"data with spaces and newlines", " {\n \"type\" : \"data\" ,\t\"seq\": 3, \"ct\": " + b64(16, 0) + " }\r\n",
			&wire.Data{Type: wire.TypeData, Seq: 3, CT: fill(16, 0)}},
		{"fields in another order", `{"ct":` + b64(16, 0) + `,"seq":18446744073709551615,"type":"data"}`,
			&wire.Data{Type: wire.TypeData, Seq: math.MaxUint64, CT: fill(16, 0)}},
		{"pinned-ecdh client_hello offering two schemes", `{"type":"client_hello","nonce":` + b64(32, 0) + `,"key_share":` + b64(32, 1) + `,"offered":["pinned-ecdh","unauth-ecdh"]}`,
			&wire.ClientHello{Type: wire.TypeClientHello, Nonce: fill(32, 0), KeyShare: fill(32, 1), Offered: []string{"pinned-ecdh", "unauth-ecdh"}}},
		{"unauth-ecdh server_hello with empty optional fields", `{"type":"server_hello","nonce":` + b64(32, 0) + `,"key_share":` + b64(32, 1) + `,"chosen":"","certificate":null}`,
			&wire.ServerHello{Type: wire.TypeServerHello, Nonce: fill(32, 0), KeyShare: fill(32, 1)}},
		{"escaped type name", `{"type":"client_\u0066inished","mac":` + b64(32, 0) + `}`,
			&wire.ClientFinished{Type: wire.TypeClientFinished, MAC: fill(32, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode = %+v\nwant %+v", got, tt.want)
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
	code websocket.StatusCode
}

// validJSON is one valid message of each type as a JSON object, with every
// field present, to derive broken variants from.
var validJSON = map[wire.Type]map[string]any{
	wire.TypeRSAPublicKey:   {"type": "rsa_public_key", "spki": fill(294, 0)},
	wire.TypeKeyTransport:   {"type": "key_transport", "wrapped": fill(256, 0)},
	wire.TypeClientHello:    {"type": "client_hello", "nonce": fill(32, 0), "key_share": fill(32, 1), "offered": []string{"pinned-ecdh"}},
	wire.TypeServerHello:    {"type": "server_hello", "nonce": fill(32, 0), "key_share": fill(32, 1), "chosen": "pinned-ecdh", "certificate": fill(300, 2)},
	wire.TypeServerVerify:   {"type": "server_verify", "signature": fill(64, 0), "finished": fill(32, 1)},
	wire.TypeClientFinished: {"type": "client_finished", "mac": fill(32, 0)},
	wire.TypeData:           {"type": "data", "seq": 0, "ct": fill(16, 0)},
}

// required lists each type's required fields.
var required = map[wire.Type][]string{
	wire.TypeRSAPublicKey:   {"type", "spki"},
	wire.TypeKeyTransport:   {"type", "wrapped"},
	wire.TypeClientHello:    {"type", "nonce", "key_share"},
	wire.TypeServerHello:    {"type", "nonce", "key_share"},
	wire.TypeServerVerify:   {"type", "signature", "finished"},
	wire.TypeClientFinished: {"type", "mac"},
	wire.TypeData:           {"type", "seq", "ct"},
}

// fixedSize lists each fixed-size binary field and its size.
var fixedSize = map[wire.Type]map[string]int{
	wire.TypeKeyTransport:   {"wrapped": wire.WrappedSize},
	wire.TypeClientHello:    {"nonce": wire.NonceSize, "key_share": wire.KeyShareSize},
	wire.TypeServerHello:    {"nonce": wire.NonceSize, "key_share": wire.KeyShareSize},
	wire.TypeServerVerify:   {"signature": wire.SignatureSize, "finished": wire.MACSize},
	wire.TypeClientFinished: {"mac": wire.MACSize},
}

// with returns typ's valid JSON with field set to v (or deleted, if v is
// the string "<absent>").
func with(typ wire.Type, field string, v any) string {
	m := map[string]any{}
	for k, x := range validJSON[typ] {
		m[k] = x
	}
	if v == "<absent>" {
		delete(m, field)
	} else {
		m[field] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func decodeErrorCases() []decodeErrorCase {
	const protocol, tooBig = websocket.StatusProtocolError, websocket.StatusMessageTooBig
	data := with(wire.TypeData, "seq", 1)
	cases := []decodeErrorCase{
		{"malformed JSON/not JSON at all", `hello`, wire.ErrMalformed, protocol},
		{"malformed JSON/empty message", ``, wire.ErrMalformed, protocol},
		{"malformed JSON/only spaces", `   `, wire.ErrMalformed, protocol},
		{"malformed JSON/object cut short", data[:len(data)-5], wire.ErrMalformed, protocol},
		{"malformed JSON/single quotes", `{'type':'data'}`, wire.ErrMalformed, protocol},
		{"malformed JSON/trailing comma", `{"type":"client_finished","mac":` + b64(32, 0) + `,}`, wire.ErrMalformed, protocol},
		{"malformed JSON/invalid UTF-8 outside strings", "{\"type\":\"data\",\xff}", wire.ErrMalformed, protocol},
		{"not an object/array", `[{"type":"data"}]`, wire.ErrMalformed, protocol},
		{"not an object/string", `"data"`, wire.ErrMalformed, protocol},
		{"not an object/number", `42`, wire.ErrMalformed, protocol},
		{"not an object/true", `true`, wire.ErrMalformed, protocol},
		{"not an object/null", `null`, wire.ErrMalformed, protocol},
		{"trailing data/second object", data + `{}`, wire.ErrMalformed, protocol},
		{"trailing data/second copy of the frame", data + data, wire.ErrMalformed, protocol},
		{"trailing data/garbage", data + `x`, wire.ErrMalformed, protocol},
		{"trailing data/NUL byte", data + "\x00", wire.ErrMalformed, protocol},
		{"unknown type/hello", `{"type":"hello"}`, wire.ErrUnknownType, protocol},
		{"unknown type/empty string", `{"type":""}`, wire.ErrUnknownType, protocol},
		{"unknown type/upper case DATA", strings.Replace(data, `"data"`, `"DATA"`, 1), wire.ErrUnknownType, protocol},
		{"unknown type/trailing space", strings.Replace(data, `"data"`, `"data "`, 1), wire.ErrUnknownType, protocol},
		{"unknown type/very long name", `{"type":"` + strings.Repeat("é", 1000) + `"}`, wire.ErrUnknownType, protocol},
		{"type is a number", `{"type":7}`, wire.ErrMalformed, protocol},
		{"type is an object", `{"type":{"name":"data"}}`, wire.ErrMalformed, protocol},
		{"missing type/empty object", `{}`, wire.ErrMissingField, protocol},
		{"missing type/data frame without type", with(wire.TypeData, "type", "<absent>"), wire.ErrMissingField, protocol},
		{"null type", with(wire.TypeData, "type", nil), wire.ErrMissingField, protocol},
		{"unknown field/field of another message in data", with(wire.TypeData, "nonce", fill(32, 0)), wire.ErrUnknownField, protocol},
		{"unknown field/certificate in client_hello", with(wire.TypeClientHello, "certificate", fill(10, 0)), wire.ErrUnknownField, protocol},
		{"unknown field/field name in another case", strings.Replace(data, `"seq"`, `"SEQ"`, 1), wire.ErrUnknownField, protocol},
		{"unknown field/Type beside type", strings.Replace(data, `"type":"data"`, `"type":"data","Type":"data"`, 1), wire.ErrUnknownField, protocol},
		{"missing type/Type instead of type", strings.Replace(data, `"type"`, `"Type"`, 1), wire.ErrMissingField, protocol},
		{"unknown field/escaped upper-case name", strings.Replace(data, `"seq"`, `"\u0053eq"`, 1), wire.ErrUnknownField, protocol},
		{"duplicate field/seq twice", strings.Replace(data, `"seq":1`, `"seq":1,"seq":0`, 1), wire.ErrMalformed, protocol},
		{"duplicate field/type twice", strings.Replace(data, `"type":"data"`, `"type":"data","type":"data"`, 1), wire.ErrMalformed, protocol},
		{"bad base64/not base64 at all", with(wire.TypeClientFinished, "mac", "!!!!"), wire.ErrMalformed, protocol},
		{"bad base64/URL-safe alphabet", `{"type":"client_finished","mac":"` + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff}, 16)) + `"}`, wire.ErrMalformed, protocol},
		{"bad base64/missing padding", `{"type":"client_finished","mac":"` + base64.RawStdEncoding.EncodeToString(fill(32, 0)) + `"}`, wire.ErrMalformed, protocol},
		{"bad base64/hex of 32 bytes decodes as base64 of 48", `{"type":"client_finished","mac":"` + fmt.Sprintf("%x", fill(32, 0)) + `"}`, wire.ErrFieldLength, protocol},
		{"wrong JSON type/nonce is a number", with(wire.TypeClientHello, "nonce", 5), wire.ErrMalformed, protocol},
		{"wrong JSON type/nonce is an array of bytes", with(wire.TypeClientHello, "nonce", []int{1, 2, 3}), wire.ErrMalformed, protocol},
		{"wrong JSON type/offered is a string", with(wire.TypeClientHello, "offered", "pinned-ecdh"), wire.ErrMalformed, protocol},
		{"wrong JSON type/seq is a string", with(wire.TypeData, "seq", "1"), wire.ErrMalformed, protocol},
		{"negative seq", with(wire.TypeData, "seq", -1), wire.ErrMalformed, protocol},
		{"huge seq/2^64", strings.Replace(data, `"seq":1`, `"seq":18446744073709551616`, 1), wire.ErrMalformed, protocol},
		{"huge seq/1e30", strings.Replace(data, `"seq":1`, `"seq":1e30`, 1), wire.ErrMalformed, protocol},
		{"fractional seq", with(wire.TypeData, "seq", 1.5), wire.ErrMalformed, protocol},
		{"wrong length/spki over 2048 bytes", with(wire.TypeRSAPublicKey, "spki", fill(2049, 0)), wire.ErrFieldLength, protocol},
		{"wrong length/ct shorter than a GCM tag", with(wire.TypeData, "ct", fill(wire.TagSize-1, 0)), wire.ErrFieldLength, protocol},
		{"wrong length/certificate over 16 KiB", with(wire.TypeServerHello, "certificate", fill(16<<10+1, 0)), wire.ErrFieldLength, protocol},
		{"wrong length/chosen over 64 bytes", with(wire.TypeServerHello, "chosen", strings.Repeat("x", 65)), wire.ErrFieldLength, protocol},
		{"wrong length/offered lists 17 schemes", with(wire.TypeClientHello, "offered", strings.Split(strings.Repeat("x,", 16)+"x", ",")), wire.ErrFieldLength, protocol},
		{"wrong length/offered scheme name is empty", with(wire.TypeClientHello, "offered", []string{"pinned-ecdh", ""}), wire.ErrFieldLength, protocol},
		{"wrong length/offered scheme name over 64 bytes", with(wire.TypeClientHello, "offered", []string{strings.Repeat("x", 65)}), wire.ErrFieldLength, protocol},
		{"over 64 KiB/valid data frame one byte too long", oversize(wire.MaxMessageSize + 1), wire.ErrMessageTooLarge, tooBig},
		{"over 64 KiB/70 KiB of garbage", strings.Repeat("x", 70<<10), wire.ErrMessageTooLarge, tooBig},
		{"over 64 KiB/1 MiB of spaces", strings.Repeat(" ", 1<<20), wire.ErrMessageTooLarge, tooBig},
	}
	for _, typ := range sortedTypes() {
		cases = append(cases, decodeErrorCase{
			fmt.Sprintf("unknown field/%s with an extra field", typ), with(typ, "extra", 1), wire.ErrUnknownField, protocol})
		for _, f := range required[typ] {
			if f == "type" {
				continue
			}
			cases = append(cases,
				decodeErrorCase{fmt.Sprintf("missing field/%s without %s", typ, f), with(typ, f, "<absent>"), wire.ErrMissingField, protocol},
				decodeErrorCase{fmt.Sprintf("null field/%s with %s null", typ, f), with(typ, f, nil), wire.ErrMissingField, protocol},
			)
			if f != "seq" {
				cases = append(cases, decodeErrorCase{fmt.Sprintf("empty field/%s with %s empty", typ, f), with(typ, f, ""), wire.ErrMissingField, protocol})
			}
		}
		for f, n := range fixedSize[typ] {
			cases = append(cases,
				decodeErrorCase{fmt.Sprintf("wrong length/%s %s one byte short", typ, f), with(typ, f, fill(n-1, 0)), wire.ErrFieldLength, protocol},
				decodeErrorCase{fmt.Sprintf("wrong length/%s %s one byte long", typ, f), with(typ, f, fill(n+1, 0)), wire.ErrFieldLength, protocol},
				decodeErrorCase{fmt.Sprintf("wrong length/%s %s of 1 byte", typ, f), with(typ, f, fill(1, 0)), wire.ErrFieldLength, protocol},
			)
		}
	}
	return cases
}

func sortedTypes() []wire.Type {
	return []wire.Type{wire.TypeRSAPublicKey, wire.TypeKeyTransport, wire.TypeClientHello,
		wire.TypeServerHello, wire.TypeServerVerify, wire.TypeClientFinished, wire.TypeData}
}

// oversize returns a data frame of exactly n bytes that is valid but for
// its size: the ct fills it up, and spaces make up any rest.
func oversize(n int) string {
	const head, tail = `{"type":"data","seq":1,"ct":"`, `"}`
	ctLen := (n - len(head) - len(tail)) / 4 * 3
	s := head + base64.StdEncoding.EncodeToString(fill(ctLen, 0)) + tail
	return s + strings.Repeat(" ", n-len(s))
}

// sentinels are every error Decode may wrap; each error must wrap exactly one.
var sentinels = []error{wire.ErrMalformed, wire.ErrUnknownType, wire.ErrUnknownField, wire.ErrMissingField,
	wire.ErrFieldLength, wire.ErrMessageTooLarge}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	for _, tt := range decodeErrorCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := wire.Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode(%.100q) = %+v, want an error wrapping %q", tt.in, m, tt.want)
			}
			if m != nil {
				t.Errorf("Decode returned a message with its error: %+v", m)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode(%.100q) = %v, want an error wrapping %q", tt.in, err, tt.want)
			}
			for _, s := range sentinels {
				if s != tt.want && errors.Is(err, s) {
					t.Errorf("error %v also wraps %q", err, s)
				}
			}
			if got := wire.CloseCode(err); got != tt.code {
				t.Errorf("CloseCode(%v) = %d, want %d", err, got, tt.code)
			}
			if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error is %d bytes long; it must not echo the whole input", len(err.Error()))
			}
		})
	}
}

// TestDecodeSizeBoundary: exactly 64 KiB is allowed, one byte more is not.
func TestDecodeSizeBoundary(t *testing.T) {
	t.Parallel()
	in := oversize(wire.MaxMessageSize)
	if len(in) != 64<<10 {
		t.Fatalf("test frame is %d bytes", len(in))
	}
	if _, err := wire.Decode([]byte(in)); err != nil {
		t.Errorf("Decode of a valid frame of exactly 64 KiB: %v", err)
	}
	if _, err := wire.Decode([]byte(in + " ")); !errors.Is(err, wire.ErrMessageTooLarge) {
		t.Errorf("Decode of 64 KiB + 1 = %v, want ErrMessageTooLarge", err)
	}
}

func TestEncodeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    wire.Message
		want error
	}{
		{"client_hello without nonce", &wire.ClientHello{KeyShare: fill(32, 0)}, wire.ErrMissingField},
		{"client_hello with a 31-byte key share", &wire.ClientHello{Nonce: fill(32, 0), KeyShare: fill(31, 0)}, wire.ErrFieldLength},
		{"key_transport of an RSA-1024 ciphertext", &wire.KeyTransport{Wrapped: fill(128, 0)}, wire.ErrFieldLength},
		{"data without ct", &wire.Data{Seq: 1}, wire.ErrMissingField},
		{"data too large for one message", &wire.Data{CT: fill(wire.MaxMessageSize, 0)}, wire.ErrMessageTooLarge},
		{"data whose ct fits but whose base64 does not", &wire.Data{CT: fill(50000, 0)}, wire.ErrMessageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := wire.Encode(tt.m)
			if !errors.Is(err, tt.want) {
				t.Errorf("Encode = %.60s, %v; want %q", b, err, tt.want)
			}
		})
	}
}

func TestDecodeAs(t *testing.T) {
	t.Parallel()
	cf, err := wire.Encode(&wire.ClientFinished{MAC: fill(32, 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("expected type", func(t *testing.T) {
		t.Parallel()
		m, err := wire.DecodeAs[*wire.ClientFinished](cf)
		if err != nil || !bytes.Equal(m.MAC, fill(32, 0)) {
			t.Errorf("DecodeAs = %+v, %v", m, err)
		}
	})
	t.Run("data where client_finished is due", func(t *testing.T) {
		t.Parallel()
		d, err := wire.Encode(&wire.Data{CT: fill(16, 0)})
		if err != nil {
			t.Fatal(err)
		}
		m, err := wire.DecodeAs[*wire.ClientFinished](d)
		if !errors.Is(err, wire.ErrUnexpectedMessage) || m != nil {
			t.Fatalf("DecodeAs = %+v, %v; want nil and ErrUnexpectedMessage", m, err)
		}
		if !strings.Contains(err.Error(), "got data, want client_finished") {
			t.Errorf("error %q does not name both types", err)
		}
		if got := wire.CloseCode(err); got != websocket.StatusProtocolError {
			t.Errorf("CloseCode = %d, want 1002", got)
		}
	})
	t.Run("malformed input keeps its own error", func(t *testing.T) {
		t.Parallel()
		_, err := wire.DecodeAs[*wire.ClientFinished]([]byte(`{"type":"client_finished"}`))
		if !errors.Is(err, wire.ErrMissingField) || errors.Is(err, wire.ErrUnexpectedMessage) {
			t.Errorf("DecodeAs = %v, want ErrMissingField only", err)
		}
	})
}

func TestPeekType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want wire.Type
	}{
		{`{"type":"data"}`, wire.TypeData}, // no other field checked
		{`{"type":"made_up"}`, "made_up"},
		{`{"type":5}`, ""},
		{`not json`, ""},
		{`{"type":"data"` + strings.Repeat(" ", wire.MaxMessageSize) + `}`, ""},
	}
	for _, tt := range tests {
		if got := wire.PeekType([]byte(tt.in)); got != tt.want {
			t.Errorf("PeekType(%.40q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCloseCode(t *testing.T) {
	t.Parallel()
	const replay = wire.Violation("record replayed")
	tests := []struct {
		name string
		err  error
		want websocket.StatusCode
	}{
		{"malformed JSON is a protocol error", wire.ErrMalformed, websocket.StatusProtocolError},
		{"unknown type is a protocol error", wire.ErrUnknownType, websocket.StatusProtocolError},
		{"unknown field is a protocol error", wire.ErrUnknownField, websocket.StatusProtocolError},
		{"missing field is a protocol error", wire.ErrMissingField, websocket.StatusProtocolError},
		{"wrong field length is a protocol error", wire.ErrFieldLength, websocket.StatusProtocolError},
		{"unexpected message is a protocol error", wire.ErrUnexpectedMessage, websocket.StatusProtocolError},
		{"binary message is a protocol error", wire.ErrBinaryMessage, websocket.StatusProtocolError},
		{"oversize message is 1009 per RFC 6455", wire.ErrMessageTooLarge, websocket.StatusMessageTooBig},
		{"wrapped oversize message", fmt.Errorf("read: %w", wire.ErrMessageTooLarge), websocket.StatusMessageTooBig},
		{"security violation is 1008", replay, websocket.StatusPolicyViolation},
		{"wrapped twice security violation", fmt.Errorf("a: %w", fmt.Errorf("b: %w", replay)), websocket.StatusPolicyViolation},
		{"violation wins over a decode error in the same chain", fmt.Errorf("%w: %w", replay, wire.ErrMalformed), websocket.StatusPolicyViolation},
		{"violation joined after a decode error still wins", errors.Join(wire.ErrMalformed, replay), websocket.StatusPolicyViolation},
		{"anything else is an internal error", errors.New("disk on fire"), websocket.StatusInternalError},
		{"peer closed is not a protocol error", wire.ErrPeerClosed, websocket.StatusInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := wire.CloseCode(tt.err); got != tt.want {
				t.Errorf("CloseCode(%v) = %d (%s), want %d (%s)", tt.err, got, got, tt.want, tt.want)
			}
		})
	}
}

func TestViolation(t *testing.T) {
	t.Parallel()
	var err error = wire.Violation("key does not match pin")
	if err.Error() != "key does not match pin" {
		t.Errorf("Error() = %q", err)
	}
	wrapped := fmt.Errorf("check pin: %w", err)
	if !errors.Is(wrapped, err) {
		t.Error("errors.Is does not match a wrapped Violation")
	}
	if errors.Is(wrapped, wire.Violation("another check")) {
		t.Error("errors.Is matches a different Violation")
	}
}

func TestDirection(t *testing.T) {
	t.Parallel()
	if wire.ClientToServer.Reverse() != wire.ServerToClient || wire.ServerToClient.Reverse() != wire.ClientToServer {
		t.Error("Reverse does not swap the directions")
	}
	if got := wire.Subprotocol("pinned-ecdh"); got != "mitmlab.v1.pinned-ecdh" {
		t.Errorf("Subprotocol = %q", got)
	}
}
