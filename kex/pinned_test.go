package kex_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// serverPlay is what a fake pinned-ecdh server sends. Zero fields mean the
// honest value for the identity it holds.
type serverPlay struct {
	hello       func(*kex.ServerHello) // edits server_hello before it is sent
	signer      ed25519.PrivateKey     // nil: the identity's key
	signedCH    []byte                 // sign over this client_hello, not the one received
	signedSH    []byte                 // sign over this server_hello, not the one sent
	badFinished bool                   // flip a bit of the finished MAC
}

// playPinnedServer reads a client_hello and answers with server_hello and
// server_verify as p says, computing the honest values with the exported
// steps. It returns the schedule it used, or nil when it could not make one.
func playPinnedServer(f *fake, id *kex.Identity, p serverPlay) (sched *kex.PinnedSchedule, sv []byte) {
	f.t.Helper()
	chm, ch := receive[*kex.ClientHello](f)
	ks := newKeyShare(f.t)
	shm := &kex.ServerHello{Nonce: ks.Nonce, KeyShare: ks.Public(), Chosen: kex.NamePinnedECDH, Certificate: id.Certificate}
	if p.hello != nil {
		p.hello(shm)
	}
	sh := f.send(shm)
	signer, signedCH, signedSH := id.Key, ch, sh
	if p.signer != nil {
		signer = p.signer
	}
	if p.signedCH != nil {
		signedCH = p.signedCH
	}
	if p.signedSH != nil {
		signedSH = p.signedSH
	}
	sig := ed25519.Sign(signer, kex.SignedContent(signedCH, signedSH))
	finished := randomBytes(kex.MACSize)
	if shared, err := ks.Shared(chm.KeyShare); err == nil && bytes.Equal(shm.KeyShare, ks.Public()) {
		sched = kex.NewPinnedSchedule(shared, ch, sh)
		finished = sched.ServerFinished(sig)
	}
	if p.badFinished {
		finished[0] ^= 1
	}
	return sched, f.send(&kex.ServerVerify{Signature: sig, Finished: finished})
}

// Edits of server_hello.
func chosen(name string) func(*kex.ServerHello) {
	return func(sh *kex.ServerHello) { sh.Chosen = name }
}

func certificate(der []byte) func(*kex.ServerHello) {
	return func(sh *kex.ServerHello) { sh.Certificate = der }
}

func lowOrderShare(sh *kex.ServerHello) { sh.KeyShare = make([]byte, 32) }

// edits applies several edits in order.
func edits(e ...func(*kex.ServerHello)) func(*kex.ServerHello) {
	return func(sh *kex.ServerHello) {
		for _, f := range e {
			f(sh)
		}
	}
}

