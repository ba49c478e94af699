// Package scenarios is the lab's catalogue and its library entry point.
// A scenario is one key-exchange scheme plus one attack, over ws:// or
// over wss:// with a trust check. [Run] wires a victim client (Alice), a
// server (Bob) and an attacker node (Mallory) together over real
// WebSocket connections, runs a chat through them and returns an
// [Outcome] built from what each node really saw.
//
// The catalogue is also the registry of schemes: [Schemes] lists every
// scheme some scenario uses, which is what the separate processes speak.
package scenarios

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/internal/suggest"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/tlslab"
)

// Scenario is one entry in the catalogue.
type Scenario struct {
	Name   string
	Title  string
	Lesson string // two lines: the setup and the question; never the answer
	// Topic groups the scenarios in the picker.
	Topic  string
	Scheme *kex.Scheme
	// Attack is the name of the scenario's attack in [attacker.Attacks].
	Attack string
	// TLS, if set, makes the victims speak wss://, with Alice checking
	// Bob's certificate this way.
	TLS tlslab.Check
	// Expect is the outcome in one line. A picker hides it until the
	// scenario has run, so a class can guess first.
	Expect string

	// Script is Alice's chat when the caller gives none; empty means
	// [DefaultScript]. A lesson whose attacker knows the layout of a
	// message (a transfer order) needs that message in the chat.
	Script []string

	// HandshakeTimeout, if not zero, is how long the victims and the
	// attacker wait for a handshake when Options gives no timeout: a
	// lesson whose attacker computes for seconds (a grind) gives him
	// room, as a patient user would.
	HandshakeTimeout time.Duration

	// Prelude, if not nil, is an earlier conversation between the same
	// Alice and Bob, run first: trust on first use, and replays across
	// sessions, are about what an earlier session left behind.
	Prelude *Prelude

	// Browser says Alice is the victim page Bob serves (package web): a
	// real browser when Options.Browser is set, the page's steps in Go
	// otherwise (scenarios/browser.go).
	Browser bool

	// configure, if not nil, adjusts the victims' settings, for the
	// variants of a scheme.
	configure func(*Setup)
}

// Prelude is an earlier conversation with the same victims: the same
// long-term keys and settings, and the same Mallory, with his memory of
// it. The Outcome is about the conversation after it; the trace holds
// both.
type Prelude struct {
	// Attack is what Mallory runs on it; empty means he is not on the
	// path yet.
	Attack string
	// Messages is Alice's script for it; empty means the default script.
	Messages []string
}

// Setup is what a scenario's variant may change about the victims.
type Setup struct {
	Client        *kex.ClientConfig
	Server        *kex.ServerConfig
	ClientRecords *channel.Options
	ServerRecords *channel.Options
	// Dir is a directory of the run's own, removed when the run ends: a
	// client's pin store goes there.
	Dir string
	// Given, if not nil, is what the lesson grants Mallory beyond the
	// wire, its premise (attacker.Given): a plaintext he knows, a key-log
	// line that leaks, an identity Alice trusts.
	Given *attacker.Given
}

// MarshalJSON writes the scenario as `mitmlab list --json` shows it.
func (sc Scenario) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name   string `json:"name"`
		Title  string `json:"title"`
		Topic  string `json:"topic"`
		Lesson string `json:"lesson"`
		Scheme string `json:"scheme"`
		Attack string `json:"attack"`
		TLS    string `json:"tls,omitempty"`
		Expect string `json:"expect"`
	}{sc.Name, sc.Title, sc.Topic, sc.Lesson, sc.Scheme.Name, sc.Attack, string(sc.TLS), sc.Expect})
}

// The topics, in the picker's order.
const (
	TopicCore           = "The three schemes"
	TopicNearMiss       = "Near misses of the signed scheme"
	TopicTLS            = "The original question: HTTPS and wss://"
	TopicIntegrity      = "Integrity of the conversation"
	TopicForwardSecrecy = "Record now, decrypt later: forward secrecy"
	TopicSAS            = "Comparing keys by voice: short authentication strings"
	TopicTOFU           = "Trust on first use"
	TopicGroups         = "Diffie-Hellman groups: injected and downgraded"
	TopicFreshness      = "Freshness: replays across sessions"
	TopicMisbinding     = "Who holds the key: identity misbinding"
)

// Catalogue returns every scenario, in teaching order.
func Catalogue() []Scenario {
	return slices.Concat(coreScenarios(), schemeVariants(), tlsScenarios(), integrityScenarios(), lessonsAScenarios(), browserScenarios(), lessonsBScenarios())
}

func coreScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "plaintext-rsa",
			Title:  "RSA public key sent in clear",
			Lesson: "Alice sends her RSA public key over the socket in clear; Bob wraps a session key with it.\nMallory sits on the path between them. Can he read the chat?",
			Topic:  TopicCore,
			Scheme: kex.PlaintextRSA(),
			Attack: attacker.SwapRSAKey,
			Expect: "the attacker reads every message; neither victim notices",
		},
		{
			Name:   "unauth-ecdh",
			Title:  "Unauthenticated X25519 key exchange",
			Lesson: "Alice and Bob agree on a key with X25519 ECDH: no certificate, no signature.\nMallory sits on the path between them. Can he read the chat?",
			Topic:  TopicCore,
			Scheme: kex.UnauthECDH(),
			Attack: attacker.DoubleECDH,
			Expect: "the attacker reads every message; neither victim notices",
		},
		{
			Name:   "pinned-ecdh",
			Title:  "Signed ECDH with a pinned server key",
			Lesson: "Bob signs the handshake with an Ed25519 key whose hash Alice has pinned.\nMallory answers with his own certificate. Can he read the chat?",
			Topic:  TopicCore,
			Scheme: kex.PinnedECDH(),
			Attack: attacker.Impersonate,
			Expect: "the client refuses the server: key does not match pin; the attacker reads nothing",
		},
	}
}

// schemeVariants are pinned-ecdh's near misses: a signature with no trust
// anchor, and a negotiation an attacker can downgrade.
func schemeVariants() []Scenario {
	offerBoth := func(s *Setup) {
		s.Client.Offer = []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
		s.Server.Schemes = []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
	}
	return []Scenario{
		{
			Name:   "signed-unpinned",
			Title:  "Signed ECDH, but any certificate will do",
			Lesson: "Bob signs the handshake, and Alice checks that the signature matches the certificate she was sent.\nShe does not check whose certificate it is. Mallory signs with his own key. Can he read the chat?",
			Topic:  TopicNearMiss,
			Scheme: kex.PinnedECDH(),
			Attack: attacker.Impersonate,
			Expect: "the attacker reads every message; a signature without a trust anchor proves nothing",
			configure: func(s *Setup) {
				s.Client.SkipPinCheck = true // INSECURE(signed-unpinned): the lesson.
			},
		},
		{
			Name:   "downgrade",
			Title:  "Pinned ECDH with an unauthenticated fallback",
			Lesson: "Alice offers pinned-ecdh and, for old servers, unauth-ecdh; Bob speaks both and prefers pinned.\nMallory strips pinned-ecdh from Alice's offer. Alice accepts the fallback. Can he read the chat?",
			Topic:  TopicNearMiss,
			Scheme: kex.PinnedECDH(),
			Attack: attacker.StripOffer,
			Expect: "the attacker reads every message; the fallback is the weakest link",
			configure: func(s *Setup) {
				offerBoth(s)
				s.Client.AcceptFallback = true // INSECURE(downgrade): the lesson.
			},
		},
		{
			Name:      "downgrade-refused",
			Title:     "Pinned ECDH that refuses to fall back",
			Lesson:    "The same offer, the same Bob and the same Mallory, but Alice's code holds a pin for Bob\nand refuses any handshake that is not signed with that key. Can Mallory read the chat?",
			Topic:     TopicNearMiss,
			Scheme:    kex.PinnedECDH(),
			Attack:    attacker.StripOffer,
			Expect:    "the client refuses the downgrade; the attacker reads nothing",
			configure: offerBoth,
		},
	}
}

