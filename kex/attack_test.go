package kex_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

const policy = websocket.StatusPolicyViolation

// serverPlay is what a fake pinned-ecdh server sends. Zero fields mean the
// honest value for the identity it holds.
type serverPlay struct {
	keyShare    []byte             // server_hello key_share; nil: a fresh key
	chosen      *string            // nil: "pinned-ecdh"
	cert        []byte             // nil: the identity's certificate
	noCert      bool               // send no certificate at all
	signer      ed25519.PrivateKey // nil: the identity's key
	signedHello []byte             // sign over this server_hello instead of the one sent
	signedCH    []byte             // sign over this client_hello instead of the one received
	badFinished bool               // send a finished MAC of random bytes
}

// fakePinnedServer reads a client_hello and answers per p, computing the
// honest values itself.
func fakePinnedServer(t *testing.T, ctx context.Context, c *wire.Conn, id *kex.Identity, p serverPlay) {
	t.Helper()
	chm, ch := readMsg[*wire.ClientHello](t, ctx, c)
	priv := x25519(t)
	sh := &wire.ServerHello{Nonce: nonce(), KeyShare: priv.PublicKey().Bytes(), Chosen: "pinned-ecdh", Certificate: id.Certificate}
	if p.keyShare != nil {
		sh.KeyShare = p.keyShare
	}
	if p.chosen != nil {
		sh.Chosen = *p.chosen
	}
	if p.cert != nil {
		sh.Certificate = p.cert
	}
	if p.noCert {
		sh.Certificate = nil
	}
	shb := writeMsg(t, ctx, c, sh)
	signer, signedSH, signedCH := id.Key, shb, ch
	if p.signer != nil {
		signer = p.signer
	}
	if p.signedHello != nil {
		signedSH = p.signedHello
	}
	if p.signedCH != nil {
		signedCH = p.signedCH
	}
	sig := ed25519.Sign(signer, signedContent(signedCH, signedSH))
	finished := make([]byte, 32)
	rand.Read(finished)
	if !p.badFinished && p.keyShare == nil {
		hs := extract(t, ecdhWith(t, priv, chm.KeyShare))
		finished = hmacSHA256(expandLabel(t, hs, "s finished", sha(ch, shb), 32), sha(ch, shb, sig))
	}
	writeMsg(t, ctx, c, &wire.ServerVerify{Signature: sig, Finished: finished})
}

