package docs_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// A closeCase misbehaves toward the lab's server in one way and expects the
// close code and reason that protocol.md gives for it.
type closeCase struct {
	name   string
	scheme func() *kex.Scheme
	opts   *victim.ServerOptions
	act    func(t *testing.T, ctx context.Context, ws *websocket.Conn)
	code   websocket.StatusCode
	reason string // the whole reason; with a trailing "…", a prefix
}

// send writes one text message.
func send(t *testing.T, ctx context.Context, ws *websocket.Conn, msg []byte) {
	t.Helper()
	if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
		t.Fatalf("write %.60s: %v", msg, err)
	}
}

// hello is a client_hello with a fresh key share and the fields given.
func hello(extra ...member) []byte {
	priv, nonce := keyShare()
	return encode("client_hello", append([]member{bin("nonce", nonce), bin("key_share", priv.PublicKey().Bytes())}, extra...)...)
}

// unauthSession runs unauth-ecdh as the doc client and exchanges one
// record each way, so that the server expects seq 1 next.
func unauthSession(t *testing.T, ctx context.Context, ws *websocket.Conn) *docSession {
	t.Helper()
	s, err := unauthClient(ctx, ws, clientOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.send(ctx, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.receive(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func spkiOf(t *testing.T, pub any) []byte {
	t.Helper()
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nonCanonical is the base64 of 32 zero bytes with a padding bit set:
// StdEncoding decodes it, the canonical (strict) decoder refuses it.
const nonCanonical = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="

func TestCloseCodes(t *testing.T) {
	t.Parallel()
	cases := []closeCase{
		{
			name: "binary message", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				ws.Write(ctx, websocket.MessageBinary, hello())
			},
			code: websocket.StatusProtocolError, reason: "wire: binary websocket message",
		},
		{
			name: "message of 65,537 bytes", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				ws.Write(ctx, websocket.MessageText, bytes.Repeat([]byte(" "), 65537))
			},
			code: websocket.StatusMessageTooBig, reason: "read limited at 65537 bytes",
		},
		{
			name: "text message that is not UTF-8", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, []byte("{\"type\":\"client_hello\",\"x\":\"\xff\"}"))
			},
			code: websocket.StatusInvalidFramePayloadData, reason: "wire: text message is not valid UTF-8",
		},
		{
			name: "white space before the object", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, append([]byte(" "), hello()...))
			},
			code: websocket.StatusProtocolError, reason: "wire: malformed message: not valid JSON at byte 0: a message is one JSON object, starting with '{' (no white space befor...",
		},
		{
			name: "white space after the object", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, append(hello(), '\n'))
			},
			code: websocket.StatusProtocolError, reason: "wire: malformed message: not valid JSON: a message ends with '}', with no white space or data after it",
		},
		{
			name: "white space inside the object is fine, an unknown field is not", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, bytes.Replace(hello(), []byte(`{`), []byte("{ \t\r\n\"x\" : 1 ,"), 1))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: unknown field: "x"`,
		},
		{
			name: "31-byte nonce", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, encode("client_hello", bin("nonce", make([]byte, 31)), bin("key_share", make([]byte, 32))))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: wrong field length: "nonce" is 31 bytes, want 32`,
		},
		{
			name: "unpadded base64", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, bytes.ReplaceAll(hello(), []byte(`=`), nil))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: malformed message: "nonce" is not canonical standard base64 with padding`,
		},
		{
			name: "base64 with a padding bit set", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, encode("client_hello", member{"nonce", `"` + nonCanonical + `"`}, bin("key_share", make([]byte, 32))))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: malformed message: "nonce" is not canonical standard base64 with padding`,
		},
		{
			name: "an escape in a base64 string", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				nonce := `"\u0041` + b64.EncodeToString(make([]byte, 32))[1:] + `"`
				send(t, ctx, ws, encode("client_hello", member{"nonce", nonce}, bin("key_share", make([]byte, 32))))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: malformed message: "nonce": escape in a base64 string`,
		},
		{
			name: "a required field null", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, encode("client_hello", bin("nonce", make([]byte, 32)), member{"key_share", "null"}))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: missing field: "key_share"`,
		},
		{
			name: "an optional field null", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, hello(member{"offered", "null"}))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: malformed message: "offered" is null; leave an optional field out instead`,
		},
		{
			name: "a field twice", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, bytes.Replace(hello(), []byte(`{`), []byte(`{"type":"client_hello",`), 1))
			},
			code: websocket.StatusProtocolError, reason: `wire: malformed message: field "type" appears twice`,
		},
		{
			name: "an escape in a field name", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, bytes.Replace(hello(), []byte(`"nonce"`), []byte(`"n\u006fnce"`), 1))
			},
			code: websocket.StatusProtocolError, reason: "wire: malformed message: not valid JSON at byte …",
		},
		{
			name: "a field name in upper case", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, bytes.Replace(hello(), []byte(`"nonce"`), []byte(`"Nonce"`), 1))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: unknown field: "Nonce"`,
		},
		{
			name: "data without seq", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, encode("data", bin("ct", make([]byte, 16))))
			},
			code: websocket.StatusProtocolError, reason: `wire: data: missing field: "seq"`,
		},
		{
			name: "seq with a leading zero", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, encode("data", member{"seq", "01"}, bin("ct", make([]byte, 16))))
			},
			code: websocket.StatusProtocolError, reason: `wire: data: malformed message: "seq": 01 has a leading zero`,
		},
		{
			name: "seq as a fraction", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, encode("data", member{"seq", "1.0"}, bin("ct", make([]byte, 16))))
			},
			code: websocket.StatusProtocolError, reason: `wire: data: malformed message: "seq": 1.0 is not a plain non-negative integer`,
		},
		{
			name: "unknown type", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, []byte(`{"type":"hello"}`))
			},
			code: websocket.StatusProtocolError, reason: `wire: unknown message type: "hello"`,
		},
		{
			name: "a message of another scheme", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, encode("rsa_public_key", bin("spki", []byte{1})))
			},
			code: websocket.StatusProtocolError, reason: `wire: unknown message type: "rsa_public_key"`,
		},
		{
			name: "data instead of client_hello", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, recordJSON("data", 0, make([]byte, 16)))
			},
			code: websocket.StatusProtocolError, reason: "wire: unexpected message: got data, want client_hello",
		},
		{
			name: "unauth-ecdh low-order key share", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, encode("client_hello", bin("nonce", make([]byte, 32)), bin("key_share", make([]byte, 32))))
			},
			code: websocket.StatusPolicyViolation, reason: "key share is a low-order point: crypto/ecdh: bad X25519 remote ECDH input: low order point",
		},
		{
			name: "pinned-ecdh low-order key share", scheme: kex.PinnedECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, encode("client_hello", bin("nonce", make([]byte, 32)), bin("key_share", make([]byte, 32)), list("offered", "pinned-ecdh")))
			},
			code: websocket.StatusPolicyViolation, reason: "key share is a low-order point: …",
		},
		{
			name: "pinned-ecdh offered stripped", scheme: kex.PinnedECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, hello())
			},
			code: websocket.StatusPolicyViolation, reason: `client offered no scheme the server speaks: offered [], server speaks ["pinned-ecdh"]`,
		},
		{
			name: "pinned-ecdh data before client_finished", scheme: kex.PinnedECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				c := newDocConn(ws, schemeTypes["pinned-ecdh"]...)
				send(t, ctx, ws, hello(list("offered", "pinned-ecdh")))
				c.read(ctx, "server_hello")
				c.read(ctx, "server_verify")
				send(t, ctx, ws, recordJSON("data", 0, make([]byte, 16)))
			},
			code: websocket.StatusProtocolError, reason: "wire: unexpected message: got data, want client_finished",
		},
		{
			name: "pinned-ecdh wrong client finished", scheme: kex.PinnedECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				c := newDocConn(ws, schemeTypes["pinned-ecdh"]...)
				send(t, ctx, ws, hello(list("offered", "pinned-ecdh")))
				c.read(ctx, "server_hello")
				c.read(ctx, "server_verify")
				send(t, ctx, ws, encode("client_finished", bin("mac", make([]byte, 32))))
			},
			code: websocket.StatusPolicyViolation, reason: "finished MAC does not verify",
		},
		{
			name: "plaintext-rsa 1024-bit key", scheme: kex.PlaintextRSA,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				k, err := rsa.GenerateKey(rand.Reader, 1024)
				if err != nil {
					t.Fatal(err)
				}
				send(t, ctx, ws, encode("rsa_public_key", bin("spki", spkiOf(t, &k.PublicKey))))
			},
			code: websocket.StatusPolicyViolation, reason: "RSA key has the wrong size: 1024 bits, want 2048",
		},
		{
			name: "plaintext-rsa Ed25519 key", scheme: kex.PlaintextRSA,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				pub, _, err := ed25519.GenerateKey(rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				send(t, ctx, ws, encode("rsa_public_key", bin("spki", spkiOf(t, pub))))
			},
			code: websocket.StatusPolicyViolation, reason: "public key does not parse as RSA: …",
		},
		{
			name: "static-rsa secret wrapped to another key", scheme: kex.StaticRSA,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				c := newDocConn(ws, schemeTypes["static-rsa"]...)
				c.read(ctx, "rsa_public_key")
				send(t, ctx, ws, encode("key_transport", bin("wrapped", randomBytes(256))))
			},
			code: websocket.StatusPolicyViolation, reason: "wrapped secret does not decrypt",
		},
		{
			name: "record replayed", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				s := unauthSession(t, ctx, ws)
				send(t, ctx, ws, recordJSON("data", 0, sealRecord(s.keys, "c2s", "data", 0, []byte("one"))))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record replayed: sequence number already used: got seq 0, want 1",
		},
		{
			name: "record skipped ahead", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				s := unauthSession(t, ctx, ws)
				send(t, ctx, ws, recordJSON("data", 2, sealRecord(s.keys, "c2s", "data", 2, []byte("three"))))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record out of order: sequence number skipped ahead: got seq 2, want 1",
		},
		{
			name: "record modified", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				s := unauthSession(t, ctx, ws)
				ct := sealRecord(s.keys, "c2s", "data", 1, []byte("two"))
				ct[0] ^= 1
				send(t, ctx, ws, recordJSON("data", 1, ct))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record failed authentication: modified or wrong key: seq 1",
		},
		{
			name: "record sealed with the other direction's additional data", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				s := unauthSession(t, ctx, ws)
				k := s.keys.c2s
				send(t, ctx, ws, recordJSON("data", 1, gcm(k.key).Seal(nil, recordNonce(k.iv, 1), []byte("two"), recordAD("data", "s2c", 1))))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record failed authentication: modified or wrong key: seq 1",
		},
		{
			name: "a data record sent as an end record", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				s := unauthSession(t, ctx, ws)
				send(t, ctx, ws, recordJSON("end", 1, sealRecord(s.keys, "c2s", "data", 1, nil)))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record failed authentication: modified or wrong key: seq 1",
		},
		{
			name: "ct shorter than a tag", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				unauthSession(t, ctx, ws)
				send(t, ctx, ws, recordJSON("data", 1, []byte("abc")))
			},
			code: websocket.StatusProtocolError, reason: "channel: wrong field length: ct is 3 bytes, shorter than the 16-byte tag",
		},
		{
			name: "an end record that carries data", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				s := unauthSession(t, ctx, ws)
				send(t, ctx, ws, recordJSON("end", 1, sealRecord(s.keys, "c2s", "end", 1, []byte("hi"))))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: end record carries data: 2 bytes",
		},
		{
			name: "a data record after the end record", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				s := unauthSession(t, ctx, ws)
				s.end(ctx)
				s.receive(ctx) // the server's end record
				send(t, ctx, ws, recordJSON("data", 2, sealRecord(s.keys, "c2s", "data", 2, []byte("late"))))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record after the peer's end record: data seq 2",
		},
		{
			name: "a second end record", scheme: kex.UnauthECDH,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				s := unauthSession(t, ctx, ws)
				s.end(ctx)
				s.receive(ctx)
				send(t, ctx, ws, recordJSON("end", 2, sealRecord(s.keys, "c2s", "end", 2, nil)))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record after the peer's end record: a second end record",
		},
		{
			name: "a plaintext over 32 KiB", scheme: kex.Plain,
			act: func(t *testing.T, ctx context.Context, ws *websocket.Conn) {
				send(t, ctx, ws, recordJSON("data", 0, bytes.Repeat([]byte("x"), 32769)))
			},
			code: websocket.StatusMessageTooBig, reason: "channel: record plaintext over the 32 KiB limit: 32769 bytes",
		},
		{
			name: "handshake timeout", scheme: kex.UnauthECDH,
			opts: &victim.ServerOptions{HandshakeTimeout: 30 * time.Millisecond},
			act:  func(t *testing.T, ctx context.Context, ws *websocket.Conn) {},
			code: websocket.StatusPolicyViolation, reason: "handshake timed out after 30ms",
		},
		{
			name: "idle timeout", scheme: kex.Plain,
			opts: &victim.ServerOptions{IdleTimeout: 30 * time.Millisecond},
			act:  func(t *testing.T, ctx context.Context, ws *websocket.Conn) {},
			code: websocket.StatusGoingAway, reason: "idle timeout after 30ms",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			scheme := tc.scheme()
			base, _ := labServer(t, scheme, tc.opts)
			ws := docDial(t, ctx, base, scheme.Name)
			tc.act(t, ctx, ws)
			ce := readClose(t, ctx, ws)
			if ce.Code != tc.code {
				t.Errorf("close code %d, want %d (reason %q)", ce.Code, tc.code, ce.Reason)
			}
			if prefix, ok := strings.CutSuffix(tc.reason, "…"); ok {
				if !strings.HasPrefix(ce.Reason, prefix) {
					t.Errorf("close reason %q, want it to start with %q", ce.Reason, prefix)
				}
			} else if ce.Reason != tc.reason {
				t.Errorf("close reason %q, want %q", ce.Reason, tc.reason)
			}
		})
	}
}

