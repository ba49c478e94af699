package docs_test

// This file is a second implementation of the lab protocol, v2, written
// from protocol.md alone. It uses the standard library and
// coder/websocket, and none of the lab's packages (TestDocImplImportsNoLab
// checks that), so that the tests can hold the page to the code: where
// this implementation and the lab's agree on every byte, in both
// directions and for every scheme, the page says enough to interoperate.
//
// The section names in the comments are protocol.md's.

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// Constants of "Versioning" and "The key schedule".
const (
	docVersion      = "v2"
	docLabelPrefix  = "mitmlab2 "
	docSigContext   = "mitmlab v2 server verify"
	docMaxMessage   = 65536
	docMaxPlaintext = 32768
)

// docSubprotocol is "mitmlab.v2.<scheme>" ("The WebSocket layer").
func docSubprotocol(scheme string) string { return "mitmlab." + docVersion + "." + scheme }

// b64 is standard base64 with padding, canonical: the padding bits are
// zero ("Encoding rules").
var b64 = base64.StdEncoding.Strict()

// ---- "The transcript" ----

// transcriptHash is SHA-256 over each message framed by its length as 4
// big-endian bytes.
func transcriptHash(msgs ...[]byte) []byte {
	h := sha256.New()
	for _, m := range msgs {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(m)))
		h.Write(n[:])
		h.Write(m)
	}
	return h.Sum(nil)
}

// ---- "The key schedule" ----

// extract is HKDF-Extract with SHA-256 and no salt, written as the 32 zero
// bytes RFC 5869 puts in its place.
func extract(ikm []byte) []byte {
	prk, err := hkdf.Extract(sha256.New, ikm, make([]byte, sha256.Size))
	if err != nil {
		panic(err)
	}
	return prk
}

// labelInfo is ExpandLabel's info: uint16 length, uint8 len, "mitmlab2 " +
// label, uint8 len, context.
func labelInfo(label string, context []byte, length int) []byte {
	full := docLabelPrefix + label
	info := []byte{byte(length >> 8), byte(length)}
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, byte(len(context)))
	return append(info, context...)
}

