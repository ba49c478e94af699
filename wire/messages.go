package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// MaxMessageSize is the largest WebSocket message, in bytes, that the lab
// accepts or sends: 64 KiB.
const MaxMessageSize = 64 << 10

// Field sizes fixed by the v1 format.
const (
	NonceSize     = 32  // client_hello.nonce, server_hello.nonce
	KeyShareSize  = 32  // X25519 public key
	SignatureSize = 64  // Ed25519 signature
	MACSize       = 32  // HMAC-SHA256
	WrappedSize   = 256 // RSA-2048 OAEP ciphertext
	TagSize       = 16  // AES-GCM tag: the shortest possible ct

	maxSPKISize        = 2048
	maxCertificateSize = 16 << 10
	maxSchemeName      = 64
	maxOffered         = 16
)

// Type names a message. It is the value of the "type" field.
type Type string

// The v1 message types.
const (
	TypeRSAPublicKey   Type = "rsa_public_key"
	TypeKeyTransport   Type = "key_transport"
	TypeClientHello    Type = "client_hello"
	TypeServerHello    Type = "server_hello"
	TypeServerVerify   Type = "server_verify"
	TypeClientFinished Type = "client_finished"
	TypeData           Type = "data"
)

// Message is one v1 message. The concrete types are the pointer types in this
// package; the interface is closed.
type Message interface {
	MessageType() Type
	check() error
	setType()
}

// RSAPublicKey carries the client's RSA public key in clear (plaintext-rsa).
type RSAPublicKey struct {
	Type Type   `json:"type"`
	SPKI []byte `json:"spki"` // DER SubjectPublicKeyInfo
}

// KeyTransport carries the session secret wrapped with RSA-OAEP-SHA256.
type KeyTransport struct {
	Type    Type   `json:"type"`
	Wrapped []byte `json:"wrapped"` // 256 bytes for RSA-2048
}

// ClientHello opens the ECDH schemes.
type ClientHello struct {
	Type     Type     `json:"type"`
	Nonce    []byte   `json:"nonce"`             // 32 random bytes
	KeyShare []byte   `json:"key_share"`         // X25519 public key
	Offered  []string `json:"offered,omitempty"` // schemes the client accepts (pinned-ecdh)
}

// ServerHello answers a [ClientHello].
type ServerHello struct {
	Type        Type   `json:"type"`
	Nonce       []byte `json:"nonce"`
	KeyShare    []byte `json:"key_share"`
	Chosen      string `json:"chosen,omitempty"`      // pinned-ecdh: the scheme chosen from offered
	Certificate []byte `json:"certificate,omitempty"` // pinned-ecdh: DER X.509, Ed25519 key
}

// ServerVerify proves the server holds the certificate's key and saw the
// same hellos (pinned-ecdh).
type ServerVerify struct {
	Type      Type   `json:"type"`
	Signature []byte `json:"signature"` // Ed25519
	Finished  []byte `json:"finished"`  // HMAC-SHA256
}

// ClientFinished confirms the client derived the same keys (pinned-ecdh).
type ClientFinished struct {
	Type Type   `json:"type"`
	MAC  []byte `json:"mac"` // HMAC-SHA256
}

// Data is one record-layer frame.
type Data struct {
	Type Type   `json:"type"`
	Seq  uint64 `json:"seq"`
	CT   []byte `json:"ct"` // AEAD ciphertext and tag
}

func (*RSAPublicKey) MessageType() Type   { return TypeRSAPublicKey }
func (*KeyTransport) MessageType() Type   { return TypeKeyTransport }
func (*ClientHello) MessageType() Type    { return TypeClientHello }
func (*ServerHello) MessageType() Type    { return TypeServerHello }
func (*ServerVerify) MessageType() Type   { return TypeServerVerify }
func (*ClientFinished) MessageType() Type { return TypeClientFinished }
func (*Data) MessageType() Type           { return TypeData }