// readClose reads until the connection ends and returns the peer's close
// frame.
func readClose(t *testing.T, ctx context.Context, ws *websocket.Conn) websocket.CloseError {
	t.Helper()
	for {
		_, _, err := ws.Read(ctx)
		if err != nil {
			return closeOf(t, err)
		}
	}
}

// TestLabClientRefuses: a doc server that misbehaves after the handshake,
// and what the lab's client does about it.
func TestLabClientRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		misbehave func(ctx context.Context, s *docSession)
		is        error
		code      websocket.StatusCode // the client's close; 0: none, the server left
		reason    string
	}{
		{"an end record that carries data", func(ctx context.Context, s *docSession) {
			s.c.write(ctx, recordJSON("end", 0, sealRecord(s.keys, "s2c", "end", 0, []byte("x"))))
		}, channel.ErrBadEnd, websocket.StatusPolicyViolation, "channel: end record carries data: 1 bytes"},
		{"close 1000 with no end record", func(ctx context.Context, s *docSession) {
			s.c.ws.Close(websocket.StatusNormalClosure, "bye")
		}, channel.ErrTruncated, 0, ""},
		{"close 1001 with no end record", func(ctx context.Context, s *docSession) {
			s.c.ws.Close(websocket.StatusGoingAway, "server shutting down")
		}, channel.ErrTruncated, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			d := &docServer{scheme: kex.NameUnauthECDH, misbehave: tc.misbehave}
			url, cfg := startDocServer(t, d)
			res := (&victim.Client{Scheme: kex.UnauthECDH(), Config: cfg}).Chat(ctx, url, [][]byte{[]byte("one")})
			if !errors.Is(res.Err, tc.is) {
				t.Errorf("client error %v, want %v", res.Err, tc.is)
			}
			if !wire.Detected(res.Err) {
				t.Errorf("client error %v is not a detection", res.Err)
			}
			err := <-d.done
			if tc.code == 0 {
				return
			}
			ce := closeOf(t, err)
			if ce.Code != tc.code || ce.Reason != tc.reason {
				t.Errorf("client closed with %d %q, want %d %q", ce.Code, ce.Reason, tc.code, tc.reason)
			}
		})
	}
}