func expandLabel(secret []byte, label string, context []byte, length int) []byte {
	out, err := hkdf.Expand(sha256.New, secret, string(labelInfo(label, context, length)), length)
	if err != nil {
		panic(err)
	}
	return out
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// signedContent is 64 spaces, the context string, a zero byte and
// TranscriptHash(CH, SH) ("The server signature").
func signedContent(ch, sh []byte) []byte {
	c := bytes.Repeat([]byte{0x20}, 64)
	c = append(c, docSigContext...)
	c = append(c, 0)
	return append(c, transcriptHash(ch, sh)...)
}

// dirKeys are one direction's AES-256 key and IV.
type dirKeys struct{ key, iv []byte }

// traffic is both directions' keys and the suite they are used with.
type traffic struct {
	suite    string
	c2s, s2c dirKeys
}

// deriveTraffic expands the four traffic labels from prk with context.
func deriveTraffic(prk, context []byte) traffic {
	return traffic{
		suite: "aes-256-gcm",
		c2s:   dirKeys{expandLabel(prk, "c2s key", context, 32), expandLabel(prk, "c2s iv", context, 12)},
		s2c:   dirKeys{expandLabel(prk, "s2c key", context, 32), expandLabel(prk, "s2c iv", context, 12)},
	}
}

// finishedKeys are pinned-ecdh's two finished keys.
func finishedKeys(prk, th1 []byte) (server, client []byte) {
	return expandLabel(prk, "s finished", th1, 32), expandLabel(prk, "c finished", th1, 32)
}

// ---- "The record layer" ----

// recordNonce is the IV XOR the sequence number as 8 big-endian bytes,
// left-padded with four zero bytes.
func recordNonce(iv []byte, seq uint64) []byte {
	n := bytes.Clone(iv)
	var s [12]byte
	binary.BigEndian.PutUint64(s[4:], seq)
	for i := range n {
		n[i] ^= s[i]
	}
	return n
}

// recordAD is the record type, a zero byte, the direction and the
// sequence number as 8 big-endian bytes.
func recordAD(typ, dir string, seq uint64) []byte {
	ad := append([]byte(typ), 0)
	ad = append(ad, dir...)
	return binary.BigEndian.AppendUint64(ad, seq)
}

func gcm(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return a
}

// sealRecord makes a record's ct. The null suite carries the plaintext.
func sealRecord(t traffic, dir, typ string, seq uint64, pt []byte) []byte {
	if t.suite == "null" {
		return bytes.Clone(pt)
	}
	k := t.keys(dir)
	return gcm(k.key).Seal(nil, recordNonce(k.iv, seq), pt, recordAD(typ, dir, seq))
}

// openRecord checks and opens a record's ct.
func openRecord(t traffic, dir, typ string, seq uint64, ct []byte) ([]byte, error) {
	if t.suite == "null" {
		return bytes.Clone(ct), nil
	}
	if len(ct) < 16 {
		return nil, fmt.Errorf("ct is %d bytes, shorter than a tag", len(ct))
	}
	k := t.keys(dir)
	return gcm(k.key).Open(nil, recordNonce(k.iv, seq), ct, recordAD(typ, dir, seq))
}

func (t traffic) keys(dir string) dirKeys {
	if dir == "c2s" {
		return t.c2s
	}
	return t.s2c
}

// ---- "Encoding rules" and "Messages": the encoder ----

// member is one "name":value pair, the value already JSON.
type member struct {
	name  string
	value string
}

func bin(name string, b []byte) member { return member{name, `"` + b64.EncodeToString(b) + `"`} }
func str(name, s string) member {
	v, _ := json.Marshal(s)
	return member{name, string(v)}
}
func num(name string, n uint64) member { return member{name, strconv.FormatUint(n, 10)} }
func list(name string, items ...string) member {
	v, _ := json.Marshal(items)
	return member{name, string(v)}
}

// encode writes one message: "type" first, then the members, with no
// white space, as the lab writes them. Any other order, and white space
// inside the object, is as valid.
func encode(typ string, ms ...member) []byte {
	b := []byte(`{"type":` + strconv.Quote(typ))
	for _, m := range ms {
		b = append(b, ',', '"')
		b = append(b, m.name...)
		b = append(b, '"', ':')
		b = append(b, m.value...)
	}
	return append(b, '}')
}

// recordJSON is a data or end record.
func recordJSON(typ string, seq uint64, ct []byte) []byte {
	return encode(typ, num("seq", seq), bin("ct", ct))
}

// ---- "Encoding rules": the decoder ----

// fieldKind is a field's JSON shape in the message tables.
type fieldKind int

const (
	kBytes fieldKind = iota
	kText
	kUint
	kList
)

// fieldSpec is one row of a message table.
type fieldSpec struct {
	name     string
	kind     fieldKind
	min, max int // bytes, or list items
	optional bool
}

// messageSpecs are protocol.md's message tables.
var messageSpecs = map[string][]fieldSpec{
	"rsa_public_key":  {{"spki", kBytes, 1, 2048, false}},
	"key_transport":   {{"wrapped", kBytes, 256, 256, false}},
	"client_hello":    {{"nonce", kBytes, 32, 32, false}, {"key_share", kBytes, 32, 32, false}, {"offered", kList, 0, 16, true}},
	"server_hello":    {{"nonce", kBytes, 32, 32, false}, {"key_share", kBytes, 32, 32, false}, {"chosen", kText, 1, 64, true}, {"certificate", kBytes, 1, 16384, true}},
	"server_verify":   {{"signature", kBytes, 64, 64, false}, {"finished", kBytes, 32, 32, false}},
	"client_finished": {{"mac", kBytes, 32, 32, false}},
	"commit":          {{"hash", kBytes, 32, 32, false}},
	"dh_hello":        {{"nonce", kBytes, 32, 32, false}, {"p", kBytes, 1, 512, false}, {"g", kBytes, 1, 512, false}, {"key_share", kBytes, 1, 512, false}},
	"dh_reply":        {{"nonce", kBytes, 32, 32, false}, {"key_share", kBytes, 1, 512, false}},
	"dh_offer":        {{"nonce", kBytes, 32, 32, false}, {"offered", kList, 0, 8, false}},
	"dh_params":       {{"nonce", kBytes, 32, 32, false}, {"group", kText, 1, 32, false}, {"key_share", kBytes, 1, 512, false}, {"certificate", kBytes, 1, 16384, false}, {"signature", kBytes, 64, 64, false}},
	"dh_client_key":   {{"key_share", kBytes, 1, 512, false}, {"finished", kBytes, 32, 32, false}},
	"dh_finished":     {{"finished", kBytes, 32, 32, false}},
	"signed_hellos":   {{"signature", kBytes, 64, 64, false}},
	"data":            {{"seq", kUint, 0, 0, false}, {"ct", kBytes, 0, docMaxMessage, false}},
	"end":             {{"seq", kUint, 0, 0, false}, {"ct", kBytes, 0, docMaxMessage, false}},
}

// docMsg is a decoded message: its type and its fields' values, []byte,
// string, uint64 or []string.
type docMsg struct {
	typ string
	f   map[string]any
}

func (m docMsg) bytes(name string) []byte  { b, _ := m.f[name].([]byte); return b }
func (m docMsg) text(name string) string   { s, _ := m.f[name].(string); return s }
func (m docMsg) uint(name string) uint64   { n, _ := m.f[name].(uint64); return n }
func (m docMsg) list(name string) []string { l, _ := m.f[name].([]string); return l }

var errMalformed = errors.New("malformed message")

// decode is the strict decoder of "Encoding rules", for the message types
// in types (the connection's scheme and the record layer).
func decode(raw []byte, types ...string) (docMsg, error) {
	if len(raw) > docMaxMessage {
		return docMsg{}, errors.New("message too large")
	}
	if !utf8.Valid(raw) {
		return docMsg{}, errors.New("not UTF-8")
	}
	if len(raw) < 2 || raw[0] != '{' || raw[len(raw)-1] != '}' {
		return docMsg{}, fmt.Errorf("%w: white space or data around the object", errMalformed)
	}
	// One object, each name once, spelled without escapes.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return docMsg{}, errMalformed
	}
	vals := map[string]json.RawMessage{}
	for dec.More() {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return docMsg{}, errMalformed
		}
		name := tok.(string)
		if bytes.ContainsRune(raw[off:dec.InputOffset()], '\\') {
			return docMsg{}, fmt.Errorf("%w: escape in a field name", errMalformed)
		}
		if _, dup := vals[name]; dup {
			return docMsg{}, fmt.Errorf("%w: %q twice", errMalformed, name)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return docMsg{}, errMalformed
		}
		vals[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return docMsg{}, errMalformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return docMsg{}, fmt.Errorf("%w: data after the object", errMalformed)
	}
	var m docMsg
	tv, ok := vals["type"]
	if !ok || string(tv) == "null" {
		return m, errors.New(`missing field: "type"`)
	}
	if json.Unmarshal(tv, &m.typ) != nil {
		return m, errMalformed
	}
	specs, known := messageSpecs[m.typ]
	if !known || !slices.Contains(types, m.typ) {
		return m, fmt.Errorf("unknown message type %q", m.typ)
	}
	m.f = map[string]any{}
	for name := range vals {
		if name != "type" && !slices.ContainsFunc(specs, func(s fieldSpec) bool { return s.name == name }) {
			return m, fmt.Errorf("unknown field %q", name)
		}
	}
	for _, s := range specs {
		v, ok := vals[s.name]
		if !ok || string(v) == "null" {
			if s.optional && !ok {
				continue
			}
			if s.optional {
				return m, fmt.Errorf("%w: %q is null", errMalformed, s.name)
			}
			return m, fmt.Errorf("missing field %q", s.name)
		}
		if err := decodeField(&m, s, v); err != nil {
			return m, err
		}
	}
	return m, nil
}

