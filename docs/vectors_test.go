package docs_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// vectorSet holds the "name = value" lines of one subsection of protocol.md's
// "Test vectors" and remembers which ones a test checked, so that a vector
// no test checks is an error too.
type vectorSet struct {
	t    *testing.T
	vals map[string]string
	used map[string]bool
}

var vectorLine = regexp.MustCompile(`(?m)^([a-z0-9_]+) = (.+)$`)

func vectors(t *testing.T, heading string) *vectorSet {
	t.Helper()
	doc := readDoc(t, "protocol.md")
	s := section(t, section(t, doc, "## Test vectors"), heading)
	v := &vectorSet{t: t, vals: map[string]string{}, used: map[string]bool{}}
	for _, m := range vectorLine.FindAllStringSubmatch(s, -1) {
		if _, dup := v.vals[m[1]]; dup {
			t.Fatalf("vector %s appears twice", m[1])
		}
		v.vals[m[1]] = m[2]
	}
	if len(v.vals) == 0 {
		t.Fatalf("no vectors under %q", heading)
	}
	t.Cleanup(func() {
		if t.Failed() {
			return // the first failure says more
		}
		for k := range v.vals {
			if !v.used[k] {
				t.Errorf("vector %s is in protocol.md but no test checks it", k)
			}
		}
	})
	return v
}

func (v *vectorSet) str(name string) string {
	v.t.Helper()
	s, ok := v.vals[name]
	if !ok {
		v.t.Fatalf("protocol.md has no vector %s", name)
	}
	v.used[name] = true
	return s
}

func (v *vectorSet) hex(name string) []byte {
	v.t.Helper()
	b, err := hex.DecodeString(v.str(name))
	if err != nil {
		v.t.Fatalf("vector %s: %v", name, err)
	}
	return b
}

// check compares the doc's value of name with what each implementation
// computed. Values are hex unless the name ends in _json or _b64.
func (v *vectorSet) check(name string, got ...[]byte) {
	v.t.Helper()
	want := v.str(name)
	for i, g := range got {
		s := hex.EncodeToString(g)
		if strings.HasSuffix(name, "_json") {
			s = string(g)
		} else if strings.HasSuffix(name, "_b64") {
			s = b64.EncodeToString(g)
		}
		if s != want {
			v.t.Errorf("%s (implementation %d):\n got %s\nwant %s", name, i, s, want)
		}
	}
}