// TestMessageOf64KiB: a message of exactly 65,536 bytes is within the
// limit, and white space inside the object is allowed.
func TestMessageOf64KiB(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	base, _ := labServer(t, kex.UnauthECDH(), nil)
	ws := docDial(t, ctx, base, kex.NameUnauthECDH)
	ch := hello()
	padded := slices.Concat(ch[:1], bytes.Repeat([]byte(" "), 65536-len(ch)), ch[1:])
	if len(padded) != 65536 {
		t.Fatalf("%d bytes", len(padded))
	}
	send(t, ctx, ws, padded)
	c := newDocConn(ws, schemeTypes["unauth-ecdh"]...)
	if _, _, err := c.read(ctx, "server_hello"); err != nil {
		t.Fatal(err)
	}
}

// TestHTTPLayer checks the upgrade rules: path, subprotocol, Origin.
func TestHTTPLayer(t *testing.T) {
	t.Parallel()
	base, _ := labServer(t, kex.PinnedECDH(), nil)
	cases := []struct {
		name     string
		path     string
		protocol string
		origin   string
		status   int
		body     string
	}{
		{"wrong path", "/unauth-ecdh", "mitmlab.v2.unauth-ecdh", "", http.StatusBadRequest,
			"protocol mismatch: this server speaks pinned-ecdh at /pinned-ecdh, not /unauth-ecdh"},
		{"wrong subprotocol", "/pinned-ecdh", "mitmlab.v2.unauth-ecdh", "", http.StatusBadRequest,
			`protocol mismatch: this server speaks pinned-ecdh; the client offered ["mitmlab.v2.unauth-ecdh"]`},
		{"the v1 subprotocol", "/pinned-ecdh", "mitmlab.v1.pinned-ecdh", "", http.StatusBadRequest,
			`protocol mismatch: this server speaks pinned-ecdh; the client offered ["mitmlab.v1.pinned-ecdh"]`},
		{"no subprotocol", "/pinned-ecdh", "", "", http.StatusBadRequest,
			"protocol mismatch: this server speaks pinned-ecdh; the client offered []"},
		{"cross-site origin", "/pinned-ecdh", "mitmlab.v2.pinned-ecdh", "https://evil.example", http.StatusForbidden, ""},
		{"root path", "/", "mitmlab.v2.pinned-ecdh", "", http.StatusSwitchingProtocols, ""},
		{"a name in the query", "/pinned-ecdh?name=alice", "mitmlab.v2.pinned-ecdh", "", http.StatusSwitchingProtocols, ""},
		{"same origin", "/pinned-ecdh", "mitmlab.v2.pinned-ecdh", "http://" + strings.TrimPrefix(base, "ws://"), http.StatusSwitchingProtocols, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
			if tc.protocol != "" {
				opts.Subprotocols = []string{tc.protocol}
			}
			if tc.origin != "" {
				opts.HTTPHeader.Set("Origin", tc.origin)
			}
			ws, resp, err := websocket.Dial(ctx, base+tc.path, opts)
			if err == nil {
				ws.CloseNow()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != http.StatusBadRequest {
				return
			}
			if got := resp.Header.Get("Mitmlab-Scheme"); got != "pinned-ecdh" {
				t.Errorf("Mitmlab-Scheme %q, want pinned-ecdh", got)
			}
			body, _ := io.ReadAll(resp.Body)
			if got := strings.TrimSpace(string(body)); got != tc.body {
				t.Errorf("body %q, want %q", got, tc.body)
			}
		})
	}
}

