package kex_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/kex"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed files under testdata/fuzz")

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
// starts "sha256/", is 32 bytes, and is the same hash its canonical
// spelling gives.
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
		if err != nil || string(canon) != string(sum) {
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

// The seed files are named for what the target must do with them:
// "valid-…" is accepted, "<sentinel>-…" is refused with that sentinel.
var seedOutcomes = map[string]map[string]error{
	"FuzzParseRSAPublicKey": {"valid": nil, "keysize": kex.ErrKeySize, "badkey": kex.ErrBadKey},
	"FuzzParsePin":          {"valid": nil, "badpin": kex.ErrBadPin},
	"FuzzCertificatePin":    {"valid": nil, "badcert": kex.ErrBadCertificate},
}

func writeSeeds(t *testing.T) {
	id := newIdentity(t, "bob")
	rsa2048 := testSPKI(t, "2048")
	seeds := map[string]map[string]any{
		"FuzzParseRSAPublicKey": {
			"valid-rsa2048":           rsa2048,
			"keysize-rsa1024":         testSPKI(t, "1024"),
			"keysize-rsa4096":         testSPKI(t, "4096"),
			"badkey-ed25519":          ed25519SPKI(t),
			"badkey-p256":             p256SPKI(t),
			"badkey-truncated":        rsa2048[:100],
			"badkey-garbage":          []byte("not DER"),
			"badkey-empty":            []byte{},
			"badkey-trailing-zero":    append(append([]byte{}, rsa2048...), 0),
			"badkey-pkcs1-not-spki":   x509.MarshalPKCS1PublicKey(&rsaKey(t).PublicKey),
			"badkey-ed25519-cert-der": id.Certificate,
		},
		"FuzzParsePin": {
			"valid-identity":      id.Pin(),
			"valid-all-zero-hash": "sha256/" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
			"badpin-empty":        "",
			"badpin-prefix-only":  "sha256/",
			"badpin-no-prefix":    strings.TrimPrefix(id.Pin(), "sha256/"),
			"badpin-sha1":         "sha1/" + base64.StdEncoding.EncodeToString(make([]byte, 20)),
			"badpin-31-bytes":     "sha256/" + base64.StdEncoding.EncodeToString(make([]byte, 31)),
			"badpin-unpadded":     "sha256/" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)),
			"badpin-url-safe":     "sha256/" + base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 32))),
		},
		"FuzzCertificatePin": {
			"valid-ed25519-identity": id.Certificate,
			"valid-p256":             selfSignedP256(t),
			"badcert-truncated":      id.Certificate[:len(id.Certificate)/2],
			"badcert-garbage":        []byte("-----BEGIN CERTIFICATE-----"),
			"badcert-empty":          []byte{},
			"badcert-spki-not-cert":  rsa2048,
		},
	}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, v := range files {
			var line string
			switch v := v.(type) {
			case []byte:
				line = "[]byte(" + strconv.Quote(string(v)) + ")"
			case string:
				line = "string(" + strconv.Quote(v) + ")"
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+line+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// readSeed reads a seed file holding one []byte or string value.
func readSeed(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, ok := strings.CutPrefix(string(data), "go test fuzz v1\n")
	if !ok {
		return nil, errors.New("missing the go test fuzz v1 header")
	}
	s = strings.TrimSpace(s)
	for _, typ := range []string{"[]byte(", "string("} {
		if lit, ok := strings.CutPrefix(s, typ); ok && strings.HasSuffix(lit, ")") {
			v, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
			return []byte(v), err
		}
	}
	return nil, fmt.Errorf("not a single []byte or string value: %.40q", s)
}

// TestKexFuzzCorpus checks that every seed file does what its name says,
// and that each target has seeds on both sides of its check. Run with
// -update-corpus to rewrite them.
func TestKexFuzzCorpus(t *testing.T) {
	if *updateCorpus {
		writeSeeds(t)
	}
	for target, outcomes := range seedOutcomes {
		dir := filepath.Join("testdata", "fuzz", target)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("%v (run go test ./kex -run TestKexFuzzCorpus -args -update-corpus)", err)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			in, err := readSeed(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Errorf("%s/%s: %v", target, e.Name(), err)
				continue
			}
			class, _, _ := strings.Cut(e.Name(), "-")
			want, ok := outcomes[class]
			if !ok {
				continue // a crasher the fuzzer saved; go test runs it anyway
			}
			seen[class] = true
			var got error
			switch target {
			case "FuzzParseRSAPublicKey":
				_, got = kex.ParseRSAPublicKey(in)
			case "FuzzParsePin":
				_, got = kex.ParsePin(string(in))
			case "FuzzCertificatePin":
				_, got = kex.CertificatePin(in)
			}
			if (want == nil) != (got == nil) || (want != nil && !errors.Is(got, want)) {
				t.Errorf("%s/%s: got %v, want %v", target, e.Name(), got, want)
			}
		}
		for class := range outcomes {
			if !seen[class] {
				t.Errorf("%s has no %q seed", target, class)
			}
		}
	}
}