// TestPinnedClientRefuses: the real pinned-ecdh client against a fake
// server that breaks one check. The client must fail that exact check,
// close with 1008 and a reason naming it, return no secrets, and never
// send client_finished.
func TestPinnedClientRefuses(t *testing.T) {
	t.Parallel()
	bob, mallory := identity(t, "bob"), identity(t, "mallory")
	p256 := p256Certificate(t)
	// A client_hello from another connection, whose signature an attacker
	// could have recorded, and a server_hello with another key share.
	oldKS, otherKS := newKeyShare(t), newKeyShare(t)
	oldCH, err := wire.Encode(&kex.ClientHello{Nonce: oldKS.Nonce, KeyShare: oldKS.Public(), Offered: []string{kex.NamePinnedECDH}})
	if err != nil {
		t.Fatal(err)
	}
	otherSH, err := wire.Encode(&kex.ServerHello{Nonce: otherKS.Nonce, KeyShare: otherKS.Public(), Chosen: kex.NamePinnedECDH, Certificate: bob.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	both := []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
	tests := []struct {
		name string
		cfg  kex.ClientConfig
		play serverPlay
		want error
		step string
	}{
		{"pinned-ecdh/attacker presents own certificate", kex.ClientConfig{Pin: bob.Pin()},
			serverPlay{hello: certificate(mallory.Certificate), signer: mallory.Key}, kex.ErrPinMismatch, "check pin"},
		{"pinned-ecdh/attacker keeps the server's certificate and signs with own key", kex.ClientConfig{Pin: bob.Pin()},
			serverPlay{signer: mallory.Key}, kex.ErrBadSignature, "verify signature"},
		{"pinned-ecdh/attacker substitutes the server's key share", kex.ClientConfig{Pin: bob.Pin()},
			serverPlay{signedSH: otherSH}, kex.ErrBadSignature, "verify signature"},
		{"pinned-ecdh/attacker replays a signature over an old client_hello", kex.ClientConfig{Pin: bob.Pin()},
			serverPlay{signedCH: oldCH}, kex.ErrBadSignature, "verify signature"},
		{"pinned-ecdh/attacker strips the certificate", kex.ClientConfig{Pin: bob.Pin()},
			serverPlay{hello: certificate(nil)}, kex.ErrMissingIdentity, "parse certificate"},
		{"pinned-ecdh/certificate does not parse", kex.ClientConfig{Pin: bob.Pin()},
			serverPlay{hello: certificate([]byte("not a certificate"))}, kex.ErrBadCertificate, "parse certificate"},
		{"pinned-ecdh/pinned certificate has a P-256 key", kex.ClientConfig{Pin: pinOf(t, p256)},
			serverPlay{hello: certificate(p256)}, kex.ErrNotEd25519, "check key type"},
		{"pinned-ecdh/server chose a scheme the client did not offer", kex.ClientConfig{Pin: bob.Pin()},
			serverPlay{hello: chosen(kex.NameStaticRSA)}, kex.ErrSchemeNotOffered, "check chosen scheme"},
		{"pinned-ecdh/server chose no scheme", kex.ClientConfig{Pin: bob.Pin()},
			serverPlay{hello: chosen("")}, kex.ErrSchemeNotOffered, "check chosen scheme"},
		{"pinned-ecdh/server's key share is a low-order point, honestly signed", kex.ClientConfig{Pin: bob.Pin()},
			serverPlay{hello: lowOrderShare}, kex.ErrLowOrderPoint, "compute shared secret"},
		{"pinned-ecdh/bad server finished", kex.ClientConfig{Pin: bob.Pin()},
			serverPlay{badFinished: true}, kex.ErrBadFinished, "verify server finished"},
		{"downgrade/server chooses unauth-ecdh from a two-scheme offer", kex.ClientConfig{Pin: bob.Pin(), Offer: both},
			serverPlay{hello: chosen(kex.NameUnauthECDH)}, kex.ErrDowngrade, "check chosen scheme"},
		{"downgrade/client that accepts fallback still refuses unauth-ecdh it never offered", kex.ClientConfig{Pin: bob.Pin(), AcceptFallback: true},
			serverPlay{hello: chosen(kex.NameUnauthECDH)}, kex.ErrSchemeNotOffered, "check chosen scheme"},
		{"signed-unpinned/client that skips the pin still checks the signature", kex.ClientConfig{SkipPinCheck: true},
			serverPlay{hello: certificate(mallory.Certificate)}, kex.ErrBadSignature, "verify signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testPinnedClientRefuses(t, bob, tt.cfg, tt.play, tt.want, tt.step)
		})
	}
}

func testPinnedClientRefuses(t *testing.T, id *kex.Identity, cfg kex.ClientConfig, play serverPlay, want error, step string) {
	t.Helper()
	scheme := kex.PinnedECDH()
	c, s := wsPair(t, scheme)
	ctx := testContext(t)
	cli := runClient(ctx, scheme, c, &cfg)
	srv := newFake(t, ctx, scheme, s)
	playPinnedServer(srv, id, play)
	r := srv.wantRefusal(cli, policy, want) // also proves no client_finished came first
	if r.secrets != nil {
		t.Errorf("the refusing client returned secrets")
	}
	wantHandshakeError(t, r.err, want, kex.NamePinnedECDH, kex.ClientSide, step)
	if !kex.Detected(r.err) || kex.Reason(r.err) != want.Error() {
		t.Errorf("Detected = %v, Reason = %q", kex.Detected(r.err), kex.Reason(r.err))
	}
}

// TestPinnedClientCheckOrder: the client's checks come in a fixed order
// with no fallback. Each row breaks one check and every later one it can;
// the client must report the first.
func TestPinnedClientCheckOrder(t *testing.T) {
	t.Parallel()
	bob, mallory := identity(t, "bob"), identity(t, "mallory")
	p256 := p256Certificate(t)
	bobPin := kex.ClientConfig{Pin: bob.Pin()}
	tests := []struct {
		name string
		cfg  kex.ClientConfig
		play serverPlay
		want error
		step string
	}{
		{"pinned-ecdh/1 chosen was offered: checked before the certificate", bobPin,
			serverPlay{hello: edits(chosen(kex.NameStaticRSA), certificate([]byte("junk")), lowOrderShare), signer: mallory.Key, badFinished: true},
			kex.ErrSchemeNotOffered, "check chosen scheme"},
		{"downgrade/1 unauth-ecdh is refused before the certificate", kex.ClientConfig{Pin: bob.Pin(), Offer: []string{kex.NamePinnedECDH, kex.NameUnauthECDH}},
			serverPlay{hello: edits(chosen(kex.NameUnauthECDH), certificate(nil), lowOrderShare), signer: mallory.Key, badFinished: true},
			kex.ErrDowngrade, "check chosen scheme"},
		{"pinned-ecdh/2 a missing certificate: checked before the signature", bobPin,
			serverPlay{hello: edits(certificate(nil), lowOrderShare), signer: mallory.Key, badFinished: true},
			kex.ErrMissingIdentity, "parse certificate"},
		{"pinned-ecdh/2 the certificate parses: checked before the signature", bobPin,
			serverPlay{hello: edits(certificate([]byte("junk")), lowOrderShare), signer: mallory.Key, badFinished: true},
			kex.ErrBadCertificate, "parse certificate"},
		{"pinned-ecdh/3 the pin: checked before the key type", bobPin,
			serverPlay{hello: edits(certificate(p256), lowOrderShare), signer: mallory.Key, badFinished: true},
			kex.ErrPinMismatch, "check pin"},
		{"pinned-ecdh/4 the key type: checked before the signature", kex.ClientConfig{Pin: pinOf(t, p256)},
			serverPlay{hello: edits(certificate(p256), lowOrderShare), signer: mallory.Key, badFinished: true},
			kex.ErrNotEd25519, "check key type"},
		{"pinned-ecdh/5 the signature: checked before the ECDH", bobPin,
			serverPlay{hello: lowOrderShare, signer: mallory.Key, badFinished: true},
			kex.ErrBadSignature, "verify signature"},
		{"pinned-ecdh/6 the ECDH: checked before the finished MAC", bobPin,
			serverPlay{hello: lowOrderShare, badFinished: true},
			kex.ErrLowOrderPoint, "compute shared secret"},
		{"pinned-ecdh/7 the finished MAC, last", bobPin,
			serverPlay{badFinished: true},
			kex.ErrBadFinished, "verify server finished"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testPinnedClientRefuses(t, bob, tt.cfg, tt.play, tt.want, tt.step)
		})
	}
}