func decodeField(m *docMsg, s fieldSpec, v json.RawMessage) error {
	switch s.kind {
	case kBytes:
		if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v[1:len(v)-1], '\\') >= 0 {
			return fmt.Errorf("%w: %q is not a base64 string without escapes", errMalformed, s.name)
		}
		body := v[1 : len(v)-1]
		b, err := b64.DecodeString(string(body))
		if err != nil || len(body)%4 != 0 {
			return fmt.Errorf("%w: %q is not canonical base64", errMalformed, s.name)
		}
		if s.optional && len(b) == 0 {
			return nil // empty means absent
		}
		if len(b) == 0 && s.min > 0 {
			return fmt.Errorf("missing field %q", s.name)
		}
		if len(b) < s.min || len(b) > s.max {
			return fmt.Errorf("wrong field length: %q is %d bytes", s.name, len(b))
		}
		m.f[s.name] = b
	case kText:
		var t string
		if json.Unmarshal(v, &t) != nil {
			return fmt.Errorf("%w: %q is not a string", errMalformed, s.name)
		}
		if s.optional && t == "" {
			return nil
		}
		if len(t) < s.min || len(t) > s.max {
			return fmt.Errorf("wrong field length: %q", s.name)
		}
		m.f[s.name] = t
	case kUint:
		for _, c := range v {
			if c < '0' || c > '9' {
				return fmt.Errorf("%w: %q is not a plain non-negative integer", errMalformed, s.name)
			}
		}
		if len(v) > 1 && v[0] == '0' {
			return fmt.Errorf("%w: %q has a leading zero", errMalformed, s.name)
		}
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %q is out of range", errMalformed, s.name)
		}
		m.f[s.name] = n
	case kList:
		var l []string
		if json.Unmarshal(v, &l) != nil {
			return fmt.Errorf("%w: %q is not an array of strings", errMalformed, s.name)
		}
		if len(l) > s.max {
			return fmt.Errorf("wrong field length: %q", s.name)
		}
		for _, item := range l {
			if item == "" || len(item) > 64 {
				return fmt.Errorf("wrong field length: an item of %q", s.name)
			}
		}
		if len(l) > 0 {
			m.f[s.name] = l
		}
	}
	return nil
}

