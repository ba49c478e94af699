package attacker

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestGrindWalksRealX25519Keys: every key the walk offers is an X25519
// key whose public share and shared secret crypto/ecdh computes the same
// way, and the key it returns is the one that matched.
func TestGrindWalksRealX25519Keys(t *testing.T) {
	t.Parallel()
	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		match func(pub, shared []byte) bool
	}{
		{"the first key of the walk", func(pub, shared []byte) bool { return true }},
		{"a key whose secret starts with 0x42 (8 bits, about 256 tries)", func(pub, shared []byte) bool { return shared[0] == 0x42 }},
		{"a key whose share ends in 0x0f", func(pub, shared []byte) bool { return pub[31] == 0x0f }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			seen := map[string][]byte{} // share → the secret the walk gave with it
			match := func(pub, shared []byte) bool {
				ok := tt.match(pub, shared)
				if ok {
					mu.Lock()
					seen[string(pub)] = bytes.Clone(shared)
					mu.Unlock()
				}
				return ok
			}
			res, err := grindShares(t.Context(), nil, peer.PublicKey().Bytes(), time.Now().Add(time.Minute), match, func(int64) {})
			if err != nil {
				t.Fatal(err)
			}
			shared, err := res.priv.ECDH(peer.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			pub := res.priv.PublicKey().Bytes()
			if !tt.match(pub, shared) {
				t.Errorf("crypto/ecdh says the key found does not match")
			}
			mu.Lock()
			defer mu.Unlock()
			if got, ok := seen[string(pub)]; !ok || !bytes.Equal(got, shared) {
				t.Errorf("the walk offered share %x with secret %x; crypto/ecdh computes %x", pub, got, shared)
			}
		})
	}
}

// TestGrindGivesUp: a grind that cannot succeed stops at its deadline or
// when its context ends, with every worker stopped (goleak checks).
func TestGrindGivesUp(t *testing.T) {
	t.Parallel()
	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	never := func(pub, shared []byte) bool { return false }
	_, err = grindShares(t.Context(), nil, peer.PublicKey().Bytes(), time.Now(), never, func(int64) {})
	if !errors.Is(err, errGrindGaveUp) {
		t.Errorf("past its deadline: %v, want errGrindGaveUp", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = grindShares(ctx, nil, peer.PublicKey().Bytes(), time.Now().Add(time.Hour), never, func(int64) {})
	if !errors.Is(err, errGrindGaveUp) {
		t.Errorf("context ended: %v, want errGrindGaveUp", err)
	}
}

// TestGrindRefusesShares: a share that is no curve point to walk from is
// an error, not a panic.
func TestGrindRefusesShares(t *testing.T) {
	t.Parallel()
	minusOne := bytes.Repeat([]byte{0xff}, 32)
	minusOne[0], minusOne[31] = 0xec, 0x7f // 2^255 - 20 = -1 mod p
	for name, share := range map[string][]byte{"u = -1": minusOne, "31 bytes": make([]byte, 31)} {
		if _, err := grindShares(t.Context(), nil, share, time.Now().Add(time.Second), func(_, _ []byte) bool { return true }, func(int64) {}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
