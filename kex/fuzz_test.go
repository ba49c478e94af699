package kex_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed files under testdata/fuzz from the generator in fuzz_test.go")

// FuzzParseRSAPublicKey: never panics; refuses with ErrBadKey or ErrKeySize
// and nothing else; whatever it accepts is RSA-2048 and survives a marshal
// and parse round trip.
func FuzzParseRSAPublicKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, spki []byte) {
		pub, err := kex.ParseRSAPublicKey(spki)
		if err != nil {
			if pub != nil || errors.Is(err, kex.ErrBadKey) == errors.Is(err, kex.ErrKeySize) {
				t.Fatalf("ParseRSAPublicKey = %v, %v; want nil and exactly one of ErrBadKey, ErrKeySize", pub, err)
			}
			return
		}
		if pub.N.BitLen() != kex.RSABits {
			t.Fatalf("accepted a %d-bit key", pub.N.BitLen())
		}
		der, err := kex.MarshalRSAPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		back, err := kex.ParseRSAPublicKey(der)
		if err != nil || !back.Equal(pub) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzParsePin: never panics; refuses with ErrBadPin; whatever it accepts
// starts "sha256/", is 32 bytes, and is the hash its canonical spelling
// gives.
func FuzzParsePin(f *testing.F) {
	f.Fuzz(func(t *testing.T, pin string) {
		sum, err := kex.ParsePin(pin)
		if err != nil {
			if !errors.Is(err, kex.ErrBadPin) || sum != nil {
				t.Fatalf("ParsePin = %x, %v; want nil and ErrBadPin", sum, err)
			}
			return
		}
		if len(sum) != sha256.Size || !strings.HasPrefix(pin, "sha256/") {
			t.Fatalf("accepted %q as a %d-byte hash", pin, len(sum))
		}
		canon, err := kex.ParsePin("sha256/" + base64.StdEncoding.EncodeToString(sum))
		if err != nil || !bytes.Equal(canon, sum) {
			t.Fatalf("canonical spelling of %q gives %x, %v", pin, canon, err)
		}
	})
}

// FuzzCertificatePin: never panics; refuses with ErrBadCertificate exactly
// when crypto/x509 cannot parse the input; otherwise the pin is RFC 7469's
// over the certificate's SPKI, computed here independently.
func FuzzCertificatePin(f *testing.F) {
	f.Fuzz(func(t *testing.T, der []byte) {
		pin, err := kex.CertificatePin(der)
		cert, xerr := x509.ParseCertificate(der)
		if err != nil {
			if !errors.Is(err, kex.ErrBadCertificate) || pin != "" || xerr == nil {
				t.Fatalf("CertificatePin = %q, %v (x509: %v)", pin, err, xerr)
			}
			return
		}
		if xerr != nil {
			t.Fatalf("pinned a certificate crypto/x509 refuses: %v", xerr)
		}
		sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		if want := "sha256/" + base64.StdEncoding.EncodeToString(sum[:]); pin != want {
			t.Fatalf("pin %s, want %s", pin, want)
		}
		if _, err := kex.ParsePin(pin); err != nil {
			t.Fatalf("ParsePin refuses CertificatePin's output: %v", err)
		}
	})
}

// The seeds of the fuzz fixture: the honest client and server read their
// randomness from these, so their messages are the same on every run.
const (
	fuzzClientSeed = "fuzz/client"
	fuzzServerSeed = "fuzz/server"
)

// pinnedFixture is one honest pinned-ecdh handshake with seeded halves:
// the real server half's server_hello and server_verify for the real
// client half's hello, the honest server's schedule, and the keys both
// derived.
type pinnedFixture struct {
	bob        *kex.Identity
	ch, sh, sv []byte
	sched      *kex.PinnedSchedule
	secrets    *channel.Secrets
}

func newPinnedFixture(tb testing.TB, clientSeed string) *pinnedFixture {
	tb.Helper()
	bob := identity(tb, "bob")
	h := handshake(tb, schemeCase{scheme: kex.PinnedECDH(),
		client: &kex.ClientConfig{Pin: bob.Pin(), Rand: seeded(clientSeed)},
		server: &kex.ServerConfig{Identity: bob, Rand: seeded(fuzzServerSeed)}})
	cks, err := kex.NewKeyShare(seeded(clientSeed))
	if err != nil {
		tb.Fatal(err)
	}
	sks, err := kex.NewKeyShare(seeded(fuzzServerSeed))
	if err != nil {
		tb.Fatal(err)
	}
	shared, err := sks.Shared(cks.Public())
	if err != nil {
		tb.Fatal(err)
	}
	fx := &pinnedFixture{bob: bob, ch: h.msgs[0], sh: h.msgs[1], sv: h.msgs[2], secrets: h.client}
	fx.sched = kex.NewPinnedSchedule(shared, fx.ch, fx.sh)
	if cf := h.msgs[3]; *fx.sched.Traffic(fx.sv, cf) != *h.server {
		tb.Fatal("the fixture's schedule is not the honest server's")
	}
	return fx
}

// clientPlay is what the real client did with one fuzz input.
type clientPlay struct {
	result
	cf   []byte               // client_finished, if it sent one
	code websocket.StatusCode // the close code the fake server received
}

// playPinnedClient runs the real pinned-ecdh client, seeded as in the
// fixture, against a fake server that answers its hello with sh and sv,
// whatever they are.
func playPinnedClient(tb testing.TB, e *endpoint, fx *pinnedFixture, sh, sv []byte) clientPlay {
	tb.Helper()
	scheme := kex.PinnedECDH()
	c, s := e.pair(tb)
	ctx := testContext(tb)
	cli := runClient(ctx, scheme, c, &kex.ClientConfig{Pin: fx.bob.Pin(), Rand: seeded(fuzzClientSeed)})
	_, ch, err := s.Read(ctx)
	if err != nil {
		tb.Fatalf("fake server read: %v", err)
	}
	if !bytes.Equal(ch, fx.ch) {
		tb.Fatalf("the seeded client sent another client_hello than the fixture's:\n%s\n%s", ch, fx.ch)
	}
	if err := s.Write(ctx, websocket.MessageText, sh); err != nil {
		tb.Fatalf("fake server write: %v", err)
	}
	s.Write(ctx, websocket.MessageText, sv) // the client may be closing already
	var p clientPlay
	// The client either sends client_finished and is done, or closes.
	if _, m, err := s.Read(ctx); err == nil {
		p.cf = m
	} else {
		p.code = noClose
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			p.code = ce.Code
		}
	}
	p.result = <-cli
	return p
}