// selfSignedP256 returns a self-signed certificate with an ECDSA P-256 key.
func selfSignedP256(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "p256"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func strp(s string) *string { return &s }

// TestPinnedClientRefuses: the real pinned-ecdh client against a fake
// server that breaks one check. The client must fail that exact check,
// close with 1008, and never send client_finished.
func TestPinnedClientRefuses(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
	mallory := newIdentity(t, "mallory")
	p256 := selfSignedP256(t)
	p256Pin, err := kex.CertificatePin(p256)
	if err != nil {
		t.Fatal(err)
	}
	oldCH, err := wire.Encode(&wire.ClientHello{Nonce: nonce(), KeyShare: x25519(t).PublicKey().Bytes(), Offered: []string{"pinned-ecdh"}})
	if err != nil {
		t.Fatal(err)
	}
	otherSH, err := wire.Encode(&wire.ServerHello{Nonce: nonce(), KeyShare: x25519(t).PublicKey().Bytes(), Chosen: "pinned-ecdh", Certificate: id.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pin  string
		play serverPlay
		want error
		step string
	}{
		{"pinned-ecdh/attacker presents own certificate", id.Pin(),
			serverPlay{cert: mallory.Certificate, signer: mallory.Key}, kex.ErrPinMismatch, "check pin"},
		{"pinned-ecdh/valid certificate and pin, signature from another key", id.Pin(),
			serverPlay{signer: mallory.Key}, kex.ErrBadSignature, "verify signature"},
		{"pinned-ecdh/attacker substitutes the server's key share", id.Pin(),
			serverPlay{signedHello: otherSH}, kex.ErrBadSignature, "verify signature"},
		{"pinned-ecdh/attacker replays a signature over an old client_hello", id.Pin(),
			serverPlay{signedCH: oldCH}, kex.ErrBadSignature, "verify signature"},
		{"pinned-ecdh/bad server finished", id.Pin(),
			serverPlay{badFinished: true}, kex.ErrBadFinished, "verify server finished"},
		{"pinned-ecdh/server chose a scheme not offered", id.Pin(),
			serverPlay{chosen: strp("unauth-ecdh")}, kex.ErrSchemeNotOffered, "check chosen scheme"},
		{"pinned-ecdh/server chose no scheme", id.Pin(),
			serverPlay{chosen: strp("")}, kex.ErrSchemeNotOffered, "check chosen scheme"},
		{"pinned-ecdh/server sends no certificate", id.Pin(),
			serverPlay{noCert: true}, kex.ErrMissingIdentity, "parse certificate"},
		{"pinned-ecdh/certificate does not parse", id.Pin(),
			serverPlay{cert: []byte("not a certificate")}, kex.ErrBadCertificate, "parse certificate"},
		{"pinned-ecdh/pinned certificate has a P-256 key", p256Pin,
			serverPlay{cert: p256}, kex.ErrNotEd25519, "check key type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			cc, fake := wire.NewConn(c, nil), wire.NewConn(s, nil)
			ctx := testContext(t)
			cli := run(func() (*channel.Secrets, error) {
				return kex.PinnedECDH{}.Client(ctx, cc, &kex.ClientConfig{Pin: tt.pin})
			})
			fakePinnedServer(t, ctx, fake, id, tt.play)
			code, reason := closeCode(t, s) // also proves no client_finished came first
			r := <-cli
			if r.secrets != nil {
				t.Errorf("client returned secrets")
			}
			wantHandshakeError(t, r.err, tt.want, "pinned-ecdh", kex.ClientSide, tt.step)
			if code != policy {
				t.Errorf("fake server got close %d %q, want 1008", code, reason)
			}
			if want := tt.want.Error(); len(reason) < len(want) || reason[:len(want)] != want {
				t.Errorf("close reason %q does not start with %q", reason, want)
			}
			if !kex.Detected(r.err) || kex.Reason(r.err) != tt.want.Error() {
				t.Errorf("Detected = %v, Reason = %q", kex.Detected(r.err), kex.Reason(r.err))
			}
		})
	}
}

// TestPinMismatchRealPair: a real client pinned to one identity and a real
// server holding another.
func TestPinMismatchRealPair(t *testing.T) {
	t.Parallel()
	bob, other := newIdentity(t, "bob"), newIdentity(t, "bob-look-alike")
	c, s := wsPair(t)
	cc, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
	ctx := testContext(t)
	srv := run(func() (*channel.Secrets, error) {
		return kex.PinnedECDH{}.Server(ctx, scn, &kex.ServerConfig{Identity: other})
	})
	_, err := kex.PinnedECDH{}.Client(ctx, cc, &kex.ClientConfig{Pin: bob.Pin()})
	wantHandshakeError(t, err, kex.ErrPinMismatch, "pinned-ecdh", kex.ClientSide, "check pin")
	r := <-srv
	wantHandshakeError(t, r.err, kex.ErrTruncatedHandshake, "pinned-ecdh", kex.ServerSide, "read client finished")
	wantPeerClosed(t, r.err, policy)
	if kex.Detected(r.err) {
		t.Errorf("the server reports a detection it did not make: %v", r.err)
	}
}

// clientPlay is what a fake pinned-ecdh client sends after its hello.
type clientPlay int

const (
	badFinished clientPlay = iota
	dataBeforeFinished
	closeAfterServerVerify
)

func TestPinnedServerRefuses(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
	tests := []struct {
		name    string
		offered []string
		play    clientPlay
		want    error
		step    string
		code    websocket.StatusCode
	}{
		{"pinned-ecdh/client_hello does not offer pinned-ecdh", nil, 0, kex.ErrNoCommonScheme, "choose scheme", policy},
		{"pinned-ecdh/client_hello offers only broken schemes", []string{"unauth-ecdh", "plaintext-rsa"}, 0, kex.ErrNoCommonScheme, "choose scheme", policy},
		{"pinned-ecdh/bad client finished", []string{"pinned-ecdh"}, badFinished, kex.ErrBadFinished, "verify client finished", policy},
		{"pinned-ecdh/data before client finished", []string{"pinned-ecdh"}, dataBeforeFinished, wire.ErrUnexpectedMessage, "read client finished", websocket.StatusProtocolError},
		{"pinned-ecdh/client closes after server_verify", []string{"pinned-ecdh"}, closeAfterServerVerify, kex.ErrTruncatedHandshake, "read client finished", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			fake, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
			ctx := testContext(t)
			srv := run(func() (*channel.Secrets, error) {
				return kex.PinnedECDH{}.Server(ctx, scn, &kex.ServerConfig{Identity: id})
			})
			writeMsg(t, ctx, fake, &wire.ClientHello{Nonce: nonce(), KeyShare: x25519(t).PublicKey().Bytes(), Offered: tt.offered})
			code := websocket.StatusCode(-1)
			if tt.want != kex.ErrNoCommonScheme {
				readMsg[*wire.ServerHello](t, ctx, fake)
				readMsg[*wire.ServerVerify](t, ctx, fake)
				switch tt.play {
				case badFinished:
					writeMsg(t, ctx, fake, &wire.ClientFinished{MAC: make([]byte, 32)})
				case dataBeforeFinished:
					writeMsg(t, ctx, fake, &wire.Data{Seq: 0, CT: make([]byte, 32)})
				case closeAfterServerVerify:
					fake.CloseNow()
				}
			}
			if tt.play != closeAfterServerVerify {
				code, _ = closeCode(t, c)
			}
			r := <-srv
			if r.secrets != nil {
				t.Errorf("server returned secrets")
			}
			wantHandshakeError(t, r.err, tt.want, "pinned-ecdh", kex.ServerSide, tt.step)
			if code != tt.code {
				t.Errorf("fake client got close %d, want %d", code, tt.code)
			}
		})
	}
}