func (m *RSAPublicKey) setType()   { m.Type = TypeRSAPublicKey }
func (m *KeyTransport) setType()   { m.Type = TypeKeyTransport }
func (m *ClientHello) setType()    { m.Type = TypeClientHello }
func (m *ServerHello) setType()    { m.Type = TypeServerHello }
func (m *ServerVerify) setType()   { m.Type = TypeServerVerify }
func (m *ClientFinished) setType() { m.Type = TypeClientFinished }
func (m *Data) setType()           { m.Type = TypeData }

func (m *RSAPublicKey) check() error {
	return between("spki", m.SPKI, 1, maxSPKISize)
}

func (m *KeyTransport) check() error {
	return exactly("wrapped", m.Wrapped, WrappedSize)
}

func (m *ClientHello) check() error {
	if err := exactly("nonce", m.Nonce, NonceSize); err != nil {
		return err
	}
	if err := exactly("key_share", m.KeyShare, KeyShareSize); err != nil {
		return err
	}
	if len(m.Offered) > maxOffered {
		return fmt.Errorf("%w: offered lists %d schemes, at most %d", ErrFieldLength, len(m.Offered), maxOffered)
	}
	for _, s := range m.Offered {
		if s == "" || len(s) > maxSchemeName {
			return fmt.Errorf("%w: offered scheme name is %d bytes, want 1 to %d", ErrFieldLength, len(s), maxSchemeName)
		}
	}
	return nil
}

func (m *ServerHello) check() error {
	if err := exactly("nonce", m.Nonce, NonceSize); err != nil {
		return err
	}
	if err := exactly("key_share", m.KeyShare, KeyShareSize); err != nil {
		return err
	}
	if len(m.Chosen) > maxSchemeName {
		return fmt.Errorf("%w: chosen is %d bytes, at most %d", ErrFieldLength, len(m.Chosen), maxSchemeName)
	}
	if len(m.Certificate) > maxCertificateSize {
		return fmt.Errorf("%w: certificate is %d bytes, at most %d", ErrFieldLength, len(m.Certificate), maxCertificateSize)
	}
	return nil
}

func (m *ServerVerify) check() error {
	if err := exactly("signature", m.Signature, SignatureSize); err != nil {
		return err
	}
	return exactly("finished", m.Finished, MACSize)
}

func (m *ClientFinished) check() error {
	return exactly("mac", m.MAC, MACSize)
}

func (m *Data) check() error {
	return between("ct", m.CT, TagSize, MaxMessageSize)
}

func exactly(field string, b []byte, n int) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: %q", ErrMissingField, field)
	}
	if len(b) != n {
		return fmt.Errorf("%w: %q is %d bytes, want %d", ErrFieldLength, field, len(b), n)
	}
	return nil
}

func between(field string, b []byte, lo, hi int) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: %q", ErrMissingField, field)
	}
	if len(b) < lo || len(b) > hi {
		return fmt.Errorf("%w: %q is %d bytes, want %d to %d", ErrFieldLength, field, len(b), lo, hi)
	}
	return nil
}

// Encode checks m and returns its wire form. It sets m's type field.
func Encode(m Message) ([]byte, error) {
	m.setType()
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", m.MessageType(), err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", m.MessageType(), err)
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("wire: encode %s: %w: %d bytes", m.MessageType(), ErrMessageTooLarge, len(b))
	}
	return b, nil
}

// PeekType returns the "type" of a message without checking the rest. It is
// for logs and traces of frames that may be invalid; protocol code uses
// [Decode].
func PeekType(b []byte) Type {
	var env struct {
		Type Type `json:"type"`
	}
	if len(b) > MaxMessageSize || json.Unmarshal(b, &env) != nil {
		return ""
	}
	return env.Type
}