// checkPinnedClient holds the client to the handshake's promise: it
// completes only when server_hello is the honest server's, byte for byte,
// and server_verify carries the honest signature and MAC. Even then, if
// server_verify's bytes differ, its client_finished is one the honest
// server refuses, so no handshake completes on both sides. Every refusal
// is a *HandshakeError, closes with the code its error calls for, and
// comes before client_finished.
func checkPinnedClient(t testing.TB, fx *pinnedFixture, sh, sv []byte, p clientPlay) {
	t.Helper()
	if p.err != nil {
		var he *kex.HandshakeError
		if !errors.As(p.err, &he) || he.Scheme != kex.NamePinnedECDH || he.Side != kex.ClientSide {
			t.Fatalf("client error %v is not a pinned-ecdh client *HandshakeError", p.err)
		}
		if p.secrets != nil || p.cf != nil {
			t.Fatalf("refusing client returned secrets or sent client_finished")
		}
		if errors.Is(p.err, kex.ErrTruncatedHandshake) {
			t.Fatalf("the fake server never left, yet: %v", p.err)
		}
		if want := wire.CloseCode(p.err); p.code != want || !wire.Refusal(p.code) {
			t.Fatalf("fake server received close %d, want the refusal %d for %v", p.code, want, p.err)
		}
		return
	}
	if !bytes.Equal(sh, fx.sh) {
		t.Fatalf("client completed with a server_hello the honest server did not send:\n%q", sh)
	}
	svm, err := wire.DecodeAs[*kex.ServerVerify](kex.PinnedECDH().Codec(), sv)
	honest, _ := wire.DecodeAs[*kex.ServerVerify](kex.PinnedECDH().Codec(), fx.sv)
	if err != nil || !bytes.Equal(svm.Signature, honest.Signature) || !bytes.Equal(svm.Finished, honest.Finished) {
		t.Fatalf("client completed with a server_verify that is not the honest one: %q", sv)
	}
	cfm, err := wire.DecodeAs[*kex.ClientFinished](kex.PinnedECDH().Codec(), p.cf)
	if err != nil {
		t.Fatalf("client completed and sent %q, not client_finished: %v", p.cf, err)
	}
	accepts := fx.sched.VerifyClientFinished(fx.sv, cfm.MAC)
	if bytes.Equal(sv, fx.sv) {
		if !accepts || *p.secrets != *fx.secrets {
			t.Fatalf("honest messages: the honest server would refuse the client's finished (%v) or derive other keys", !accepts)
		}
		return
	}
	if accepts || *p.secrets == *fx.secrets {
		t.Fatalf("the honest server would accept a client that saw another server_verify: %q", sv)
	}
}

