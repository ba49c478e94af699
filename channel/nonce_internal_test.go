package channel

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/mitmlab/mitmlab/wire"
)

// fixedKeys are the record keys the internal tests and the FuzzOpen seed
// corpus use. Changing them invalidates the genuine seeds.
func fixedKeys() Keys {
	var k Keys
	for i := range k.Key {
		k.Key[i] = byte(i)
	}
	for i := range k.IV {
		k.IV[i] = 0xa0 + byte(i)
	}
	return k
}

// manualSeal is the record layer written out from RFC 8446 §5.3 with
// crypto/cipher directly: the 64-bit sequence number, big-endian and
// left-padded to the IV's 12 bytes, XORed into the IV; the additional data
// the direction's name and the sequence number.
func manualSeal(t testing.TB, k Keys, dir string, seq uint64, pt []byte) []byte {
	block, err := aes.NewCipher(k.Key[:])
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	padded := make([]byte, 12)
	binary.BigEndian.PutUint64(padded[4:], seq)
	nonce := make([]byte, 12)
	for i := range nonce {
		nonce[i] = k.IV[i] ^ padded[i]
	}
	ad := append([]byte(dir), padded[4:]...)
	return gcm.Seal(nil, nonce, pt, ad)
}

// sealerAt returns a Sealer whose next record has sequence number seq, as
// if seq records had gone before.
func sealerAt(t testing.TB, k Keys, d wire.Direction, seq uint64) *Sealer {
	s, err := NewSealer(k, d)
	if err != nil {
		t.Fatal(err)
	}
	s.s.seq = seq
	return s
}

func openerAt(t testing.TB, k Keys, d wire.Direction, seq uint64) *Opener {
	o, err := NewOpener(k, d)
	if err != nil {
		t.Fatal(err)
	}
	o.s.seq = seq
	return o
}

func TestNonceIsIVXorSeq(t *testing.T) {
	t.Parallel()
	k := fixedKeys()
	pt := []byte("attack at dawn")
	for _, seq := range []uint64{0, 1, 2, 0xff, 0x100, 0x0102030405060708, 1 << 32, math.MaxUint64 - 1} {
		for _, dir := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
			d, err := sealerAt(t, k, dir, seq).Seal(pt)
			if err != nil {
				t.Fatal(err)
			}
			want := manualSeal(t, k, string(dir), seq, pt)
			if d.Seq != seq || !bytes.Equal(d.CT, want) {
				t.Errorf("%s seq %#x: Seal = %x, want %x from the manual construction", dir, seq, d.CT, want)
			}
			got, err := openerAt(t, k, dir, seq).Open(&wire.Data{Seq: seq, CT: want})
			if err != nil || !bytes.Equal(got, pt) {
				t.Errorf("%s seq %#x: Open of the manual record = %q, %v", dir, seq, got, err)
			}
		}
	}
	// The XOR touches only the IV's last 8 bytes: the nonce for seq 0 is the
	// IV itself.
	s := sealerAt(t, k, wire.ClientToServer, 0)
	if n := s.s.nonce(0); !bytes.Equal(n, k.IV[:]) {
		t.Errorf("nonce(0) = %x, want the IV %x", n, k.IV)
	}
	if n := s.s.nonce(math.MaxUint64); !bytes.Equal(n[:4], k.IV[:4]) || n[11] != k.IV[11]^0xff {
		t.Errorf("nonce(2^64-1) = %x", n)
	}
}

func TestSeqExhausted(t *testing.T) {
	t.Parallel()
	s := sealerAt(t, fixedKeys(), wire.ClientToServer, math.MaxUint64-1)
	if _, err := s.Seal([]byte("last")); err != nil {
		t.Fatalf("Seal at 2^64-2: %v", err)
	}
	if d, err := s.Seal([]byte("one too many")); !errors.Is(err, ErrSeqExhausted) {
		t.Errorf("Seal at 2^64-1 = %+v, %v; want ErrSeqExhausted (a nonce must never repeat)", d, err)
	}
}