// Decode parses one message strictly. The returned error wraps one of the
// sentinel errors of this package.
//
// encoding/json alone is lenient in ways the v1 format is not: it folds the
// case of field names, lets a later duplicate field win, takes an array of
// numbers for a binary field and a missing or null number as zero. Decode
// first reads the object's fields as raw JSON to refuse all of these, then
// decodes the checked object.
func Decode(b []byte) (Message, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("wire: %w: %d bytes, limit %d", ErrMessageTooLarge, len(b), MaxMessageSize)
	}
	fields, err := objectFields(b)
	if err != nil {
		return nil, fmt.Errorf("wire: %w: %v", ErrMalformed, err)
	}
	rawType, ok := fields["type"]
	if !ok || string(rawType) == "null" {
		return nil, fmt.Errorf("wire: %w: %q", ErrMissingField, "type")
	}
	var typ Type
	if err := json.Unmarshal(rawType, &typ); err != nil {
		return nil, fmt.Errorf("wire: %w: %v", ErrMalformed, err)
	}
	var m Message
	switch typ {
	case TypeRSAPublicKey:
		m = new(RSAPublicKey)
	case TypeKeyTransport:
		m = new(KeyTransport)
	case TypeClientHello:
		m = new(ClientHello)
	case TypeServerHello:
		m = new(ServerHello)
	case TypeServerVerify:
		m = new(ServerVerify)
	case TypeClientFinished:
		m = new(ClientFinished)
	case TypeData:
		m = new(Data)
	default:
		return nil, fmt.Errorf("wire: %w: %q", ErrUnknownType, truncate(string(typ)))
	}
	if err := checkFields(m, fields); err != nil {
		return nil, fmt.Errorf("wire: %s: %w", typ, err)
	}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("wire: %s: %w: %v", typ, ErrMalformed, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("wire: %s: %w", typ, err)
	}
	return m, nil
}

// objectFields returns the fields of the one JSON object that b holds, each
// as raw JSON. A duplicate field name or anything after the object is an
// error.
func objectFields(b []byte) (map[string]json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil {
		return nil, err
	} else if t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	fields := make(map[string]json.RawMessage)
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string) // Token returns object keys as strings
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := fields[name]; dup {
			return nil, fmt.Errorf("field %q appears twice", truncate(name))
		}
		fields[name] = v
	}
	if _, err := d.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the object")
	}
	return fields, nil
}

// checkFields checks the raw fields of a message of m's type against m's
// struct tags: every name is one of them, exactly; binary fields are base64
// strings; seq is present and not null.
func checkFields(m Message, fields map[string]json.RawMessage) error {
	st := reflect.TypeOf(m).Elem()
	known := make(map[string]reflect.Type, st.NumField())
	for i := range st.NumField() {
		name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		known[name] = st.Field(i).Type
	}
	for name, raw := range fields {
		typ, ok := known[name]
		switch {
		case !ok:
			return fmt.Errorf("%w: %q", ErrUnknownField, truncate(name))
		case typ == reflect.TypeFor[[]byte]() && raw[0] != '"' && string(raw) != "null":
			return fmt.Errorf("%w: %q is not a base64 string", ErrMalformed, name)
		}
	}
	if _, ok := known["seq"]; ok {
		if raw, ok := fields["seq"]; !ok || string(raw) == "null" {
			return fmt.Errorf("%w: %q", ErrMissingField, "seq")
		}
	}
	return nil
}

// DecodeAs decodes b and checks that it is a message of type T. A valid
// message of another type gives an error wrapping [ErrUnexpectedMessage].
func DecodeAs[T Message](b []byte) (T, error) {
	var zero T
	m, err := Decode(b)
	if err != nil {
		return zero, err
	}
	t, ok := m.(T)
	if !ok {
		return zero, fmt.Errorf("wire: %w: got %s, want %s", ErrUnexpectedMessage, m.MessageType(), zero.MessageType())
	}
	return t, nil
}

func truncate(s string) string {
	const n = 40
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