// FuzzPinnedClient feeds arbitrary server_hello and server_verify bytes to
// the real pinned-ecdh client half over a real WebSocket: it never panics,
// and never completes a handshake that the honest server would not
// complete with it, with the same keys (see checkPinnedClient).
func FuzzPinnedClient(f *testing.F) {
	fx := newPinnedFixture(f, fuzzClientSeed)
	e := newEndpoint(f, kex.NamePinnedECDH)
	f.Fuzz(func(t *testing.T, sh, sv []byte) {
		if len(sh) > wire.MaxMessageSize || len(sv) > wire.MaxMessageSize {
			t.Skip("over the message size limit, which the websocket library enforces")
		}
		checkPinnedClient(t, fx, sh, sv, playPinnedClient(t, e, fx, sh, sv))
	})
}

// The seed files are named "<class>-<what it is>". For the simple targets
// a class says whether the input is accepted ("valid") or which sentinel
// refuses it; for FuzzPinnedClient, whether the client completes with
// honest messages ("honest"), completes with a client_finished the honest
// server refuses ("caughtbyserver"), or refuses with a sentinel.
var seedClasses = map[string]map[string]error{
	"FuzzParseRSAPublicKey": {"valid": nil, "keysize": kex.ErrKeySize, "badkey": kex.ErrBadKey},
	"FuzzParsePin":          {"valid": nil, "badpin": kex.ErrBadPin},
	"FuzzCertificatePin":    {"valid": nil, "badcert": kex.ErrBadCertificate},
	"FuzzPinnedClient": {
		"honest": nil, "caughtbyserver": nil,
		"notoffered": kex.ErrSchemeNotOffered, "missingidentity": kex.ErrMissingIdentity,
		"badcertificate": kex.ErrBadCertificate, "pinmismatch": kex.ErrPinMismatch,
		"badsignature": kex.ErrBadSignature, "loworderpoint": kex.ErrLowOrderPoint,
		"badfinished": kex.ErrBadFinished, "malformed": wire.ErrMalformed,
		"unexpected": wire.ErrUnexpectedMessage, "unknowntype": wire.ErrUnknownType,
		"unknownfield": wire.ErrUnknownField, "missingfield": wire.ErrMissingField,
		"fieldlength": wire.ErrFieldLength, "invalidutf8": wire.ErrInvalidUTF8,
	},
}

