package kex

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/mitmlab/mitmlab/wire"
)

// Finite-field Diffie-Hellman, for the lessons that need it: parameter
// injection (ffdh-negotiated, ffdh-fixed) and the export downgrade
// (signed-ffdh). Go's standard library has no finite-field DH, so the lab
// computes it with math/big.
//
// INSECURE(dh-param-injection, dh-fixed-group, export-downgrade): home-made
// finite-field DH on math/big, whose arithmetic is not constant time; it is
// here to be attacked, never to protect anything.

// FFGroup is a finite-field Diffie-Hellman group: a prime P, and a
// generator G of the subgroup of prime order Q.
type FFGroup struct {
	Name string
	P    *big.Int
	G    *big.Int
	Q    *big.Int
}

// The finite-field DH failures. Each is a [wire.Violation].
var (
	ErrBadGroup       error = wire.Violation("DH group is not ffdhe2048")
	ErrWeakGroup      error = wire.Violation("DH prime is even or shorter than 2048 bits")
	ErrBadPublicValue error = wire.Violation("DH public value out of range")
	ErrNoCommonGroup  error = wire.Violation("no DH group both sides accept")
)

// The group names on the wire.
const (
	GroupFFDHE2048 = "ffdhe2048"
	GroupExport40  = "export40"
)

// ffdhe2048P is the prime of RFC 7919 Appendix A.1:
// 2^2048 − 2^1984 + (⌊2^1918 · e⌋ + 560316) · 2^64 − 1. A test derives it
// from that formula.
const ffdhe2048P = "" +
	"FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695" +
	"A9E13641146433FBCC939DCE249B3EF97D2FE363630C75D8F681B202AEC4617A" +
	"D3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935" +
	"984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797A" +
	"BC0AB182B324FB61D108A94BB2C8E3FBB96ADAB760D7F4681D4F42A3DE394DF4" +
	"AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61" +
	"9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005" +
	"C58EF1837D1683B2C6F34A26C1B2EFFA886B423861285C97FFFFFFFFFFFFFFFF"

// FFDHE2048 returns RFC 7919's ffdhe2048 group: a 2,048-bit safe prime p,
// g = 2, and q = (p − 1) / 2.
func FFDHE2048() *FFGroup {
	p, _ := new(big.Int).SetString(ffdhe2048P, 16)
	q := new(big.Int).Rsh(p, 1)
	return &FFGroup{Name: GroupFFDHE2048, P: p, G: big.NewInt(2), Q: q}
}

// Export40 returns the lab's "export" group: the largest safe prime below
// 2^40, p = 2q + 1, with g = 4 generating the subgroup of prime order q.
// (2 is not a square modulo this p, so it would generate the whole group
// of order 2q.)
//
// INSECURE(export-downgrade): a 40-bit group, the lab's stand-in for the
// 512-bit export groups of the 1990s; its discrete logarithms take a
// laptop about a second.
func Export40() *FFGroup {
	return &FFGroup{
		Name: GroupExport40,
		P:    new(big.Int).SetUint64(1099511627339), // 0xfffffffe4b
		G:    big.NewInt(4),
		Q:    new(big.Int).SetUint64(549755813669),
	}
}

// GroupByName returns the named group of the lab, or nil.
func GroupByName(name string) *FFGroup {
	switch name {
	case GroupFFDHE2048:
		return FFDHE2048()
	case GroupExport40:
		return Export40()
	}
	return nil
}

// Size returns the length of p in bytes: every public value and shared
// secret of the group is written in that many bytes, big-endian,
// left-padded with zeros (as RFC 8446 §7.4.1 pads a DH secret).
func (g *FFGroup) Size() int { return ffSize(g.P) }

func ffSize(p *big.Int) int { return (p.BitLen() + 7) / 8 }

// ffBytes writes v in the fixed width of p.
func ffBytes(v, p *big.Int) []byte { return v.FillBytes(make([]byte, ffSize(p))) }

// exponentBits bounds the secret exponents: 256 bits, as RFC 7919 §5.2
// allows for ffdhe2048 (at least 225), or the subgroup order if smaller.
const exponentBits = 256

// newExponent returns a secret exponent in [1, n − 1], read from r (nil
// means crypto/rand); n is capped at 2^256.
func newExponent(r io.Reader, n *big.Int) (*big.Int, error) {
	if n == nil || n.BitLen() > exponentBits {
		n = new(big.Int).Lsh(big.NewInt(1), exponentBits)
	}
	x, err := rand.Int(randOr(r), new(big.Int).Sub(n, big.NewInt(1)))
	if err != nil {
		return nil, fmt.Errorf("kex: random: %w", err)
	}
	return x.Add(x, big.NewInt(1)), nil
}