// TestAttackerUpstreamUnreachable: the attacker node accepts the victim,
// cannot reach the upstream, and closes with 1011 and the reason.
func TestAttackerUpstreamUnreachable(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	// An upstream that is gone: its address refuses connections.
	dead := httptest.NewServer(http.NotFoundHandler())
	gone := "ws" + strings.TrimPrefix(dead.URL, "http") + "/plain"
	dead.Close()
	node, err := attacker.New(attacker.Options{Scheme: kex.Plain(), Upstream: gone})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(node)
	t.Cleanup(func() {
		node.Close()
		front.Close()
	})
	srv := "ws" + strings.TrimPrefix(front.URL, "http")
	ws := docDial(t, ctx, srv, kex.NamePlain)
	ce := readClose(t, ctx, ws)
	if ce.Code != websocket.StatusInternalError || !strings.HasPrefix(ce.Reason, "upstream "+gone+": ") {
		t.Errorf("attacker closed with %d %q, want 1011 \"upstream %s: ...\"", ce.Code, ce.Reason, gone)
	}
}

// namedErrors are the errors protocol.md's error table must list: every
// Err variable of wire, channel and kex, and the victim's. A code of 0
// means the side sends no close frame.
var namedErrors = map[string]struct {
	err  error
	code int
}{
	"wire.ErrMalformed":            {wire.ErrMalformed, 1002},
	"wire.ErrUnknownType":          {wire.ErrUnknownType, 1002},
	"wire.ErrUnknownField":         {wire.ErrUnknownField, 1002},
	"wire.ErrMissingField":         {wire.ErrMissingField, 1002},
	"wire.ErrFieldLength":          {wire.ErrFieldLength, 1002},
	"wire.ErrMessageTooLarge":      {wire.ErrMessageTooLarge, 1009},
	"wire.ErrUnexpectedMessage":    {wire.ErrUnexpectedMessage, 1002},
	"wire.ErrBinaryMessage":        {wire.ErrBinaryMessage, 1002},
	"wire.ErrInvalidUTF8":          {wire.ErrInvalidUTF8, 1007},
	"wire.ErrPeerClosed":           {wire.ErrPeerClosed, 0},
	"wire.ErrHandshakeTimeout":     {wire.ErrHandshakeTimeout, 1008},
	"wire.ErrIdleTimeout":          {wire.ErrIdleTimeout, 1001},
	"wire.ErrDialTimeout":          {wire.ErrDialTimeout, 0},
	"channel.ErrReplay":            {channel.ErrReplay, 1008},
	"channel.ErrOutOfOrder":        {channel.ErrOutOfOrder, 1008},
	"channel.ErrDecrypt":           {channel.ErrDecrypt, 1008},
	"channel.ErrSeqExhausted":      {channel.ErrSeqExhausted, 1008},
	"channel.ErrTruncated":         {channel.ErrTruncated, 1008},
	"channel.ErrAfterEnd":          {channel.ErrAfterEnd, 1008},
	"channel.ErrBadEnd":            {channel.ErrBadEnd, 1008},
	"channel.ErrTooLarge":          {channel.ErrTooLarge, 1011},
	"channel.ErrPlaintextTooLarge": {channel.ErrPlaintextTooLarge, 1009},
	"channel.ErrEnded":             {channel.ErrEnded, 1011},
	"kex.ErrPinMismatch":           {kex.ErrPinMismatch, 1008},
	"kex.ErrBadSignature":          {kex.ErrBadSignature, 1008},
	"kex.ErrBadFinished":           {kex.ErrBadFinished, 1008},
	"kex.ErrLowOrderPoint":         {kex.ErrLowOrderPoint, 1008},
	"kex.ErrBadCertificate":        {kex.ErrBadCertificate, 1008},
	"kex.ErrNotEd25519":            {kex.ErrNotEd25519, 1008},
	"kex.ErrSchemeNotOffered":      {kex.ErrSchemeNotOffered, 1008},
	"kex.ErrNoCommonScheme":        {kex.ErrNoCommonScheme, 1008},
	"kex.ErrBadKey":                {kex.ErrBadKey, 1008},
	"kex.ErrKeySize":               {kex.ErrKeySize, 1008},
	"kex.ErrBadKeyTransport":       {kex.ErrBadKeyTransport, 1008},
	"kex.ErrMissingIdentity":       {kex.ErrMissingIdentity, 1008},
	"kex.ErrDowngrade":             {kex.ErrDowngrade, 1008},
	"kex.ErrSASMismatch":           {kex.ErrSASMismatch, 1008},
	"kex.ErrNoComparison":          {kex.ErrNoComparison, 1008},
	"kex.ErrCommitMismatch":        {kex.ErrCommitMismatch, 1008},
	"kex.ErrBadGroup":              {kex.ErrBadGroup, 1008},
	"kex.ErrWeakGroup":             {kex.ErrWeakGroup, 1008},
	"kex.ErrBadPublicValue":        {kex.ErrBadPublicValue, 1008},
	"kex.ErrNoCommonGroup":         {kex.ErrNoCommonGroup, 1008},
	"kex.ErrNoPin":                 {kex.ErrNoPin, 0},
	"kex.ErrBadPin":                {kex.ErrBadPin, 0},
	"kex.ErrNoIdentity":            {kex.ErrNoIdentity, 0},
	"kex.ErrTruncatedHandshake":    {kex.ErrTruncatedHandshake, 0},
	"victim.ErrInterrupted":        {victim.ErrInterrupted, 1001},
	"victim.ErrServerEnded":        {victim.ErrServerEnded, 0},
}

