package kex_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// The close codes the tests expect a peer to receive.
const (
	policy   = websocket.StatusPolicyViolation // 1008: a failed security check
	protocol = websocket.StatusProtocolError   // 1002: input that does not decode
	internal = websocket.StatusInternalError   // 1011: the side's own failure
	// noClose stands for a connection that ended without a close frame.
	noClose websocket.StatusCode = -1
)

// testContext bounds a test that would otherwise hang on a broken peer. It
// is a guard, never a timing assertion: no test waits for it to expire.
func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// endpoint is an httptest server that accepts lab WebSockets for one
// scheme's subprotocol and hands each accepted end to the dialer that
// asked for it, so one server can make many pairs (the fuzz targets make
// one per input).
type endpoint struct {
	url   string
	proto string

	mu    sync.Mutex
	n     int
	slots map[string]chan *websocket.Conn
}

func newEndpoint(tb testing.TB, scheme string) *endpoint {
	tb.Helper()
	e := &endpoint{proto: wire.Subprotocol(scheme), slots: map[string]chan *websocket.Conn{}}
	srv := httptest.NewServer(http.HandlerFunc(e.accept))
	tb.Cleanup(srv.Close)
	e.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return e
}

func (e *endpoint) accept(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	slot := e.slots[r.URL.Path]
	delete(e.slots, r.URL.Path)
	e.mu.Unlock()
	if slot == nil {
		http.NotFound(w, r)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{e.proto}})
	if err != nil {
		ws = nil
	}
	slot <- ws
}

// pair returns the two ends of a real WebSocket connection on loopback,
// negotiated with the scheme's subprotocol as the lab does. Both ends are
// dropped when the test ends.
func (e *endpoint) pair(tb testing.TB) (client, server *websocket.Conn) {
	tb.Helper()
	e.mu.Lock()
	e.n++
	path := fmt.Sprintf("/%d", e.n)
	slot := make(chan *websocket.Conn, 1)
	e.slots[path] = slot
	e.mu.Unlock()
	c, _, err := websocket.Dial(testContext(tb), e.url+path, &websocket.DialOptions{Subprotocols: []string{e.proto}})
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	s := <-slot
	if s == nil {
		c.CloseNow()
		tb.Fatal("accept failed")
	}
	tb.Cleanup(func() {
		c.CloseNow()
		s.CloseNow()
	})
	if c.Subprotocol() != e.proto || s.Subprotocol() != e.proto {
		tb.Fatalf("negotiated %q and %q, want %q", c.Subprotocol(), s.Subprotocol(), e.proto)
	}
	return c, s
}

// wsPair is a one-off pair for scheme.
func wsPair(tb testing.TB, scheme *kex.Scheme) (client, server *websocket.Conn) {
	tb.Helper()
	return newEndpoint(tb, scheme.Name).pair(tb)
}

// result is what a handshake half returned.
type result struct {
	secrets *channel.Secrets
	err     error
}

// run starts one handshake half and returns where its result arrives. The
// test receives from the channel, so the goroutine always ends; when a test
// fails early, the pair's cleanup drops the connection and the half
// returns.
func run(half func() (*channel.Secrets, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		s, err := half()
		ch <- result{s, err}
	}()
	return ch
}

// runClient and runServer start scheme's real halves on raw ends.
func runClient(ctx context.Context, scheme *kex.Scheme, ws *websocket.Conn, cfg *kex.ClientConfig) <-chan result {
	conn := wire.NewConn(ws, scheme.Codec())
	return run(func() (*channel.Secrets, error) { return scheme.Client(ctx, conn, cfg) })
}

func runServer(ctx context.Context, scheme *kex.Scheme, ws *websocket.Conn, cfg *kex.ServerConfig) <-chan result {
	conn := wire.NewConn(ws, scheme.Codec())
	return run(func() (*channel.Secrets, error) { return scheme.Server(ctx, conn, cfg) })
}

// fake is a hand-written peer: a raw WebSocket end that the test drives one
// message at a time, encoding with the scheme's own message types.
type fake struct {
	t    testing.TB
	ctx  context.Context
	ws   *websocket.Conn
	conn *wire.Conn
}

