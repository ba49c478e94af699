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
func schemeVariants() []Scenario { return nil }

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
