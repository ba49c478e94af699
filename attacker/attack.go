package attacker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mitmlab/mitmlab/internal/suggest"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// Attack is one strategy the node can run on a connection: one entry of
// the table [Attacks] returns. Its run function does the handshake phase
// on both legs and returns the relay for the records after it.
type Attack struct {
	// Name is the attack's name on the command line.
	Name string
	// Summary is one line for lists and help.
	Summary string
	// Needs lists the message fields the attack uses. A scheme that lacks
	// one makes the attack not applicable ([NotApplicableError]).
	Needs []Need
	// Layer says where the attack works: on the lab's WebSocket messages,
	// or on the TLS transport beneath them.
	Layer Layer
	// Cert is the certificate a TLS-layer attack presents.
	Cert Cert
	// Copies says the attack only copies bytes, so over TLS it relays the
	// TCP stream and sees records only.
	Copies bool
	// Steals says the attack is handed the server's long-term keys
	// (Options.Stolen) once its session is over: the "record now, steal
	// the key later" attacks. No other attack ever sees them.
	Steals bool
	// Long says the attack computes for seconds (a grind, a discrete log)
	// and reports its progress as it goes. The race detector makes such
	// work many times slower, so tests that run every attack skip these
	// under -race and test the computation itself in small.
	Long bool

	// applies, if not nil, is a further condition on the scheme.
	applies func(*kex.Scheme) error
	run     func(ctx context.Context, s *session) (relay, error)
	// page, if not nil, changes the victim page on its way through
	// (attacker/page.go); nil passes every page unchanged.
	page func(n *Node, body []byte) (out []byte, note string)
}

// Need is a message, and a field of it, that an attack uses. An empty
// Field means the message itself.
type Need struct {
	Message wire.Type
	Field   string
}

func (n Need) String() string {
	if n.Field == "" {
		return string(n.Message)
	}
	return string(n.Message) + "." + n.Field
}

// Cert is the certificate a TLS-layer attack presents to the victim.
type Cert int

// The certificates.
const (
	NoCert         Cert = iota
	SelfSignedCert      // one the attacker signed himself, as anyone can
	MisIssued           // one a CA the victim trusts issued him for the server's name
)

// Layer is where an attack works.
type Layer int

// The layers.
const (
	// LabLayer attacks read and write the lab's messages. Over TLS they
	// need the TLS connection terminated first.
	LabLayer Layer = iota
	// TLSLayer attacks work on the TLS transport: they apply only when the
	// victims speak wss://.
	TLSLayer
)

// The attack names.
const (
	Passive          = "passive"
	SwapRSAKey       = "swap-rsa-key"
	DoubleECDH       = "double-ecdh"
	Impersonate      = "impersonate"
	SubstituteShares = "substitute-shares"
	StripOffer       = "strip-offer"
	Truncate         = "truncate"
	DoubleHandshake  = "double-handshake"
	TerminateTLS     = "terminate-tls"
	MisIssuedCert    = "mis-issued-cert"
)

// Attacks returns the attack table, in teaching order. It is the one place
// an attack is listed: its name, what it needs, its summary and the
// function that runs it.
//
// Each lesson group keeps its entries in a function of its own
// (labAttacks here, others in attacks_*.go files); Attacks joins them.
func Attacks() []*Attack {
	return slices.Concat(labAttacks(), tlsAttacks(), lessonsAAttacks(), browserAttacks(), lessonsBAttacks())
}

// labAttacks are the attacks on the lab's own messages.
func labAttacks() []*Attack {
	return []*Attack{
		{
			Name:    Passive,
			Summary: "relay every frame unchanged and read what it can",
			Copies:  true,
			run:     runPassive,
		},
		{
			Name:    SwapRSAKey,
			Summary: "swap in the attacker's RSA key, unwrap the secret and re-wrap it",
			Needs:   []Need{{"rsa_public_key", "spki"}, {"key_transport", "wrapped"}},
			run:     runSwapRSAKey,
		},
		{
			Name:    DoubleECDH,
			Summary: "run one key exchange with each side, decrypt and re-encrypt",
			Needs:   []Need{{"client_hello", "key_share"}, {"server_hello", "key_share"}},
			applies: func(s *kex.Scheme) error {
				if s.Identity {
					return errors.New("the server signs its hello, so the attacker must present a certificate: that is impersonate")
				}
				return nil
			},
			run: runDoubleHandshake,
		},
		{
			Name:    Impersonate,
			Summary: "present the attacker's own certificate and run each side's handshake",
			Needs:   []Need{{"server_hello", "certificate"}},
			applies: signed,
			run:     runDoubleHandshake,
		},
		{
			Name:    SubstituteShares,
			Summary: "keep the server's certificate and signature, swap both key shares",
			Needs:   []Need{{"server_hello", "certificate"}, {"server_verify", "signature"}, {"client_finished", "mac"}},
			applies: signed,
			run:     runSubstituteShares,
		},
		{
			Name:    StripOffer,
			Summary: "strip the signed scheme from the client's offer, then run unauth-ecdh with each side",
			Needs:   []Need{{"client_hello", "offered"}, {"server_hello", "chosen"}},
			applies: signed,
			run:     runStripOffer,
		},
		{
			Name:    DoubleHandshake,
			Summary: "run the scheme's own two halves, one with each side, with the attacker's own keys",
			applies: func(s *kex.Scheme) error {
				for _, m := range []wire.Type{"client_hello", "server_hello", "rsa_public_key"} {
					if s.Has(m, "") {
						return fmt.Errorf("the lab's own attacks on %s cover it (double-ecdh, impersonate, swap-rsa-key); this one is for schemes of your own", m)
					}
				}
				return nil
			},
			run: runDoubleHandshake,
		},
		{
			Name:    Truncate,
			Summary: "drop the client's last message and forge an ordinary close to each side",
			run:     runTruncate,
		},
		{
			Name:    MutateName,
			Summary: "change one message in flight, holding no key: a flipped bit, a drop, a replay, a forged close, ...",
			run:     runRandomMutation,
		},
	}
}

