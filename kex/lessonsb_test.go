package kex_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// lessonsBCases are the honest pairs of the later lessons' schemes.
func lessonsBCases(tb testing.TB) []schemeCase {
	bob, eve := identity(tb, "bob"), identity(tb, "eve")
	signedFlow := []string{"c2s client_hello", "s2c server_hello", "s2c server_verify", "c2s client_finished"}
	return []schemeCase{
		{"ffdh-negotiated/honest pair", kex.FFDHNegotiated(), nil, nil, []string{"c2s dh_hello", "s2c dh_reply"}},
		{"ffdh-fixed/honest pair", kex.FFDHFixed(), nil, nil, []string{"c2s dh_hello", "s2c dh_reply"}},
		{"signed-ffdh/both sides choose ffdhe2048", kex.SignedFFDH(), &kex.ClientConfig{Pin: bob.Pin()}, &kex.ServerConfig{Identity: bob},
			[]string{"c2s dh_offer", "s2c dh_params", "c2s dh_client_key", "s2c dh_finished"}},
		{"sign-only/client pinned to the server's key", kex.SignOnly(), &kex.ClientConfig{Pin: bob.Pin()}, &kex.ServerConfig{Identity: bob},
			[]string{"c2s client_hello", "s2c server_hello", "s2c signed_hellos"}},
		{"sign-only/the server's key among the client's other pins", kex.SignOnly(), &kex.ClientConfig{Pin: eve.Pin(), OtherPins: []string{bob.Pin()}}, &kex.ServerConfig{Identity: bob},
			[]string{"c2s client_hello", "s2c server_hello", "s2c signed_hellos"}},
		{"signed-share/client pinned to the server's key", kex.SignedShare(), &kex.ClientConfig{Pin: bob.Pin()}, &kex.ServerConfig{Identity: bob}, signedFlow},
		{"pinned-ecdh/the server's key among the client's other pins", kex.PinnedECDH(), &kex.ClientConfig{Pin: eve.Pin(), OtherPins: []string{bob.Pin()}}, &kex.ServerConfig{Identity: bob}, signedFlow},
	}
}

// TestLessonsBHonestPairs: the two real halves of each scheme derive the
// same keys, send the scheme's messages in its order, and carry chat both
// ways; two handshakes give unrelated keys.
func TestLessonsBHonestPairs(t *testing.T) {
	t.Parallel()
	for _, sc := range lessonsBCases(t) {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			h := handshake(t, sc)
			if *h.client != *h.server {
				t.Fatal("client and server secrets differ")
			}
			if !slices.Equal(h.flow, sc.flow) {
				t.Errorf("messages on the wire: %q, want %q", h.flow, sc.flow)
			}
			chatBothWays(t, sc.scheme, h)
			if again := handshake(t, sc); again.client.ClientToServer.Key == h.client.ClientToServer.Key {
				t.Error("two handshakes derived the same key")
			}
		})
	}
}

// TestFFDHGroups: ffdhe2048 is RFC 7919's prime, derived here from its
// formula; both groups are safe primes whose g generates the subgroup of
// prime order q; export40 is the largest safe prime below 2^40.
func TestFFDHGroups(t *testing.T) {
	t.Parallel()
	t.Run("ffdhe2048 is 2^2048 − 2^1984 + (⌊2^1918·e⌋ + 560316)·2^64 − 1", func(t *testing.T) {
		t.Parallel()
		const prec = 2300
		e, term := newFloat(prec, 1), newFloat(prec, 1)
		for k := int64(1); k < 400; k++ {
			term.Quo(term, newFloat(prec, k))
			e.Add(e, term)
		}
		floor, _ := e.SetMantExp(e, 1918).Int(nil)
		want := new(big.Int).Lsh(big.NewInt(1), 2048)
		want.Sub(want, new(big.Int).Lsh(big.NewInt(1), 1984))
		want.Add(want, new(big.Int).Lsh(floor.Add(floor, big.NewInt(560316)), 64))
		want.Sub(want, big.NewInt(1))
		if got := kex.FFDHE2048().P; got.Cmp(want) != 0 {
			t.Errorf("p = %x, want %x", got, want)
		}
	})
	for _, g := range []*kex.FFGroup{kex.FFDHE2048(), kex.Export40()} {
		t.Run(g.Name+" is a safe prime with g of order q", func(t *testing.T) {
			t.Parallel()
			q := new(big.Int).Rsh(g.P, 1)
			if q.Cmp(g.Q) != 0 || !g.P.ProbablyPrime(16) || !g.Q.ProbablyPrime(16) {
				t.Fatalf("p = 2q + 1 with both prime fails: p %v, q %v", g.P, g.Q)
			}
			if new(big.Int).Exp(g.G, g.Q, g.P).Cmp(big.NewInt(1)) != 0 || g.G.Cmp(big.NewInt(1)) == 0 {
				t.Errorf("g = %v does not have order q", g.G)
			}
			if kex.GroupByName(g.Name).P.Cmp(g.P) != 0 {
				t.Errorf("GroupByName(%q) is another group", g.Name)
			}
		})
	}
	t.Run("export40 is the largest safe prime below 2^40", func(t *testing.T) {
		t.Parallel()
		p := kex.Export40().P
		if p.BitLen() != 40 {
			t.Fatalf("p has %d bits", p.BitLen())
		}
		top := new(big.Int).Lsh(big.NewInt(1), 40)
		for c := new(big.Int).Add(p, big.NewInt(2)); c.Cmp(top) < 0; c.Add(c, big.NewInt(2)) {
			if c.ProbablyPrime(8) && new(big.Int).Rsh(c, 1).ProbablyPrime(8) {
				t.Fatalf("%v is a larger safe prime", c)
			}
		}
	})
}

