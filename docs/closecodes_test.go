package docs_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/kex"
)

// A closeCase misbehaves toward the lab's server in one way and expects the
// close code and reason that protocol.md gives for it.
type closeCase struct {
	name   string
	scheme kex.Scheme
	act    func(t *testing.T, ctx context.Context, p peer)
	code   websocket.StatusCode
	reason string // the whole reason; with a trailing "…", a prefix
}

var zero32 = make([]byte, 32)

// goodHello is a valid client_hello with a fresh key share.
func goodHello(t *testing.T, offered string) []byte {
	return clientHelloJSON(random(32), newX25519(t).PublicKey().Bytes(), offered)
}

// unauthHandshake runs unauth-ecdh and returns the traffic keys.
func unauthHandshake(t *testing.T, ctx context.Context, p peer) (c2s, s2c dirKeys) {
	t.Helper()
	priv := newX25519(t)
	ch := clientHelloJSON(random(32), priv.PublicKey().Bytes(), "")
	p.write(ctx, ch)
	var h hello
	sh := p.readInto(ctx, "server_hello", &h)
	pub, err := priv.Curve().NewPublicKey(h.KeyShare)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := priv.ECDH(pub)
	if err != nil {
		t.Fatal(err)
	}
	return trafficKeys(extract(shared), hash(ch, sh))
}

// firstRecord sends record 0 and reads the reply, so that the server
// expects seq 1 next.
func firstRecord(t *testing.T, ctx context.Context, p peer) (c2s dirKeys) {
	c2s, _ = unauthHandshake(t, ctx, p)
	p.write(ctx, dataJSON(0, seal(c2s, "c2s", 0, []byte("one"))))
	var r record
	p.readInto(ctx, "data", &r)
	return c2s
}