// TestSkipPinCheckAcceptsAnyone: the INSECURE(signed-unpinned) option
// does what it says: a client that skips the pin completes a handshake
// with whoever signs for the certificate it sent.
func TestSkipPinCheckAcceptsAnyone(t *testing.T) {
	t.Parallel()
	mallory := identity(t, "mallory")
	scheme := kex.PinnedECDH()
	c, s := wsPair(t, scheme)
	ctx := testContext(t)
	cli := runClient(ctx, scheme, c, &kex.ClientConfig{SkipPinCheck: true, Pin: identity(t, "bob").Pin()})
	srv := newFake(t, ctx, scheme, s)
	sched, sv := playPinnedServer(srv, mallory, serverPlay{})
	cfm, cf := receive[*kex.ClientFinished](srv)
	if !sched.VerifyClientFinished(sv, cfm.MAC) {
		t.Errorf("the client's finished does not verify")
	}
	r := <-cli
	if r.err != nil {
		t.Fatalf("client that skips the pin refused mallory: %v", r.err)
	}
	if *r.secrets != *sched.Traffic(sv, cf) {
		t.Errorf("client and mallory derived different keys")
	}
}

// TestPinMismatchRealPair: a real client pinned to one identity and a real
// server holding another. The client detects it; the server only sees the
// client go away with 1008 and does not claim a detection of its own.
func TestPinMismatchRealPair(t *testing.T) {
	t.Parallel()
	scheme := kex.PinnedECDH()
	bob, lookalike := identity(t, "bob"), identity(t, "bob look-alike")
	c, s := wsPair(t, scheme)
	ctx := testContext(t)
	srv := runServer(ctx, scheme, s, &kex.ServerConfig{Identity: lookalike})
	cli := runClient(ctx, scheme, c, &kex.ClientConfig{Pin: bob.Pin()})
	rc, rs := <-cli, <-srv
	wantHandshakeError(t, rc.err, kex.ErrPinMismatch, kex.NamePinnedECDH, kex.ClientSide, "check pin")
	if !strings.Contains(rc.err.Error(), lookalike.Pin()) {
		t.Errorf("error %q does not name the pin the server sent", rc.err)
	}
	wantHandshakeError(t, rs.err, kex.ErrTruncatedHandshake, kex.NamePinnedECDH, kex.ServerSide, "read client finished")
	wantPeerClosed(t, rs.err, policy)
}