// TestErrorTable checks every row of protocol.md's named-error table: the
// text is the error's, and the close code is the one wire.CloseCode gives
// (or "none" for the errors on which a side sends no close frame). It also
// checks that every Err variable in wire, channel and kex has a row.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "protocol.md")
	rows := tableRows(section(t, doc, "### Named errors"))
	seen := map[string]bool{}
	for _, r := range rows {
		if len(r) != 4 {
			t.Errorf("row %q has %d cells, want 4", r, len(r))
			continue
		}
		name, text, code := unquote(r[0]), unquote(r[1]), r[2]
		seen[name] = true
		want, ok := namedErrors[name]
		if !ok {
			t.Errorf("protocol.md lists %s, which the test does not know", name)
			continue
		}
		if got := want.err.Error(); got != text {
			t.Errorf("%s: text %q, protocol.md says %q", name, got, text)
		}
		switch {
		case want.code == 0:
			if !strings.HasPrefix(code, "none") {
				t.Errorf("%s: protocol.md says %s, want none", name, code)
			}
		case code != strconv.Itoa(want.code):
			t.Errorf("%s: protocol.md says close code %s, want %d", name, code, want.code)
		case int(wire.CloseCode(want.err)) != want.code:
			t.Errorf("%s: wire.CloseCode gives %d, want %d", name, wire.CloseCode(want.err), want.code)
		}
		// A failed security check is a wire.Violation, closes with 1008,
		// and counts as a detection; nothing else does.
		if wire.Detected(want.err) && want.code != 1008 {
			t.Errorf("%s is a wire.Violation with code %d", name, want.code)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(namedErrors)) {
		if !seen[name] {
			t.Errorf("protocol.md's error table has no row for %s", name)
		}
	}
	for _, name := range declaredErrors(t, "wire", "channel", "kex", "victim") {
		if _, ok := namedErrors[name]; !ok {
			t.Errorf("%s is declared in the code but not in protocol.md's error table", name)
		}
	}
}