// seedCorpus generates every seed, deterministically: keys and identities
// come from seeded sources and testdata, so the files it writes are the
// same on every run and the committed corpus can be checked against it.
func seedCorpus(tb testing.TB) map[string]map[string][]any {
	tb.Helper()
	bob := identity(tb, "bob")
	rsa2048 := testSPKI(tb, "2048")
	pub2048, err := x509.ParsePKIXPublicKey(rsa2048)
	if err != nil {
		tb.Fatal(err)
	}
	canon, err := x509.MarshalPKIXPublicKey(pub2048)
	if err != nil || !bytes.Equal(canon, rsa2048) {
		tb.Fatal("testdata rsa2048.pub.pem is not canonical SPKI")
	}
	one := func(v any) []any { return []any{v} }
	return map[string]map[string][]any{
		"FuzzParseRSAPublicKey": {
			"valid-rsa2048":           one(rsa2048),
			"keysize-rsa1024":         one(testSPKI(tb, "1024")),
			"keysize-rsa4096":         one(testSPKI(tb, "4096")),
			"badkey-ed25519":          one(ed25519SPKI(tb)),
			"badkey-p256":             one(p256SPKI(tb)),
			"badkey-truncated":        one(rsa2048[:100]),
			"badkey-garbage":          one([]byte("not DER")),
			"badkey-empty":            one([]byte{}),
			"badkey-trailing-zero":    one(append(bytes.Clone(rsa2048), 0)),
			"badkey-pkcs1-not-spki":   one(pkcs1Of(tb, rsa2048)),
			"badkey-ed25519-cert-der": one(bob.Certificate),
		},
		"FuzzParsePin": {
			"valid-identity":      one(bob.Pin()),
			"valid-all-zero-hash": one("sha256/" + base64.StdEncoding.EncodeToString(make([]byte, 32))),
			"badpin-trailing-lf":  one(bob.Pin() + "\n"),
			"badpin-empty":        one(""),
			"badpin-prefix-only":  one("sha256/"),
			"badpin-no-prefix":    one(strings.TrimPrefix(bob.Pin(), "sha256/")),
			"badpin-sha1":         one("sha1/" + base64.StdEncoding.EncodeToString(make([]byte, 20))),
			"badpin-31-bytes":     one("sha256/" + base64.StdEncoding.EncodeToString(make([]byte, 31))),
			"badpin-unpadded":     one("sha256/" + base64.RawStdEncoding.EncodeToString(make([]byte, 32))),
			"badpin-url-safe":     one("sha256/" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32))),
			"badpin-space":        one(bob.Pin() + " "),
		},
		"FuzzCertificatePin": {
			"valid-ed25519-identity": one(bob.Certificate),
			"valid-p256":             one(p256Certificate(tb)),
			"badcert-truncated":      one(bob.Certificate[:len(bob.Certificate)/2]),
			"badcert-garbage":        one([]byte("-----BEGIN CERTIFICATE-----")),
			"badcert-empty":          one([]byte{}),
			"badcert-spki-not-cert":  one(rsa2048),
		},
		"FuzzPinnedClient": pinnedClientSeeds(tb),
	}
}

// pkcs1Of re-encodes an SPKI's RSA key as PKCS #1.
func pkcs1Of(tb testing.TB, spki []byte) []byte {
	tb.Helper()
	pub, err := kex.ParseRSAPublicKey(spki)
	if err != nil {
		tb.Fatal(err)
	}
	return x509.MarshalPKCS1PublicKey(pub)
}

