package wire_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/wire"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the generated seed files under testdata/fuzz")

// FuzzDecode feeds Decode arbitrary bytes. It must never panic; an input it
// refuses must get exactly one named error and a 1002 or 1009 close code;
// an input it accepts must re-encode to a message that decodes to an equal
// value, and that encoding must be a fixed point.
//
// The seed corpus is testdata/fuzz/FuzzDecode: every message type, valid
// and broken in each way Decode names. Plain `go test` runs every seed.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wire.Decode(b)
		if err != nil {
			checkDecodeError(t, b, m, err)
			return
		}
		if got := wire.PeekType(b); got != m.MessageType() {
			t.Errorf("PeekType = %q, Decode gave %q", got, m.MessageType())
		}
		enc, err := wire.Encode(m)
		if err != nil {
			t.Fatalf("Decode accepted %.200q but Encode refuses the result: %v", b, err)
		}
		m2, err := wire.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(b))) failed: %v\nb   = %.200q\nenc = %.200q", err, b, enc)
		}
		if !equalMessages(m, m2) {
			t.Fatalf("round trip changed the message:\nfirst  %+v\nsecond %+v", m, m2)
		}
		enc2, err := wire.Encode(m2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point:\n%.200q\n%.200q (%v)", enc, enc2, err)
		}
	})
}

func checkDecodeError(t *testing.T, b []byte, m wire.Message, err error) {
	t.Helper()
	if m != nil {
		t.Errorf("Decode returned a message with its error: %+v", m)
	}
	var matched []error
	for _, s := range sentinels {
		if errors.Is(err, s) {
			matched = append(matched, s)
		}
	}
	if len(matched) != 1 {
		t.Errorf("Decode(%.200q) = %v, which wraps %d sentinels %v; want exactly one", b, err, len(matched), matched)
	}
	code := wire.CloseCode(err)
	if code != websocket.StatusProtocolError && code != websocket.StatusMessageTooBig {
		t.Errorf("CloseCode(%v) = %d, want 1002 or 1009", err, code)
	}
	if (code == websocket.StatusMessageTooBig) != (len(b) > wire.MaxMessageSize) {
		t.Errorf("CloseCode = %d for a %d-byte message", code, len(b))
	}
	// The error text becomes the close reason, which must be UTF-8.
	if !utf8.ValidString(err.Error()) {
		t.Errorf("error text is not valid UTF-8: %q", err.Error())
	}
}

// equalMessages compares two messages field by field, treating a nil and an
// empty slice as equal, since the encoding omits both.
func equalMessages(a, b wire.Message) bool {
	switch a := a.(type) {
	case *wire.RSAPublicKey:
		b, ok := b.(*wire.RSAPublicKey)
		return ok && a.Type == b.Type && bytes.Equal(a.SPKI, b.SPKI)
	case *wire.KeyTransport:
		b, ok := b.(*wire.KeyTransport)
		return ok && a.Type == b.Type && bytes.Equal(a.Wrapped, b.Wrapped)
	case *wire.ClientHello:
		b, ok := b.(*wire.ClientHello)
		return ok && a.Type == b.Type && bytes.Equal(a.Nonce, b.Nonce) && bytes.Equal(a.KeyShare, b.KeyShare) &&
			slices.Equal(a.Offered, b.Offered)
	case *wire.ServerHello:
		b, ok := b.(*wire.ServerHello)
		return ok && a.Type == b.Type && bytes.Equal(a.Nonce, b.Nonce) && bytes.Equal(a.KeyShare, b.KeyShare) &&
			a.Chosen == b.Chosen && bytes.Equal(a.Certificate, b.Certificate)
	case *wire.ServerVerify:
		b, ok := b.(*wire.ServerVerify)
		return ok && a.Type == b.Type && bytes.Equal(a.Signature, b.Signature) && bytes.Equal(a.Finished, b.Finished)
	case *wire.ClientFinished:
		b, ok := b.(*wire.ClientFinished)
		return ok && a.Type == b.Type && bytes.Equal(a.MAC, b.MAC)
	case *wire.Data:
		b, ok := b.(*wire.Data)
		return ok && a.Type == b.Type && a.Seq == b.Seq && bytes.Equal(a.CT, b.CT)
	}
	return false
}

// seed is one generated seed of the FuzzDecode corpus.
type seed struct {
	file string
	in   []byte
	want error // nil for a valid message
}