func x25519(t *testing.T, priv []byte) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func encode(t *testing.T, m wire.Message) []byte {
	t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectorsPinnedECDH(t *testing.T) {
	t.Parallel()
	v := vectors(t, "### pinned-ecdh")

	cpriv := x25519(t, v.hex("client_x25519_private"))
	spriv := x25519(t, v.hex("server_x25519_private"))
	v.check("client_key_share", cpriv.PublicKey().Bytes())
	v.check("server_key_share", spriv.PublicKey().Bytes())
	cks := &kex.KeyShare{Private: cpriv, Nonce: v.hex("client_nonce")}
	sks := &kex.KeyShare{Private: spriv, Nonce: v.hex("server_nonce")}

	// The certificate is an input; check that it is what the page says.
	edKey := ed25519.NewKeyFromSeed(v.hex("ed25519_seed"))
	der, err := b64.DecodeString(v.str("certificate_b64"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(edKey.Public()) {
		t.Fatal("the certificate's key is not the seed's")
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Fatalf("the certificate is not self-signed: %v", err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	labPin, err := kex.CertificatePin(der)
	if err != nil {
		t.Fatal(err)
	}
	for _, pin := range []string{"sha256/" + b64.EncodeToString(sum[:]), labPin} {
		if pin != v.str("pin") {
			t.Errorf("pin %s, want %s", pin, v.str("pin"))
		}
	}

	ch := encode(t, &wire.ClientHello{Nonce: cks.Nonce, KeyShare: cks.Public(), Offered: []string{kex.NamePinnedECDH}})
	sh := encode(t, &wire.ServerHello{Nonce: sks.Nonce, KeyShare: sks.Public(), Chosen: kex.NamePinnedECDH, Certificate: der})
	v.check("client_hello_json", ch)
	v.check("server_hello_json", sh)

	shared, err := cpriv.ECDH(spriv.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	labShared, err := cks.Shared(sks.Public())
	if err != nil {
		t.Fatal(err)
	}
	labShared2, err := sks.Shared(cks.Public())
	if err != nil {
		t.Fatal(err)
	}
	v.check("shared_secret", shared, labShared, labShared2)

	prk := extract(shared)
	v.check("prk", prk)
	th1 := hash(ch, sh)
	v.check("th1", th1)
	v.check("signed_content", signedContent(ch, sh), kex.SignedContent(ch, sh))
	sig := ed25519.Sign(edKey, signedContent(ch, sh))
	v.check("signature", sig)

	sched := kex.NewPinnedSchedule(shared, ch, sh)
	sfk := expandLabel(prk, "s finished", th1, 32)
	v.check("server_finished_key", sfk)
	v.check("hash_ch_sh_signature", hash(ch, sh, sig))
	v.check("server_finished", mac(sfk, hash(ch, sh, sig)), sched.ServerFinished(sig))
	sv := encode(t, &wire.ServerVerify{Signature: sig, Finished: sched.ServerFinished(sig)})
	v.check("server_verify_json", sv)

	cfk := expandLabel(prk, "c finished", th1, 32)
	v.check("client_finished_key", cfk)
	v.check("hash_ch_sh_sv", hash(ch, sh, sv))
	v.check("client_finished", mac(cfk, hash(ch, sh, sv)), sched.ClientFinished(sv))
	cf := encode(t, &wire.ClientFinished{MAC: sched.ClientFinished(sv)})
	v.check("client_finished_json", cf)

	th2 := hash(ch, sh, sv, cf)
	v.check("th2", th2)
	v.check("info_c2s_key", labelInfo("c2s key", th2, 32))
	c2s, s2c := trafficKeys(prk, th2)
	lab := sched.Traffic(sv, cf)
	v.check("c2s_key", c2s.key, lab.ClientToServer.Key[:])
	v.check("c2s_iv", c2s.iv, lab.ClientToServer.IV[:])
	v.check("s2c_key", s2c.key, lab.ServerToClient.Key[:])
	v.check("s2c_iv", s2c.iv, lab.ServerToClient.IV[:])

	checkRecords(t, v, "c2s", c2s, lab.ClientToServer, 2)
	checkRecords(t, v, "s2c", s2c, lab.ServerToClient, 1)
}

// checkRecords checks the first n records of one direction: nonce, additional
// data and the whole frame, from this file's implementation and from
// channel.Sealer and channel.Opener.
func checkRecords(t *testing.T, v *vectorSet, dir string, k dirKeys, labKeys channel.Keys, n int) {
	t.Helper()
	sealer, err := channel.NewSealer(labKeys, wire.Direction(dir))
	if err != nil {
		t.Fatal(err)
	}
	opener, err := channel.NewOpener(labKeys, wire.Direction(dir))
	if err != nil {
		t.Fatal(err)
	}
	for seq := range uint64(n) {
		name := dir + "_" + strconv.FormatUint(seq, 10) + "_"
		pt := v.hex(name + "plaintext")
		v.check(name+"nonce", recordNonce(k.iv, seq))
		v.check(name+"ad", recordAD(dir, seq))
		d, err := sealer.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		v.check(name+"json", dataJSON(seq, seal(k, dir, seq, pt)), encode(t, d))
		got, err := opener.Open(d)
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("channel.Opener.Open(%s) = %q, %v", name, got, err)
		}
	}
}

func TestVectorsUnauthECDH(t *testing.T) {
	t.Parallel()
	pv := vectors(t, "### pinned-ecdh") // the inputs are shared
	pv.used = map[string]bool{}
	for k := range pv.vals {
		pv.used[k] = true // TestVectorsPinnedECDH checks them
	}
	v := vectors(t, "### unauth-ecdh")

	cpriv := x25519(t, pv.hex("client_x25519_private"))
	spriv := x25519(t, pv.hex("server_x25519_private"))
	ch := encode(t, &wire.ClientHello{Nonce: pv.hex("client_nonce"), KeyShare: cpriv.PublicKey().Bytes()})
	sh := encode(t, &wire.ServerHello{Nonce: pv.hex("server_nonce"), KeyShare: spriv.PublicKey().Bytes()})
	v.check("unauth_client_hello_json", ch)
	v.check("unauth_server_hello_json", sh)
	shared, err := cpriv.ECDH(spriv.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	c2s, s2c := trafficKeys(extract(shared), hash(ch, sh))
	lab := kex.UnauthSecrets(shared, ch, sh)
	v.check("unauth_c2s_key", c2s.key, lab.ClientToServer.Key[:])
	v.check("unauth_c2s_iv", c2s.iv, lab.ClientToServer.IV[:])
	v.check("unauth_s2c_key", s2c.key, lab.ServerToClient.Key[:])
	v.check("unauth_s2c_iv", s2c.iv, lab.ServerToClient.IV[:])
}

func TestVectorsPlaintextRSA(t *testing.T) {
	t.Parallel()
	v := vectors(t, "### plaintext-rsa")
	secret := v.hex("rsa_secret")
	prk := extract(secret)
	v.check("rsa_info_c2s_key", labelInfo("c2s key", nil, 32))
	c2s, s2c := trafficKeys(prk, nil)
	lab := kex.RSASecrets(secret)
	v.check("rsa_c2s_key", c2s.key, lab.ClientToServer.Key[:])
	v.check("rsa_c2s_iv", c2s.iv, lab.ClientToServer.IV[:])
	v.check("rsa_s2c_key", s2c.key, lab.ServerToClient.Key[:])
	v.check("rsa_s2c_iv", s2c.iv, lab.ServerToClient.IV[:])
	sealer, err := channel.NewSealer(lab.ClientToServer, wire.ClientToServer)
	if err != nil {
		t.Fatal(err)
	}
	d, err := sealer.Seal([]byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	v.check("rsa_c2s_0_json", dataJSON(0, seal(c2s, "c2s", 0, []byte("hi"))), encode(t, d))
}

// TestWorkedExample checks that the messages of the worked example are the
// test vectors' messages, with the sizes the page gives.
func TestWorkedExample(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "protocol.md")
	ex := section(t, doc, "## Worked example: a pinned-ecdh handshake")
	v := vectors(t, "### pinned-ecdh")
	for k := range v.vals {
		v.used[k] = true // TestVectorsPinnedECDH checks them
	}
	steps := regexp.MustCompile("(?s)`([a-z_]+)` \\(([0-9]+) bytes\\).*?```json\n\\s*(\\{.*?\\})\n").FindAllStringSubmatch(ex, -1)
	want := []string{"client_hello_json", "server_hello_json", "server_verify_json", "client_finished_json", "c2s_0_json", "s2c_0_json"}
	if len(steps) != len(want) {
		t.Fatalf("found %d messages in the worked example, want %d", len(steps), len(want))
	}
	for i, s := range steps {
		if s[3] != v.str(want[i]) {
			t.Errorf("message %d (%s) differs from vector %s", i+1, s[1], want[i])
		}
		if s[2] != strconv.Itoa(len(s[3])) {
			t.Errorf("message %d (%s) is %d bytes, the page says %s", i+1, s[1], len(s[3]), s[2])
		}
		if typ := string(wire.PeekType([]byte(s[3]))); typ != s[1] {
			t.Errorf("message %d has type %q, the page says %q", i+1, typ, s[1])
		}
	}
}
