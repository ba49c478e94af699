package attacker_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
)

func TestAttackCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		attack attacker.Attack
		scheme string
		err    string // "" for no error
	}{
		{"plaintext-rsa/passive relay applies", attacker.Passive, kex.NamePlaintextRSA, ""},
		{"unauth-ecdh/passive relay applies", attacker.Passive, kex.NameUnauthECDH, ""},
		{"pinned-ecdh/passive relay applies", attacker.Passive, kex.NamePinnedECDH, ""},
		{"plaintext-rsa/RSA key swap applies", attacker.SwapRSAKey, kex.NamePlaintextRSA, ""},
		{"unauth-ecdh/double ECDH applies", attacker.DoubleECDH, kex.NameUnauthECDH, ""},
		{"pinned-ecdh/own certificate applies", attacker.Impersonate, kex.NamePinnedECDH, ""},
		{"pinned-ecdh/share substitution applies", attacker.SubstituteShares, kex.NamePinnedECDH, ""},
		{"pinned-ecdh/offer stripping applies", attacker.StripOffer, kex.NamePinnedECDH, ""},
		{"pinned-ecdh/RSA key swap does not apply", attacker.SwapRSAKey, kex.NamePinnedECDH, "attack swap-rsa-key does not apply to pinned-ecdh; it applies to plaintext-rsa"},
		{"plaintext-rsa/double ECDH does not apply", attacker.DoubleECDH, kex.NamePlaintextRSA, "does not apply to plaintext-rsa"},
		{"unauth-ecdh/own certificate does not apply", attacker.Impersonate, kex.NameUnauthECDH, "does not apply to unauth-ecdh"},
		{"any scheme/unknown attack", "telepathy", kex.NameUnauthECDH, `unknown attack "telepathy"; known attacks: passive, `},
		{"any scheme/empty attack is unknown", "", kex.NameUnauthECDH, `unknown attack ""`},
		{"unknown scheme/passive does not apply", attacker.Passive, "carrier-pigeon", "does not apply to carrier-pigeon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.attack.Check(tc.scheme)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("Check(%q) = %v, want nil", tc.scheme, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("Check(%q) = %v, want an error containing %q", tc.scheme, err, tc.err)
			}
		})
	}
}

func TestFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scheme string
		want   []attacker.Attack
	}{
		{kex.NamePlaintextRSA, []attacker.Attack{attacker.SwapRSAKey, attacker.Passive}},
		{kex.NameUnauthECDH, []attacker.Attack{attacker.DoubleECDH, attacker.Passive}},
		{kex.NamePinnedECDH, []attacker.Attack{attacker.StripOffer, attacker.SubstituteShares, attacker.Impersonate, attacker.Passive}},
		{"carrier-pigeon", nil},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			t.Parallel()
			if got := attacker.For(tc.scheme); !slices.Equal(got, tc.want) {
				t.Errorf("For(%q) = %q, want %q", tc.scheme, got, tc.want)
			}
		})
	}
}

// TestForAgreesWithCheck: For lists exactly the attacks Check accepts, with
// the passive relay last, and every attack has a summary.
func TestForAgreesWithCheck(t *testing.T) {
	t.Parallel()
	for _, scheme := range kex.Names() {
		got := attacker.For(scheme)
		if len(got) == 0 || got[len(got)-1] != attacker.Passive {
			t.Errorf("For(%q) = %q, want the passive relay last", scheme, got)
		}
		for _, a := range attacker.Attacks() {
			listed, err := slices.Contains(got, a), a.Check(scheme)
			if listed != (err == nil) {
				t.Errorf("%s on %s: listed by For is %v, Check says %v", a, scheme, listed, err)
			}
		}
	}
	for _, a := range attacker.Attacks() {
		if a.Summary() == "" {
			t.Errorf("%s has no summary", a)
		}
	}
	if s := attacker.Attack("telepathy").Summary(); s != "" {
		t.Errorf("an unknown attack has the summary %q", s)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts attacker.Options
		err  string
	}{
		{"no scheme", attacker.Options{Upstream: "ws://bob/unauth-ecdh"}, "no scheme"},
		{"no upstream", attacker.Options{Scheme: kex.UnauthECDH{}}, "no upstream"},
		{"an attack for another scheme", attacker.Options{Scheme: kex.PinnedECDH{}, Attack: attacker.SwapRSAKey, Upstream: "ws://bob/pinned-ecdh"}, "does not apply to pinned-ecdh"},
		{"an unknown attack", attacker.Options{Scheme: kex.UnauthECDH{}, Attack: "telepathy", Upstream: "ws://bob/unauth-ecdh"}, "unknown attack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := attacker.New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New = %v, %v; want an error containing %q", n, err, tc.err)
			}
		})
	}
	n, err := attacker.New(attacker.Options{Scheme: kex.UnauthECDH{}, Upstream: "ws://bob/unauth-ecdh"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Attack() != attacker.Passive {
		t.Errorf("an empty Attack means %q, want passive", n.Attack())
	}
	if n.Log() == nil {
		t.Error("a node with no Log option has no ledger")
	}
}