func newFloat(prec uint, v int64) *big.Float { return new(big.Float).SetPrec(prec).SetInt64(v) }

// TestCheckPublic holds public values to RFC 7919 §5.1 and the subgroup.
func TestCheckPublic(t *testing.T) {
	t.Parallel()
	g := kex.Export40()
	pm1 := new(big.Int).Sub(g.P, big.NewInt(1))
	valid := g.Public(big.NewInt(12345))
	tests := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"g^x", valid, true},
		{"0", make([]byte, g.Size()), false},
		{"1", big.NewInt(1).FillBytes(make([]byte, g.Size())), false},
		{"p − 1", pm1.FillBytes(make([]byte, g.Size())), false},
		{"p", g.P.FillBytes(make([]byte, g.Size())), false},
		{"2, outside the subgroup of squares", big.NewInt(2).FillBytes(make([]byte, g.Size())), false},
		{"a valid value one byte short", valid[1:], false},
	}
	for _, tt := range tests {
		_, err := g.CheckPublic(tt.b)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, kex.ErrBadPublicValue)) {
			t.Errorf("%s: CheckPublic = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// TestDiscreteLog: baby-step giant-step finds the exponent, at the ends of
// its range and in between, reports its progress, stops when its context
// ends, and refuses a real group. It solves in a 32-bit group (the largest
// safe prime below 2^32, whose subgroup 2 generates), and in export40 too
// without the race detector, which makes that take seconds.
func TestDiscreteLog(t *testing.T) {
	t.Parallel()
	g := &kex.FFGroup{Name: "toy32", P: big.NewInt(4294967087), G: big.NewInt(2), Q: big.NewInt(2147483543)}
	xs := []*big.Int{big.NewInt(1), big.NewInt(46342), new(big.Int).Sub(g.Q, big.NewInt(1))}
	if !raceEnabled {
		g = kex.Export40()
		xs = []*big.Int{big.NewInt(1), big.NewInt(741455), new(big.Int).Sub(g.Q, big.NewInt(1))}
	}
	for _, x := range xs {
		y := new(big.Int).SetBytes(g.Public(x))
		var last [2]int
		got, err := g.DiscreteLog(t.Context(), y, func(done, total int) { last = [2]int{done, total} })
		if err != nil || got.Cmp(x) != 0 {
			t.Errorf("DiscreteLog(g^%v) = %v, %v", x, got, err)
		}
		if last[1] == 0 || last[0] > last[1] {
			t.Errorf("x = %v: last progress %d of %d", x, last[0], last[1])
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := g.DiscreteLog(ctx, big.NewInt(2), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("with its context cancelled: %v", err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	far := new(big.Int).SetBytes(g.Public(new(big.Int).Sub(g.Q, big.NewInt(1))))
	if _, err := g.DiscreteLog(ctx, far, func(int, int) { cancel() }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled at its first progress report: %v", err)
	}
	if _, err := kex.FFDHE2048().DiscreteLog(t.Context(), big.NewInt(4), nil); err == nil {
		t.Error("DiscreteLog took on ffdhe2048")
	}
}

// TestFFDHServersOnInjectedGroups:
//
// ATTACK SCENARIO: a client (the test, standing in for Mallory) proposes
// ffdhe2048's p with g = 1, p or p − 1, and g itself as its key share.
//
// THIS TEST VERIFIES: the ffdh-negotiated server takes the group and
// answers with a public value of 1, 0 or 1 or p − 1, the weakness the
// lesson shows; the ffdh-fixed server refuses with ErrBadGroup, and also
// refuses a proper group with a key share of 0, 1 or p − 1 with
// ErrBadPublicValue; and a negotiated server still refuses an even or
// short p with ErrWeakGroup.
func TestFFDHServersOnInjectedGroups(t *testing.T) {
	t.Parallel()
	p := kex.FFDHE2048().P
	pm1 := new(big.Int).Sub(p, big.NewInt(1))
	width := func(v *big.Int) []byte { return v.FillBytes(make([]byte, 256)) }
	tests := []struct {
		name       string
		scheme     *kex.Scheme
		p, g, a    []byte
		want       error
		wantPublic []*big.Int // the answers a negotiated server may give
	}{
		{"ffdh-negotiated/g = 1", kex.FFDHNegotiated(), p.Bytes(), []byte{1}, width(big.NewInt(1)), nil, []*big.Int{big.NewInt(1)}},
		{"ffdh-negotiated/g = p", kex.FFDHNegotiated(), p.Bytes(), p.Bytes(), width(big.NewInt(0)), nil, []*big.Int{big.NewInt(0)}},
		{"ffdh-negotiated/g = p − 1", kex.FFDHNegotiated(), p.Bytes(), pm1.Bytes(), width(pm1), nil, []*big.Int{big.NewInt(1), pm1}},
		{"ffdh-negotiated/an even p", kex.FFDHNegotiated(), new(big.Int).Add(p, big.NewInt(1)).Bytes(), []byte{2}, width(big.NewInt(4)), kex.ErrWeakGroup, nil},
		{"ffdh-negotiated/a 1024-bit p", kex.FFDHNegotiated(), new(big.Int).Rsh(p, 1024).Bytes(), []byte{2}, width(big.NewInt(4)), kex.ErrWeakGroup, nil},
		{"ffdh-fixed/g = 1", kex.FFDHFixed(), p.Bytes(), []byte{1}, width(big.NewInt(1)), kex.ErrBadGroup, nil},
		{"ffdh-fixed/g = p", kex.FFDHFixed(), p.Bytes(), p.Bytes(), width(big.NewInt(0)), kex.ErrBadGroup, nil},
		{"ffdh-fixed/g = p − 1", kex.FFDHFixed(), p.Bytes(), pm1.Bytes(), width(pm1), kex.ErrBadGroup, nil},
		{"ffdh-fixed/key share 1", kex.FFDHFixed(), p.Bytes(), []byte{2}, width(big.NewInt(1)), kex.ErrBadPublicValue, nil},
		{"ffdh-fixed/key share 0", kex.FFDHFixed(), p.Bytes(), []byte{2}, width(big.NewInt(0)), kex.ErrBadPublicValue, nil},
		{"ffdh-fixed/key share p − 1", kex.FFDHFixed(), p.Bytes(), []byte{2}, width(pm1), kex.ErrBadPublicValue, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			c, s := wsPair(t, tt.scheme)
			srv := runServer(ctx, tt.scheme, s, nil)
			f := newFake(t, ctx, tt.scheme, c)
			f.send(&kex.DHHello{Nonce: randomBytes(32), P: tt.p, G: tt.g, KeyShare: tt.a})
			if tt.want != nil {
				r := f.wantRefusal(srv, policy, tt.want)
				wantHandshakeError(t, r.err, tt.want, tt.scheme.Name, kex.ServerSide, "")
				return
			}
			reply, _ := receive[*kex.DHReply](f)
			if r := <-srv; r.err != nil {
				t.Fatal(r.err)
			}
			got := new(big.Int).SetBytes(reply.KeyShare)
			if !slices.ContainsFunc(tt.wantPublic, func(w *big.Int) bool { return w.Cmp(got) == 0 }) {
				t.Errorf("the server answered with a %d-bit public value, want one of %v", got.BitLen(), tt.wantPublic)
			}
		})
	}
}

// TestFFDHFixedClientChecksTheReply: an ffdh-fixed client refuses a reply
// whose public value is 0, 1 or p − 1; an ffdh-negotiated client takes it.
func TestFFDHFixedClientChecksTheReply(t *testing.T) {
	t.Parallel()
	p := kex.FFDHE2048().P
	for _, v := range []*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(p, big.NewInt(1))} {
		for _, scheme := range []*kex.Scheme{kex.FFDHFixed(), kex.FFDHNegotiated()} {
			t.Run(scheme.Name+"/"+v.Text(16)[:min(4, len(v.Text(16)))], func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				c, s := wsPair(t, scheme)
				cli := runClient(ctx, scheme, c, nil)
				f := newFake(t, ctx, scheme, s)
				receive[*kex.DHHello](f)
				f.send(&kex.DHReply{Nonce: randomBytes(32), KeyShare: v.FillBytes(make([]byte, 256))})
				if scheme.Name == kex.NameFFDHNegotiated {
					if r := <-cli; r.err != nil {
						t.Errorf("the negotiated client refused: %v", r.err)
					}
					return
				}
				r := f.wantRefusal(cli, policy, kex.ErrBadPublicValue)
				wantHandshakeError(t, r.err, kex.ErrBadPublicValue, scheme.Name, kex.ClientSide, "check public value")
			})
		}
	}
}

// TestSignedFFDHFinishedCoversTheOffer:
//
// ATTACK SCENARIO: a server with Bob's real key answers as if Alice had
// offered export40 alone, as the stripped hello that reached it said, and
// cannot compute her finished MAC over the offer she really sent because
// it never saw it.
//
// THIS TEST VERIFIES: Alice accepts the signed parameters (the signature
// does not cover the offer) and refuses the server's finished MAC with
// ErrBadFinished: the MAC is what would catch the downgrade, and only for
// an attacker who cannot compute the secret. A group she did not offer is
// ErrNoCommonGroup, and a server whose client offers nothing it speaks
// refuses with the same error.
func TestSignedFFDHFinishedCoversTheOffer(t *testing.T) {
	t.Parallel()
	bob := identity(t, "bob")
	scheme := kex.SignedFFDH()
	t.Run("finished over a stripped offer", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		c, s := wsPair(t, scheme)
		cli := runClient(ctx, scheme, c, &kex.ClientConfig{Pin: bob.Pin()})
		f := newFake(t, ctx, scheme, s)
		offer, _ := receive[*kex.DHOffer](f)
		stripped, err := wire.Encode(&kex.DHOffer{Nonce: offer.Nonce, Offered: []string{kex.GroupExport40}})
		if err != nil {
			t.Fatal(err)
		}
		g := kex.Export40()
		b := big.NewInt(987654321)
		nonce := randomBytes(32)
		share := g.Public(b)
		sig := ed25519.Sign(bob.Key, kex.FFDHParamsContent(offer.Nonce, nonce, g.Name, share))
		sh := f.send(&kex.DHParams{Nonce: nonce, Group: g.Name, KeyShare: share, Certificate: bob.Certificate, Signature: sig})
		ckm, ck := receive[*kex.DHClientKey](f)
		a, err := g.CheckPublic(ckm.KeyShare)
		if err != nil {
			t.Fatal(err)
		}
		sched := kex.NewFFDHSchedule(g.Shared(b, a), offer.Nonce, nonce)
		f.send(&kex.DHFinished{Finished: sched.ServerFinished(stripped, sh, ck)})
		r := f.wantRefusal(cli, policy, kex.ErrBadFinished)
		wantHandshakeError(t, r.err, kex.ErrBadFinished, scheme.Name, kex.ClientSide, "verify server finished")
	})
	t.Run("a group the client did not offer", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		c, s := wsPair(t, scheme)
		cli := runClient(ctx, scheme, c, &kex.ClientConfig{Pin: bob.Pin()})
		f := newFake(t, ctx, scheme, s)
		receive[*kex.DHOffer](f)
		f.send(&kex.DHParams{Nonce: randomBytes(32), Group: "ffdhe1024", KeyShare: []byte{2}, Certificate: bob.Certificate, Signature: make([]byte, 64)})
		r := f.wantRefusal(cli, policy, kex.ErrNoCommonGroup)
		wantHandshakeError(t, r.err, kex.ErrNoCommonGroup, scheme.Name, kex.ClientSide, "check chosen group")
	})
	t.Run("a client that offers nothing the server speaks", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		c, s := wsPair(t, scheme)
		srv := runServer(ctx, scheme, s, &kex.ServerConfig{Identity: bob})
		f := newFake(t, ctx, scheme, c)
		f.send(&kex.DHOffer{Nonce: randomBytes(32), Offered: []string{"ffdhe8192"}})
		r := f.wantRefusal(srv, policy, kex.ErrNoCommonGroup)
		wantHandshakeError(t, r.err, kex.ErrNoCommonGroup, scheme.Name, kex.ServerSide, "choose group")
	})
}