// NewExponent returns a secret exponent for the group, read from r (nil
// means crypto/rand).
func (g *FFGroup) NewExponent(r io.Reader) (*big.Int, error) { return newExponent(r, g.Q) }

// Public returns g^x mod p, in the group's width.
func (g *FFGroup) Public(x *big.Int) []byte { return ffBytes(new(big.Int).Exp(g.G, x, g.P), g.P) }

// CheckPublic returns y as a number if it is a valid public value of the
// group: 1 < y < p − 1 (RFC 7919 §5.1) and y^q = 1, so that it lies in the
// subgroup of order q. Anything else is [ErrBadPublicValue].
func (g *FFGroup) CheckPublic(b []byte) (*big.Int, error) {
	if len(b) != g.Size() {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrBadPublicValue, len(b), g.Size())
	}
	y := new(big.Int).SetBytes(b)
	pm1 := new(big.Int).Sub(g.P, big.NewInt(1))
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pm1) >= 0 {
		return nil, fmt.Errorf("%w: not between 1 and p − 1", ErrBadPublicValue)
	}
	if new(big.Int).Exp(y, g.Q, g.P).Cmp(big.NewInt(1)) != 0 {
		return nil, fmt.Errorf("%w: not in the subgroup of order q", ErrBadPublicValue)
	}
	return y, nil
}

// Shared returns peer^x mod p, in the group's width: the shared secret.
func (g *FFGroup) Shared(x, peer *big.Int) []byte { return ffShared(x, peer, g.P) }

// ffShared is peer^x mod p in the width of p, for any p.
func ffShared(x, peer, p *big.Int) []byte { return ffBytes(new(big.Int).Exp(peer, x, p), p) }

// maxDLogBits bounds the subgroups DiscreteLog will take on: a baby-step
// table for 2^48 would not fit in memory.
const maxDLogBits = 48

// errDLogTooLarge is returned by DiscreteLog for a group too large to solve.
var errDLogTooLarge = errors.New("kex: the subgroup is too large for a discrete logarithm here")

// DiscreteLog returns x with g^x = y mod p, by Shanks's baby-step
// giant-step: a table of g^j for j < m = ⌈√q⌉, then y·g^(−mi) for i < m
// until one is in the table, x = mi + j. It takes about 2√q
// multiplications; for export40, under a million each way. It calls
// progress (if not nil) now and then with the steps done and the most it
// may need, and stops early, with ctx's error, when ctx ends. It is the
// attacker's step in the export-downgrade lesson; for a real group it
// refuses at once.
func (g *FFGroup) DiscreteLog(ctx context.Context, y *big.Int, progress func(done, total int)) (*big.Int, error) {
	if g.Q.BitLen() > maxDLogBits {
		return nil, fmt.Errorf("%w: q has %d bits", errDLogTooLarge, g.Q.BitLen())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := new(big.Int).Sqrt(g.Q)
	m.Add(m, big.NewInt(1))
	n := int(m.Int64())
	total := 2 * n
	const every = 1 << 16
	report := func(done int) error {
		if done%every != 0 {
			return nil
		}
		if progress != nil {
			progress(done, total)
		}
		return ctx.Err()
	}
	// Baby steps: g^j for j < m, keyed by value (p < 2^64 here).
	table := make(map[uint64]uint32, n)
	v := big.NewInt(1)
	for j := range n {
		if _, ok := table[v.Uint64()]; !ok {
			table[v.Uint64()] = uint32(j)
		}
		v.Mul(v, g.G).Mod(v, g.P)
		if err := report(j + 1); err != nil {
			return nil, err
		}
	}
	// Giant steps: y · (g^−m)^i.
	step := new(big.Int).Exp(g.G, new(big.Int).Sub(g.Q, m), g.P) // g^(q−m) = g^(−m)
	v.Mod(y, g.P)
	for i := range n + 1 {
		if j, ok := table[v.Uint64()]; ok {
			x := new(big.Int).Mul(big.NewInt(int64(i)), m)
			x.Add(x, big.NewInt(int64(j))).Mod(x, g.Q)
			if progress != nil {
				progress(n+i, total)
			}
			return x, nil
		}
		v.Mul(v, step).Mod(v, g.P)
		if err := report(n + i + 1); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("kex: y is not a power of g")
}
