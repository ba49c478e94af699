package channel

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/wire"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the generated seed files under testdata/fuzz")

// FuzzOpen feeds an Opener arbitrary data frames {seq, ct}. It must never
// panic, and a frame must never open unless it is exactly what a holder of
// the key sealed for that direction and position: whatever opens is
// re-sealed with crypto/cipher directly and must give the same ct. No frame
// opens in both directions, under another key, or at another position.
//
// The seed corpus is testdata/fuzz/FuzzOpen: genuine frames under
// [fixedKeys] at several sequence numbers, and broken ones.
func FuzzOpen(f *testing.F) {
	k := fixedKeys()
	other := k
	other.Key[0] ^= 0xff
	f.Fuzz(func(t *testing.T, seq uint64, ct []byte) {
		d := &wire.Data{Seq: seq, CT: ct}
		opened := 0
		for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
			o := openerAt(t, k, dir, seq)
			pt, err := o.Open(d)
			if err != nil {
				if !errors.Is(err, ErrDecrypt) || pt != nil {
					t.Fatalf("%s: Open at the expected seq = %q, %v; want nil and ErrDecrypt", dir, pt, err)
				}
				if o.Next() != seq {
					t.Fatalf("%s: a frame that failed moved Next from %d to %d", dir, seq, o.Next())
				}
				continue
			}
			opened++
			if want := manualSeal(t, k, string(dir), seq, pt); !bytes.Equal(want, ct) {
				t.Fatalf("%s: opened a frame that is not the genuine seal of its plaintext:\nct   %x\nseal %x", dir, ct, want)
			}
			if o.Next() != seq+1 {
				t.Fatalf("%s: Next = %d after opening seq %d", dir, o.Next(), seq)
			}
		}
		if opened > 1 {
			t.Fatalf("frame opened in both directions")
		}
		if pt, err := openerAt(t, other, wire.ClientToServer, seq).Open(d); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("opened under another key: %q, %v", pt, err)
		}
		if seq > 0 {
			if pt, err := openerAt(t, k, wire.ClientToServer, seq-1).Open(d); !errors.Is(err, ErrOutOfOrder) {
				t.Fatalf("opened ahead of its turn: %q, %v", pt, err)
			}
		}
		if seq < math.MaxUint64 {
			if pt, err := openerAt(t, k, wire.ClientToServer, seq+1).Open(d); !errors.Is(err, ErrReplay) {
				t.Fatalf("opened after its turn: %q, %v", pt, err)
			}
		}
	})
}

// openSeed is one generated seed of the FuzzOpen corpus.
type openSeed struct {
	file    string
	seq     uint64
	ct      []byte
	genuine bool // opens under fixedKeys, c2s
}

func openSeeds(t *testing.T) []openSeed {
	k := fixedKeys()
	seal := func(seq uint64, pt string) []byte {
		d, err := sealerAt(t, k, wire.ClientToServer, seq).Seal([]byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		return d.CT
	}
	hello := seal(0, "hello bob")
	flipped := bytes.Clone(hello)
	flipped[3] ^= 0x10
	badTag := bytes.Clone(hello)
	badTag[len(badTag)-1] ^= 1
	s2c, err := sealerAt(t, k, wire.ServerToClient, 0).Seal([]byte("hello alice"))
	if err != nil {
		t.Fatal(err)
	}
	return []openSeed{
		{"genuine-seq-0", 0, hello, true},
		{"genuine-seq-1-empty-message", 1, seal(1, ""), true},
		{"genuine-seq-7", 7, seal(7, "seventh message"), true},
		{"genuine-seq-2-32", 1 << 32, seal(1<<32, "after four billion records"), true},
		{"genuine-seq-max", math.MaxUint64 - 1, seal(math.MaxUint64-1, "the very last record"), true},
		{"genuine-1-KiB", 2, seal(2, strings.Repeat("0123456789abcdef", 64)), true},
		{"moved-to-seq-1", 1, hello, false},
		{"bit-flipped-in-ct", 0, flipped, false},
		{"bit-flipped-in-tag", 0, badTag, false},
		{"tag-only-zeros", 0, make([]byte, wire.TagSize), false},
		{"shorter-than-a-tag", 0, hello[:wire.TagSize-1], false},
		{"empty-ct", 0, nil, false},
		{"other-direction", 0, s2c.CT, false},
	}
}

// unmarshalOpenSeed reads a seed file holding a uint64 and a []byte.
func unmarshalOpenSeed(data []byte) (uint64, []byte, error) {
	s, ok := strings.CutPrefix(string(data), "go test fuzz v1\n")
	if !ok {
		return 0, nil, errors.New("missing the go test fuzz v1 header")
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) != 2 {
		return 0, nil, fmt.Errorf("want 2 values, got %d", len(lines))
	}
	n, ok1 := strings.CutPrefix(lines[0], "uint64(")
	b, ok2 := strings.CutPrefix(lines[1], "[]byte(")
	if !ok1 || !ok2 {
		return 0, nil, errors.New("want uint64 then []byte")
	}
	seq, err := strconv.ParseUint(strings.TrimSuffix(n, ")"), 0, 64)
	if err != nil {
		return 0, nil, err
	}
	ct, err := strconv.Unquote(strings.TrimSuffix(b, ")"))
	return seq, []byte(ct), err
}

// TestFuzzOpenCorpus checks that the seed files are the generated seeds and
// that the genuine ones really open, so the fuzzer starts from both sides
// of the check. Run with -update-corpus to rewrite them.
func TestFuzzOpenCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	seeds := openSeeds(t)
	if *updateCorpus {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range seeds {
			data := fmt.Sprintf("go test fuzz v1\nuint64(%d)\n[]byte(%s)\n", s.seq, strconv.Quote(string(s.ct)))
			if err := os.WriteFile(filepath.Join(dir, s.file), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, s := range seeds {
		data, err := os.ReadFile(filepath.Join(dir, s.file))
		if err != nil {
			t.Errorf("seed missing (run go test ./channel -run TestFuzzOpenCorpus -args -update-corpus): %v", err)
			continue
		}
		seq, ct, err := unmarshalOpenSeed(data)
		if err != nil {
			t.Errorf("%s: %v", s.file, err)
			continue
		}
		if seq != s.seq || !bytes.Equal(ct, s.ct) {
			t.Errorf("%s holds other values than the generator makes", s.file)
		}
		_, err = openerAt(t, fixedKeys(), wire.ClientToServer, seq).Open(&wire.Data{Seq: seq, CT: ct})
		if opened := err == nil; opened != s.genuine {
			t.Errorf("%s: opened = %v (%v), want %v", s.file, opened, err, s.genuine)
		}
	}
}