func newFake(tb testing.TB, ctx context.Context, scheme *kex.Scheme, ws *websocket.Conn) *fake {
	return &fake{t: tb, ctx: ctx, ws: ws, conn: wire.NewConn(ws, scheme.Codec())}
}

// send encodes m with wire.Encode, writes it and returns the bytes sent.
func (f *fake) send(m wire.Message) []byte {
	f.t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		f.t.Fatalf("fake peer encode %s: %v", m.MessageType(), err)
	}
	f.sendRaw(b)
	return b
}

// sendRaw writes b as one text message, as it is.
func (f *fake) sendRaw(b []byte) {
	f.t.Helper()
	if err := f.ws.Write(f.ctx, websocket.MessageText, b); err != nil {
		f.t.Fatalf("fake peer write: %v", err)
	}
}

// receive reads one message, which must be a T.
func receive[T wire.Message](f *fake) (T, []byte) {
	f.t.Helper()
	b, err := f.conn.Read(f.ctx)
	if err != nil {
		f.t.Fatalf("fake peer read: %v", err)
	}
	m, err := wire.DecodeAs[T](f.conn.Codec(), b)
	if err != nil {
		f.t.Fatalf("fake peer decode %s: %v", b, err)
	}
	return m, b
}

// closing reads until the real half's close frame and returns the messages
// that came before it, with the frame's code and reason. Reading the frame
// also answers it, so the half's close handshake ends at once. The code is
// noClose when the connection ended without a frame.
func (f *fake) closing() (msgs [][]byte, code websocket.StatusCode, reason string) {
	for {
		_, b, err := f.ws.Read(f.ctx)
		if err == nil {
			msgs = append(msgs, b)
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return msgs, ce.Code, ce.Reason
		}
		return msgs, noClose, err.Error()
	}
}

// wantRefusal waits for the real half to refuse: it returns the half's
// result, and checks that f's end received a close with code (noClose: the
// connection dropped) and no message before it, with a reason that starts
// with want's text for a failed check. A half that completes instead fails
// the test at once rather than leaving the peer waiting.
func (f *fake) wantRefusal(half <-chan result, code websocket.StatusCode, want error) result {
	f.t.Helper()
	type closed struct {
		msgs   [][]byte
		code   websocket.StatusCode
		reason string
	}
	done := make(chan closed, 1)
	go func() {
		msgs, code, reason := f.closing() // answers the half's close frame
		done <- closed{msgs, code, reason}
	}()
	r := <-half
	if r.err == nil {
		f.t.Errorf("the half completed the handshake; want a refusal")
		f.ws.CloseNow()
	}
	got := <-done
	if len(got.msgs) != 0 {
		f.t.Errorf("the half sent %d message(s) before it closed, first %.60s", len(got.msgs), got.msgs[0])
	}
	if got.code != code {
		f.t.Errorf("peer received close %d %q, want %d", got.code, got.reason, code)
	}
	if want != nil && code == policy && !strings.HasPrefix(got.reason, want.Error()) {
		f.t.Errorf("close reason %q does not start with %q", got.reason, want.Error())
	}
	return r
}

// wantHandshakeError checks that err is a *kex.HandshakeError for scheme,
// side and step (any step when step is ""), wrapping want.
func wantHandshakeError(tb testing.TB, err, want error, scheme string, side kex.Side, step string) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Fatalf("handshake error = %v, want %q", err, want)
	}
	var he *kex.HandshakeError
	if !errors.As(err, &he) {
		tb.Fatalf("error %v is not a *kex.HandshakeError", err)
	}
	if he.Scheme != scheme || he.Side != side || (step != "" && he.Step != step) {
		tb.Errorf("HandshakeError{%s %s %q}, want {%s %s %q}", he.Scheme, he.Side, he.Step, scheme, side, step)
	}
}