// clientView is what an honest fake client has seen when it is time to
// send client_finished.
type clientView struct {
	sched      *kex.PinnedSchedule
	ch, sh, sv []byte
}

// clientStart sends an honest client_hello and reads the server's answer.
func clientStart(f *fake) clientView {
	f.t.Helper()
	ks := newKeyShare(f.t)
	ch := f.send(&kex.ClientHello{Nonce: ks.Nonce, KeyShare: ks.Public(), Offered: []string{kex.NamePinnedECDH}})
	shm, sh := receive[*kex.ServerHello](f)
	_, sv := receive[*kex.ServerVerify](f)
	shared, err := ks.Shared(shm.KeyShare)
	if err != nil {
		f.t.Fatal(err)
	}
	return clientView{kex.NewPinnedSchedule(shared, ch, sh), ch, sh, sv}
}

// TestPinnedServerRefuses: a fake client breaks one rule; the real server
// refuses at that step, with 1008 for a failed check and 1002 for input
// that does not decode, and sends nothing more.
func TestPinnedServerRefuses(t *testing.T) {
	t.Parallel()
	bob := identity(t, "bob")
	hello := func(offered []string, share []byte) func(f *fake) {
		return func(f *fake) {
			if share == nil {
				share = newKeyShare(f.t).Public()
			}
			f.send(&kex.ClientHello{Nonce: randomBytes(32), KeyShare: share, Offered: offered})
		}
	}
	pinned := []string{kex.NamePinnedECDH}
	tests := []struct {
		name string
		play func(f *fake)
		want error
		step string
		code websocket.StatusCode
	}{
		{"pinned-ecdh/client offers no scheme", hello(nil, nil),
			kex.ErrNoCommonScheme, "choose scheme", policy},
		{"pinned-ecdh/client offers only broken schemes", hello([]string{kex.NameUnauthECDH, kex.NamePlaintextRSA}, nil),
			kex.ErrNoCommonScheme, "choose scheme", policy},
		{"pinned-ecdh/client's key share is a low-order point", hello(pinned, make([]byte, 32)),
			kex.ErrLowOrderPoint, "compute shared secret", policy},
		{"pinned-ecdh/bad client finished", func(f *fake) {
			v := clientStart(f)
			mac := v.sched.ClientFinished(v.sv)
			mac[31] ^= 0x80
			f.send(&kex.ClientFinished{MAC: mac})
		}, kex.ErrBadFinished, "verify client finished", policy},
		{"pinned-ecdh/client finished over a respaced server_verify", func(f *fake) {
			v := clientStart(f)
			f.send(&kex.ClientFinished{MAC: v.sched.ClientFinished(respace(v.sv))})
		}, kex.ErrBadFinished, "verify client finished", policy},
		{"pinned-ecdh/client finished under a secret the server does not share", func(f *fake) {
			v := clientStart(f)
			guess := kex.NewPinnedSchedule(make([]byte, 32), v.ch, v.sh)
			f.send(&kex.ClientFinished{MAC: guess.ClientFinished(v.sv)})
		}, kex.ErrBadFinished, "verify client finished", policy},
		{"pinned-ecdh/data before client finished", func(f *fake) {
			clientStart(f)
			f.send(&wire.Data{Seq: 0, CT: make([]byte, 32)})
		}, wire.ErrUnexpectedMessage, "read client finished", protocol},
		{"pinned-ecdh/client hello with a 31-byte key share", func(f *fake) {
			f.sendRaw([]byte(`{"type":"client_hello","nonce":"` + b64(randomBytes(32)) + `","key_share":"` + b64(randomBytes(31)) + `","offered":["pinned-ecdh"]}`))
		}, wire.ErrFieldLength, "read client hello", protocol},
		{"pinned-ecdh/client hello followed by white space", func(f *fake) {
			ks := newKeyShare(f.t)
			b, _ := wire.Encode(&kex.ClientHello{Nonce: ks.Nonce, KeyShare: ks.Public(), Offered: pinned})
			f.sendRaw(append(b, ' '))
		}, wire.ErrMalformed, "read client hello", protocol},
		{"pinned-ecdh/client hello as a binary message", func(f *fake) {
			ks := newKeyShare(f.t)
			b, _ := wire.Encode(&kex.ClientHello{Nonce: ks.Nonce, KeyShare: ks.Public(), Offered: pinned})
			if err := f.ws.Write(f.ctx, websocket.MessageBinary, b); err != nil {
				f.t.Fatal(err)
			}
		}, wire.ErrBinaryMessage, "read client hello", protocol},
		{"pinned-ecdh/client opens with a server_hello", func(f *fake) {
			ks := newKeyShare(f.t)
			f.send(&kex.ServerHello{Nonce: ks.Nonce, KeyShare: ks.Public()})
		}, wire.ErrUnexpectedMessage, "read client hello", protocol},
		{"pinned-ecdh/client opens with a message type the scheme does not have", func(f *fake) {
			f.send(&kex.RSAPublicKey{SPKI: []byte{1}})
		}, wire.ErrUnknownType, "read client hello", protocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			scheme := kex.PinnedECDH()
			c, s := wsPair(t, scheme)
			ctx := testContext(t)
			srv := runServer(ctx, scheme, s, &kex.ServerConfig{Identity: bob})
			cli := newFake(t, ctx, scheme, c)
			tt.play(cli)
			r := cli.wantRefusal(srv, tt.code, tt.want)
			if r.secrets != nil {
				t.Errorf("the refusing server returned secrets")
			}
			wantHandshakeError(t, r.err, tt.want, kex.NamePinnedECDH, kex.ServerSide, tt.step)
			if got := wire.CloseCode(r.err); got != tt.code {
				t.Errorf("CloseCode(%v) = %d, want %d", r.err, got, tt.code)
			}
		})
	}
}

