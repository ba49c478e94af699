package channel

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/wire"
)

// fixedSecrets are the record keys the internal tests and the FuzzOpen seed
// corpus use, the same in both directions, so that only the additional
// data tells the directions apart. Changing them invalidates the seeds.
func fixedSecrets() *Secrets {
	var k Keys
	for i := range k.Key {
		k.Key[i] = byte(i)
	}
	for i := range k.IV {
		k.IV[i] = 0xa0 + byte(i)
	}
	return &Secrets{ClientToServer: k, ServerToClient: k}
}

// The record layer written out from its description with crypto/cipher
// directly, to check the package against: RFC 8446 §5.3's nonce, the
// 64-bit sequence number big-endian and left-padded to the IV's 12 bytes,
// XORed into the IV; and as additional data the record type, a zero byte,
// the direction's name and the sequence number as 8 big-endian bytes.

func manualAEAD(k Keys) cipher.AEAD {
	block, err := aes.NewCipher(k.Key[:])
	if err != nil {
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return gcm
}

func manualNonce(k Keys, seq uint64) []byte {
	padded := make([]byte, 12)
	binary.BigEndian.PutUint64(padded[4:], seq)
	nonce := make([]byte, 12)
	for i := range nonce {
		nonce[i] = k.IV[i] ^ padded[i]
	}
	return nonce
}

func manualAD(typ, dir string, seq uint64) []byte {
	ad := []byte(typ + "\x00" + dir)
	return binary.BigEndian.AppendUint64(ad, seq)
}

func manualSeal(k Keys, typ, dir string, seq uint64, pt []byte) []byte {
	return manualAEAD(k).Seal(nil, manualNonce(k, seq), pt, manualAD(typ, dir, seq))
}

func manualOpen(k Keys, typ, dir string, seq uint64, ct []byte) ([]byte, error) {
	return manualAEAD(k).Open(nil, manualNonce(k, seq), ct, manualAD(typ, dir, seq))
}

// sealerAt returns a Sealer whose next record has sequence number seq, as
// if seq records had gone before.
func sealerAt(s *Secrets, d wire.Direction, seq uint64) *Sealer {
	sl, err := NewSealer(s, d)
	if err != nil {
		panic(err)
	}
	sl.s.seq = seq
	return sl
}

// openerAt returns an Opener that expects sequence number seq next.
func openerAt(s *Secrets, d wire.Direction, seq uint64) *Opener {
	o, err := NewOpener(s, d)
	if err != nil {
		panic(err)
	}
	o.s.seq = seq
	return o
}

var directions = []wire.Direction{wire.ClientToServer, wire.ServerToClient}

func TestSealMatchesTheManualConstruction(t *testing.T) {
	t.Parallel()
	sec := fixedSecrets()
	k := sec.ClientToServer
	pt := []byte("attack at dawn")
	for _, seq := range []uint64{0, 1, 2, 0xff, 0x100, 0x0102030405060708, 1 << 32, math.MaxUint64 - 1} {
		for _, dir := range directions {
			d, err := sealerAt(sec, dir, seq).Seal(pt)
			if err != nil {
				t.Fatal(err)
			}
			want := manualSeal(k, "data", string(dir), seq, pt)
			if d.Seq != seq || !bytes.Equal(d.CT, want) {
				t.Errorf("%s seq %#x: Seal = %x, want %x from the manual construction", dir, seq, d.CT, want)
			}
			got, err := openerAt(sec, dir, seq).Open(&wire.Data{Seq: seq, CT: want})
			if err != nil || !bytes.Equal(got, pt) {
				t.Errorf("%s seq %#x: Open of the manual record = %q, %v", dir, seq, got, err)
			}

			e, err := sealerAt(sec, dir, seq).SealEnd()
			if err != nil {
				t.Fatal(err)
			}
			wantEnd := manualSeal(k, "end", string(dir), seq, nil)
			if e.Seq != seq || !bytes.Equal(e.CT, wantEnd) {
				t.Errorf("%s seq %#x: SealEnd = %x, want %x from the manual construction", dir, seq, e.CT, wantEnd)
			}
			if err := openerAt(sec, dir, seq).OpenEnd(&wire.End{Seq: seq, CT: wantEnd}); err != nil {
				t.Errorf("%s seq %#x: OpenEnd of the manual end record: %v", dir, seq, err)
			}
		}
	}
}

func TestNonceIsIVXorSeq(t *testing.T) {
	t.Parallel()
	sec := fixedSecrets()
	k := sec.ClientToServer
	s := sealerAt(sec, wire.ClientToServer, 0)
	// The XOR touches only the IV's last 8 bytes: the nonce for seq 0 is the
	// IV itself.
	if n := s.s.nonce(0); !bytes.Equal(n, k.IV[:]) {
		t.Errorf("nonce(0) = %x, want the IV %x", n, k.IV)
	}
	if n := s.s.nonce(math.MaxUint64); !bytes.Equal(n[:4], k.IV[:4]) || n[11] != k.IV[11]^0xff || n[4] != k.IV[4]^0xff {
		t.Errorf("nonce(2^64-1) = %x", n)
	}
	for _, seq := range []uint64{1, 0x0102030405060708} {
		if n := s.s.nonce(seq); !bytes.Equal(n, manualNonce(k, seq)) {
			t.Errorf("nonce(%#x) = %x, want %x", seq, n, manualNonce(k, seq))
		}
	}
	iv := s.s.iv
	s.s.nonce(math.MaxUint64)[11] = 0
	if s.s.iv != iv {
		t.Errorf("nonce shares its bytes with the IV")
	}
}

func TestAdditionalData(t *testing.T) {
	t.Parallel()
	got := AdditionalData(wire.TypeData, wire.ClientToServer, 0x0102030405060708)
	want := []byte("data\x00c2s\x01\x02\x03\x04\x05\x06\x07\x08")
	if !bytes.Equal(got, want) {
		t.Errorf("AdditionalData = %q, want %q", got, want)
	}
	if got := AdditionalData(wire.TypeEnd, wire.ServerToClient, 0); !bytes.Equal(got, []byte("end\x00s2c\x00\x00\x00\x00\x00\x00\x00\x00")) {
		t.Errorf("AdditionalData(end, s2c, 0) = %q", got)
	}
}

func TestSeqExhausted(t *testing.T) {
	t.Parallel()
	s := sealerAt(fixedSecrets(), wire.ClientToServer, math.MaxUint64-1)
	if _, err := s.Seal([]byte("last")); err != nil {
		t.Fatalf("Seal at 2^64-2: %v", err)
	}
	if d, err := s.Seal([]byte("one too many")); !errors.Is(err, ErrSeqExhausted) || d != nil {
		t.Errorf("Seal at 2^64-1 = %+v, %v; want ErrSeqExhausted (a nonce must never repeat)", d, err)
	}
	if e, err := s.SealEnd(); !errors.Is(err, ErrSeqExhausted) || e != nil {
		t.Errorf("SealEnd at 2^64-1 = %+v, %v; want ErrSeqExhausted", e, err)
	}
	if e, err := sealerAt(fixedSecrets(), wire.ClientToServer, math.MaxUint64-1).SealEnd(); err != nil || e.Seq != math.MaxUint64-1 {
		t.Errorf("SealEnd at 2^64-2 = %+v, %v; the last number is free for the end", e, err)
	}
}

// TestOpenRefusesOversizePlaintext: a peer holding the keys seals more than
// a record may carry, which the lab's Sealer never does.
func TestOpenRefusesOversizePlaintext(t *testing.T) {
	t.Parallel()
	sec := fixedSecrets()
	ct := manualSeal(sec.ClientToServer, "data", "c2s", 0, make([]byte, MaxPlaintext+1))
	pt, err := openerAt(sec, wire.ClientToServer, 0).Open(&wire.Data{Seq: 0, CT: ct})
	if !errors.Is(err, ErrPlaintextTooLarge) || pt != nil {
		t.Fatalf("Open = %d bytes, %v; want ErrPlaintextTooLarge", len(pt), err)
	}
	if code := wire.CloseCode(err); code != websocket.StatusMessageTooBig {
		t.Errorf("CloseCode = %d, want 1009", code)
	}
}

// TestOpenEndRefusesData: an end record that authenticates but carries
// data, which the lab's Sealer never makes.
func TestOpenEndRefusesData(t *testing.T) {
	t.Parallel()
	sec := fixedSecrets()
	ct := manualSeal(sec.ClientToServer, "end", "c2s", 3, []byte("x"))
	err := openerAt(sec, wire.ClientToServer, 3).OpenEnd(&wire.End{Seq: 3, CT: ct})
	if !errors.Is(err, ErrBadEnd) || wire.CloseCode(err) != websocket.StatusPolicyViolation {
		t.Errorf("OpenEnd of an end record with data = %v, want ErrBadEnd closing 1008", err)
	}
}