// wantPeerClosed checks that err is a handshake cut short by the peer's
// close frame with code: a refusal the peer made, not one this side did.
func wantPeerClosed(tb testing.TB, err error, code websocket.StatusCode) {
	tb.Helper()
	if !errors.Is(err, kex.ErrTruncatedHandshake) || !errors.Is(err, wire.ErrPeerClosed) {
		tb.Errorf("error = %v, want ErrTruncatedHandshake and ErrPeerClosed", err)
	}
	var ce *wire.CloseError
	if !errors.As(err, &ce) || ce.Code != code {
		tb.Errorf("error = %v, want the peer's close frame with %d", err, code)
	}
	if kex.Detected(err) {
		tb.Errorf("this side reports a detection the peer made: %v", err)
	}
}

// fixedNow is the clock of every identity the tests make.
func fixedNow() time.Time { return time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC) }

// seeded returns a ChaCha8 random source named by label: the same label
// gives the same bytes on every run, and different labels unrelated ones.
func seeded(label string) io.Reader { return rand.NewChaCha8(sha256.Sum256([]byte(label))) }

// identity returns the identity called name, the same on every run.
func identity(tb testing.TB, name string) *kex.Identity {
	tb.Helper()
	id, err := kex.GenerateIdentity(seeded("identity/"+name), fixedNow, name)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// newKeyShare is a fresh X25519 key share for a fake peer.
func newKeyShare(tb testing.TB) *kex.KeyShare {
	tb.Helper()
	ks, err := kex.NewKeyShare(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	crand.Read(b) // never fails (crypto/rand, Go 1.24)
	return b
}

// The RSA-2048 keys, made once per test binary: generating one takes a
// noticeable fraction of a second.
var (
	bobRSA     = sync.OnceValues(kex.NewRSAKey)
	aliceRSA   = sync.OnceValues(kex.NewRSAKey)
	malloryRSA = sync.OnceValues(kex.NewRSAKey)
)

func rsaKey(tb testing.TB, key func() (*rsa.PrivateKey, error)) *rsa.PrivateKey {
	tb.Helper()
	k, err := key()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// spki returns the DER SubjectPublicKeyInfo of an RSA key.
func spki(tb testing.TB, k *rsa.PrivateKey) []byte {
	tb.Helper()
	der, err := kex.MarshalRSAPublicKey(&k.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

// testSPKI reads an RSA public key that testdata holds as PEM. The 1024-
// and 4096-bit keys live there because generating a 4096-bit key takes
// seconds.
func testSPKI(tb testing.TB, bits string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rsa"+bits+".pub.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		tb.Fatalf("testdata rsa%s.pub.pem holds no PUBLIC KEY", bits)
	}
	return blk.Bytes
}

// ed25519SPKI is the SPKI of a fixed Ed25519 key.
func ed25519SPKI(tb testing.TB) []byte {
	tb.Helper()
	seed := sha256.Sum256([]byte("ed25519 spki"))
	der, err := x509.MarshalPKIXPublicKey(ed25519.NewKeyFromSeed(seed[:]).Public())
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

// p256Key is a fixed ECDSA P-256 key.
func p256Key(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	d := sha256.Sum256([]byte("p256 key"))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func p256SPKI(tb testing.TB) []byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(&p256Key(tb).PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

// p256Certificate is a certificate for the fixed P-256 key, signed by a
// fixed Ed25519 key so that its bytes are the same on every run (ECDSA
// signatures are randomised). Only its subject key matters to the tests.
func p256Certificate(tb testing.TB) []byte {
	tb.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(256),
		Subject:      pkix.Name{CommonName: "p256"},
		NotBefore:    fixedNow().Add(-time.Hour),
		NotAfter:     fixedNow().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, &p256Key(tb).PublicKey, identity(tb, "p256 issuer").Key)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

// pinOf returns the certificate's pin or fails the test.
func pinOf(tb testing.TB, cert []byte) string {
	tb.Helper()
	p, err := kex.CertificatePin(cert)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func b64(b []byte) string    { return base64.StdEncoding.EncodeToString(b) }
func urlB64(b []byte) string { return base64.URLEncoding.EncodeToString(b) }

// respace puts one space after the first colon of a message: JSON that
// decodes to the same message, in other bytes.
func respace(b []byte) []byte {
	i := bytes.IndexByte(b, ':')
	return append(append(bytes.Clone(b[:i+1]), ' '), b[i+1:]...)
}