// ---- a connection: one lab message per WebSocket text message ----

// docConn is one end of a lab connection, for the scheme it speaks.
type docConn struct {
	ws    *websocket.Conn
	types []string // the message types of the scheme, and data and end
}

func newDocConn(ws *websocket.Conn, handshake ...string) *docConn {
	ws.SetReadLimit(docMaxMessage)
	return &docConn{ws: ws, types: append(handshake, "data", "end")}
}

func (c *docConn) write(ctx context.Context, msg []byte) error {
	return c.ws.Write(ctx, websocket.MessageText, msg)
}

// read returns the next message's raw bytes and the decoded message,
// which must be of type want.
func (c *docConn) read(ctx context.Context, want string) ([]byte, docMsg, error) {
	typ, raw, err := c.ws.Read(ctx)
	if err != nil {
		return nil, docMsg{}, err
	}
	if typ != websocket.MessageText {
		return raw, docMsg{}, c.refuse(websocket.StatusProtocolError, "binary message")
	}
	m, err := decode(raw, c.types...)
	if err != nil {
		return raw, m, c.refuse(websocket.StatusProtocolError, err.Error())
	}
	if want != "" && m.typ != want {
		return raw, m, c.refuse(websocket.StatusProtocolError, fmt.Sprintf("unexpected message: got %s, want %s", m.typ, want))
	}
	return raw, m, nil
}

// errRefused is what a side returns after it closed with a refusal.
type errRefused struct {
	code   websocket.StatusCode
	reason string
}

func (e *errRefused) Error() string { return fmt.Sprintf("refused with %d: %s", e.code, e.reason) }

// refuse closes with code and reason, as "Close codes and errors" says a
// side does when it gives up, and returns the error.
func (c *docConn) refuse(code websocket.StatusCode, reason string) error {
	if len(reason) > 123 {
		reason = reason[:120] + "..."
	}
	c.ws.Close(code, reason)
	return &errRefused{code, reason}
}

// ---- "The record layer": a session after the handshake ----

// docSession is one side's record layer: it seals in its own direction
// and opens the other's, each with its own sequence numbers.
type docSession struct {
	c         *docConn
	keys      traffic
	out, in   string // "c2s" or "s2c"
	sendSeq   uint64
	recvSeq   uint64
	sentEnd   bool
	peerEnded bool
}

func newDocSession(c *docConn, keys traffic, client bool) *docSession {
	s := &docSession{c: c, keys: keys, out: "c2s", in: "s2c"}
	if !client {
		s.out, s.in = "s2c", "c2s"
	}
	return s
}

