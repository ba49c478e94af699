package docs_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
)

// testCtx bounds a test so that a broken peer fails it instead of hanging.
// It is a deadline for the whole test, not a timing assertion.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// labServer starts the lab's server (Bob) for scheme and returns its base
// URL, ws://127.0.0.1:port, and the server.
func labServer(t *testing.T, scheme kex.Scheme, id *kex.Identity) (string, *victim.Server) {
	t.Helper()
	bob := victim.NewServer(scheme, &victim.ServerOptions{Config: &kex.ServerConfig{Identity: id}})
	srv := httptest.NewServer(bob)
	t.Cleanup(func() {
		bob.Close()
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http"), bob
}

// dial connects as protocol.md says: path /<scheme>, subprotocol
// mitmlab.v1.<scheme>.
func dial(t *testing.T, ctx context.Context, base, scheme string) peer {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, base+"/"+scheme, &websocket.DialOptions{Subprotocols: []string{"mitmlab.v1." + scheme}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	if got := ws.Subprotocol(); got != "mitmlab.v1."+scheme {
		t.Fatalf("server chose subprotocol %q", got)
	}
	return peer{t: t, ws: ws}
}

func newX25519(t *testing.T) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

type hello struct {
	Type        string   `json:"type"`
	Nonce       []byte   `json:"nonce"`
	KeyShare    []byte   `json:"key_share"`
	Offered     []string `json:"offered"`
	Chosen      string   `json:"chosen"`
	Certificate []byte   `json:"certificate"`
}

type serverVerify struct {
	Type      string `json:"type"`
	Signature []byte `json:"signature"`
	Finished  []byte `json:"finished"`
}

// pinnedClient is a pinned-ecdh client written from protocol.md, up to and
// including the server's finished MAC.
type pinnedClient struct {
	ch, sh, sv []byte
	prk, th1   []byte
	sig        []byte
}

// clientHelloJSON formats a client_hello the way the lab never would: other
// field order, spaces. The server must hash these bytes, not a re-encoding.
func clientHelloJSON(nonce, keyShare []byte, offered string) []byte {
	if offered != "" {
		offered = fmt.Sprintf(`"offered": [ %q ], `, offered)
	}
	return fmt.Appendf(nil, `{ %s"key_share": "%s", "nonce": "%s", "type": "client_hello" }`,
		offered, b64.EncodeToString(keyShare), b64.EncodeToString(nonce))
}

// pinnedToServerVerify runs the client's side of pinned-ecdh through check
// 10 of protocol.md, failing the test on any check.
func pinnedToServerVerify(t *testing.T, ctx context.Context, p peer, pin string) *pinnedClient {
	t.Helper()
	priv := newX25519(t)
	c := &pinnedClient{ch: clientHelloJSON(random(32), priv.PublicKey().Bytes(), "pinned-ecdh")}
	p.write(ctx, c.ch)

	var sh hello
	c.sh = p.readInto(ctx, "server_hello", &sh)
	if sh.Chosen != "pinned-ecdh" { // 3
		t.Fatalf("chosen = %q", sh.Chosen)
	}
	cert, err := x509.ParseCertificate(sh.Certificate) // 4
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo) // 5
	if got := "sha256/" + b64.EncodeToString(sum[:]); got != pin {
		t.Fatalf("pin %s, want %s", got, pin)
	}
	key, ok := cert.PublicKey.(ed25519.PublicKey) // 6
	if !ok {
		t.Fatalf("key is %T", cert.PublicKey)
	}
	var sv serverVerify
	c.sv = p.readInto(ctx, "server_verify", &sv) // 7
	if !ed25519.Verify(key, signedContent(c.ch, c.sh), sv.Signature) {
		t.Fatal("signature does not verify") // 8
	}
	peerKey, err := ecdh.X25519().NewPublicKey(sh.KeyShare)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := priv.ECDH(peerKey) // 9
	if err != nil {
		t.Fatal(err)
	}
	c.prk, c.th1, c.sig = extract(shared), hash(c.ch, c.sh), sv.Signature
	want := mac(expandLabel(c.prk, "s finished", c.th1, 32), hash(c.ch, c.sh, sv.Signature))
	if !hmac.Equal(want, sv.Finished) { // 10
		t.Fatal("server finished does not verify")
	}
	return c
}

// clientFinished returns the client_finished message, with a space the lab
// would not write.
func (c *pinnedClient) clientFinished() []byte {
	m := mac(expandLabel(c.prk, "c finished", c.th1, 32), hash(c.ch, c.sh, c.sv))
	return fmt.Appendf(nil, `{"mac": "%s", "type": "client_finished"}`, b64.EncodeToString(m))
}

// chat sends each message as a record and checks the lab server's reply.
func chat(t *testing.T, ctx context.Context, p peer, c2s, s2c dirKeys, msgs []string) {
	t.Helper()
	for i, m := range msgs {
		seq := uint64(i)
		p.write(ctx, dataJSON(seq, seal(c2s, "c2s", seq, []byte(m))))
		var r record
		p.readInto(ctx, "data", &r)
		if r.Seq != seq {
			t.Fatalf("reply seq %d, want %d", r.Seq, seq)
		}
		pt, err := open(s2c, "s2c", seq, r.CT)
		if err != nil {
			t.Fatalf("reply %d does not open: %v", seq, err)
		}
		if want := "got it: " + m; string(pt) != want {
			t.Fatalf("reply %q, want %q", pt, want)
		}
	}
	if err := p.ws.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
}

// checkReceived checks that the lab server accepted exactly msgs and ended
// the session cleanly.
func checkReceived(t *testing.T, bob *victim.Server, msgs []string) {
	t.Helper()
	bob.Wait()
	sessions := bob.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(sessions))
	}
	s := sessions[0]
	if s.Err != nil {
		t.Errorf("server session error: %v", s.Err)
	}
	var got []string
	for _, r := range s.Received {
		got = append(got, string(r))
	}
	if !slices.Equal(got, msgs) {
		t.Errorf("server received %q, want %q", got, msgs)
	}
}

