package kex_test

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// lowOrderPoints are the X25519 public keys whose shared secret is all
// zeros whatever the private key: the points of order 1, 2, 4 and 8, in
// the encodings of libsodium's blocklist (crypto_scalarmult/curve25519/
// ref10/x25519_ref10.c), each also with the top bit set, which RFC 7748
// §5 says to ignore.
var lowOrderPoints = func() map[string][]byte {
	base := map[string]string{
		"0 (order 4)":               "0000000000000000000000000000000000000000000000000000000000000000",
		"1 (order 1)":               "0100000000000000000000000000000000000000000000000000000000000000",
		"order-8 point e0eb7a7c...": "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"order-8 point 5f9c95bc...": "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"p-1 (order 2)":             "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"p, non-canonical 0":        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"p+1, non-canonical 1":      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	}
	points := map[string][]byte{}
	for name, h := range base {
		b, err := hex.DecodeString(h)
		if err != nil {
			panic(err)
		}
		points[name] = b
		high := bytes.Clone(b)
		high[31] |= 0x80
		points[name+", top bit set"] = high
	}
	return points
}()

// x25519Ladder is RFC 7748 §5's X25519 function written out with math/big,
// independent of crypto/ecdh.
func x25519Ladder(scalar, u []byte) []byte {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	le := func(b []byte) *big.Int {
		r := make([]byte, len(b))
		for i := range b {
			r[len(b)-1-i] = b[i]
		}
		return new(big.Int).SetBytes(r)
	}
	k := bytes.Clone(scalar)
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64
	ub := bytes.Clone(u)
	ub[31] &= 127
	x1 := new(big.Int).Mod(le(ub), p)
	kk := le(k)
	x2, z2, x3, z3 := big.NewInt(1), big.NewInt(0), new(big.Int).Set(x1), big.NewInt(1)
	mod := func(x *big.Int) *big.Int { return x.Mod(x, p) }
	a24 := big.NewInt(121665)
	swap := uint(0)
	for t := 254; t >= 0; t-- {
		kt := kk.Bit(t)
		swap ^= kt
		if swap == 1 {
			x2, x3 = x3, x2
			z2, z3 = z3, z2
		}
		swap = kt
		A := mod(new(big.Int).Add(x2, z2))
		AA := mod(new(big.Int).Mul(A, A))
		B := mod(new(big.Int).Sub(x2, z2))
		BB := mod(new(big.Int).Mul(B, B))
		E := mod(new(big.Int).Sub(AA, BB))
		C := mod(new(big.Int).Add(x3, z3))
		D := mod(new(big.Int).Sub(x3, z3))
		DA := mod(new(big.Int).Mul(D, A))
		CB := mod(new(big.Int).Mul(C, B))
		s := mod(new(big.Int).Add(DA, CB))
		x3 = mod(new(big.Int).Mul(s, s))
		d := mod(new(big.Int).Sub(DA, CB))
		z3 = mod(new(big.Int).Mul(x1, mod(new(big.Int).Mul(d, d))))
		x2 = mod(new(big.Int).Mul(AA, BB))
		z2 = mod(new(big.Int).Mul(E, mod(new(big.Int).Add(AA, mod(new(big.Int).Mul(a24, E))))))
	}
	if swap == 1 {
		x2, z2 = x3, z3
	}
	r := mod(new(big.Int).Mul(x2, new(big.Int).Exp(z2, new(big.Int).Sub(p, big.NewInt(2)), p)))
	out := make([]byte, 32)
	rb := r.Bytes()
	for i := range rb {
		out[i] = rb[len(rb)-1-i]
	}
	return out
}

// TestLowOrderPointList checks the list itself, so that a mistyped byte
// cannot make the handshake tests below pass vacuously: the independent
// ladder agrees with crypto/ecdh on ordinary keys (RFC 7748 §5.2's test
// vector included) and gives all zeros for every listed point.
func TestLowOrderPointList(t *testing.T) {
	t.Parallel()
	scalar, _ := hex.DecodeString("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
	u, _ := hex.DecodeString("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
	want, _ := hex.DecodeString("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
	if got := x25519Ladder(scalar, u); !bytes.Equal(got, want) {
		t.Fatalf("ladder fails RFC 7748's vector: %x", got)
	}
	for range 3 {
		a, b := x25519(t), x25519(t)
		want, err := a.ECDH(b.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if got := x25519Ladder(a.Bytes(), b.PublicKey().Bytes()); !bytes.Equal(got, want) {
			t.Fatalf("ladder %x, crypto/ecdh %x", got, want)
		}
	}
	zero := make([]byte, 32)
	for name, p := range lowOrderPoints {
		for range 3 {
			if got := x25519Ladder(x25519(t).Bytes(), p); !bytes.Equal(got, zero) {
				t.Errorf("%s: shared secret %x, want all zeros: not a low-order point", name, got)
			}
		}
	}
	if len(lowOrderPoints) != 14 {
		t.Errorf("%d points, want 7 encodings and their top-bit twins", len(lowOrderPoints))
	}
}

func TestKeyShareRefusesLowOrderPoints(t *testing.T) {
	t.Parallel()
	ks, err := kex.NewKeyShare()
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.Nonce) != 32 || len(ks.Public()) != 32 {
		t.Fatalf("nonce %d bytes, public key %d bytes", len(ks.Nonce), len(ks.Public()))
	}
	for name, p := range lowOrderPoints {
		if s, err := ks.Shared(p); !errors.Is(err, kex.ErrLowOrderPoint) {
			t.Errorf("%s: Shared = %x, %v; want ErrLowOrderPoint", name, s, err)
		}
	}
	peer := x25519(t)
	s, err := ks.Shared(peer.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if want := ecdhWith(t, peer, ks.Public()); !bytes.Equal(s, want) {
		t.Errorf("Shared = %x, want %x", s, want)
	}
}

// TestLowOrderKeyShare sends each low-order point as the key share, to the
// server half and to the client half of both ECDH schemes. Each must refuse
// with ErrLowOrderPoint and close 1008 before deriving any key.
func TestLowOrderKeyShare(t *testing.T) {
	t.Parallel()
	id := newIdentity(t, "bob")
	for name, point := range lowOrderPoints {
		t.Run("unauth-ecdh/client sends low-order point "+name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			fake, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
			ctx := testContext(t)
			srv := run(func() (*channel.Secrets, error) { return kex.UnauthECDH{}.Server(ctx, scn, nil) })
			writeMsg(t, ctx, fake, &wire.ClientHello{Nonce: nonce(), KeyShare: point})
			code, _ := closeCode(t, c) // no server_hello before the close
			r := <-srv
			wantHandshakeError(t, r.err, kex.ErrLowOrderPoint, "unauth-ecdh", kex.ServerSide, "compute shared secret")
			if code != policy {
				t.Errorf("fake client got close %d, want 1008", code)
			}
		})
		t.Run("unauth-ecdh/server sends low-order point "+name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			cc, fake := wire.NewConn(c, nil), wire.NewConn(s, nil)
			ctx := testContext(t)
			cli := run(func() (*channel.Secrets, error) { return kex.UnauthECDH{}.Client(ctx, cc, nil) })
			readMsg[*wire.ClientHello](t, ctx, fake)
			writeMsg(t, ctx, fake, &wire.ServerHello{Nonce: nonce(), KeyShare: point})
			code, _ := closeCode(t, s)
			r := <-cli
			wantHandshakeError(t, r.err, kex.ErrLowOrderPoint, "unauth-ecdh", kex.ClientSide, "compute shared secret")
			if code != policy {
				t.Errorf("fake server got close %d, want 1008", code)
			}
		})
		t.Run("pinned-ecdh/client sends low-order point "+name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			fake, scn := wire.NewConn(c, nil), wire.NewConn(s, nil)
			ctx := testContext(t)
			srv := run(func() (*channel.Secrets, error) {
				return kex.PinnedECDH{}.Server(ctx, scn, &kex.ServerConfig{Identity: id})
			})
			writeMsg(t, ctx, fake, &wire.ClientHello{Nonce: nonce(), KeyShare: point, Offered: []string{"pinned-ecdh"}})
			code, _ := closeCode(t, c)
			r := <-srv
			wantHandshakeError(t, r.err, kex.ErrLowOrderPoint, "pinned-ecdh", kex.ServerSide, "compute shared secret")
			if code != policy {
				t.Errorf("fake client got close %d, want 1008", code)
			}
		})
		t.Run("pinned-ecdh/server sends low-order point "+name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t)
			cc, fake := wire.NewConn(c, nil), wire.NewConn(s, nil)
			ctx := testContext(t)
			cli := run(func() (*channel.Secrets, error) {
				return kex.PinnedECDH{}.Client(ctx, cc, &kex.ClientConfig{Pin: id.Pin()})
			})
			// The real identity signs the hellos, so only the ECDH check
			// stands between the client and an all-zero secret.
			fakePinnedServer(t, ctx, fake, id, serverPlay{keyShare: point})
			code, _ := closeCode(t, s)
			r := <-cli
			wantHandshakeError(t, r.err, kex.ErrLowOrderPoint, "pinned-ecdh", kex.ClientSide, "compute shared secret")
			if code != policy {
				t.Errorf("fake server got close %d, want 1008", code)
			}
		})
	}
}

// ecdhWith returns the X25519 secret of priv and the peer's public key.
func ecdhWith(t *testing.T, priv *ecdh.PrivateKey, peer []byte) []byte {
	t.Helper()
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		t.Fatal(err)
	}
	s, err := priv.ECDH(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
