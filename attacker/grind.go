package attacker

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Grinding X25519 key shares, as a vanity-address miner does.
//
// A fresh X25519 key pair and a shared secret cost two scalar
// multiplications, about 150 µs on the lab's machines: 2^16 tries would
// take ten seconds on one core. Mallory does not pay that per try. He
// starts from one random private key m and walks m, m+8, m+16, …: each
// step adds 8·G to his public point and 8·A to the shared point (A being
// the victim's share), one Edwards point addition each, and the
// Montgomery u-coordinates that X25519 uses come out of one field
// inversion shared by a batch of points. Every key he tries is an
// ordinary X25519 key (a clamped scalar: a multiple of 8 with bit 254
// set), and the winner is checked with crypto/ecdh before he uses it.

// grindBatch is how many keys a worker steps through per field inversion.
const grindBatch = 64

// grindProgressEvery is how many tries pass between progress reports.
const grindProgressEvery = 1 << 13

// grindResult is the key a grind found, and how many it tried.
type grindResult struct {
	priv  *ecdh.PrivateKey
	tries int64
}

// errGrindGaveUp is returned when the grind runs out of time.
var errGrindGaveUp = errors.New("attacker: no matching key share found in time")

// grindShares looks for an X25519 private key whose public share pub and
// shared secret with peer make match(pub, shared) true, on every core,
// until deadline. It reports progress through report every
// grindProgressEvery tries.
func grindShares(ctx context.Context, r io.Reader, peer []byte, deadline time.Time,
	match func(pub, shared []byte) bool, report func(tries int64)) (*grindResult, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, fmt.Errorf("attacker: key share: %w", err)
	}
	a, err := edwardsFromMontgomery(peer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var (
		tries atomic.Int64
		once  sync.Once
		won   *grindResult
		wg    sync.WaitGroup
	)
	workers := runtime.GOMAXPROCS(0)
	starts := make([][32]byte, workers)
	for i := range starts {
		if _, err := io.ReadFull(randOr(r), starts[i][:]); err != nil {
			return nil, fmt.Errorf("attacker: random: %w", err)
		}
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			walk(ctx, starts[w], pub, a, &tries, match, report, func(priv *ecdh.PrivateKey) {
				once.Do(func() {
					won = &grindResult{priv: priv}
					cancel()
				})
			})
		}()
	}
	wg.Wait()
	if won == nil {
		return nil, fmt.Errorf("%w: %d tries", errGrindGaveUp, tries.Load())
	}
	won.tries = tries.Load()
	return won, nil
}

// walk is one worker: from the clamped start, it steps by 8 and calls
// found with the first key that matches and that crypto/ecdh confirms.
func walk(ctx context.Context, seed [32]byte, peer *ecdh.PublicKey, a *edwards25519.Point, tries *atomic.Int64,
	match func(pub, shared []byte) bool, report func(int64), found func(*ecdh.PrivateKey)) {
	// An X25519 private key: clamped, and bit 253 cleared so that adding 8
	// up to 2^250 times keeps bit 254 set and bit 255 clear.
	seed[0] &= 248
	seed[31] &= 127 &^ 32
	seed[31] |= 64
	m, err := edwards25519.NewScalar().SetBytesWithClamping(seed[:])
	if err != nil {
		return
	}
	p := new(edwards25519.Point).ScalarBaseMult(m) // m·G, Mallory's public point
	s := new(edwards25519.Point).ScalarMult(m, a)  // m·A, the shared point
	var eightBytes [32]byte
	eightBytes[0] = 8
	eight, _ := edwards25519.NewScalar().SetCanonicalBytes(eightBytes[:])
	g8 := new(edwards25519.Point).ScalarBaseMult(eight)
	a8 := new(edwards25519.Point).ScalarMult(eight, a)

	var (
		num, den [2 * grindBatch]field.Element
		u        [2 * grindBatch]field.Element
		step     uint64
	)
	for ctx.Err() == nil {
		for j := range grindBatch {
			p.Add(p, g8)
			s.Add(s, a8)
			montgomeryFraction(p, &num[2*j], &den[2*j])
			montgomeryFraction(s, &num[2*j+1], &den[2*j+1])
		}
		batchInvert(den[:], u[:])
		for j := range grindBatch {
			step++
			var pub, shared field.Element
			pub.Multiply(&num[2*j], &u[2*j])
			shared.Multiply(&num[2*j+1], &u[2*j+1])
			if !match(pub.Bytes(), shared.Bytes()) {
				continue
			}
			if priv := confirm(seed, step, pub.Bytes(), shared.Bytes(), peer); priv != nil {
				found(priv)
				return
			}
		}
		if n := tries.Add(grindBatch); n/grindProgressEvery != (n-grindBatch)/grindProgressEvery {
			report(n)
		}
	}
}

// montgomeryFraction writes the Montgomery u = (1+y)/(1-y) of the Edwards
// point v as a fraction (Z+Y)/(Z-Y), for one batched inversion.
func montgomeryFraction(v *edwards25519.Point, num, den *field.Element) {
	_, y, z, _ := v.ExtendedCoordinates()
	num.Add(z, y)
	den.Subtract(z, y)
}

// batchInvert writes 1/in[i] to out[i] with one field inversion
// (Montgomery's trick). A zero in the batch spoils it; confirm catches any
// false match that follows.
func batchInvert(in, out []field.Element) {
	acc := new(field.Element).One()
	for i := range in {
		out[i].Set(acc)
		acc.Multiply(acc, &in[i])
	}
	inv := new(field.Element).Invert(acc)
	for i := len(in) - 1; i >= 0; i-- {
		out[i].Multiply(&out[i], inv)
		inv.Multiply(inv, &in[i])
	}
}

// confirm rebuilds the X25519 private key seed + 8·step and checks with
// crypto/ecdh that its public share is pub and its secret with peer is
// shared; nil if not.
func confirm(seed [32]byte, step uint64, pub, shared []byte, peer *ecdh.PublicKey) *ecdh.PrivateKey {
	k := seed
	add, carry := 8*step, uint64(0)
	for i := 0; i < 32; i += 8 {
		var sum uint64
		sum, carry = bits.Add64(binary.LittleEndian.Uint64(k[i:]), add, carry)
		binary.LittleEndian.PutUint64(k[i:], sum)
		add = 0
	}
	priv, err := ecdh.X25519().NewPrivateKey(k[:])
	if err != nil || !bytes.Equal(priv.PublicKey().Bytes(), pub) {
		return nil
	}
	got, err := priv.ECDH(peer)
	if err != nil || !bytes.Equal(got, shared) {
		return nil
	}
	return priv
}

// edwardsFromMontgomery returns an Edwards point whose Montgomery
// u-coordinate is the X25519 share u: y = (u-1)/(u+1). Its sign is
// arbitrary, which X25519 cannot see either: m·(-A) has the u of m·A.
func edwardsFromMontgomery(u []byte) (*edwards25519.Point, error) {
	var x, one, num, den, y field.Element
	if _, err := x.SetBytes(u); err != nil {
		return nil, fmt.Errorf("attacker: key share: %w", err)
	}
	one.One()
	num.Subtract(&x, &one)
	den.Add(&x, &one)
	var zero field.Element
	if den.Equal(&zero) == 1 {
		return nil, errors.New("attacker: the key share is not a point the walk can start from")
	}
	y.Multiply(&num, new(field.Element).Invert(&den))
	p, err := new(edwards25519.Point).SetBytes(y.Bytes())
	if err != nil {
		return nil, errors.New("attacker: the key share is not a point the walk can start from")
	}
	return p, nil
}
