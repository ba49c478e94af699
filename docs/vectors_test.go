package docs_test

// The test vectors of protocol.md. docVectors derives every value from
// fixed inputs with the implementation written from the page
// (docimpl_test.go); labVectors derives what it can with the lab's own
// kex, channel and wire; TestVectors holds the page to both.
//
// To print the block protocol.md holds, after a change to the protocol:
//
//	MITMLAB_PRINT_VECTORS=1 go test ./docs -run TestVectors -v

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// The fixed inputs. The X25519 keys are RFC 7748 §6.1's, the Ed25519 seed
// RFC 8032 §7.1 TEST 1's.
var (
	inClientPriv  = mustHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	inServerPriv  = mustHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
	inClientNonce = seqBytes(0x00, 32)
	inServerNonce = seqBytes(0x20, 32)
	inEdSeed      = mustHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	inCertTime    = time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC) // kex.GenerateIdentity's "now"
	inRSASecret   = seqBytes(0x00, 32)
	inMessage     = []byte("hi Bob, it's Alice")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func seqBytes(from byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = from + byte(i)
	}
	return b
}

// vector is one "name = value" line of protocol.md.
type vector struct {
	section string // the ### heading under "## Test vectors"
	name    string
	value   []byte
}

// text is how the page writes a value: hex, unless the name ends in _json
// (a whole message), _b64 (standard base64) or _pin (a pin).
func (v vector) text() string {
	switch {
	case strings.HasSuffix(v.name, "_json"), strings.HasSuffix(v.name, "_pin"):
		return string(v.value)
	case strings.HasSuffix(v.name, "_b64"):
		return b64.EncodeToString(v.value)
	}
	return hex.EncodeToString(v.value)
}

