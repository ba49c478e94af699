// Package scenarios is the lab's catalogue and its library entry point.
// A scenario is one key-exchange scheme plus one attack. [Run] wires a
// victim client (Alice), a server (Bob) and an attacker node (Mallory)
// together over real WebSocket connections, runs a chat through them and
// returns an [Outcome] built from what each node really saw.
package scenarios

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/internal/suggest"
	"github.com/mitmlab/mitmlab/kex"
)

// Scenario is one entry in the catalogue.
type Scenario struct {
	Name   string          `json:"name"`
	Title  string          `json:"title"`
	Lesson string          `json:"lesson"` // two lines: the setup and the question; never the answer
	Scheme string          `json:"scheme"`
	Attack attacker.Attack `json:"attack"`
	// Expect is the outcome in one line. A picker hides it until the
	// scenario has run, so a class can guess first.
	Expect string `json:"expect"`

	// configure, if not nil, adjusts the victims' handshake settings, for
	// the variants of a scheme.
	configure func(*kex.ClientConfig, *kex.ServerConfig)

	// attacks, if not nil, lists the attacks the scenario can run, for
	// scenarios whose attacks are not the attacker package's.
	attacks []attacker.Attack

	// run, if not nil, runs a scenario that is not one key-exchange scheme
	// between the standard victims, such as the TLS scenarios. It gets the
	// options with defaults filled in and a context bounded by the timeout.
	run runFunc
}

// runFunc runs one scenario and builds its Outcome from what its nodes
// really saw, exactly as [Run] does for the scheme scenarios.
type runFunc func(ctx context.Context, sc Scenario, o *Options) (*Outcome, error)

// Catalogue returns every scenario, in teaching order: the three core
// schemes, then the variants that settle the original question.
func Catalogue() []Scenario {
	return slices.Concat(coreScenarios(), schemeVariants(), tlsScenarios())
}

// schemeVariants are pinned-ecdh's near misses: a signature with no trust
// anchor, and a negotiation an attacker can downgrade.
func schemeVariants() []Scenario {
	offerBoth := func(c *kex.ClientConfig, s *kex.ServerConfig) {
		c.Offer = []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
		s.Schemes = []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
	}
	return []Scenario{
		{
			Name:   "signed-unpinned",
			Title:  "Signed ECDH, but any certificate will do",
			Lesson: "Bob signs the handshake, and Alice checks that the signature matches the certificate she was sent.\nShe does not check whose certificate it is. Mallory signs with his own key. Can he read the chat?",
			Scheme: kex.NamePinnedECDH,
			Attack: attacker.Impersonate,
			Expect: "the attacker reads every message; a signature without a trust anchor proves nothing",
			configure: func(c *kex.ClientConfig, _ *kex.ServerConfig) {
				c.SkipPinCheck = true // INSECURE(signed-unpinned): the lesson.
			},
		},
		{
			Name:   "downgrade",
			Title:  "Pinned ECDH with an unauthenticated fallback",
			Lesson: "Alice offers pinned-ecdh and, for old servers, unauth-ecdh; Bob speaks both and prefers pinned.\nMallory strips pinned-ecdh from Alice's offer. Alice accepts the fallback. Can he read the chat?",
			Scheme: kex.NamePinnedECDH,
			Attack: attacker.StripOffer,
			Expect: "the attacker reads every message; the fallback is the weakest link",
			configure: func(c *kex.ClientConfig, s *kex.ServerConfig) {
				offerBoth(c, s)
				c.AcceptFallback = true // INSECURE(downgrade): the lesson.
			},
		},
		{
			Name:      "downgrade-refused",
			Title:     "Pinned ECDH that refuses to fall back",
			Lesson:    "The same offer, the same Bob and the same Mallory, but Alice's code holds a pin for Bob\nand refuses any handshake that is not signed with that key. Can Mallory read the chat?",
			Scheme:    kex.NamePinnedECDH,
			Attack:    attacker.StripOffer,
			Expect:    "the client refuses the downgrade; the attacker reads nothing",
			configure: offerBoth,
		},
	}
}

func coreScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "plaintext-rsa",
			Title:  "RSA public key sent in clear",
			Lesson: "Alice sends her RSA public key over the socket in clear; Bob wraps a session key with it.\nMallory sits on the path between them. Can he read the chat?",
			Scheme: kex.NamePlaintextRSA,
			Attack: attacker.SwapRSAKey,
			Expect: "the attacker reads every message; neither victim notices",
		},
		{
			Name:   "unauth-ecdh",
			Title:  "Unauthenticated X25519 key exchange",
			Lesson: "Alice and Bob agree on a key with X25519 ECDH: no certificate, no signature.\nMallory sits on the path between them. Can he read the chat?",
			Scheme: kex.NameUnauthECDH,
			Attack: attacker.DoubleECDH,
			Expect: "the attacker reads every message; neither victim notices",
		},
		{
			Name:   "pinned-ecdh",
			Title:  "Signed ECDH with a pinned server key",
			Lesson: "Bob signs the handshake with an Ed25519 key whose hash Alice has pinned.\nMallory answers with his own certificate. Can he read the chat?",
			Scheme: kex.NamePinnedECDH,
			Attack: attacker.Impersonate,
			Expect: "the client refuses the server: key does not match pin; the attacker reads nothing",
		},
	}
}

// Applicable lists the attacks sc can run, strongest first.
func (sc Scenario) Applicable() []attacker.Attack {
	if sc.attacks != nil {
		return sc.attacks
	}
	return attacker.For(sc.Scheme)
}

// CheckAttack returns an error unless a can run in sc. The error says which
// attacks can, and suggests one for a typo.
func (sc Scenario) CheckAttack(a attacker.Attack) error {
	ok := sc.Applicable()
	if slices.Contains(ok, a) {
		return nil
	}
	list := joinAttacks(ok)
	if slices.Contains(Attacks(), a) {
		return fmt.Errorf("attack %s does not apply to %s; it can run %s", a, sc.Name, list)
	}
	hint := ""
	if c := suggest.Closest(string(a), attackNames(Attacks())); c != "" {
		hint = fmt.Sprintf("; did you mean %q?", c)
	}
	return fmt.Errorf("unknown attack %q%s (%s can run %s)", a, hint, sc.Name, list)
}

func attackNames(as []attacker.Attack) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}

func joinAttacks(as []attacker.Attack) string { return strings.Join(attackNames(as), ", ") }

// Attacks lists every attack any scenario can run, for help texts.
func Attacks() []attacker.Attack {
	var out []attacker.Attack
	seen := map[attacker.Attack]bool{}
	for _, a := range attacker.Attacks() {
		seen[a] = true
		out = append(out, a)
	}
	for _, sc := range Catalogue() {
		for _, a := range sc.Applicable() {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// Names returns every scenario's name.
func Names() []string {
	var out []string
	for _, s := range Catalogue() {
		out = append(out, s.Name)
	}
	return out
}

// UnknownScenarioError is returned for a name not in the catalogue.
type UnknownScenarioError struct {
	Name       string
	Suggestion string // the closest name, or ""
}

func (e *UnknownScenarioError) Error() string {
	msg := fmt.Sprintf("unknown scenario %q", e.Name)
	if e.Suggestion != "" {
		msg += fmt.Sprintf("; did you mean %q?", e.Suggestion)
	}
	return msg + " (known: " + strings.Join(Names(), ", ") + ")"
}

// Lookup returns the scenario called name.
func Lookup(name string) (Scenario, error) {
	for _, s := range Catalogue() {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, &UnknownScenarioError{Name: name, Suggestion: suggest.Closest(name, Names())}
}