// pinnedClientSeeds are server_hello and server_verify pairs: the honest
// ones, each of the client's checks broken on its own, and inputs that do
// not decode.
func pinnedClientSeeds(tb testing.TB) map[string][]any {
	tb.Helper()
	fx := newPinnedFixture(tb, fuzzClientSeed)
	replay := newPinnedFixture(tb, "fuzz/another client")
	codec := kex.PinnedECDH().Codec()
	shm, err := wire.DecodeAs[*kex.ServerHello](codec, fx.sh)
	if err != nil {
		tb.Fatal(err)
	}
	svm, err := wire.DecodeAs[*kex.ServerVerify](codec, fx.sv)
	if err != nil {
		tb.Fatal(err)
	}
	enc := func(m wire.Message) []byte {
		b, err := wire.Encode(m)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	// hello is the honest server_hello with one edit, and verify a
	// server_verify for it signed by signer, with the MAC an honest
	// server with that key share would send.
	hello := func(edit func(*kex.ServerHello)) []byte {
		m := *shm
		edit(&m)
		return enc(&m)
	}
	verify := func(sh []byte, signer ed25519.PrivateKey) []byte {
		sig := ed25519.Sign(signer, kex.SignedContent(fx.ch, sh))
		sks, err := kex.NewKeyShare(seeded(fuzzServerSeed))
		if err != nil {
			tb.Fatal(err)
		}
		cm, err := wire.DecodeAs[*kex.ClientHello](codec, fx.ch)
		if err != nil {
			tb.Fatal(err)
		}
		fin := bytes.Repeat([]byte{0xf1}, 32)
		if shared, err := sks.Shared(cm.KeyShare); err == nil {
			fin = kex.NewPinnedSchedule(shared, fx.ch, sh).ServerFinished(sig)
		}
		return enc(&kex.ServerVerify{Signature: sig, Finished: fin})
	}
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	mallory := identity(tb, "mallory")
	malloryHello := hello(func(m *kex.ServerHello) { m.Certificate = mallory.Certificate })
	lowOrder := hello(func(m *kex.ServerHello) { m.KeyShare = make([]byte, 32) })
	pair := func(sh, sv []byte) []any { return []any{sh, sv} }
	return map[string][]any{
		"honest-genuine-messages":                       pair(fx.sh, fx.sv),
		"caughtbyserver-space-inside-server-verify":     pair(fx.sh, respace(fx.sv)),
		"caughtbyserver-server-verify-keys-sorted":      pair(fx.sh, sortedKeys(fx.sv)),
		"badsignature-space-inside-server-hello":        pair(respace(fx.sh), fx.sv),
		"badsignature-server-hello-keys-sorted":         pair(sortedKeys(fx.sh), fx.sv),
		"badsignature-flipped-signature-bit":            pair(fx.sh, enc(&kex.ServerVerify{Signature: flip(svm.Signature, 7), Finished: svm.Finished})),
		"badsignature-replayed-from-another-connection": pair(replay.sh, replay.sv),
		"badsignature-signed-by-another-key":            pair(fx.sh, verify(fx.sh, mallory.Key)),
		"badfinished-flipped-finished-bit":              pair(fx.sh, enc(&kex.ServerVerify{Signature: svm.Signature, Finished: flip(svm.Finished, 31)})),
		"pinmismatch-attacker-certificate":              pair(malloryHello, verify(malloryHello, mallory.Key)),
		"missingidentity-certificate-stripped":          pair(hello(func(m *kex.ServerHello) { m.Certificate = nil }), fx.sv),
		"badcertificate-garbage-certificate":            pair(hello(func(m *kex.ServerHello) { m.Certificate = []byte("junk") }), fx.sv),
		"notoffered-chosen-unauth-ecdh":                 pair(hello(func(m *kex.ServerHello) { m.Chosen = kex.NameUnauthECDH }), fx.sv),
		"notoffered-chosen-static-rsa":                  pair(hello(func(m *kex.ServerHello) { m.Chosen = kex.NameStaticRSA }), fx.sv),
		"loworderpoint-zero-key-share-honestly-signed":  pair(lowOrder, verify(lowOrder, fx.bob.Key)),
		"malformed-space-before-server-hello":           pair(prependSpace(bytes.Clone(fx.sh)), fx.sv),
		"malformed-space-after-server-hello":            pair(appendSpace(bytes.Clone(fx.sh)), fx.sv),
		"malformed-empty-messages":                      pair([]byte{}, []byte{}),
		"malformed-not-json":                            pair([]byte("hello"), fx.sv),
		"unexpected-server-verify-first":                pair(fx.sv, fx.sh),
		"unknowntype-rsa-public-key":                    pair(enc(&kex.RSAPublicKey{SPKI: []byte{1}}), fx.sv),
		"unknownfield-signature-in-server-hello":        pair(append(bytes.Clone(fx.sh[:len(fx.sh)-1]), `,"signature":"AA=="}`...), fx.sv),
		"missingfield-no-key-share":                     pair([]byte(`{"type":"server_hello","nonce":"`+b64(shm.Nonce)+`"}`), fx.sv),
		"fieldlength-31-byte-nonce":                     pair(bytes.Replace(fx.sh, []byte(b64(shm.Nonce)), []byte(b64(shm.Nonce[:31])), 1), fx.sv),
		"invalidutf8-server-hello":                      pair([]byte("\xff"), fx.sv),
	}
}

// marshalSeed writes values in the go test fuzz v1 corpus format, as the
// go command does.
func marshalSeed(vals []any) []byte {
	b := []byte("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			b = fmt.Appendf(b, "[]byte(%q)\n", v)
		case string:
			b = fmt.Appendf(b, "string(%q)\n", v)
		default:
			panic(fmt.Sprintf("seed of type %T", v))
		}
	}
	return b
}

