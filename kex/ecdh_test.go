package kex_test

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/mitmlab/mitmlab/kex"
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
	a, b := x25519(t), x25519(t)
	want, err := a.ECDH(b.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := x25519Ladder(a.Bytes(), b.PublicKey().Bytes()); !bytes.Equal(got, want) {
		t.Fatalf("ladder %x, crypto/ecdh %x", got, want)
	}
	// One random scalar per point: a point of order 1, 2, 4 or 8 gives
	// zero for every clamped scalar, since clamping makes it a multiple of 8.
	zero := make([]byte, 32)
	for name, p := range lowOrderPoints {
		if got := x25519Ladder(x25519(t).Bytes(), p); !bytes.Equal(got, zero) {
			t.Errorf("%s: shared secret %x, want all zeros: not a low-order point", name, got)
		}
	}
	if len(lowOrderPoints) != 14 {
		t.Errorf("%d points, want 7 encodings and their top-bit twins", len(lowOrderPoints))
	}
}

// TestNewKeyShare: a key share is 64 bytes read from the seam, the X25519
// private key then the nonce; a source that runs short is an error.
func TestNewKeyShare(t *testing.T) {
	t.Parallel()
	stream := bytes.Repeat([]byte{0x11}, 32)
	stream = append(stream, bytes.Repeat([]byte{0x22}, 32)...)
	ks, err := kex.NewKeyShare(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ks.Private.Bytes(), stream[:32]) || !bytes.Equal(ks.Nonce, stream[32:]) {
		t.Errorf("key share = %x / nonce %x, want the stream's first and second 32 bytes", ks.Private.Bytes(), ks.Nonce)
	}
	want, err := ecdh.X25519().NewPrivateKey(stream[:32])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ks.Public(), want.PublicKey().Bytes()) || len(ks.Public()) != kex.KeyShareSize || len(ks.Nonce) != kex.NonceSize {
		t.Errorf("Public = %x, want %x", ks.Public(), want.PublicKey().Bytes())
	}
	if _, err := kex.NewKeyShare(bytes.NewReader(stream[:63])); err == nil {
		t.Errorf("NewKeyShare accepted 63 bytes of randomness")
	}
	a, b := newKeyShare(t), newKeyShare(t)
	if bytes.Equal(a.Public(), b.Public()) || bytes.Equal(a.Nonce, b.Nonce) {
		t.Errorf("two key shares from crypto/rand are equal")
	}
}

func TestKeyShareRefusesLowOrderPoints(t *testing.T) {
	t.Parallel()
	ks := newKeyShare(t)
	for name, p := range lowOrderPoints {
		if s, err := ks.Shared(p); !errors.Is(err, kex.ErrLowOrderPoint) || s != nil {
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

// TestLowOrderKeyShare sends each low-order point as the key share to the
// server half and to the client half of both ECDH schemes. Each must refuse
// with ErrLowOrderPoint and close 1008 before it derives a key or sends
// another message.
func TestLowOrderKeyShare(t *testing.T) {
	t.Parallel()
	bob := identity(t, "bob")
	for name, point := range lowOrderPoints {
		for _, scheme := range []*kex.Scheme{kex.UnauthECDH(), kex.PinnedECDH()} {
			t.Run(scheme.Name+"/client sends low-order point "+name, func(t *testing.T) {
				t.Parallel()
				c, s := wsPair(t, scheme)
				ctx := testContext(t)
				srv := runServer(ctx, scheme, s, &kex.ServerConfig{Identity: bob})
				cli := newFake(t, ctx, scheme, c)
				cli.send(&kex.ClientHello{Nonce: randomBytes(32), KeyShare: point, Offered: []string{kex.NamePinnedECDH}})
				r := cli.wantRefusal(srv, policy, kex.ErrLowOrderPoint) // no server_hello before the close
				wantHandshakeError(t, r.err, kex.ErrLowOrderPoint, scheme.Name, kex.ServerSide, "compute shared secret")
			})
		}
		t.Run("unauth-ecdh/server sends low-order point "+name, func(t *testing.T) {
			t.Parallel()
			scheme := kex.UnauthECDH()
			c, s := wsPair(t, scheme)
			ctx := testContext(t)
			cli := runClient(ctx, scheme, c, nil)
			srv := newFake(t, ctx, scheme, s)
			receive[*kex.ClientHello](srv)
			srv.send(&kex.ServerHello{Nonce: randomBytes(32), KeyShare: point})
			r := srv.wantRefusal(cli, policy, kex.ErrLowOrderPoint)
			wantHandshakeError(t, r.err, kex.ErrLowOrderPoint, scheme.Name, kex.ClientSide, "compute shared secret")
		})
		t.Run("pinned-ecdh/server sends low-order point "+name+", honestly signed", func(t *testing.T) {
			t.Parallel()
			// The real identity signs the hellos, so only the ECDH check
			// stands between the client and an all-zero secret.
			testPinnedClientRefuses(t, bob, kex.ClientConfig{Pin: bob.Pin()},
				serverPlay{hello: func(sh *kex.ServerHello) { sh.KeyShare = point }}, kex.ErrLowOrderPoint, "compute shared secret")
		})
	}
}

// TestFallbackRefusesLowOrderPoint: the unauth-ecdh fallback inside the
// pinned-ecdh client still checks the key share.
func TestFallbackRefusesLowOrderPoint(t *testing.T) {
	t.Parallel()
	scheme := kex.PinnedECDH()
	c, s := wsPair(t, scheme)
	ctx := testContext(t)
	cli := runClient(ctx, scheme, c, &kex.ClientConfig{
		Pin: identity(t, "bob").Pin(), Offer: []string{kex.NamePinnedECDH, kex.NameUnauthECDH}, AcceptFallback: true})
	srv := newFake(t, ctx, scheme, s)
	receive[*kex.ClientHello](srv)
	srv.send(&kex.ServerHello{Nonce: randomBytes(32), KeyShare: make([]byte, 32), Chosen: kex.NameUnauthECDH})
	r := srv.wantRefusal(cli, policy, kex.ErrLowOrderPoint)
	wantHandshakeError(t, r.err, kex.ErrLowOrderPoint, kex.NamePinnedECDH, kex.ClientSide, "compute shared secret")
}

// TestUnauthIgnoresPinnedFields: an unauth-ecdh client takes a
// server_hello with pinned-ecdh's fields as it is (the codec knows them),
// and derives its keys from the raw bytes, fields included.
func TestUnauthIgnoresPinnedFields(t *testing.T) {
	t.Parallel()
	scheme := kex.UnauthECDH()
	c, s := wsPair(t, scheme)
	ctx := testContext(t)
	cli := runClient(ctx, scheme, c, nil)
	srv := newFake(t, ctx, scheme, s)
	chm, ch := receive[*kex.ClientHello](srv)
	ks := newKeyShare(t)
	sh := srv.send(&kex.ServerHello{Nonce: ks.Nonce, KeyShare: ks.Public(), Chosen: kex.NamePinnedECDH, Certificate: identity(t, "bob").Certificate})
	r := <-cli
	if r.err != nil {
		t.Fatal(r.err)
	}
	shared, err := ks.Shared(chm.KeyShare)
	if err != nil {
		t.Fatal(err)
	}
	if *r.secrets != *kex.UnauthSecrets(shared, ch, sh) {
		t.Errorf("client secrets are not UnauthSecrets over the raw hellos")
	}
}