// signed requires a scheme whose server proves its identity: the attacks
// on the signature and the negotiation of one.
func signed(s *kex.Scheme) error {
	if !s.Identity {
		return errors.New("the server proves no identity in this scheme; there is nothing to impersonate or strip")
	}
	return nil
}

// tlsAttacks are the attacks on the TLS transport.
func tlsAttacks() []*Attack {
	return []*Attack{
		{
			Name:    TerminateTLS,
			Summary: "end the victim's TLS at the attacker with a certificate he signed himself",
			Layer:   TLSLayer,
			Cert:    SelfSignedCert,
			run:     runInsideTLS,
		},
		{
			Name:    MisIssuedCert,
			Summary: "end the victim's TLS with a certificate a trusted but compromised CA issued him",
			Layer:   TLSLayer,
			Cert:    MisIssued,
			run:     runInsideTLS,
		},
	}
}

// ErrUnknownAttack is returned for a name that is not in the table.
var ErrUnknownAttack = errors.New("unknown attack")

// Lookup returns the attack called name. An unknown name is an error that
// wraps [ErrUnknownAttack] and suggests the closest name.
func Lookup(name string) (*Attack, error) {
	for _, a := range Attacks() {
		if a.Name == name {
			return a, nil
		}
	}
	hint := ""
	if c := suggest.Closest(name, Names()); c != "" {
		hint = fmt.Sprintf("; did you mean %q?", c)
	}
	return nil, fmt.Errorf("%w %q%s (attacks: %s)", ErrUnknownAttack, name, hint, strings.Join(Names(), ", "))
}

// Names returns every attack's name.
func Names() []string {
	var out []string
	for _, a := range Attacks() {
		out = append(out, a.Name)
	}
	return out
}

// NotApplicableError says why an attack cannot run against a scheme: the
// scheme lacks a message or field the attack needs, or the transport is
// not the one the attack works on.
type NotApplicableError struct {
	Attack string
	Scheme string
	Why    string
}

func (e *NotApplicableError) Error() string {
	return fmt.Sprintf("attack %s does not apply to %s: %s", e.Attack, e.Scheme, e.Why)
}

// Applies returns nil if a can run against scheme over a transport with
// (tls true) or without TLS, and a *NotApplicableError saying what is
// missing if not.
func (a *Attack) Applies(scheme *kex.Scheme, tls bool) error {
	na := func(format string, args ...any) error {
		return &NotApplicableError{Attack: a.Name, Scheme: scheme.Name, Why: fmt.Sprintf(format, args...)}
	}
	switch {
	case a.Layer == TLSLayer && !tls:
		return na("it attacks the TLS transport, and these victims speak ws:// with no TLS")
	case a.Layer == LabLayer && tls && !a.Copies:
		return na("the victims speak wss://, so the attacker sees TLS records only; terminate TLS first (terminate-tls)")
	}
	var missing []string
	for _, n := range a.Needs {
		if !scheme.Has(n.Message, n.Field) {
			missing = append(missing, n.String())
		}
	}
	if len(missing) > 0 {
		return na("it needs %s, which the scheme does not have", strings.Join(missing, ", "))
	}
	if a.applies != nil {
		if err := a.applies(scheme); err != nil {
			return na("%v", err)
		}
	}
	return nil
}

// For returns the attacks that apply to scheme over the given transport,
// in the table's order.
func For(scheme *kex.Scheme, tls bool) []*Attack {
	var out []*Attack
	for _, a := range Attacks() {
		if a.Applies(scheme, tls) == nil {
			out = append(out, a)
		}
	}
	return out
}