// send seals plaintext into the next data record and writes it.
func (s *docSession) send(ctx context.Context, pt []byte) error {
	if s.sentEnd {
		return errors.New("this side has ended the conversation")
	}
	if len(pt) > docMaxPlaintext {
		return errors.New("plaintext too large for one record")
	}
	ct := sealRecord(s.keys, s.out, "data", s.sendSeq, pt)
	s.sendSeq++
	return s.c.write(ctx, recordJSON("data", s.sendSeq-1, ct))
}

// end seals and writes this side's end record, at the next sequence
// number, with an empty plaintext.
func (s *docSession) end(ctx context.Context) error {
	ct := sealRecord(s.keys, s.out, "end", s.sendSeq, nil)
	s.sendSeq++
	s.sentEnd = true
	return s.c.write(ctx, recordJSON("end", s.sendSeq-1, ct))
}

// errTruncated: the connection ended before the peer's end record.
var errTruncated = errors.New("conversation cut short")

// receive returns the next data record's plaintext, or io.EOF once the
// peer's end record has arrived (and again when the connection then
// closes). A connection that ends before the end record is errTruncated,
// unless the peer refused (1002, 1003, 1007, 1008, 1009, or 4000 plus
// the code less 1000): then it is the peer's close.
func (s *docSession) receive(ctx context.Context) ([]byte, error) {
	_, m, err := s.c.read(ctx, "")
	if err != nil {
		var ce websocket.CloseError
		switch {
		case errors.As(err, new(*errRefused)):
			return nil, err // this side refused, and said why
		case s.peerEnded:
			return nil, io.EOF
		case errors.As(err, &ce) && refusal(ce.Code):
			return nil, err // the peer refused, and said why
		}
		return nil, fmt.Errorf("%w: %w", errTruncated, err)
	}
	seq := m.uint("seq")
	if s.peerEnded {
		return nil, s.c.refuse(websocket.StatusPolicyViolation, "record after the peer's end record")
	}
	switch {
	case seq < s.recvSeq:
		return nil, s.c.refuse(websocket.StatusPolicyViolation, "record replayed")
	case seq > s.recvSeq:
		return nil, s.c.refuse(websocket.StatusPolicyViolation, "record out of order")
	}
	pt, err := openRecord(s.keys, s.in, m.typ, seq, m.bytes("ct"))
	if err != nil {
		return nil, s.c.refuse(websocket.StatusPolicyViolation, "record failed authentication")
	}
	s.recvSeq++
	if m.typ == "end" {
		if len(pt) != 0 {
			return nil, s.c.refuse(websocket.StatusPolicyViolation, "end record carries data")
		}
		s.peerEnded = true
		return nil, io.EOF
	}
	if len(pt) > docMaxPlaintext {
		return nil, s.c.refuse(websocket.StatusMessageTooBig, "record plaintext over the limit")
	}
	return pt, nil
}

// refusal reports whether a close code is a refusal, the RFC code or its
// application-range twin.
func refusal(code websocket.StatusCode) bool {
	if code >= 4000 && code < 5000 {
		code -= 3000
	}
	switch code {
	case 1002, 1003, 1007, 1008, 1009:
		return true
	}
	return false
}

// ---- "The schemes": client halves ----

// clientOpts configures a doc client.
type clientOpts struct {
	pin string // pinned-ecdh (required), static-rsa (optional)
	// rsaKey is a plaintext-rsa client's key pair; nil means a fresh one.
	rsaKey *rsa.PrivateKey
	// pinned-ecdh: what the client offers; nil means ["pinned-ecdh"].
	offer []string
	// tamperCH, if not nil, changes the client_hello the client hashes,
	// not the one it sends: a client that saw other bytes than the server.
	tamperCH func([]byte) []byte
	// chFormat, if not nil, writes the client_hello from its fields,
	// in place of encode.
	chFormat func(nonce, keyShare []byte, offered []string) []byte
}

// clientHandshakes maps each scheme to its client half.
var clientHandshakes = map[string]func(ctx context.Context, ws *websocket.Conn, o clientOpts) (*docSession, error){
	"pinned-ecdh":   pinnedClient,
	"unauth-ecdh":   unauthClient,
	"plaintext-rsa": plaintextRSAClient,
	"static-rsa":    staticRSAClient,
	"plain":         plainClient,
}

