package attacker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mitmlab/mitmlab/kex"
)

// Attack is a strategy the node runs on each connection.
type Attack string

// The attacks.
const (
	// Passive relays every frame unchanged and reads what it can, which with
	// no keys is nothing but the public handshake.
	Passive Attack = "passive"
	// SwapRSAKey replaces the client's RSA public key with the attacker's,
	// unwraps the server's secret and re-wraps it for the client. Both
	// victims end up with the same keys, which the attacker holds, and it
	// reads every frame passively.
	SwapRSAKey Attack = "swap-rsa-key"
	// DoubleECDH runs unauth-ecdh's server half toward the client and its
	// client half toward the server, then decrypts and re-encrypts.
	DoubleECDH Attack = "double-ecdh"
	// Impersonate runs pinned-ecdh's server half toward the client with the
	// attacker's own certificate, and its client half toward the server.
	Impersonate Attack = "impersonate"
	// SubstituteShares keeps the server's certificate and signature but
	// replaces both X25519 key shares with the attacker's, re-computing the
	// finished MAC it can compute.
	SubstituteShares Attack = "substitute-shares"
	// StripOffer removes pinned-ecdh from the client's offer on its way to
	// the server, so a server that can fall back chooses unauth-ecdh, then
	// runs unauth-ecdh with each side as DoubleECDH does.
	StripOffer Attack = "strip-offer"
)

// attacks lists each attack with the schemes it applies to.
var attacks = []struct {
	attack  Attack
	schemes []string
	summary string
}{
	{Passive, kex.Names(), "relay every frame unchanged and read what it can"},
	{SwapRSAKey, []string{kex.NamePlaintextRSA}, "swap in the attacker's RSA key and re-wrap the secret"},
	{DoubleECDH, []string{kex.NameUnauthECDH}, "run one key exchange with each side, decrypt and re-encrypt"},
	{Impersonate, []string{kex.NamePinnedECDH}, "present the attacker's own certificate"},
	{SubstituteShares, []string{kex.NamePinnedECDH}, "keep the server's certificate, swap both key shares"},
	{StripOffer, []string{kex.NamePinnedECDH}, "strip pinned-ecdh from the client's offer, then run unauth-ecdh with each side"},
}

// Attacks returns every attack's name.
func Attacks() []Attack {
	out := make([]Attack, len(attacks))
	for i, a := range attacks {
		out[i] = a.attack
	}
	return out
}

// Summary returns a one-line description of a.
func (a Attack) Summary() string {
	for _, x := range attacks {
		if x.attack == a {
			return x.summary
		}
	}
	return ""
}

// Check returns an error unless a is a known attack that applies to scheme.
func (a Attack) Check(scheme string) error {
	for _, x := range attacks {
		if x.attack != a {
			continue
		}
		if !slices.Contains(x.schemes, scheme) {
			return fmt.Errorf("attack %s does not apply to %s; it applies to %s", a, scheme, strings.Join(x.schemes, ", "))
		}
		return nil
	}
	return fmt.Errorf("unknown attack %q; known attacks: %s", string(a), strings.Join(attackNames(), ", "))
}

// For returns the attacks that apply to scheme, strongest first.
func For(scheme string) []Attack {
	var out []Attack
	for i := len(attacks) - 1; i >= 0; i-- {
		if slices.Contains(attacks[i].schemes, scheme) {
			out = append(out, attacks[i].attack)
		}
	}
	return out
}

func attackNames() []string {
	var out []string
	for _, a := range attacks {
		out = append(out, string(a.attack))
	}
	return out
}