// docCertificate is the certificate input: the lab makes it with
// kex.GenerateIdentity from the seed, a zero serial seed and inCertTime,
// and the page prints it; the doc implementation takes it as given.
func docCertificate(t *testing.T) []byte {
	t.Helper()
	v := pageVectors(t)
	for _, pv := range v {
		if pv.name == "certificate_b64" {
			b, err := b64.DecodeString(string(pv.value))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	// Not on the page yet: make it the lab's way, to print it.
	return labIdentity(t).Certificate
}

func labIdentity(t *testing.T) *kex.Identity {
	t.Helper()
	id, err := kex.GenerateIdentity(bytes.NewReader(slices.Concat(inEdSeed, make([]byte, 16))),
		func() time.Time { return inCertTime }, "bob")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func staticRSAPublicKey(t *testing.T) *rsa.PublicKey {
	t.Helper()
	b, err := os.ReadFile("testdata/static-rsa-server.pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PublicKey)
}

// docVectors derives every vector with the doc implementation.
func docVectors(t *testing.T) []vector {
	var out []vector
	sec := ""
	add := func(name string, value []byte) { out = append(out, vector{sec, name, value}) }

	sec = "### The framed transcript"
	add("demo_m1", []byte("ab"))
	add("demo_m2", []byte("c"))
	add("demo_framed_input", []byte("\x00\x00\x00\x02ab\x00\x00\x00\x01c"))
	add("demo_transcript_hash", transcriptHash([]byte("ab"), []byte("c")))
	add("demo_moved_transcript_hash", transcriptHash([]byte("a"), []byte("bc")))
	add("demo_unframed_hash", sha256Sum([]byte("abc")))

	sec = "### pinned-ecdh"
	cpriv, spriv := x25519Key(t, inClientPriv), x25519Key(t, inServerPriv)
	add("client_x25519_private", inClientPriv)
	add("client_key_share", cpriv.PublicKey().Bytes())
	add("client_nonce", inClientNonce)
	add("server_x25519_private", inServerPriv)
	add("server_key_share", spriv.PublicKey().Bytes())
	add("server_nonce", inServerNonce)
	edKey := ed25519.NewKeyFromSeed(inEdSeed)
	add("ed25519_seed", inEdSeed)
	add("ed25519_public", edKey.Public().(ed25519.PublicKey))
	certDER := docCertificate(t)
	add("certificate_b64", certDER)
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	add("server_pin", []byte(spkiPin(cert.RawSubjectPublicKeyInfo)))
	ch := encode("client_hello", bin("nonce", inClientNonce), bin("key_share", cpriv.PublicKey().Bytes()), list("offered", "pinned-ecdh"))
	sh := encode("server_hello", bin("nonce", inServerNonce), bin("key_share", spriv.PublicKey().Bytes()),
		str("chosen", "pinned-ecdh"), bin("certificate", certDER))
	add("client_hello_json", ch)
	add("client_hello_length_prefix", binaryLen(ch))
	add("server_hello_json", sh)
	add("server_hello_length_prefix", binaryLen(sh))
	shared, err := x25519(cpriv, spriv.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	add("shared_secret", shared)
	prk, th1 := extract(shared), transcriptHash(ch, sh)
	add("prk", prk)
	add("th1", th1)
	content := signedContent(ch, sh)
	add("signed_content", content)
	sig := ed25519.Sign(edKey, content)
	add("signature", sig)
	sfk, cfk := finishedKeys(prk, th1)
	add("info_s_finished", labelInfo("s finished", th1, 32))
	add("server_finished_key", sfk)
	add("hash_ch_sh_signature", transcriptHash(ch, sh, sig))
	sfin := hmacSHA256(sfk, transcriptHash(ch, sh, sig))
	add("server_finished", sfin)
	sv := encode("server_verify", bin("signature", sig), bin("finished", sfin))
	add("server_verify_json", sv)
	add("info_c_finished", labelInfo("c finished", th1, 32))
	add("client_finished_key", cfk)
	add("hash_ch_sh_sv", transcriptHash(ch, sh, sv))
	cfin := hmacSHA256(cfk, transcriptHash(ch, sh, sv))
	add("client_finished", cfin)
	cf := encode("client_finished", bin("mac", cfin))
	add("client_finished_json", cf)
	th2 := transcriptHash(ch, sh, sv, cf)
	add("th2", th2)
	add("info_c2s_key", labelInfo("c2s key", th2, 32))
	keys := deriveTraffic(prk, th2)
	addKeys := func(prefix string, k traffic) {
		add(prefix+"c2s_key", k.c2s.key)
		add(prefix+"c2s_iv", k.c2s.iv)
		add(prefix+"s2c_key", k.s2c.key)
		add(prefix+"s2c_iv", k.s2c.iv)
	}
	addKeys("", keys)
	reply := append([]byte("got it: "), inMessage...)
	for _, r := range []struct {
		dir, typ string
		seq      uint64
		pt       []byte
	}{{"c2s", "data", 0, inMessage}, {"s2c", "data", 0, reply}, {"c2s", "end", 1, nil}, {"s2c", "end", 1, nil}} {
		p := fmt.Sprintf("%s_%d_", r.dir, r.seq)
		if r.typ == "end" {
			p += "end_"
		} else {
			add(p+"plaintext", r.pt)
		}
		add(p+"nonce", recordNonce(keys.keys(r.dir).iv, r.seq))
		add(p+"ad", recordAD(r.typ, r.dir, r.seq))
		add(p+"json", recordJSON(r.typ, r.seq, sealRecord(keys, r.dir, r.typ, r.seq, r.pt)))
	}

	sec = "### unauth-ecdh"
	uch := encode("client_hello", bin("nonce", inClientNonce), bin("key_share", cpriv.PublicKey().Bytes()))
	ush := encode("server_hello", bin("nonce", inServerNonce), bin("key_share", spriv.PublicKey().Bytes()))
	add("unauth_client_hello_json", uch)
	add("unauth_server_hello_json", ush)
	add("unauth_th", transcriptHash(uch, ush))
	addKeys("unauth_", deriveTraffic(prk, transcriptHash(uch, ush)))

	sec = "### plaintext-rsa and static-rsa"
	rprk := extract(inRSASecret)
	add("rsa_secret", inRSASecret)
	add("rsa_prk", rprk)
	add("rsa_info_c2s_key", labelInfo("c2s key", nil, 32))
	rkeys := deriveTraffic(rprk, nil)
	addKeys("rsa_", rkeys)
	add("rsa_c2s_0_json", recordJSON("data", 0, sealRecord(rkeys, "c2s", "data", 0, []byte("hi"))))
	spki, err := x509.MarshalPKIXPublicKey(staticRSAPublicKey(t))
	if err != nil {
		t.Fatal(err)
	}
	add("static_rsa_spki_b64", spki)
	add("static_rsa_pin", []byte(spkiPin(spki)))
	add("static_rsa_public_key_json", encode("rsa_public_key", bin("spki", spki)))

	sec = "### plain"
	null := traffic{suite: "null"}
	add("plain_c2s_0_json", recordJSON("data", 0, sealRecord(null, "c2s", "data", 0, []byte("hi"))))
	add("plain_c2s_1_end_json", recordJSON("end", 1, sealRecord(null, "c2s", "end", 1, nil)))
	return out
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func binaryLen(b []byte) []byte {
	return []byte{byte(len(b) >> 24), byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))}
}

func x25519Key(t *testing.T, priv []byte) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// labVectors derives, with the lab's own packages, every vector the lab
// has a function for. It runs pinned-ecdh's and unauth-ecdh's real halves
// against each other, with the fixed inputs as their randomness, and
// takes the messages they sent.
func labVectors(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	add := func(name string, value []byte) { out[name] = value }
	enc := func(m wire.Message) []byte {
		b, err := wire.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	add("demo_transcript_hash", kex.TranscriptHash([]byte("ab"), []byte("c")))
	add("demo_moved_transcript_hash", kex.TranscriptHash([]byte("a"), []byte("bc")))

	cks, err := kex.NewKeyShare(bytes.NewReader(slices.Concat(inClientPriv, inClientNonce)))
	if err != nil {
		t.Fatal(err)
	}
	sks, err := kex.NewKeyShare(bytes.NewReader(slices.Concat(inServerPriv, inServerNonce)))
	if err != nil {
		t.Fatal(err)
	}
	add("client_key_share", cks.Public())
	add("client_nonce", cks.Nonce)
	add("server_key_share", sks.Public())
	add("server_nonce", sks.Nonce)
	id := labIdentity(t)
	add("ed25519_public", id.Key.Public().(ed25519.PublicKey))
	add("certificate_b64", id.Certificate)
	add("server_pin", []byte(id.Pin()))

	// The real halves, over a real WebSocket.
	msgs, cs, ss := runHalves(t, kex.PinnedECDH(),
		&kex.ClientConfig{Pin: id.Pin(), Rand: bytes.NewReader(slices.Concat(inClientPriv, inClientNonce))},
		&kex.ServerConfig{Identity: id, Rand: bytes.NewReader(slices.Concat(inServerPriv, inServerNonce))})
	if len(msgs) != 4 {
		t.Fatalf("pinned-ecdh sent %d messages, want 4", len(msgs))
	}
	ch, sh, sv, cf := msgs[0], msgs[1], msgs[2], msgs[3]
	add("client_hello_json", ch)
	add("server_hello_json", sh)
	add("server_verify_json", sv)
	add("client_finished_json", cf)
	if want := enc(&kex.ClientHello{Nonce: cks.Nonce, KeyShare: cks.Public(), Offered: []string{"pinned-ecdh"}}); !bytes.Equal(ch, want) {
		t.Errorf("the client half sent %s; wire.Encode gives %s", ch, want)
	}
	shared, err := cks.Shared(sks.Public())
	if err != nil {
		t.Fatal(err)
	}
	add("shared_secret", shared)
	add("prk", kex.Extract(shared))
	add("th1", kex.TranscriptHash(ch, sh))
	add("signed_content", kex.SignedContent(ch, sh))
	sig := ed25519.Sign(id.Key, kex.SignedContent(ch, sh))
	add("signature", sig)
	sched := kex.NewPinnedSchedule(shared, ch, sh)
	add("hash_ch_sh_signature", kex.TranscriptHash(ch, sh, sig))
	add("server_finished", sched.ServerFinished(sig))
	add("hash_ch_sh_sv", kex.TranscriptHash(ch, sh, sv))
	add("client_finished", sched.ClientFinished(sv))
	add("th2", kex.TranscriptHash(ch, sh, sv, cf))
	secrets := sched.Traffic(sv, cf)
	for _, s := range []*channel.Secrets{cs, ss, kex.TrafficSecrets(kex.Extract(shared), kex.TranscriptHash(ch, sh, sv, cf))} {
		if s.ClientToServer != secrets.ClientToServer || s.ServerToClient != secrets.ServerToClient {
			t.Error("the halves' traffic keys differ from the schedule's")
		}
	}
	addSecrets := func(prefix string, s *channel.Secrets) {
		add(prefix+"c2s_key", s.ClientToServer.Key[:])
		add(prefix+"c2s_iv", s.ClientToServer.IV[:])
		add(prefix+"s2c_key", s.ServerToClient.Key[:])
		add(prefix+"s2c_iv", s.ServerToClient.IV[:])
	}
	addSecrets("", secrets)
	records(t, secrets, "", add, inMessage)

	msgs, cs, _ = runHalves(t, kex.UnauthECDH(),
		&kex.ClientConfig{Rand: bytes.NewReader(slices.Concat(inClientPriv, inClientNonce))},
		&kex.ServerConfig{Rand: bytes.NewReader(slices.Concat(inServerPriv, inServerNonce))})
	add("unauth_client_hello_json", msgs[0])
	add("unauth_server_hello_json", msgs[1])
	add("unauth_th", kex.TranscriptHash(msgs[0], msgs[1]))
	if u := kex.UnauthSecrets(shared, msgs[0], msgs[1]); *u != *cs {
		t.Error("unauth-ecdh's client half and kex.UnauthSecrets disagree")
	}
	addSecrets("unauth_", cs)

	add("rsa_prk", kex.Extract(inRSASecret))
	rs := kex.RSASecrets(inRSASecret)
	addSecrets("rsa_", rs)
	seal, err := channel.NewSealer(rs, wire.ClientToServer)
	if err != nil {
		t.Fatal(err)
	}
	d, err := seal.Seal([]byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	add("rsa_c2s_0_json", enc(d))
	pub := staticRSAPublicKey(t)
	spki, err := kex.MarshalRSAPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	add("static_rsa_spki_b64", spki)
	pin, err := kex.RSAKeyPin(pub)
	if err != nil {
		t.Fatal(err)
	}
	add("static_rsa_pin", []byte(pin))
	add("static_rsa_public_key_json", enc(&kex.RSAPublicKey{SPKI: spki}))

	null := &channel.Secrets{Suite: channel.Null}
	nseal, err := channel.NewSealer(null, wire.ClientToServer)
	if err != nil {
		t.Fatal(err)
	}
	nd, err := nseal.Seal([]byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	ne, err := nseal.SealEnd()
	if err != nil {
		t.Fatal(err)
	}
	add("plain_c2s_0_json", enc(nd))
	add("plain_c2s_1_end_json", enc(ne))
	return out
}

// records seals the worked example's records with the lab's channel.
func records(t *testing.T, s *channel.Secrets, prefix string, add func(string, []byte), msg []byte) {
	t.Helper()
	for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
		seal, err := channel.NewSealer(s, dir)
		if err != nil {
			t.Fatal(err)
		}
		pt := msg
		if dir == wire.ServerToClient {
			pt = append([]byte("got it: "), msg...)
		}
		d, err := seal.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		e, err := seal.SealEnd()
		if err != nil {
			t.Fatal(err)
		}
		p := prefix + string(dir)
		add(p+"_0_ad", channel.AdditionalData(wire.TypeData, dir, 0))
		add(p+"_1_end_ad", channel.AdditionalData(wire.TypeEnd, dir, 1))
		for _, m := range []wire.Message{d, e} {
			b, err := wire.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if m == wire.Message(d) {
				add(p+"_0_json", b)
			} else {
				add(p+"_1_end_json", b)
			}
		}
		// And the opener takes them back.
		open, err := channel.NewOpener(s, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := open.Open(d); err != nil || !bytes.Equal(got, pt) {
			t.Errorf("%s record 0 does not open: %v", dir, err)
		}
		if err := open.OpenEnd(e); err != nil {
			t.Errorf("%s end record does not open: %v", dir, err)
		}
	}
}

// runHalves runs a scheme's client and server halves against each other
// over a real WebSocket, and returns the handshake messages in the order
// they were sent, and each half's secrets.
func runHalves(t *testing.T, scheme *kex.Scheme, ccfg *kex.ClientConfig, scfg *kex.ServerConfig) ([][]byte, *channel.Secrets, *channel.Secrets) {
	t.Helper()
	ctx := testCtx(t)
	type result struct {
		s   *channel.Secrets
		err error
	}
	server := make(chan result, 1)
	var sent [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol(scheme.Name)}})
		if err != nil {
			server <- result{nil, err}
			return
		}
		defer ws.CloseNow()
		conn := wire.NewConn(ws, scheme.Codec())
		s, err := scheme.Server(ctx, conn, scfg)
		server <- result{s, err}
		conn.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol(scheme.Name)}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	conn := wire.NewConn(ws, scheme.Codec())
	conn.SetTap(func(out bool, msg []byte) { sent = append(sent, bytes.Clone(msg)) })
	cs, err := scheme.Client(ctx, conn, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	r := <-server
	if r.err != nil {
		t.Fatal(r.err)
	}
	conn.Close(websocket.StatusNormalClosure, "")
	return sent, cs, r.s
}

var vectorLine = regexp.MustCompile(`(?m)^([a-z0-9_]+) = (.*)$`)

// pageVectors reads every vector of protocol.md's "Test vectors".
func pageVectors(t *testing.T) []vector {
	t.Helper()
	all := section(t, readDoc(t, "protocol.md"), "## Test vectors")
	var out []vector
	for _, part := range strings.Split(all, "\n### ")[1:] {
		heading := "### " + part[:strings.IndexByte(part, '\n')]
		for _, m := range vectorLine.FindAllStringSubmatch(part, -1) {
			out = append(out, vector{heading, m[1], []byte(m[2])})
		}
	}
	return out
}

// TestVectors holds every vector on the page to the doc implementation
// and, where the lab has a function for it, to the lab.
func TestVectors(t *testing.T) {
	t.Parallel()
	doc := docVectors(t)
	if os.Getenv("MITMLAB_PRINT_VECTORS") != "" {
		sec := ""
		for _, v := range doc {
			if v.section != sec {
				sec = v.section
				t.Logf("\n%s\n", sec)
			}
			t.Logf("%s = %s", v.name, v.text())
		}
	}
	lab := labVectors(t)
	page := map[string]vector{}
	for _, v := range pageVectors(t) {
		if _, dup := page[v.name]; dup {
			t.Errorf("vector %s appears twice on the page", v.name)
		}
		page[v.name] = v
	}
	checkedByLab := 0
	for _, v := range doc {
		if l, ok := lab[v.name]; ok {
			checkedByLab++
			if lv := (vector{v.section, v.name, l}); lv.text() != v.text() {
				t.Errorf("%s: the lab computes\n%s\nthe doc implementation\n%s", v.name, lv.text(), v.text())
			}
			delete(lab, v.name)
		}
		p, ok := page[v.name]
		switch {
		case !ok:
			t.Errorf("protocol.md has no vector %s (%s)", v.name, v.section)
		case p.section != v.section:
			t.Errorf("vector %s is under %q, want %q", v.name, p.section, v.section)
		case string(p.value) != v.text():
			t.Errorf("%s: protocol.md says\n%s\nthe doc implementation computes\n%s", v.name, p.value, v.text())
		}
		delete(page, v.name)
	}
	for name := range page {
		t.Errorf("protocol.md has a vector %s that no test checks", name)
	}
	for name := range lab {
		t.Errorf("the lab computes a vector %s that the doc implementation does not", name)
	}
	// The sizes the message tables give for an RSA-2048 key.
	msgs := readDoc(t, "protocol.md")
	for _, v := range doc {
		switch v.name {
		case "static_rsa_spki_b64":
			if len(v.value) != 294 || !strings.Contains(msgs, "SPKI with exponent 65537 is 294 bytes") {
				t.Errorf("an RSA-2048 SPKI is %d bytes; protocol.md says 294", len(v.value))
			}
		case "static_rsa_public_key_json":
			if len(v.value) != 427 || !strings.Contains(msgs, "the message is 427 bytes") {
				t.Errorf("an RSA-2048 rsa_public_key is %d bytes; protocol.md says 427", len(v.value))
			}
		}
	}
	if checkedByLab < 40 {
		t.Errorf("only %d vectors checked against the lab", checkedByLab)
	}
}

// TestWorkedExample checks the worked example: every message it shows is
// a vector, byte for byte, and every size it gives is that message's.
func TestWorkedExample(t *testing.T) {
	t.Parallel()
	ex := section(t, readDoc(t, "protocol.md"), "## Worked example: a pinned-ecdh conversation")
	values := map[string]string{}
	for _, v := range pageVectors(t) {
		values[string(v.value)] = v.name
	}
	step := regexp.MustCompile("(?ms)^[0-9]+\\. [^\n]*?`([a-z_]+)`, ([0-9,]+) bytes.*?\n\n +```json\n +([^\n]+)\n +```")
	steps := step.FindAllStringSubmatch(ex, -1)
	if len(steps) != 8 {
		t.Fatalf("found %d message steps in the worked example, want 8", len(steps))
	}
	for _, s := range steps {
		typ, size, msg := s[1], strings.ReplaceAll(s[2], ",", ""), s[3]
		name, ok := values[msg]
		if !ok {
			t.Errorf("the worked example's %s is no vector: %s", typ, msg)
			continue
		}
		if wire.PeekType([]byte(msg)) != wire.Type(typ) {
			t.Errorf("step says %s, the message is %s", typ, wire.PeekType([]byte(msg)))
		}
		if n, _ := strconv.Atoi(size); n != len(msg) {
			t.Errorf("%s (%s): the page says %s bytes, it is %d", typ, name, size, len(msg))
		}
	}
}