// TestPinnedClientConfig: a client without a usable pin stops before it
// sends anything.
func TestPinnedClientConfig(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
	pin := id.Pin()
	tests := []struct {
		name string
		pin  string
		want error
	}{
		{"pinned-ecdh/client has no pin", "", kex.ErrNoPin},
		{"pinned-ecdh/pin without the sha256/ prefix", pin[len("sha256/"):], kex.ErrBadPin},
		{"pinned-ecdh/pin with upper-case prefix", "SHA256/" + pin[len("sha256/"):], kex.ErrBadPin},
		{"pinned-ecdh/sha1 pin", "sha1/" + pin[len("sha256/"):], kex.ErrBadPin},
		{"pinned-ecdh/pin is hex", "sha256/" + hexString(sha([]byte("x"))), kex.ErrBadPin},
		{"pinned-ecdh/pin of 31 bytes", "sha256/" + b64(make([]byte, 31)), kex.ErrBadPin},
		{"pinned-ecdh/pin of 33 bytes", "sha256/" + b64(make([]byte, 33)), kex.ErrBadPin},
		{"pinned-ecdh/pin in URL-safe base64", "sha256/" + urlB64(bytes.Repeat([]byte{0xfb}, 32)), kex.ErrBadPin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			cc, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
			ctx := testContext(t)
			srv := run(func() (*channel.Secrets, error) {
				return kex.PinnedECDH{}.Server(ctx, scn, &kex.ServerConfig{Identity: id})
			})
			_, err := kex.PinnedECDH{}.Client(ctx, cc, &kex.ClientConfig{Pin: tt.pin})
			wantHandshakeError(t, err, tt.want, "pinned-ecdh", kex.ClientSide, "check configuration")
			if kex.Detected(err) {
				t.Errorf("a configuration mistake counts as a detection: %v", err)
			}
			r := <-srv
			// The client sent nothing: the server never saw a hello.
			wantHandshakeError(t, r.err, kex.ErrTruncatedHandshake, "pinned-ecdh", kex.ServerSide, "read client hello")
		})
	}
}

// TestTruncatedHandshake: the peer goes away after the first message, with
// a close frame or without one. Each half reports ErrTruncatedHandshake and
// ends; TestMain's goleak check proves no goroutine is left.
func TestTruncatedHandshake(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
	configs := map[string]struct {
		client *kex.ClientConfig
		server *kex.ServerConfig
	}{
		"plaintext-rsa": {nil, nil},
		"unauth-ecdh":   {nil, nil},
		"pinned-ecdh":   {&kex.ClientConfig{Pin: id.Pin()}, &kex.ServerConfig{Identity: id}},
	}
	firstStep := map[string]string{"plaintext-rsa": "read key transport", "unauth-ecdh": "read server hello", "pinned-ecdh": "read server hello"}
	for _, name := range kex.Names() {
		scheme, _ := kex.ByName(name)
		cfg := configs[name]
		for _, goodbye := range []string{"close frame", "dropped connection"} {
			t.Run(name+"/server leaves after the first message, "+goodbye, func(t *testing.T) {
				t.Parallel()
				c, s := wsPair(t)
				cc, fake := wire.NewConn(c, nil), wire.NewConn(s, nil)
				ctx := testContext(t)
				cli := run(func() (*channel.Secrets, error) { return scheme.Client(ctx, cc, cfg.client) })
				if _, err := fake.Read(ctx); err != nil {
					t.Fatal(err)
				}
				if goodbye == "close frame" {
					fake.Close(websocket.StatusNormalClosure, "bye")
				} else {
					fake.CloseNow()
				}
				r := <-cli
				wantHandshakeError(t, r.err, kex.ErrTruncatedHandshake, name, kex.ClientSide, firstStep[name])
				if !errors.Is(r.err, wire.ErrPeerClosed) || kex.Detected(r.err) {
					t.Errorf("error %v: want ErrPeerClosed and no detection", r.err)
				}
			})
			t.Run(name+"/client leaves before its first message, "+goodbye, func(t *testing.T) {
				t.Parallel()
				c, s := wsPair(t)
				fake, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
				ctx := testContext(t)
				srv := run(func() (*channel.Secrets, error) { return scheme.Server(ctx, scn, cfg.server) })
				if goodbye == "close frame" {
					fake.Close(websocket.StatusNormalClosure, "bye")
				} else {
					fake.CloseNow()
				}
				r := <-srv
				wantHandshakeError(t, r.err, kex.ErrTruncatedHandshake, name, kex.ServerSide, "")
			})
		}
	}
}