// TestSignedShareSignatureHasNoFreshness: signed-share's signature depends
// on the server's key share alone, so the same bytes verify in every
// connection that shows that key share; pinned-ecdh's does not, since it
// covers the client's hello.
func TestSignedShareSignatureHasNoFreshness(t *testing.T) {
	t.Parallel()
	bob := identity(t, "bob")
	ks := newKeyShare(t)
	sig := ed25519.Sign(bob.Key, kex.ShareSignedContent(ks.Public()))
	if !ed25519.Verify(bob.Key.Public().(ed25519.PublicKey), kex.ShareSignedContent(ks.Public()), sig) {
		t.Fatal("the signature does not verify at all")
	}
	sh, err := wire.Encode(&kex.ServerHello{Nonce: randomBytes(32), KeyShare: ks.Public(), Certificate: bob.Certificate})
	if err != nil {
		t.Fatal(err)
	}
	hello := func() []byte {
		b, err := wire.Encode(&kex.ClientHello{Nonce: randomBytes(32), KeyShare: newKeyShare(t).Public()})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	old := kex.SignHellos(bob, hello(), sh)
	if ed25519.Verify(bob.Key.Public().(ed25519.PublicKey), kex.SignedContent(hello(), sh), old) {
		t.Error("a pinned-ecdh signature verified for another client hello")
	}
}

// TestServerKeyLog: a pinned-ecdh or signed-share server with a KeyLog
// writes one line per handshake naming the client's nonce and its
// ephemeral key, and ParseKeyLogLine reads back the key whose public half
// the server sent.
func TestServerKeyLog(t *testing.T) {
	t.Parallel()
	bob := identity(t, "bob")
	for _, scheme := range []*kex.Scheme{kex.PinnedECDH(), kex.SignedShare()} {
		t.Run(scheme.Name, func(t *testing.T) {
			t.Parallel()
			var log bytes.Buffer
			h := handshake(t, schemeCase{name: scheme.Name, scheme: scheme, client: &kex.ClientConfig{Pin: bob.Pin()}, server: &kex.ServerConfig{Identity: bob, KeyLog: &log}})
			if strings.Count(log.String(), "\n") != 1 {
				t.Fatalf("key log %q, want one line", log.String())
			}
			nonce, ks, err := kex.ParseKeyLogLine(strings.TrimSpace(log.String()))
			if err != nil {
				t.Fatal(err)
			}
			ch, err := wire.DecodeAs[*kex.ClientHello](scheme.Codec(), h.msgs[0])
			if err != nil {
				t.Fatal(err)
			}
			sh, err := wire.DecodeAs[*kex.ServerHello](scheme.Codec(), h.msgs[1])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(nonce, ch.Nonce) || !bytes.Equal(ks.Public(), sh.KeyShare) {
				t.Errorf("the key-log line names nonce %x and key %x; the handshake had %x and %x", nonce, ks.Public(), ch.Nonce, sh.KeyShare)
			}
		})
	}
	for _, bad := range []string{"", "CLIENT_RANDOM 00 00", "MITMLAB_SERVER_EPHEMERAL zz 00", "MITMLAB_SERVER_EPHEMERAL 00 0102"} {
		if _, _, err := kex.ParseKeyLogLine(bad); err == nil {
			t.Errorf("ParseKeyLogLine(%q) took it", bad)
		}
	}
}

// TestOtherPins: a pinned-ecdh, sign-only or signed-share client accepts a
// server whose key is its pin or one of its other pins, and refuses any
// other key with ErrPinMismatch; a malformed other pin is a configuration
// mistake.
func TestOtherPins(t *testing.T) {
	t.Parallel()
	bob, eve, mallory := identity(t, "bob"), identity(t, "eve"), identity(t, "mallory")
	for _, scheme := range []*kex.Scheme{kex.PinnedECDH(), kex.SignOnly(), kex.SignedShare()} {
		t.Run(scheme.Name+"/a key nobody pinned", func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			c, s := wsPair(t, scheme)
			cli := runClient(ctx, scheme, c, &kex.ClientConfig{Pin: bob.Pin(), OtherPins: []string{eve.Pin()}})
			srv := runServer(ctx, scheme, s, &kex.ServerConfig{Identity: mallory})
			r := <-cli
			wantHandshakeError(t, r.err, kex.ErrPinMismatch, scheme.Name, kex.ClientSide, "")
			<-srv
		})
		t.Run(scheme.Name+"/a malformed other pin", func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			c, _ := wsPair(t, scheme)
			r := <-runClient(ctx, scheme, c, &kex.ClientConfig{Pin: bob.Pin(), OtherPins: []string{"sha1/nope"}})
			wantHandshakeError(t, r.err, kex.ErrBadPin, scheme.Name, kex.ClientSide, "check configuration")
		})
	}
}