// tlsScenarios answer the original question with real TLS: a key fetched
// over the TLS connection, and chat over wss:// with and without
// certificate checks.
func tlsScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "https-key-skipverify",
			Title:  "RSA key fetched over TLS with certificate checks off",
			Lesson: "Bob sends Alice his RSA key over wss:// and she wraps an AES key in it; her TLS has InsecureSkipVerify.\nMallory answers her TLS connection with a certificate he signed himself. Can he read the chat?",
			Topic:  TopicTLS,
			Scheme: kex.StaticRSA(),
			Attack: attacker.TerminateTLS,
			TLS:    tlslab.SkipVerify,
			Expect: "the attacker reads every message; neither victim notices",
		},
		{
			Name:   "https-key-verified",
			Title:  "RSA key fetched over TLS with the certificate verified",
			Lesson: "The same key exchange, but Alice's TLS trusts only the lab's CA.\nMallory answers her TLS connection with a certificate he signed himself. Can he read the chat?",
			Topic:  TopicTLS,
			Scheme: kex.StaticRSA(),
			Attack: attacker.TerminateTLS,
			TLS:    tlslab.VerifyCA,
			Expect: "the client refuses the server: " + tlslab.ReasonUnknownAuthority + "; the attacker reads nothing",
		},
		{
			Name:   "wss-skipverify",
			Title:  "Chat over wss:// with certificate checks off",
			Lesson: "Alice chats with Bob over wss:// (TLS 1.3) with InsecureSkipVerify, as people do to get past a self-signed certificate.\nMallory answers her TLS connection with a certificate he signed himself. Can he read the chat?",
			Topic:  TopicTLS,
			Scheme: kex.Plain(),
			Attack: attacker.TerminateTLS,
			TLS:    tlslab.SkipVerify,
			Expect: "the attacker reads every message; neither victim notices",
		},
		{
			Name:   "wss-ca-verified",
			Title:  "Chat over wss:// with the certificate checked against a CA",
			Lesson: "Alice chats with Bob over wss:// and trusts only the lab's CA, which issued Bob's certificate.\nMallory answers her TLS connection with a certificate he signed himself. Can he read the chat?",
			Topic:  TopicTLS,
			Scheme: kex.Plain(),
			Attack: attacker.TerminateTLS,
			TLS:    tlslab.VerifyCA,
			Expect: "the client refuses the server: " + tlslab.ReasonUnknownAuthority + "; the attacker reads nothing",
		},
		{
			Name:   "wss-pinned",
			Title:  "Chat over wss:// with a CA-verified, pinned server key",
			Lesson: "Alice trusts the lab's CA and has also pinned the hash of Bob's public key.\nThe CA is compromised and signs Mallory a certificate for bob.lab. Can he read the chat?",
			Topic:  TopicTLS,
			Scheme: kex.Plain(),
			Attack: attacker.MisIssuedCert,
			TLS:    tlslab.VerifyPin,
			Expect: "the client refuses the server: " + tlslab.ReasonPinMismatch + "; the attacker reads nothing",
		},
	}
}

// integrityScenarios are about the conversation as a whole: what an
// attacker with no key can still do to it.
func integrityScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "truncation",
			Title:  "Pinned ECDH that takes a close frame at its word",
			Lesson: "Alice and Bob use pinned-ecdh, but end the chat with a plain WebSocket close, as most apps do.\nMallory holds no key. He drops Alice's last message and forges the closes. Does anyone notice?",
			Topic:  TopicIntegrity,
			Scheme: kex.PinnedECDH(),
			Attack: attacker.Truncate,
			Expect: "the last message is lost and no one detects the cut: Bob sees a goodbye, Alice a server restart; the attacker reads nothing",
			configure: func(s *Setup) {
				// INSECURE(truncation): the lesson; no end record is sent or required.
				s.ClientRecords = &channel.Options{NoEnd: true}
				s.ServerRecords = &channel.Options{NoEnd: true}
			},
		},
		{
			Name:   "truncation-refused",
			Title:  "Pinned ECDH with an authenticated end of conversation",
			Lesson: "The same Mallory, but each side seals an end record before it closes, as TLS sends close_notify.\nHe drops Alice's last message and forges the closes. Does anyone notice?",
			Topic:  TopicIntegrity,
			Scheme: kex.PinnedECDH(),
			Attack: attacker.Truncate,
			Expect: "both victims detect the cut: conversation cut short; the attacker reads nothing",
		},
	}
}

// Applicable lists the attacks sc can run, in the table's order.
func (sc Scenario) Applicable() []*attacker.Attack {
	return attacker.For(sc.Scheme, sc.TLS != "")
}

// CheckAttack returns an error unless the attack called name can run in
// sc. The error says which attacks can, and suggests one for a typo.
func (sc Scenario) CheckAttack(name string) error {
	a, err := attacker.Lookup(name)
	if err != nil {
		return fmt.Errorf("%w (%s can run %s)", err, sc.Name, joinAttacks(sc.Applicable()))
	}
	if err := a.Applies(sc.Scheme, sc.TLS != ""); err != nil {
		return fmt.Errorf("%w; %s can run %s", err, sc.Name, joinAttacks(sc.Applicable()))
	}
	return nil
}

func joinAttacks(as []*attacker.Attack) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}

// Names returns every scenario's name.
func Names() []string {
	var out []string
	for _, s := range Catalogue() {
		out = append(out, s.Name)
	}
	return out
}

// Schemes returns every scheme a scenario uses, once each, in catalogue
// order: the schemes the server, attacker and client processes speak.
func Schemes() []*kex.Scheme {
	var out []*kex.Scheme
	seen := map[string]bool{}
	for _, sc := range Catalogue() {
		if !seen[sc.Scheme.Name] {
			seen[sc.Scheme.Name] = true
			out = append(out, sc.Scheme)
		}
	}
	return out
}

// SchemeNames returns the names of [Schemes].
func SchemeNames() []string {
	var out []string
	for _, s := range Schemes() {
		out = append(out, s.Name)
	}
	return out
}

// Scheme returns the scheme called name, or false.
func Scheme(name string) (*kex.Scheme, bool) {
	for _, s := range Schemes() {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
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