// TestAttackerAddsOneSpace relays a real pinned-ecdh handshake and adds one
// space to server_hello, which still decodes to the same message. The
// signature covers the raw bytes, so the client refuses.
func TestAttackerAddsOneSpace(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
	ca, sa := wsPair(t) // leg A: client to relay
	cb, sb := wsPair(t) // leg B: relay to server
	alice, relayA := wire.NewConn(ca, nil), wire.NewConn(sa, nil)
	relayB, bob := wire.NewConn(cb, nil), wire.NewConn(sb, nil)
	ctx := testContext(t)
	srv := run(func() (*channel.Secrets, error) {
		return kex.PinnedECDH{}.Server(ctx, bob, &kex.ServerConfig{Identity: id})
	})
	cli := run(func() (*channel.Secrets, error) {
		return kex.PinnedECDH{}.Client(ctx, alice, &kex.ClientConfig{Pin: id.Pin()})
	})
	forward := func(from, to *wire.Conn, edit func([]byte) []byte) {
		b, err := from.Read(ctx)
		if err != nil {
			t.Fatalf("relay read: %v", err)
		}
		if err := to.Write(ctx, edit(b)); err != nil {
			t.Fatalf("relay write: %v", err)
		}
	}
	same := func(b []byte) []byte { return b }
	forward(relayA, relayB, same) // client_hello
	forward(relayB, relayA, func(b []byte) []byte {
		spaced := append([]byte("{ "), b[1:]...)
		if m, err := wire.Decode(spaced); err != nil || m.MessageType() != wire.TypeServerHello {
			t.Errorf("edited server_hello no longer decodes: %v", err)
		}
		return spaced
	})
	forward(relayB, relayA, same) // server_verify
	code, _ := closeCode(t, sa)
	relayB.CloseNow()
	rc, rs := <-cli, <-srv
	wantHandshakeError(t, rc.err, kex.ErrBadSignature, "pinned-ecdh", kex.ClientSide, "verify signature")
	if code != policy {
		t.Errorf("relay got close %d from the client, want 1008", code)
	}
	if rs.err == nil {
		t.Errorf("server finished a handshake the client refused")
	}
}

func TestUnauthAndPinnedECDHRefuseTruncatedHello(t *testing.T) {
	t.Parallel()
	// A hello whose key share is cut short never reaches the ECDH: the
	// decoder refuses it with 1002.
	id := newIdentity(t, "bob")
	for _, name := range []string{"unauth-ecdh", "pinned-ecdh"} {
		t.Run(name+"/31-byte key share", func(t *testing.T) {
			t.Parallel()
			scheme, _ := kex.ByName(name)
			c, s := wsPair(t)
			fake, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
			ctx := testContext(t)
			srv := run(func() (*channel.Secrets, error) {
				return scheme.Server(ctx, scn, &kex.ServerConfig{Identity: id})
			})
			raw := []byte(`{"type":"client_hello","nonce":"` + b64(nonce()) + `","key_share":"` + b64(make([]byte, 31)) + `","offered":["pinned-ecdh"]}`)
			if err := fake.Write(ctx, raw); err != nil {
				t.Fatal(err)
			}
			code, _ := closeCode(t, c)
			r := <-srv
			wantHandshakeError(t, r.err, wire.ErrFieldLength, name, kex.ServerSide, "read client hello")
			if code != websocket.StatusProtocolError {
				t.Errorf("fake client got close %d, want 1002", code)
			}
		})
	}
}
