package kex_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"strings"
	"sync"
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// expandLabel is RFC 8446 §7.1's HKDF-Expand-Label written out again with
// crypto/hkdf, with the lab's "mitmlab1 " prefix:
//
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = "mitmlab1 " + Label;
//	    opaque context<0..255> = Context;
//	} HkdfLabel;
func expandLabel(t *testing.T, secret []byte, label string, context []byte, n int) []byte {
	t.Helper()
	full := "mitmlab1 " + label
	info := []byte{byte(n >> 8), byte(n), byte(len(full))}
	info = append(info, full...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func extract(t *testing.T, ikm []byte) []byte {
	t.Helper()
	prk, err := hkdf.Extract(sha256.New, ikm, nil)
	if err != nil {
		t.Fatal(err)
	}
	return prk
}

func sha(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// trafficSecrets is the lab's traffic key derivation computed independently.
func trafficSecrets(t *testing.T, prk, th []byte) *channel.Secrets {
	var s channel.Secrets
	copy(s.ClientToServer.Key[:], expandLabel(t, prk, "c2s key", th, 32))
	copy(s.ClientToServer.IV[:], expandLabel(t, prk, "c2s iv", th, 12))
	copy(s.ServerToClient.Key[:], expandLabel(t, prk, "s2c key", th, 32))
	copy(s.ServerToClient.IV[:], expandLabel(t, prk, "s2c iv", th, 12))
	return &s
}

// signedContent is RFC 8446 §4.4.3's layout with the lab's context string,
// written out byte by byte.
func signedContent(ch, sh []byte) []byte {
	c := bytes.Repeat([]byte{0x20}, 64)
	c = append(c, "mitmlab v1 server verify"...)
	c = append(c, 0x00)
	return append(c, sha(ch, sh)...)
}

// schemeCase is a scheme with the configuration an honest pair needs.
type schemeCase struct {
	scheme kex.Scheme
	client *kex.ClientConfig
	server *kex.ServerConfig
	flow   []wire.Type // the handshake messages, in order
}

func schemeCases(t *testing.T) []schemeCase {
	id := newIdentity(t, "bob")
	return []schemeCase{
		{kex.PlaintextRSA{}, nil, nil, []wire.Type{wire.TypeRSAPublicKey, wire.TypeKeyTransport}},
		{kex.UnauthECDH{}, nil, nil, []wire.Type{wire.TypeClientHello, wire.TypeServerHello}},
		{kex.PinnedECDH{}, &kex.ClientConfig{Pin: id.Pin()}, &kex.ServerConfig{Identity: id},
			[]wire.Type{wire.TypeClientHello, wire.TypeServerHello, wire.TypeServerVerify, wire.TypeClientFinished}},
	}
}

// handshake runs both real halves of sc over a real connection and returns
// their secrets, the connections and the raw messages in wire order.
func handshake(t *testing.T, sc schemeCase) (cs, ss *channel.Secrets, cc, scn *wire.Conn, msgs [][]byte) {
	t.Helper()
	c, s := wsPair(t)
	var mu sync.Mutex
	tap := func(_ bool, m []byte) {
		mu.Lock()
		msgs = append(msgs, bytes.Clone(m))
		mu.Unlock()
	}
	cc, scn = wire.NewConn(c, tap), wire.NewConn(s, nil)
	ctx := testContext(t)
	srv := run(func() (*channel.Secrets, error) { return sc.scheme.Server(ctx, scn, sc.server) })
	cs, cerr := sc.scheme.Client(ctx, cc, sc.client)
	r := <-srv
	if cerr != nil || r.err != nil {
		t.Fatalf("%s handshake: client %v; server %v", sc.scheme.Name(), cerr, r.err)
	}
	mu.Lock()
	defer mu.Unlock()
	return cs, r.secrets, cc, scn, msgs
}

func TestHandshakeHonestPair(t *testing.T) {
	t.Parallel()
	for _, sc := range schemeCases(t) {
		t.Run(sc.scheme.Name()+"/client and server derive the same keys", func(t *testing.T) {
			t.Parallel()
			cs, ss, cc, scn, msgs := handshake(t, sc)
			if *cs != *ss {
				t.Fatalf("client and server secrets differ")
			}
			var zero channel.Keys
			if cs.ClientToServer == zero || cs.ServerToClient == zero {
				t.Errorf("a direction has all-zero keys")
			}
			if cs.ClientToServer.Key == cs.ServerToClient.Key || cs.ClientToServer.IV == cs.ServerToClient.IV {
				t.Errorf("both directions share a key or an IV")
			}
			var types []wire.Type
			for _, m := range msgs {
				types = append(types, wire.PeekType(m))
			}
			if !slicesEqual(types, sc.flow) {
				t.Errorf("messages on the wire: %v, want %v", types, sc.flow)
			}
			// The keys work as a channel in both directions.
			ctx := testContext(t)
			client, err := channel.New(cc, cs, channel.Client)
			if err != nil {
				t.Fatal(err)
			}
			server, err := channel.New(scn, ss, channel.Server)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.Send(ctx, []byte("hi bob")); err != nil {
				t.Fatal(err)
			}
			if got, _, err := server.Receive(ctx); err != nil || string(got) != "hi bob" {
				t.Fatalf("server Receive = %q, %v", got, err)
			}
			if _, err := server.Send(ctx, []byte("hi alice")); err != nil {
				t.Fatal(err)
			}
			if got, _, err := client.Receive(ctx); err != nil || string(got) != "hi alice" {
				t.Fatalf("client Receive = %q, %v", got, err)
			}
		})
		t.Run(sc.scheme.Name()+"/two handshakes give unrelated keys", func(t *testing.T) {
			t.Parallel()
			a, _, _, _, _ := handshake(t, sc)
			b, _, _, _, _ := handshake(t, sc)
			if a.ClientToServer.Key == b.ClientToServer.Key || a.ServerToClient.Key == b.ServerToClient.Key {
				t.Errorf("two handshakes derived the same key")
			}
		})
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestByName(t *testing.T) {
	t.Parallel()
	for _, name := range kex.Names() {
		s, ok := kex.ByName(name)
		if !ok || s.Name() != name {
			t.Errorf("ByName(%q) = %v, %v", name, s, ok)
		}
	}
	if s, ok := kex.ByName("tls13"); ok {
		t.Errorf("ByName(tls13) = %v", s)
	}
	if got := strings.Join(kex.Names(), ","); got != "plaintext-rsa,unauth-ecdh,pinned-ecdh" {
		t.Errorf("Names = %s", got)
	}
}

// TestPinnedSignatureCoversRawHellos: in a real handshake, the server's
// signature verifies, with the certificate's key, over exactly 64 spaces,
// the context string, a zero byte and SHA-256 of the raw hellos as they
// crossed the wire.
func TestPinnedSignatureCoversRawHellos(t *testing.T) {
	t.Parallel()
	sc := schemeCases(t)[2]
	_, _, _, _, msgs := handshake(t, sc)
	ch, sh, sv := msgs[0], msgs[1], msgs[2]
	shm, err := wire.DecodeAs[*wire.ServerHello](sh)
	if err != nil {
		t.Fatal(err)
	}
	svm, err := wire.DecodeAs[*wire.ServerVerify](sv)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(shm.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	pub := cert.PublicKey.(ed25519.PublicKey)
	if !ed25519.Verify(pub, signedContent(ch, sh), svm.Signature) {
		t.Errorf("signature does not verify over the independently built content")
	}
	if got := kex.SignedContent(ch, sh); !bytes.Equal(got, signedContent(ch, sh)) {
		t.Errorf("SignedContent =\n%q\nwant\n%q", got, signedContent(ch, sh))
	}
	// One extra space in the raw server_hello, which decodes the same,
	// breaks the signature: the transcript is bytes, not a re-encoding.
	spaced := append([]byte("{ "), sh[1:]...)
	if _, err := wire.Decode(spaced); err != nil {
		t.Fatal(err)
	}
	if ed25519.Verify(pub, signedContent(ch, spaced), svm.Signature) {
		t.Errorf("signature still verifies after a space was added to server_hello")
	}
}

func TestSignedContentLayout(t *testing.T) {
	t.Parallel()
	ch, sh := []byte(`{"type":"client_hello"}`), []byte(`{"type":"server_hello"}`)
	got := kex.SignedContent(ch, sh)
	if len(got) != 64+24+1+32 {
		t.Fatalf("signed content is %d bytes, want 121", len(got))
	}
	if string(got[:64]) != strings.Repeat(" ", 64) {
		t.Errorf("first 64 bytes are %q, want spaces", got[:64])
	}
	if string(got[64:88]) != "mitmlab v1 server verify" || got[88] != 0 {
		t.Errorf("context = %q then %#x", got[64:88], got[88])
	}
	h := sha256.Sum256([]byte(`{"type":"client_hello"}{"type":"server_hello"}`))
	if !bytes.Equal(got[89:], h[:]) {
		t.Errorf("hash = %x, want SHA-256(CH || SH) = %x", got[89:], h)
	}
}

// TestExpandLabelLayout computes one traffic key with crypto/hkdf from an
// HkdfLabel written out as literal bytes, and compares it with the lab's.
func TestExpandLabelLayout(t *testing.T) {
	t.Parallel()
	shared := bytes.Repeat([]byte{0x42}, 32)
	ch, sh := []byte("client hello bytes"), []byte("server hello bytes")
	th := sha(ch, sh)
	// uint16 32 | uint8 16 | "mitmlab1 c2s key" | uint8 32 | transcript hash
	info := "\x00\x20" + "\x10" + "mitmlab1 c2s key" + "\x20" + string(th)
	prk, err := hkdf.Extract(sha256.New, shared, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := hkdf.Expand(sha256.New, prk, info, 32)
	if err != nil {
		t.Fatal(err)
	}
	got := kex.UnauthSecrets(shared, ch, sh)
	if !bytes.Equal(got.ClientToServer.Key[:], want) {
		t.Errorf("c2s key = %x, want %x", got.ClientToServer.Key, want)
	}
	if *got != *trafficSecrets(t, prk, th) {
		t.Errorf("unauth-ecdh secrets differ from the independent derivation")
	}
	// plaintext-rsa has an empty context: the info ends in a zero length.
	secret := bytes.Repeat([]byte{7}, 32)
	info = "\x00\x0c" + "\x0f" + "mitmlab1 s2c iv" + "\x00"
	wantIV, err := hkdf.Expand(sha256.New, extract(t, secret), info, 12)
	if err != nil {
		t.Fatal(err)
	}
	rs := kex.RSASecrets(secret)
	if !bytes.Equal(rs.ServerToClient.IV[:], wantIV) {
		t.Errorf("plaintext-rsa s2c iv = %x, want %x", rs.ServerToClient.IV, wantIV)
	}
	if *rs != *trafficSecrets(t, extract(t, secret), nil) {
		t.Errorf("plaintext-rsa secrets differ from the independent derivation")
	}
}

// TestPinnedScheduleIndependently plays an honest pinned-ecdh client that
// computes every value itself from the RFCs' constructions, against the
// real server half: the server's finished MAC must match, the server must
// accept the independently computed client finished, and both must arrive
// at the same traffic keys.
func TestPinnedScheduleIndependently(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
	c, s := wsPair(t)
	fake, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
	ctx := testContext(t)
	srv := run(func() (*channel.Secrets, error) {
		return kex.PinnedECDH{}.Server(ctx, scn, &kex.ServerConfig{Identity: id})
	})

	priv := x25519(t)
	ch := writeMsg(t, ctx, fake, &wire.ClientHello{Nonce: nonce(), KeyShare: priv.PublicKey().Bytes(), Offered: []string{"pinned-ecdh"}})
	shm, sh := readMsg[*wire.ServerHello](t, ctx, fake)
	svm, sv := readMsg[*wire.ServerVerify](t, ctx, fake)
	if shm.Chosen != "pinned-ecdh" || !bytes.Equal(shm.Certificate, id.Certificate) {
		t.Errorf("server_hello chose %q with another certificate", shm.Chosen)
	}
	if !ed25519.Verify(id.Key.Public().(ed25519.PublicKey), signedContent(ch, sh), svm.Signature) {
		t.Errorf("server signature does not verify")
	}
	shared := ecdhWith(t, priv, shm.KeyShare)
	hs := extract(t, shared)
	th1 := sha(ch, sh)
	wantFinished := hmacSHA256(expandLabel(t, hs, "s finished", th1, 32), sha(ch, sh, svm.Signature))
	if !bytes.Equal(svm.Finished, wantFinished) {
		t.Errorf("server finished = %x, want %x", svm.Finished, wantFinished)
	}
	mac := hmacSHA256(expandLabel(t, hs, "c finished", th1, 32), sha(ch, sh, sv))
	cf := writeMsg(t, ctx, fake, &wire.ClientFinished{MAC: mac})
	r := <-srv
	if r.err != nil {
		t.Fatalf("server refused the independent client: %v", r.err)
	}
	if want := trafficSecrets(t, hs, sha(ch, sh, sv, cf)); *r.secrets != *want {
		t.Errorf("server traffic secrets differ from the independent derivation")
	}
}

// TestPinnedClientAgainstIndependentServer is the mirror image: a server
// written from the RFCs' constructions, against the real client half.
func TestPinnedClientAgainstIndependentServer(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
	c, s := wsPair(t)
	cc, fake := wire.NewConn(c, nil), wire.NewConn(s, nil)
	ctx := testContext(t)
	cli := run(func() (*channel.Secrets, error) {
		return kex.PinnedECDH{}.Client(ctx, cc, &kex.ClientConfig{Pin: id.Pin()})
	})
	chm, ch := readMsg[*wire.ClientHello](t, ctx, fake)
	if !slicesEqual(chm.Offered, []string{"pinned-ecdh"}) {
		t.Errorf("client offered %q", chm.Offered)
	}
	priv := x25519(t)
	sh := writeMsg(t, ctx, fake, &wire.ServerHello{Nonce: nonce(), KeyShare: priv.PublicKey().Bytes(), Chosen: "pinned-ecdh", Certificate: id.Certificate})
	hs := extract(t, ecdhWith(t, priv, chm.KeyShare))
	th1 := sha(ch, sh)
	sig := ed25519.Sign(id.Key, signedContent(ch, sh))
	sv := writeMsg(t, ctx, fake, &wire.ServerVerify{Signature: sig,
		Finished: hmacSHA256(expandLabel(t, hs, "s finished", th1, 32), sha(ch, sh, sig))})
	cfm, cf := readMsg[*wire.ClientFinished](t, ctx, fake)
	if want := hmacSHA256(expandLabel(t, hs, "c finished", th1, 32), sha(ch, sh, sv)); !bytes.Equal(cfm.MAC, want) {
		t.Errorf("client finished = %x, want %x", cfm.MAC, want)
	}
	r := <-cli
	if r.err != nil {
		t.Fatalf("client refused the independent server: %v", r.err)
	}
	if want := trafficSecrets(t, hs, sha(ch, sh, sv, cf)); *r.secrets != *want {
		t.Errorf("client traffic secrets differ from the independent derivation")
	}
}

func TestUnauthScheduleIndependently(t *testing.T) {
	t.Parallel()
	c, s := wsPair(t)
	fake, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
	ctx := testContext(t)
	srv := run(func() (*channel.Secrets, error) { return kex.UnauthECDH{}.Server(ctx, scn, nil) })
	priv := x25519(t)
	ch := writeMsg(t, ctx, fake, &wire.ClientHello{Nonce: nonce(), KeyShare: priv.PublicKey().Bytes()})
	shm, sh := readMsg[*wire.ServerHello](t, ctx, fake)
	r := <-srv
	if r.err != nil {
		t.Fatal(r.err)
	}
	if shm.Chosen != "" || shm.Certificate != nil {
		t.Errorf("unauth-ecdh server_hello carries pinned-ecdh fields: %s", sh)
	}
	want := trafficSecrets(t, extract(t, ecdhWith(t, priv, shm.KeyShare)), sha(ch, sh))
	if *r.secrets != *want {
		t.Errorf("server secrets differ from the independent derivation")
	}
}

func TestPlaintextRSAScheduleIndependently(t *testing.T) {
	t.Parallel()
	key := rsaKey(t)
	c, s := wsPair(t)
	fake, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
	ctx := testContext(t)
	srv := run(func() (*channel.Secrets, error) { return kex.PlaintextRSA{}.Server(ctx, scn, nil) })
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	writeMsg(t, ctx, fake, &wire.RSAPublicKey{SPKI: spki})
	kt, _ := readMsg[*wire.KeyTransport](t, ctx, fake)
	r := <-srv
	if r.err != nil {
		t.Fatal(r.err)
	}
	secret, err := rsa.DecryptOAEP(sha256.New(), nil, key, kt.Wrapped, nil)
	if err != nil {
		t.Fatalf("the wrapped secret is not RSA-OAEP-SHA256 with an empty label: %v", err)
	}
	if len(secret) != 32 {
		t.Errorf("secret is %d bytes, want 32", len(secret))
	}
	if want := trafficSecrets(t, extract(t, secret), nil); *r.secrets != *want {
		t.Errorf("server secrets differ from the independent derivation")
	}
}