// parseSeed reads a corpus file of []byte and string values back.
func parseSeed(data []byte) ([][]byte, error) {
	s, ok := strings.CutPrefix(string(data), "go test fuzz v1\n")
	if !ok {
		return nil, errors.New("missing the go test fuzz v1 header")
	}
	var vals [][]byte
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		lit, ok := strings.CutPrefix(line, "[]byte(")
		if !ok {
			lit, ok = strings.CutPrefix(line, "string(")
		}
		if !ok || !strings.HasSuffix(lit, ")") {
			return nil, fmt.Errorf("not a []byte or string value: %.40q", line)
		}
		v, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		if err != nil {
			return nil, fmt.Errorf("%.40q: %v", line, err)
		}
		vals = append(vals, []byte(v))
	}
	return vals, nil
}

// fuzzerSaved matches the names the go command gives the inputs it saves.
var fuzzerSaved = regexp.MustCompile(`^[0-9a-f]{16}$`)

// TestKexFuzzCorpus checks that the committed seed files are exactly what
// the generator makes, with nothing missing or stale, and that each seed
// does what its name says. Run it with -update-corpus to rewrite them:
//
//	go test ./kex -run TestKexFuzzCorpus -update-corpus
func TestKexFuzzCorpus(t *testing.T) {
	seeds := seedCorpus(t)
	if *updateCorpus {
		writeCorpus(t, seeds)
	}
	e := newEndpoint(t, kex.NamePinnedECDH)
	fx := newPinnedFixture(t, fuzzClientSeed)
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("%v (run go test ./kex -run TestKexFuzzCorpus -update-corpus)", err)
		}
		for _, ent := range entries {
			if _, ok := files[ent.Name()]; !ok && !fuzzerSaved.MatchString(ent.Name()) {
				t.Errorf("%s/%s: not made by the generator (stale? run with -update-corpus)", target, ent.Name())
			}
		}
		seen := map[string]bool{}
		for name, vals := range files {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("%s/%s: %v (run with -update-corpus)", target, name, err)
				continue
			}
			if want := marshalSeed(vals); !bytes.Equal(data, want) {
				t.Errorf("%s/%s differs from the generator's (run with -update-corpus)", target, name)
				continue
			}
			in, err := parseSeed(data)
			if err != nil || len(in) != len(vals) {
				t.Errorf("%s/%s: %v", target, name, err)
				continue
			}
			class, _, _ := strings.Cut(name, "-")
			want, ok := seedClasses[target][class]
			if !ok {
				t.Errorf("%s/%s: no class %q", target, name, class)
				continue
			}
			seen[class] = true
			checkSeed(t, e, fx, target, name, class, want, in)
		}
		for class := range seedClasses[target] {
			if !seen[class] {
				t.Errorf("%s has no %q seed", target, class)
			}
		}
	}
}

// checkSeed runs one seed through what its target tests and checks that
// the outcome is the one its class names.
func checkSeed(t *testing.T, e *endpoint, fx *pinnedFixture, target, name, class string, want error, in [][]byte) {
	t.Helper()
	var got error
	switch target {
	case "FuzzParseRSAPublicKey":
		_, got = kex.ParseRSAPublicKey(in[0])
	case "FuzzParsePin":
		_, got = kex.ParsePin(string(in[0]))
	case "FuzzCertificatePin":
		_, got = kex.CertificatePin(in[0])
	case "FuzzPinnedClient":
		p := playPinnedClient(t, e, fx, in[0], in[1])
		checkPinnedClient(t, fx, in[0], in[1], p)
		got = p.err
		switch class {
		case "honest":
			if p.err != nil || !bytes.Equal(in[1], fx.sv) {
				t.Errorf("%s/%s: %v, want a completed honest handshake", target, name, p.err)
			}
			return
		case "caughtbyserver":
			if p.err != nil || bytes.Equal(in[1], fx.sv) {
				t.Errorf("%s/%s: %v, want a client that completes with altered server_verify bytes", target, name, p.err)
			}
			return
		}
	}
	if (want == nil) != (got == nil) || (want != nil && !errors.Is(got, want)) {
		t.Errorf("%s/%s: got %v, want %v", target, name, got, want)
	}
}

// writeCorpus replaces the generated seed files, leaving the ones the
// fuzzer saved.
func writeCorpus(t *testing.T, seeds map[string]map[string][]any) {
	t.Helper()
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, ent := range entries {
			if !fuzzerSaved.MatchString(ent.Name()) {
				if err := os.Remove(filepath.Join(dir, ent.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, vals := range files {
			if err := os.WriteFile(filepath.Join(dir, name), marshalSeed(vals), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
