package kex_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// This file derives every key, MAC and signed string of protocol v2 a
// second time, from the RFCs' constructions and the standard library
// alone, and holds the real halves to them.

// framed is the v2 transcript written out by hand: SHA-256 over each
// message's length as 4 big-endian bytes, then its bytes.
func framed(msgs ...[]byte) []byte {
	h := sha256.New()
	for _, m := range msgs {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(m))))
		h.Write(m)
	}
	return h.Sum(nil)
}

// concatenated is protocol v1's transcript, with no framing.
func concatenated(msgs ...[]byte) []byte {
	h := sha256.New()
	for _, m := range msgs {
		h.Write(m)
	}
	return h.Sum(nil)
}

// expandLabel is RFC 8446 §7.1's HKDF-Expand-Label with the lab's
// "mitmlab2 " prefix:
//
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = "mitmlab2 " + Label;
//	    opaque context<0..255> = Context;
//	} HkdfLabel;
func expandLabel(tb testing.TB, secret []byte, label string, context []byte, n int) []byte {
	tb.Helper()
	full := "mitmlab2 " + label
	info := []byte{byte(n >> 8), byte(n), byte(len(full))}
	info = append(info, full...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func extract(tb testing.TB, ikm []byte) []byte {
	tb.Helper()
	prk, err := hkdf.Extract(sha256.New, ikm, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return prk
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// trafficSecrets is the traffic key derivation, computed independently.
func trafficSecrets(tb testing.TB, prk, th []byte) *channel.Secrets {
	tb.Helper()
	var s channel.Secrets
	copy(s.ClientToServer.Key[:], expandLabel(tb, prk, "c2s key", th, 32))
	copy(s.ClientToServer.IV[:], expandLabel(tb, prk, "c2s iv", th, 12))
	copy(s.ServerToClient.Key[:], expandLabel(tb, prk, "s2c key", th, 32))
	copy(s.ServerToClient.IV[:], expandLabel(tb, prk, "s2c iv", th, 12))
	return &s
}

// signedContent is RFC 8446 §4.4.3's layout with the lab's v2 context
// string, written out byte by byte.
func signedContent(ch, sh []byte) []byte {
	c := bytes.Repeat([]byte{0x20}, 64)
	c = append(c, "mitmlab v2 server verify"...)
	c = append(c, 0x00)
	return append(c, framed(ch, sh)...)
}

// x25519 returns a fresh crypto/ecdh key pair for an independent peer.
func x25519(tb testing.TB) *ecdh.PrivateKey {
	tb.Helper()
	k, err := ecdh.X25519().NewPrivateKey(randomBytes(32))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// ecdhWith returns the X25519 secret of priv and the peer's public key.
func ecdhWith(tb testing.TB, priv *ecdh.PrivateKey, peer []byte) []byte {
	tb.Helper()
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := priv.ECDH(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestTranscriptIsFramed ("Secure to the last message"): messages that
// concatenate to the same bytes have different transcripts, because each
// goes in with its length. Under v1's plain concatenation every pair here
// hashed the same, so a byte could move from one message to the next
// under the signature.
func TestTranscriptIsFramed(t *testing.T) {
	t.Parallel()
	ch := []byte(`{"type":"client_hello","nonce":"AAAA"}`)
	sh := []byte(`{"type":"server_hello","nonce":"BBBB"}`)
	b := func(s string) []byte { return []byte(s) }
	tests := []struct {
		name string
		x, y [][]byte
	}{
		{"a byte moves across the boundary", [][]byte{b("ab"), b("c")}, [][]byte{b("a"), b("bc")}},
		{"two messages become one", [][]byte{b("ab"), b("c")}, [][]byte{b("abc")}},
		{"an empty message is added in front", [][]byte{b(""), b("x")}, [][]byte{b("x")}},
		{"an empty message is added behind", [][]byte{b("x"), b("")}, [][]byte{b("x")}},
		{"an empty message is added to nothing", [][]byte{b("")}, nil},
		{"a space moves from the end of client_hello to the front of server_hello",
			[][]byte{append(bytes.Clone(ch), ' '), sh}, [][]byte{ch, append([]byte(" "), sh...)}},
	}
	for _, tt := range tests {
		t.Run("transcript/"+tt.name, func(t *testing.T) {
			t.Parallel()
			if !bytes.Equal(concatenated(tt.x...), concatenated(tt.y...)) {
				t.Fatalf("test data: the two sides do not concatenate to the same bytes")
			}
			hx, hy := kex.TranscriptHash(tt.x...), kex.TranscriptHash(tt.y...)
			if bytes.Equal(hx, hy) {
				t.Errorf("TranscriptHash is the same for %q and %q", tt.x, tt.y)
			}
			if !bytes.Equal(hx, framed(tt.x...)) || !bytes.Equal(hy, framed(tt.y...)) {
				t.Errorf("TranscriptHash differs from the length-framed SHA-256 written out here")
			}
			if len(tt.x) == 2 && len(tt.y) == 2 && bytes.Equal(kex.SignedContent(tt.x[0], tt.x[1]), kex.SignedContent(tt.y[0], tt.y[1])) {
				t.Errorf("the server would sign the same content for both")
			}
		})
	}
}

// TestTranscriptRunsOn: a Transcript built message by message is the same
// as TranscriptHash over all of them, and Sum does not end it.
func TestTranscriptRunsOn(t *testing.T) {
	t.Parallel()
	a, b, c := []byte("client_hello"), []byte("server_hello"), []byte("server_verify")
	tr := kex.NewTranscript().Add(a)
	first := tr.Sum()
	if !bytes.Equal(first, tr.Sum()) || !bytes.Equal(first, kex.TranscriptHash(a)) {
		t.Errorf("Sum changed the transcript, or differs from TranscriptHash")
	}
	tr.Add(b, c)
	if got := tr.Sum(); !bytes.Equal(got, kex.TranscriptHash(a, b, c)) || !bytes.Equal(got, framed(a, b, c)) {
		t.Errorf("Add after Sum: %x, want %x", got, framed(a, b, c))
	}
	if empty := kex.NewTranscript().Sum(); !bytes.Equal(empty, framed()) {
		t.Errorf("empty transcript = %x, want SHA-256 of nothing", empty)
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
	if string(got[64:88]) != "mitmlab v2 server verify" || got[88] != 0 {
		t.Errorf("context = %q then %#x", got[64:88], got[88])
	}
	// The hash is over 0x00000017 ‖ CH ‖ 0x00000017 ‖ SH: 23-byte messages.
	want := sha256.Sum256([]byte("\x00\x00\x00\x17" + string(ch) + "\x00\x00\x00\x17" + string(sh)))
	if !bytes.Equal(got[89:], want[:]) {
		t.Errorf("hash = %x, want the framed SHA-256 %x", got[89:], want)
	}
	if !bytes.Equal(got, signedContent(ch, sh)) {
		t.Errorf("SignedContent differs from the independent layout")
	}
}

// TestExpandLabelLayout computes keys with crypto/hkdf from HkdfLabels
// written out as literal bytes, and compares them with the lab's.
func TestExpandLabelLayout(t *testing.T) {
	t.Parallel()
	shared := bytes.Repeat([]byte{0x42}, 32)
	ch, sh := []byte("client hello bytes"), []byte("server hello bytes")
	th := framed(ch, sh)
	// uint16 32 | uint8 16 | "mitmlab2 c2s key" | uint8 32 | transcript hash
	info := "\x00\x20" + "\x10" + "mitmlab2 c2s key" + "\x20" + string(th)
	prk := extract(t, shared)
	if !bytes.Equal(prk, kex.Extract(shared)) {
		t.Errorf("Extract is not HKDF-Extract with SHA-256 and no salt")
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
	// The RSA schemes have an empty context: the info ends in a zero length.
	secret := bytes.Repeat([]byte{7}, 32)
	info = "\x00\x0c" + "\x0f" + "mitmlab2 s2c iv" + "\x00"
	wantIV, err := hkdf.Expand(sha256.New, extract(t, secret), info, 12)
	if err != nil {
		t.Fatal(err)
	}
	rs := kex.RSASecrets(secret)
	if !bytes.Equal(rs.ServerToClient.IV[:], wantIV) {
		t.Errorf("RSA s2c iv = %x, want %x", rs.ServerToClient.IV, wantIV)
	}
	if *rs != *trafficSecrets(t, extract(t, secret), nil) || *rs != *kex.TrafficSecrets(kex.Extract(secret), nil) {
		t.Errorf("RSA secrets differ from the independent derivation")
	}
}

// TestPinnedScheduleExported checks the steps the attacker uses against
// the independent derivation, and that each MAC check fails on one
// flipped bit or on the other transcript.
func TestPinnedScheduleExported(t *testing.T) {
	t.Parallel()
	shared := bytes.Repeat([]byte{0x17}, 32)
	ch, sh, sig := []byte("CH"), []byte("SH"), bytes.Repeat([]byte{0x5}, 64)
	sv, cf := []byte("SV"), []byte("CF")
	s := kex.NewPinnedSchedule(shared, ch, sh)
	hs, th1 := extract(t, shared), framed(ch, sh)
	if want := hmacSHA256(expandLabel(t, hs, "s finished", th1, 32), framed(ch, sh, sig)); !bytes.Equal(s.ServerFinished(sig), want) {
		t.Errorf("ServerFinished = %x, want %x", s.ServerFinished(sig), want)
	}
	if want := hmacSHA256(expandLabel(t, hs, "c finished", th1, 32), framed(ch, sh, sv)); !bytes.Equal(s.ClientFinished(sv), want) {
		t.Errorf("ClientFinished = %x, want %x", s.ClientFinished(sv), want)
	}
	if *s.Traffic(sv, cf) != *trafficSecrets(t, hs, framed(ch, sh, sv, cf)) {
		t.Errorf("Traffic differs from the independent derivation")
	}
	flip := func(b []byte) []byte { b = bytes.Clone(b); b[len(b)-1] ^= 1; return b }
	if !s.VerifyServerFinished(sig, s.ServerFinished(sig)) || s.VerifyServerFinished(sig, flip(s.ServerFinished(sig))) ||
		s.VerifyServerFinished(flip(sig), s.ServerFinished(sig)) {
		t.Errorf("VerifyServerFinished accepts the wrong MAC or refuses the right one")
	}
	if !s.VerifyClientFinished(sv, s.ClientFinished(sv)) || s.VerifyClientFinished(sv, flip(s.ClientFinished(sv))) ||
		s.VerifyClientFinished(flip(sv), s.ClientFinished(sv)) {
		t.Errorf("VerifyClientFinished accepts the wrong MAC or refuses the right one")
	}
	// The finished keys are bound to the hellos: a schedule over other
	// hellos with the same secret gives other MACs.
	other := kex.NewPinnedSchedule(shared, ch, append(bytes.Clone(sh), ' '))
	if other.VerifyServerFinished(sig, s.ServerFinished(sig)) || other.VerifyClientFinished(sv, s.ClientFinished(sv)) {
		t.Errorf("finished MACs do not depend on the hellos")
	}
}

// TestPinnedServerAgainstIndependentClient plays an honest pinned-ecdh
// client that computes every value itself, against the real server half:
// the server's signature and finished MAC must match, the server must
// accept the independent client finished, and both must arrive at the
// same traffic keys.
func TestPinnedServerAgainstIndependentClient(t *testing.T) {
	t.Parallel()
	bob := identity(t, "bob")
	scheme := kex.PinnedECDH()
	c, s := wsPair(t, scheme)
	ctx := testContext(t)
	srv := runServer(ctx, scheme, s, &kex.ServerConfig{Identity: bob})
	cli := newFake(t, ctx, scheme, c)
	priv := x25519(t)
	ch := cli.send(&kex.ClientHello{Nonce: randomBytes(32), KeyShare: priv.PublicKey().Bytes(), Offered: []string{kex.NamePinnedECDH}})
	shm, sh := receive[*kex.ServerHello](cli)
	svm, sv := receive[*kex.ServerVerify](cli)
	if shm.Chosen != kex.NamePinnedECDH || !bytes.Equal(shm.Certificate, bob.Certificate) || len(shm.Nonce) != 32 {
		t.Errorf("server_hello chose %q with another certificate or nonce", shm.Chosen)
	}
	if !ed25519.Verify(bob.Key.Public().(ed25519.PublicKey), signedContent(ch, sh), svm.Signature) {
		t.Errorf("server signature does not verify over the independent content")
	}
	hs := extract(t, ecdhWith(t, priv, shm.KeyShare))
	th1 := framed(ch, sh)
	if want := hmacSHA256(expandLabel(t, hs, "s finished", th1, 32), framed(ch, sh, svm.Signature)); !bytes.Equal(svm.Finished, want) {
		t.Errorf("server finished = %x, want %x", svm.Finished, want)
	}
	cf := cli.send(&kex.ClientFinished{MAC: hmacSHA256(expandLabel(t, hs, "c finished", th1, 32), framed(ch, sh, sv))})
	r := <-srv
	if r.err != nil {
		t.Fatalf("server refused the independent client: %v", r.err)
	}
	if want := trafficSecrets(t, hs, framed(ch, sh, sv, cf)); *r.secrets != *want {
		t.Errorf("server traffic secrets differ from the independent derivation")
	}
}

// TestPinnedClientAgainstIndependentServer is the mirror image: a server
// written from the RFCs' constructions, against the real client half.
func TestPinnedClientAgainstIndependentServer(t *testing.T) {
	t.Parallel()
	bob := identity(t, "bob")
	scheme := kex.PinnedECDH()
	c, s := wsPair(t, scheme)
	ctx := testContext(t)
	cli := runClient(ctx, scheme, c, &kex.ClientConfig{Pin: bob.Pin()})
	srv := newFake(t, ctx, scheme, s)
	chm, ch := receive[*kex.ClientHello](srv)
	if !slices.Equal(chm.Offered, []string{kex.NamePinnedECDH}) {
		t.Errorf("client offered %q, want only pinned-ecdh", chm.Offered)
	}
	priv := x25519(t)
	sh := srv.send(&kex.ServerHello{Nonce: randomBytes(32), KeyShare: priv.PublicKey().Bytes(), Chosen: kex.NamePinnedECDH, Certificate: bob.Certificate})
	hs := extract(t, ecdhWith(t, priv, chm.KeyShare))
	th1 := framed(ch, sh)
	sig := ed25519.Sign(bob.Key, signedContent(ch, sh))
	sv := srv.send(&kex.ServerVerify{Signature: sig, Finished: hmacSHA256(expandLabel(t, hs, "s finished", th1, 32), framed(ch, sh, sig))})
	cfm, cf := receive[*kex.ClientFinished](srv)
	if want := hmacSHA256(expandLabel(t, hs, "c finished", th1, 32), framed(ch, sh, sv)); !bytes.Equal(cfm.MAC, want) {
		t.Errorf("client finished = %x, want %x", cfm.MAC, want)
	}
	r := <-cli
	if r.err != nil {
		t.Fatalf("client refused the independent server: %v", r.err)
	}
	if want := trafficSecrets(t, hs, framed(ch, sh, sv, cf)); *r.secrets != *want {
		t.Errorf("client traffic secrets differ from the independent derivation")
	}
}

func TestUnauthECDHIndependently(t *testing.T) {
	t.Parallel()
	scheme := kex.UnauthECDH()
	t.Run("unauth-ecdh/server against an independent client", func(t *testing.T) {
		t.Parallel()
		c, s := wsPair(t, scheme)
		ctx := testContext(t)
		srv := runServer(ctx, scheme, s, nil)
		cli := newFake(t, ctx, scheme, c)
		priv := x25519(t)
		ch := cli.send(&kex.ClientHello{Nonce: randomBytes(32), KeyShare: priv.PublicKey().Bytes()})
		shm, sh := receive[*kex.ServerHello](cli)
		r := <-srv
		if r.err != nil {
			t.Fatal(r.err)
		}
		if shm.Chosen != "" || shm.Certificate != nil {
			t.Errorf("unauth-ecdh server_hello carries pinned-ecdh fields: %s", sh)
		}
		if want := trafficSecrets(t, extract(t, ecdhWith(t, priv, shm.KeyShare)), framed(ch, sh)); *r.secrets != *want {
			t.Errorf("server secrets differ from the independent derivation")
		}
	})
	t.Run("unauth-ecdh/client against an independent server", func(t *testing.T) {
		t.Parallel()
		c, s := wsPair(t, scheme)
		ctx := testContext(t)
		cli := runClient(ctx, scheme, c, nil)
		srv := newFake(t, ctx, scheme, s)
		chm, ch := receive[*kex.ClientHello](srv)
		if chm.Offered != nil {
			t.Errorf("unauth-ecdh client_hello offers %q", chm.Offered)
		}
		priv := x25519(t)
		sh := srv.send(&kex.ServerHello{Nonce: randomBytes(32), KeyShare: priv.PublicKey().Bytes()})
		r := <-cli
		if r.err != nil {
			t.Fatal(r.err)
		}
		if want := trafficSecrets(t, extract(t, ecdhWith(t, priv, chm.KeyShare)), framed(ch, sh)); *r.secrets != *want {
			t.Errorf("client secrets differ from the independent derivation")
		}
	})
}

func TestRSAIndependently(t *testing.T) {
	t.Parallel()
	t.Run("plaintext-rsa/server wraps a fresh secret with OAEP-SHA256 to the client's key", func(t *testing.T) {
		t.Parallel()
		scheme := kex.PlaintextRSA()
		alice := rsaKey(t, aliceRSA)
		c, s := wsPair(t, scheme)
		ctx := testContext(t)
		srv := runServer(ctx, scheme, s, nil)
		cli := newFake(t, ctx, scheme, c)
		der, err := x509.MarshalPKIXPublicKey(&alice.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		cli.send(&kex.RSAPublicKey{SPKI: der})
		kt, _ := receive[*kex.KeyTransport](cli)
		r := <-srv
		if r.err != nil {
			t.Fatal(r.err)
		}
		secret, err := rsa.DecryptOAEP(sha256.New(), nil, alice, kt.Wrapped, nil)
		if err != nil {
			t.Fatalf("the wrapped secret is not RSA-OAEP-SHA256 with an empty label: %v", err)
		}
		if len(secret) != 32 {
			t.Errorf("secret is %d bytes, want 32", len(secret))
		}
		if want := trafficSecrets(t, extract(t, secret), nil); *r.secrets != *want {
			t.Errorf("server secrets differ from the independent derivation")
		}
	})
	t.Run("static-rsa/client wraps a fresh secret with OAEP-SHA256 to the server's key", func(t *testing.T) {
		t.Parallel()
		scheme := kex.StaticRSA()
		bob := rsaKey(t, bobRSA)
		c, s := wsPair(t, scheme)
		ctx := testContext(t)
		cli := runClient(ctx, scheme, c, nil)
		srv := newFake(t, ctx, scheme, s)
		der, err := x509.MarshalPKIXPublicKey(&bob.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		srv.send(&kex.RSAPublicKey{SPKI: der})
		kt, _ := receive[*kex.KeyTransport](srv)
		r := <-cli
		if r.err != nil {
			t.Fatal(r.err)
		}
		secret, err := rsa.DecryptOAEP(sha256.New(), nil, bob, kt.Wrapped, nil)
		if err != nil || len(secret) != 32 {
			t.Fatalf("the wrapped secret is not 32 bytes of RSA-OAEP-SHA256: %d bytes, %v", len(secret), err)
		}
		if want := trafficSecrets(t, extract(t, secret), nil); *r.secrets != *want {
			t.Errorf("client secrets differ from the independent derivation")
		}
	})
}

// TestRandSeamMakesHandshakesRepeatable: with the same seeded Rand on each
// side, two handshakes are byte for byte the same and derive the same
// keys, except for what RSA-OAEP randomises, which always comes from
// crypto/rand. A different seed, or none, gives other bytes.
func TestRandSeamMakesHandshakesRepeatable(t *testing.T) {
	t.Parallel()
	bob := identity(t, "bob")
	bobKey, alice := rsaKey(t, bobRSA), rsaKey(t, aliceRSA)
	tests := []struct {
		name   string
		scheme *kex.Scheme
		cfg    func(seed string) (*kex.ClientConfig, *kex.ServerConfig)
		varies []string // message types that differ anyway
	}{
		{"unauth-ecdh", kex.UnauthECDH(), func(seed string) (*kex.ClientConfig, *kex.ServerConfig) {
			return &kex.ClientConfig{Rand: seeded(seed + "/client")}, &kex.ServerConfig{Rand: seeded(seed + "/server")}
		}, nil},
		{"pinned-ecdh", kex.PinnedECDH(), func(seed string) (*kex.ClientConfig, *kex.ServerConfig) {
			return &kex.ClientConfig{Pin: bob.Pin(), Rand: seeded(seed + "/client")}, &kex.ServerConfig{Identity: bob, Rand: seeded(seed + "/server")}
		}, nil},
		{"plaintext-rsa", kex.PlaintextRSA(), func(seed string) (*kex.ClientConfig, *kex.ServerConfig) {
			return &kex.ClientConfig{RSAKey: alice, Rand: seeded(seed + "/client")}, &kex.ServerConfig{Rand: seeded(seed + "/server")}
		}, []string{"key_transport"}},
		{"static-rsa", kex.StaticRSA(), func(seed string) (*kex.ClientConfig, *kex.ServerConfig) {
			return &kex.ClientConfig{Rand: seeded(seed + "/client")}, &kex.ServerConfig{RSAKey: bobKey, Rand: seeded(seed + "/server")}
		}, []string{"key_transport"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/the same seed gives the same handshake", func(t *testing.T) {
			t.Parallel()
			runWith := func(seed string) *handshakeRun {
				c, s := tt.cfg(seed)
				return handshake(t, schemeCase{scheme: tt.scheme, client: c, server: s})
			}
			a, b := runWith("seam"), runWith("seam")
			if len(a.msgs) != len(b.msgs) {
				t.Fatalf("%d and %d messages", len(a.msgs), len(b.msgs))
			}
			for i := range a.msgs {
				typ := string(wire.PeekType(a.msgs[i]))
				if same := bytes.Equal(a.msgs[i], b.msgs[i]); same == slices.Contains(tt.varies, typ) {
					t.Errorf("%s the same in both runs: %v", typ, same)
				}
			}
			if *a.client != *b.client || *a.server != *b.server {
				t.Errorf("the same seeds derived different keys")
			}
			c, s := tt.cfg("unused")
			c.Rand, s.Rand = nil, nil // crypto/rand
			for _, other := range []*handshakeRun{runWith("another seam"), handshake(t, schemeCase{scheme: tt.scheme, client: c, server: s})} {
				if other.client.ClientToServer.Key == a.client.ClientToServer.Key {
					t.Errorf("another seed, or crypto/rand, derived the same keys")
				}
			}
		})
	}
	// The seam reaches the wire unchanged: the client's hello is exactly
	// the one kex.NewKeyShare makes from the same source.
	t.Run("pinned-ecdh/client_hello is what NewKeyShare reads from the seam", func(t *testing.T) {
		t.Parallel()
		h := handshake(t, schemeCase{scheme: kex.PinnedECDH(),
			client: &kex.ClientConfig{Pin: bob.Pin(), Rand: seeded("hello/client")}, server: &kex.ServerConfig{Identity: bob}})
		ks, err := kex.NewKeyShare(seeded("hello/client"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := wire.Encode(&kex.ClientHello{Nonce: ks.Nonce, KeyShare: ks.Public(), Offered: []string{kex.NamePinnedECDH}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(h.msgs[0], want) {
			t.Errorf("client_hello\n%s\nwant\n%s", h.msgs[0], want)
		}
	})
}