// schemeTypes are the handshake message types of each scheme.
var schemeTypes = map[string][]string{
	"pinned-ecdh":   {"client_hello", "server_hello", "server_verify", "client_finished"},
	"unauth-ecdh":   {"client_hello", "server_hello"},
	"plaintext-rsa": {"rsa_public_key", "key_transport"},
	"static-rsa":    {"rsa_public_key", "key_transport"},
	"plain":         nil,
}

func keyShare() (*ecdh.PrivateKey, []byte) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return priv, randomBytes(32)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// x25519 is the shared secret; crypto/ecdh refuses an all-zero result.
func x25519(priv *ecdh.PrivateKey, peer []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, err
	}
	return priv.ECDH(pub)
}

func (o clientOpts) clientHello(nonce, keyShare []byte, offered []string) []byte {
	if o.chFormat != nil {
		return o.chFormat(nonce, keyShare, offered)
	}
	ms := []member{bin("nonce", nonce), bin("key_share", keyShare)}
	if len(offered) > 0 {
		ms = append(ms, list("offered", offered...))
	}
	return encode("client_hello", ms...)
}

// spkiPin is "sha256/" and the standard base64 of SHA-256 over DER bytes.
func spkiPin(spki []byte) string {
	sum := sha256.Sum256(spki)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}

// pinnedClient runs the client's steps of pinned-ecdh, checks 1 to 7 in
// order, each failure a 1008 close with the check's text.
func pinnedClient(ctx context.Context, ws *websocket.Conn, o clientOpts) (*docSession, error) {
	c := newDocConn(ws, schemeTypes["pinned-ecdh"]...)
	offer := o.offer
	if offer == nil {
		offer = []string{"pinned-ecdh"}
	}
	priv, nonce := keyShare()
	ch := o.clientHello(nonce, priv.PublicKey().Bytes(), offer)
	if err := c.write(ctx, ch); err != nil {
		return nil, err
	}
	if o.tamperCH != nil {
		ch = o.tamperCH(ch)
	}
	sh, shm, err := c.read(ctx, "server_hello")
	if err != nil {
		return nil, err
	}
	fail := func(reason string) (*docSession, error) {
		return nil, c.refuse(websocket.StatusPolicyViolation, reason)
	}
	if !slices.Contains(offer, shm.text("chosen")) { // 1
		return fail("server chose a scheme the client did not offer")
	}
	if shm.text("chosen") != "pinned-ecdh" {
		return fail("server chose unauthenticated unauth-ecdh; this client requires authentication")
	}
	if shm.bytes("certificate") == nil { // 2
		return fail("server hello carries no certificate")
	}
	cert, err := x509.ParseCertificate(shm.bytes("certificate"))
	if err != nil {
		return fail("certificate does not parse")
	}
	want, _ := base64.StdEncoding.DecodeString(o.pin[len("sha256/"):]) // 3
	got := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		return fail("key does not match pin: server sent " + spkiPin(cert.RawSubjectPublicKeyInfo))
	}
	key, ok := cert.PublicKey.(ed25519.PublicKey) // 4
	if !ok {
		return fail("certificate key is not Ed25519")
	}
	sv, svm, err := c.read(ctx, "server_verify")
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(key, signedContent(ch, sh), svm.bytes("signature")) { // 5
		return fail("server signature does not verify")
	}
	shared, err := x25519(priv, shm.bytes("key_share")) // 6
	if err != nil {
		return fail("key share is a low-order point")
	}
	prk, th1 := extract(shared), transcriptHash(ch, sh)
	sfk, cfk := finishedKeys(prk, th1)
	if !hmac.Equal(hmacSHA256(sfk, transcriptHash(ch, sh, svm.bytes("signature"))), svm.bytes("finished")) { // 7
		return fail("finished MAC does not verify")
	}
	cf := encode("client_finished", bin("mac", hmacSHA256(cfk, transcriptHash(ch, sh, sv))))
	if err := c.write(ctx, cf); err != nil {
		return nil, err
	}
	return newDocSession(c, deriveTraffic(prk, transcriptHash(ch, sh, sv, cf)), true), nil
}