// TestConfigurationMistakes: a half that cannot run as configured stops
// before it sends anything and drops the connection without a close
// frame: there is no peer to blame. None of these is a detection.
func TestConfigurationMistakes(t *testing.T) {
	t.Parallel()
	pin := identity(t, "bob").Pin()
	hash := strings.TrimPrefix(pin, "sha256/")
	tests := []struct {
		name   string
		scheme *kex.Scheme
		side   kex.Side
		client *kex.ClientConfig
		server *kex.ServerConfig
		want   error
	}{
		{"pinned-ecdh/client has no pin", kex.PinnedECDH(), kex.ClientSide, &kex.ClientConfig{}, nil, kex.ErrNoPin},
		{"pinned-ecdh/client has a nil config", kex.PinnedECDH(), kex.ClientSide, nil, nil, kex.ErrNoPin},
		{"pinned-ecdh/pin without the sha256/ prefix", kex.PinnedECDH(), kex.ClientSide, &kex.ClientConfig{Pin: hash}, nil, kex.ErrBadPin},
		{"pinned-ecdh/pin with an upper-case prefix", kex.PinnedECDH(), kex.ClientSide, &kex.ClientConfig{Pin: "SHA256/" + hash}, nil, kex.ErrBadPin},
		{"pinned-ecdh/sha1 pin", kex.PinnedECDH(), kex.ClientSide, &kex.ClientConfig{Pin: "sha1/" + hash}, nil, kex.ErrBadPin},
		{"pinned-ecdh/pin of 31 bytes", kex.PinnedECDH(), kex.ClientSide, &kex.ClientConfig{Pin: "sha256/" + b64(make([]byte, 31))}, nil, kex.ErrBadPin},
		{"static-rsa/pin in URL-safe base64", kex.StaticRSA(), kex.ClientSide, &kex.ClientConfig{Pin: "sha256/" + urlB64(bytes.Repeat([]byte{0xfb}, 32))}, nil, kex.ErrBadPin},
		{"pinned-ecdh/server has no identity", kex.PinnedECDH(), kex.ServerSide, nil, &kex.ServerConfig{}, kex.ErrNoIdentity},
		{"pinned-ecdh/server with a nil config", kex.PinnedECDH(), kex.ServerSide, nil, nil, kex.ErrNoIdentity},
		{"static-rsa/server has no RSA key", kex.StaticRSA(), kex.ServerSide, nil, &kex.ServerConfig{Identity: identity(t, "bob")}, kex.ErrNoIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t, tt.scheme)
			ctx := testContext(t)
			var half <-chan result
			var peer *fake
			if tt.side == kex.ClientSide {
				half, peer = runClient(ctx, tt.scheme, c, tt.client), newFake(t, ctx, tt.scheme, s)
			} else {
				half, peer = runServer(ctx, tt.scheme, s, tt.server), newFake(t, ctx, tt.scheme, c)
			}
			r := peer.wantRefusal(half, noClose, nil)
			wantHandshakeError(t, r.err, tt.want, tt.scheme.Name, tt.side, "check configuration")
			if kex.Detected(r.err) || r.secrets != nil {
				t.Errorf("a configuration mistake counts as a detection, or returned secrets: %v", r.err)
			}
		})
	}
}