var script = []string{"hello from protocol.md", "a second record", ""}

// The tests below are clients written from protocol.md, talking to the
// lab's own server.

func TestDocClientPinnedECDH(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	id, err := kex.NewIdentity("bob")
	if err != nil {
		t.Fatal(err)
	}
	base, bob := labServer(t, kex.PinnedECDH{}, id)
	p := dial(t, ctx, base, "pinned-ecdh")
	c := pinnedToServerVerify(t, ctx, p, id.Pin())
	cf := c.clientFinished()
	p.write(ctx, cf)
	c2s, s2c := trafficKeys(c.prk, hash(c.ch, c.sh, c.sv, cf))
	chat(t, ctx, p, c2s, s2c, script)
	checkReceived(t, bob, script)
}

func TestDocClientUnauthECDH(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	base, bob := labServer(t, kex.UnauthECDH{}, nil)
	p := dial(t, ctx, base, "unauth-ecdh")
	priv := newX25519(t)
	ch := clientHelloJSON(random(32), priv.PublicKey().Bytes(), "")
	p.write(ctx, ch)
	var h hello
	sh := p.readInto(ctx, "server_hello", &h)
	if h.Chosen != "" || h.Certificate != nil {
		t.Errorf("unauth-ecdh server_hello carries chosen or certificate: %s", sh)
	}
	peerKey, err := ecdh.X25519().NewPublicKey(h.KeyShare)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := priv.ECDH(peerKey)
	if err != nil {
		t.Fatal(err)
	}
	c2s, s2c := trafficKeys(extract(shared), hash(ch, sh))
	chat(t, ctx, p, c2s, s2c, script)
	checkReceived(t, bob, script)
}