func unauthClient(ctx context.Context, ws *websocket.Conn, o clientOpts) (*docSession, error) {
	c := newDocConn(ws, schemeTypes["unauth-ecdh"]...)
	priv, nonce := keyShare()
	ch := o.clientHello(nonce, priv.PublicKey().Bytes(), nil)
	if err := c.write(ctx, ch); err != nil {
		return nil, err
	}
	sh, shm, err := c.read(ctx, "server_hello")
	if err != nil {
		return nil, err
	}
	shared, err := x25519(priv, shm.bytes("key_share"))
	if err != nil {
		return nil, c.refuse(websocket.StatusPolicyViolation, "key share is a low-order point")
	}
	return newDocSession(c, deriveTraffic(extract(shared), transcriptHash(ch, sh)), true), nil
}

func plaintextRSAClient(ctx context.Context, ws *websocket.Conn, o clientOpts) (*docSession, error) {
	c := newDocConn(ws, schemeTypes["plaintext-rsa"]...)
	key := o.rsaKey
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := c.write(ctx, encode("rsa_public_key", bin("spki", spki))); err != nil {
		return nil, err
	}
	_, kt, err := c.read(ctx, "key_transport")
	if err != nil {
		return nil, err
	}
	secret, err := rsa.DecryptOAEP(sha256.New(), nil, key, kt.bytes("wrapped"), nil)
	if err != nil || len(secret) != 32 {
		return nil, c.refuse(websocket.StatusPolicyViolation, "wrapped secret does not decrypt")
	}
	return newDocSession(c, deriveTraffic(extract(secret), nil), true), nil
}

func staticRSAClient(ctx context.Context, ws *websocket.Conn, o clientOpts) (*docSession, error) {
	c := newDocConn(ws, schemeTypes["static-rsa"]...)
	_, pk, err := c.read(ctx, "rsa_public_key")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(pk.bytes("spki"))
	pub, ok := k.(*rsa.PublicKey)
	if err != nil || !ok {
		return nil, c.refuse(websocket.StatusPolicyViolation, "public key does not parse as RSA")
	}
	if pub.N.BitLen() != 2048 {
		return nil, c.refuse(websocket.StatusPolicyViolation, "RSA key has the wrong size")
	}
	if o.pin != "" && spkiPin(pk.bytes("spki")) != o.pin {
		return nil, c.refuse(websocket.StatusPolicyViolation, "key does not match pin: server sent "+spkiPin(pk.bytes("spki")))
	}
	secret := randomBytes(32)
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, secret, nil)
	if err != nil {
		return nil, err
	}
	if err := c.write(ctx, encode("key_transport", bin("wrapped", wrapped))); err != nil {
		return nil, err
	}
	return newDocSession(c, deriveTraffic(extract(secret), nil), true), nil
}

func plainClient(_ context.Context, ws *websocket.Conn, _ clientOpts) (*docSession, error) {
	return newDocSession(newDocConn(ws), traffic{suite: "null"}, true), nil
}

// ---- "The schemes": server halves ----

// serverOpts configures a doc server.
type serverOpts struct {
	id     *docIdentity    // pinned-ecdh
	rsaKey *rsa.PrivateKey // static-rsa
	// tamperSH, if not nil, changes the server_hello after it is signed
	// and before it is sent.
	tamperSH func([]byte) []byte
}

// docIdentity is a pinned-ecdh server's certificate and Ed25519 key.
type docIdentity struct {
	cert []byte
	key  ed25519.PrivateKey
}

// newDocIdentity makes a self-signed certificate for a fresh Ed25519 key.
// The client checks nothing in it but the key ("pinned-ecdh").
func newDocIdentity() (*docIdentity, string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "doc server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", err
	}
	return &docIdentity{der, priv}, spkiPin(cert.RawSubjectPublicKeyInfo), nil
}

var serverHandshakes = map[string]func(ctx context.Context, ws *websocket.Conn, o serverOpts) (*docSession, error){
	"pinned-ecdh":   pinnedServer,
	"unauth-ecdh":   unauthServer,
	"plaintext-rsa": plaintextRSAServer,
	"static-rsa":    staticRSAServer,
	"plain":         plainServer,
}