// TestCloseCodeTable checks protocol.md's close-code table against
// wire.Canonical and wire.Refusal: the application-range twins stand for
// the RFC codes, and the refusals are what the table says.
func TestCloseCodeTable(t *testing.T) {
	t.Parallel()
	rows := tableRows(section(t, readDoc(t, "protocol.md"), "### Close codes"))
	if len(rows) == 0 {
		t.Fatal("no close-code table")
	}
	for _, r := range rows {
		if len(r) != 5 {
			t.Errorf("row %q has %d cells, want 5", r, len(r))
			continue
		}
		code, err := strconv.Atoi(r[0])
		if err != nil {
			t.Errorf("row %q: %v", r, err)
			continue
		}
		c := websocket.StatusCode(code)
		twin := unquote(r[1])
		if twin == "—" {
			if wire.Canonical(wire.AppCode(c)) == c {
				t.Errorf("%d: protocol.md gives no twin, but wire.Canonical(%d) = %d", code, wire.AppCode(c), c)
			}
		} else if tw, err := strconv.Atoi(twin); err != nil || wire.Canonical(websocket.StatusCode(tw)) != c {
			t.Errorf("%d: twin %s, wire.Canonical gives %d", code, twin, wire.Canonical(websocket.StatusCode(tw)))
		}
		refuses := strings.HasPrefix(r[2], "yes")
		if wire.Refusal(c) != refuses {
			t.Errorf("%d: protocol.md says refusal %q, wire.Refusal says %v", code, r[2], wire.Refusal(c))
		}
	}
}