// decodeSeeds are the generated seeds: each sample message, and each
// decode error case short enough to keep in the repository.
func decodeSeeds(t *testing.T) []seed {
	var seeds []seed
	for name, m := range sample() {
		b, err := wire.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, seed{"valid-" + slug(name), b, nil})
	}
	seeds = append(seeds, seed{"valid-data-spaces-and-field-order", []byte(" {\"ct\" : " + b64(16, 0) + ",\n\"seq\":3 ,\"type\":\"data\"}\t"), nil})
	seeds = append(seeds, seed{"valid-data-exactly-64-KiB", []byte(oversize(wire.MaxMessageSize)), nil})
	for _, c := range decodeErrorCases() {
		if len(c.in) > wire.MaxMessageSize+1 {
			continue // one oversize seed is enough; do not keep a megabyte of spaces
		}
		seeds = append(seeds, seed{"invalid-" + slug(c.name), []byte(c.in), c.want})
	}
	return seeds
}

var nonSlug = regexp.MustCompile(`[^A-Za-z0-9]+`)

func slug(s string) string { return strings.Trim(nonSlug.ReplaceAllString(s, "-"), "-") }

// marshalCorpus writes values in the "go test fuzz v1" format.
func marshalCorpus(vals ...any) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		case uint64:
			fmt.Fprintf(&b, "uint64(%d)\n", v)
		default:
			panic(fmt.Sprintf("marshalCorpus: %T", v))
		}
	}
	return []byte(b.String())
}

// unmarshalCorpusBytes reads a seed file holding a single []byte value.
func unmarshalCorpusBytes(data []byte) ([]byte, error) {
	s, ok := strings.CutPrefix(string(data), "go test fuzz v1\n")
	if !ok {
		return nil, errors.New("missing the go test fuzz v1 header")
	}
	s = strings.TrimSpace(s)
	lit, ok := strings.CutPrefix(s, "[]byte(")
	if !ok || !strings.HasSuffix(lit, ")") {
		return nil, fmt.Errorf("not a single []byte value: %.40q", s)
	}
	v, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	return []byte(v), err
}

// TestFuzzDecodeCorpus checks that the seed files on disk are the seeds this
// file generates, so the corpus really holds every type valid and invalid.
// Run with -update-corpus to rewrite them.
func TestFuzzDecodeCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	seeds := decodeSeeds(t)
	if *updateCorpus {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range seeds {
			if err := os.WriteFile(filepath.Join(dir, s.file), marshalCorpus(s.in), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	validTypes := map[wire.Type]bool{}
	invalid := map[error]bool{}
	for _, s := range seeds {
		data, err := os.ReadFile(filepath.Join(dir, s.file))
		if err != nil {
			t.Errorf("seed missing (run go test ./wire -run TestFuzzDecodeCorpus -update-corpus): %v", err)
			continue
		}
		in, err := unmarshalCorpusBytes(data)
		if err != nil {
			t.Errorf("%s: %v", s.file, err)
			continue
		}
		if !bytes.Equal(in, s.in) {
			t.Errorf("%s holds other bytes than the generator makes", s.file)
		}
		m, err := wire.Decode(in)
		switch {
		case s.want == nil && err != nil:
			t.Errorf("%s: valid seed does not decode: %v", s.file, err)
		case s.want == nil:
			validTypes[m.MessageType()] = true
		case !errors.Is(err, s.want):
			t.Errorf("%s: Decode = %v, want %q", s.file, err, s.want)
		default:
			invalid[s.want] = true
		}
	}
	for _, typ := range sortedTypes() {
		if !validTypes[typ] {
			t.Errorf("no valid %s seed", typ)
		}
	}
	for _, s := range sentinels {
		if !invalid[s] {
			t.Errorf("no seed for %q", s)
		}
	}
	// Every other file in the directory (crashers the fuzzer saved) is in
	// the v1 format, so `go test` runs it; no generated seed is stale.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	generated := map[string]bool{}
	for _, s := range seeds {
		generated[s.file] = true
	}
	for _, e := range entries {
		if (strings.HasPrefix(e.Name(), "valid-") || strings.HasPrefix(e.Name(), "invalid-")) && !generated[e.Name()] {
			if *updateCorpus {
				os.Remove(filepath.Join(dir, e.Name()))
				continue
			}
			t.Errorf("%s is a stale generated seed (run with -update-corpus)", e.Name())
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unmarshalCorpusBytes(data); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
}