func pinnedServer(ctx context.Context, ws *websocket.Conn, o serverOpts) (*docSession, error) {
	c := newDocConn(ws, schemeTypes["pinned-ecdh"]...)
	ch, chm, err := c.read(ctx, "client_hello")
	if err != nil {
		return nil, err
	}
	if !slices.Contains(chm.list("offered"), "pinned-ecdh") {
		return nil, c.refuse(websocket.StatusPolicyViolation, "client offered no scheme the server speaks")
	}
	priv, nonce := keyShare()
	shared, err := x25519(priv, chm.bytes("key_share"))
	if err != nil {
		return nil, c.refuse(websocket.StatusPolicyViolation, "key share is a low-order point")
	}
	sh := encode("server_hello", bin("nonce", nonce), bin("key_share", priv.PublicKey().Bytes()),
		str("chosen", "pinned-ecdh"), bin("certificate", o.id.cert))
	sig := ed25519.Sign(o.id.key, signedContent(ch, sh))
	if o.tamperSH != nil {
		sh = o.tamperSH(sh)
	}
	prk, th1 := extract(shared), transcriptHash(ch, sh)
	sfk, cfk := finishedKeys(prk, th1)
	sv := encode("server_verify", bin("signature", sig), bin("finished", hmacSHA256(sfk, transcriptHash(ch, sh, sig))))
	if err := c.write(ctx, sh); err != nil {
		return nil, err
	}
	if err := c.write(ctx, sv); err != nil {
		return nil, err
	}
	cf, cfm, err := c.read(ctx, "client_finished")
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(cfm.bytes("mac"), hmacSHA256(cfk, transcriptHash(ch, sh, sv))) {
		return nil, c.refuse(websocket.StatusPolicyViolation, "finished MAC does not verify")
	}
	return newDocSession(c, deriveTraffic(prk, transcriptHash(ch, sh, sv, cf)), false), nil
}

func unauthServer(ctx context.Context, ws *websocket.Conn, _ serverOpts) (*docSession, error) {
	c := newDocConn(ws, schemeTypes["unauth-ecdh"]...)
	ch, chm, err := c.read(ctx, "client_hello")
	if err != nil {
		return nil, err
	}
	priv, nonce := keyShare()
	shared, err := x25519(priv, chm.bytes("key_share"))
	if err != nil {
		return nil, c.refuse(websocket.StatusPolicyViolation, "key share is a low-order point")
	}
	sh := encode("server_hello", bin("nonce", nonce), bin("key_share", priv.PublicKey().Bytes()))
	if err := c.write(ctx, sh); err != nil {
		return nil, err
	}
	return newDocSession(c, deriveTraffic(extract(shared), transcriptHash(ch, sh)), false), nil
}

func plaintextRSAServer(ctx context.Context, ws *websocket.Conn, _ serverOpts) (*docSession, error) {
	c := newDocConn(ws, schemeTypes["plaintext-rsa"]...)
	_, pk, err := c.read(ctx, "rsa_public_key")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(pk.bytes("spki"))
	pub, ok := k.(*rsa.PublicKey)
	if err != nil || !ok {
		return nil, c.refuse(websocket.StatusPolicyViolation, "public key does not parse as RSA")
	}
	if pub.N.BitLen() != 2048 {
		return nil, c.refuse(websocket.StatusPolicyViolation, "RSA key has the wrong size")
	}
	secret := randomBytes(32)
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, secret, nil)
	if err != nil {
		return nil, err
	}
	if err := c.write(ctx, encode("key_transport", bin("wrapped", wrapped))); err != nil {
		return nil, err
	}
	return newDocSession(c, deriveTraffic(extract(secret), nil), false), nil
}

func staticRSAServer(ctx context.Context, ws *websocket.Conn, o serverOpts) (*docSession, error) {
	c := newDocConn(ws, schemeTypes["static-rsa"]...)
	spki, err := x509.MarshalPKIXPublicKey(&o.rsaKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := c.write(ctx, encode("rsa_public_key", bin("spki", spki))); err != nil {
		return nil, err
	}
	_, kt, err := c.read(ctx, "key_transport")
	if err != nil {
		return nil, err
	}
	secret, err := rsa.DecryptOAEP(sha256.New(), nil, o.rsaKey, kt.bytes("wrapped"), nil)
	if err != nil || len(secret) != 32 {
		return nil, c.refuse(websocket.StatusPolicyViolation, "wrapped secret does not decrypt")
	}
	return newDocSession(c, deriveTraffic(extract(secret), nil), false), nil
}

func plainServer(_ context.Context, ws *websocket.Conn, _ serverOpts) (*docSession, error) {
	return newDocSession(newDocConn(ws), traffic{suite: "null"}, false), nil
}