func spkiOf(t *testing.T, pub any) []byte {
	t.Helper()
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCloseCodes(t *testing.T) {
	t.Parallel()
	id, err := kex.NewIdentity("bob")
	if err != nil {
		t.Fatal(err)
	}
	cases := []closeCase{
		{
			name: "binary message", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.ws.Write(ctx, websocket.MessageBinary, goodHello(t, ""))
			},
			code: websocket.StatusProtocolError, reason: "wire: binary websocket message",
		},
		{
			name: "message of 65,537 bytes", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.ws.Write(ctx, websocket.MessageText, bytes.Repeat([]byte(" "), 65537))
			},
			code: websocket.StatusMessageTooBig, reason: "read limited at 65537 bytes",
		},
		{
			name: "unknown field", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, bytes.Replace(goodHello(t, ""), []byte(`{`), []byte(`{"x":1,`), 1))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: unknown field: "x"`,
		},
		{
			name: "31-byte nonce", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, clientHelloJSON(random(31), newX25519(t).PublicKey().Bytes(), ""))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: wrong field length: "nonce" is 31 bytes, want 32`,
		},
		{
			name: "unpadded base64", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, bytes.Replace(goodHello(t, ""), []byte(`=`), nil, -1))
			},
			code: websocket.StatusProtocolError, reason: "wire: client_hello: malformed message: …",
		},
		{
			name: "missing key share", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, fmt.Appendf(nil, `{"type":"client_hello","nonce":"%s","key_share":null}`, b64.EncodeToString(random(32))))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: missing field: "key_share"`,
		},
		{
			name: "a field twice", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, bytes.Replace(goodHello(t, ""), []byte(`{`), []byte(`{"type":"client_hello",`), 1))
			},
			code: websocket.StatusProtocolError, reason: `wire: malformed message: field "type" appears twice`,
		},
		{
			name: "a field name in upper case", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, bytes.Replace(goodHello(t, ""), []byte(`"nonce"`), []byte(`"Nonce"`), 1))
			},
			code: websocket.StatusProtocolError, reason: `wire: client_hello: unknown field: "Nonce"`,
		},
		{
			name: "data without seq", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, fmt.Appendf(nil, `{"type":"data","ct":"%s"}`, b64.EncodeToString(zero32[:16])))
			},
			code: websocket.StatusProtocolError, reason: `wire: data: missing field: "seq"`,
		},
		{
			name: "unknown type", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, []byte(`{"type":"hello"}`))
			},
			code: websocket.StatusProtocolError, reason: `wire: unknown message type: "hello"`,
		},
		{
			name: "data instead of client_hello", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, dataJSON(0, zero32[:16]))
			},
			code: websocket.StatusProtocolError, reason: "wire: unexpected message: got data, want client_hello",
		},
		{
			name: "unauth-ecdh low-order key share", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, clientHelloJSON(random(32), zero32, ""))
			},
			code: websocket.StatusPolicyViolation, reason: "key share is a low-order point: crypto/ecdh: bad X25519 remote ECDH input: low order point",
		},
		{
			name: "pinned-ecdh low-order key share", scheme: kex.PinnedECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, clientHelloJSON(random(32), zero32, "pinned-ecdh"))
			},
			code: websocket.StatusPolicyViolation, reason: "key share is a low-order point: …",
		},
		{
			name: "pinned-ecdh offered stripped", scheme: kex.PinnedECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				p.write(ctx, goodHello(t, ""))
			},
			code: websocket.StatusPolicyViolation, reason: `client offered no scheme the server speaks: offered [], server speaks ["pinned-ecdh"]`,
		},
		{
			name: "pinned-ecdh data before client_finished", scheme: kex.PinnedECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				pinnedToServerVerify(t, ctx, p, id.Pin())
				p.write(ctx, dataJSON(0, zero32[:16]))
			},
			code: websocket.StatusProtocolError, reason: "wire: unexpected message: got data, want client_finished",
		},
		{
			name: "pinned-ecdh wrong client finished", scheme: kex.PinnedECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				c := pinnedToServerVerify(t, ctx, p, id.Pin())
				c.sv = append(c.sv, ' ') // MAC over other bytes than the server sent
				p.write(ctx, c.clientFinished())
			},
			code: websocket.StatusPolicyViolation, reason: "finished MAC does not verify",
		},
		{
			name: "plaintext-rsa 1024-bit key", scheme: kex.PlaintextRSA{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				k, err := rsa.GenerateKey(rand.Reader, 1024)
				if err != nil {
					t.Fatal(err)
				}
				p.write(ctx, fmt.Appendf(nil, `{"type":"rsa_public_key","spki":"%s"}`, b64.EncodeToString(spkiOf(t, &k.PublicKey))))
			},
			code: websocket.StatusPolicyViolation, reason: "RSA key has the wrong size: 1024 bits, want 2048",
		},
		{
			name: "plaintext-rsa Ed25519 key", scheme: kex.PlaintextRSA{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				pub, _, err := ed25519.GenerateKey(rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				p.write(ctx, fmt.Appendf(nil, `{"type":"rsa_public_key","spki":"%s"}`, b64.EncodeToString(spkiOf(t, pub))))
			},
			code: websocket.StatusPolicyViolation, reason: "public key does not parse as RSA: …",
		},
		{
			name: "record replayed", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				c2s := firstRecord(t, ctx, p)
				p.write(ctx, dataJSON(0, seal(c2s, "c2s", 0, []byte("one"))))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record replayed: sequence number already used: got seq 0, want 1",
		},
		{
			name: "record skipped ahead", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				c2s := firstRecord(t, ctx, p)
				p.write(ctx, dataJSON(2, seal(c2s, "c2s", 2, []byte("three"))))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record out of order: sequence number skipped ahead: got seq 2, want 1",
		},
		{
			name: "record modified", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				c2s := firstRecord(t, ctx, p)
				ct := seal(c2s, "c2s", 1, []byte("two"))
				ct[0] ^= 1
				p.write(ctx, dataJSON(1, ct))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record failed authentication: modified or wrong key: seq 1",
		},
		{
			name: "record sealed with the other direction's additional data", scheme: kex.UnauthECDH{},
			act: func(t *testing.T, ctx context.Context, p peer) {
				c2s, _ := unauthHandshake(t, ctx, p)
				ct := gcm(c2s.key).Seal(nil, recordNonce(c2s.iv, 0), []byte("one"), recordAD("s2c", 0))
				p.write(ctx, dataJSON(0, ct))
			},
			code: websocket.StatusPolicyViolation, reason: "channel: record failed authentication: modified or wrong key: seq 0",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			base, _ := labServer(t, tc.scheme, id)
			p := dial(t, ctx, base, tc.scheme.Name())
			tc.act(t, ctx, p)
			ce := p.closeOf(ctx)
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

// TestMessageOf64KiB: a message of exactly 65,536 bytes is within the
// limit, and white space after the object is allowed.
func TestMessageOf64KiB(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	base, _ := labServer(t, kex.UnauthECDH{}, nil)
	p := dial(t, ctx, base, "unauth-ecdh")
	ch := goodHello(t, "")
	p.write(ctx, append(ch, bytes.Repeat([]byte(" "), 65536-len(ch))...))
	var h hello
	p.readInto(ctx, "server_hello", &h)
}

// TestHTTPLayer checks the upgrade rules: path, subprotocol, Origin.
func TestHTTPLayer(t *testing.T) {
	t.Parallel()
	id, err := kex.NewIdentity("bob")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := labServer(t, kex.PinnedECDH{}, id)
	cases := []struct {
		name     string
		path     string
		protocol string
		origin   string
		status   int
		body     string
	}{
		{"wrong path", "/unauth-ecdh", "mitmlab.v1.unauth-ecdh", "", http.StatusBadRequest,
			"protocol mismatch: this server speaks pinned-ecdh at /pinned-ecdh, not /unauth-ecdh"},
		{"wrong subprotocol", "/pinned-ecdh", "mitmlab.v1.unauth-ecdh", "", http.StatusBadRequest,
			`protocol mismatch: this server speaks pinned-ecdh; the client offered ["mitmlab.v1.unauth-ecdh"]`},
		{"no subprotocol", "/pinned-ecdh", "", "", http.StatusBadRequest,
			"protocol mismatch: this server speaks pinned-ecdh; the client offered []"},
		{"cross-site origin", "/pinned-ecdh", "mitmlab.v1.pinned-ecdh", "https://evil.example", http.StatusForbidden, ""},
		{"root path", "/", "mitmlab.v1.pinned-ecdh", "", http.StatusSwitchingProtocols, ""},
		{"same origin", "/pinned-ecdh", "mitmlab.v1.pinned-ecdh", "http://" + strings.TrimPrefix(base, "ws://"), http.StatusSwitchingProtocols, ""},
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