func TestDocClientPlaintextRSA(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	base, bob := labServer(t, kex.PlaintextRSA{}, nil)
	p := dial(t, ctx, base, "plaintext-rsa")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(spki) != 294 {
		t.Errorf("an RSA-2048 SPKI is %d bytes; protocol.md says 294", len(spki))
	}
	p.write(ctx, fmt.Appendf(nil, `{"type":"rsa_public_key","spki":"%s"}`, b64.EncodeToString(spki)))
	var kt struct {
		Type    string `json:"type"`
		Wrapped []byte `json:"wrapped"`
	}
	p.readInto(ctx, "key_transport", &kt)
	if len(kt.Wrapped) != 256 {
		t.Fatalf("wrapped is %d bytes, want 256", len(kt.Wrapped))
	}
	secret, err := rsa.DecryptOAEP(sha256.New(), nil, key, kt.Wrapped, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 32 {
		t.Fatalf("secret is %d bytes, want 32", len(secret))
	}
	c2s, s2c := trafficKeys(extract(secret), nil)
	chat(t, ctx, p, c2s, s2c, script)
	checkReceived(t, bob, script)
}

// docServer is a pinned-ecdh server written from protocol.md, for the lab's
// own client (Alice). If tamper is set, it signs the server_hello it means
// to send, then sends it with one extra space: the bytes differ, the JSON
// means the same.
type docServer struct {
	t      *testing.T
	id     *kex.Identity
	tamper bool
	done   chan websocket.CloseError // the client's close frame
}

func (s *docServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := s.t
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"mitmlab.v1.pinned-ecdh"}})
	if err != nil {
		t.Error(err)
		return
	}
	defer ws.CloseNow()
	p := peer{t: t, ws: ws}
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		close(s.done)
	}

	var ch hello
	_, chRaw, err := ws.Read(ctx)
	if err != nil || json.Unmarshal(chRaw, &ch) != nil || !slices.Contains(ch.Offered, "pinned-ecdh") {
		fail("bad client_hello %s: %v", chRaw, err)
		return
	}
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		fail("%v", err)
		return
	}
	peerKey, err := ecdh.X25519().NewPublicKey(ch.KeyShare)
	if err != nil {
		fail("%v", err)
		return
	}
	shared, err := priv.ECDH(peerKey)
	if err != nil {
		fail("%v", err)
		return
	}
	sh := fmt.Appendf(nil, `{"nonce":"%s","key_share":"%s","certificate":"%s","chosen":"pinned-ecdh","type":"server_hello"}`,
		b64.EncodeToString(random(32)), b64.EncodeToString(priv.PublicKey().Bytes()), b64.EncodeToString(s.id.Certificate))
	sig := ed25519.Sign(s.id.Key, signedContent(chRaw, sh))
	if s.tamper {
		sh = bytes.Replace(sh, []byte(`,"chosen"`), []byte(`, "chosen"`), 1)
	}
	prk, th1 := extract(shared), hash(chRaw, sh)
	fin := mac(expandLabel(prk, "s finished", th1, 32), hash(chRaw, sh, sig))
	sv := fmt.Appendf(nil, `{"finished":"%s","signature":"%s","type":"server_verify"}`, b64.EncodeToString(fin), b64.EncodeToString(sig))
	if ws.Write(ctx, websocket.MessageText, sh) != nil || ws.Write(ctx, websocket.MessageText, sv) != nil {
		fail("write failed")
		return
	}
	_, cf, err := ws.Read(ctx)
	if err != nil {
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			fail("read client_finished: %v", err)
			return
		}
		s.done <- ce
		return
	}
	var cfm struct{ MAC []byte }
	if json.Unmarshal(cf, &cfm) != nil || !hmac.Equal(cfm.MAC, mac(expandLabel(prk, "c finished", th1, 32), hash(chRaw, sh, sv))) {
		fail("client finished %s does not verify", cf)
		return
	}
	c2s, s2c := trafficKeys(prk, hash(chRaw, sh, sv, cf))
	for seq := uint64(0); ; seq++ {
		_, b, err := ws.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			errors.As(err, &ce)
			s.done <- ce
			return
		}
		var r record
		if json.Unmarshal(b, &r) != nil || r.Type != "data" || r.Seq != seq {
			fail("bad record %s", b)
			return
		}
		pt, err := open(c2s, "c2s", seq, r.CT)
		if err != nil {
			fail("record %d does not open", seq)
			return
		}
		p.write(ctx, dataJSON(seq, seal(s2c, "s2c", seq, append([]byte("echo: "), pt...))))
	}
}

func docServerURL(t *testing.T, tamper bool) (string, *docServer, string) {
	t.Helper()
	id, err := kex.NewIdentity("bob")
	if err != nil {
		t.Fatal(err)
	}
	ds := &docServer{t: t, id: id, tamper: tamper, done: make(chan websocket.CloseError, 1)}
	srv := httptest.NewServer(ds)
	t.Cleanup(srv.Close)
	cert, err := x509.ParseCertificate(id.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/pinned-ecdh", ds, "sha256/" + b64.EncodeToString(sum[:])
}

// TestLabClientAgainstDocServer runs the lab's client against a server
// written from protocol.md, which formats its JSON its own way.
func TestLabClientAgainstDocServer(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	url, ds, pin := docServerURL(t, false)
	alice := &victim.Client{Scheme: kex.PinnedECDH{}, Config: &kex.ClientConfig{Pin: pin}}
	res := alice.Chat(ctx, url, [][]byte{[]byte("hi Bob"), []byte("bye Bob")})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(res.Replies) != 2 || string(res.Replies[0]) != "echo: hi Bob" || string(res.Replies[1]) != "echo: bye Bob" {
		t.Errorf("replies %q", res.Replies)
	}
	if ce := <-ds.done; ce.Code != websocket.StatusNormalClosure || ce.Reason != "bye" {
		t.Errorf("client closed with %d %q, want 1000 \"bye\"", ce.Code, ce.Reason)
	}
}

// TestOneSpaceBreaksTheSignature: the server signs one server_hello and
// sends it with one extra space. The lab's client hashes the bytes it
// received, so the signature fails, and it closes with 1008.
func TestOneSpaceBreaksTheSignature(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	url, ds, pin := docServerURL(t, true)
	alice := &victim.Client{Scheme: kex.PinnedECDH{}, Config: &kex.ClientConfig{Pin: pin}}
	res := alice.Chat(ctx, url, [][]byte{[]byte("hi Bob")})
	if !errors.Is(res.Err, kex.ErrBadSignature) {
		t.Fatalf("client error %v, want %v", res.Err, kex.ErrBadSignature)
	}
	if len(res.Sent) != 0 {
		t.Errorf("client sent %q after a failed check", res.Sent)
	}
	ce := <-ds.done
	if ce.Code != websocket.StatusPolicyViolation || ce.Reason != "server signature does not verify" {
		t.Errorf("client closed with %d %q", ce.Code, ce.Reason)
	}
}
