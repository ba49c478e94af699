package tlslab

import (
	"context"
	"fmt"
	"net"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/internal/settle"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
)

// Config is one run of a TLS flow.
type Config struct {
	Flow  Flow
	Check Check
	// Attack is Mallory's attack: [TerminateTLS], [MisIssuedCert] or
	// attacker.Passive. Empty means no attacker: Alice reaches Bob
	// directly, and an eavesdropper with no keys records her connections
	// on leg "wire".
	Attack   attacker.Attack
	Messages [][]byte
	// Listen returns a listener for a node ("bob", "mallory").
	Listen func(host string) (net.Listener, error)
	// Dial connects to a listener's address, as returned by its Addr.
	Dial DialFunc
	// Log receives the trace. Nil means a fresh one, kept in [Result].
	Log *trace.Log
}

// Result is what Alice and Bob saw, for [scenarios.Outcome], and what the
// lab made, for tests.
type Result struct {
	Chat     *victim.ChatResult
	Sessions []*victim.ServerSession
	Events   []trace.Event
	// LabCA is the CA Alice trusts; BobCertificate is the certificate it
	// issued to Bob; AttackerCertificate is what Mallory presented, if he
	// terminated TLS.
	LabCA               *CA
	BobCertificate      []byte // DER
	AttackerCertificate []byte // DER, or nil
}

// Run makes the lab's PKI, starts Bob (and Mallory, unless there is no
// attack), lets Alice chat, waits for every node to finish and stops them.
// It returns an error only when the run could not be set up; a refused
// certificate is part of the Result, in Chat.Err.
func Run(ctx context.Context, cfg *Config) (*Result, error) {
	if err := cfg.Flow.check(); err != nil {
		return nil, err
	}
	if cfg.Attack != "" {
		if err := CheckAttack(cfg.Attack); err != nil {
			return nil, err
		}
	}
	if cfg.Listen == nil || cfg.Dial == nil {
		return nil, fmt.Errorf("tlslab: run needs Listen and Dial")
	}
	log := cfg.Log
	if log == nil {
		log = trace.NewLog(nil)
	}

	// The lab's PKI, made now and never written anywhere.
	ca, err := NewCA("mitmlab lab CA")
	if err != nil {
		return nil, err
	}
	bobKey, err := NewKey()
	if err != nil {
		return nil, err
	}
	bobCert, err := ca.Issue(bobKey, ServerName, "127.0.0.1")
	if err != nil {
		return nil, err
	}
	res := &Result{LabCA: ca, BobCertificate: bobCert.Leaf.Raw}
	trust := Trust{Check: cfg.Check, Roots: ca.Pool(), Pin: Pin(bobCert.Leaf)} // the pin reached Alice out of band
	alicesTLS, err := trust.ClientConfig()
	if err != nil {
		return nil, err
	}

	bob, err := NewServer(ServerOptions{Flow: cfg.Flow, Certificate: bobCert})
	if err != nil {
		return nil, err
	}
	defer bob.Close()
	bl, err := cfg.Listen("bob")
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	bob.Start(bl)
	toBob := route(cfg.Dial, bl.Addr().String())

	alice := &Client{Flow: cfg.Flow, TLS: alicesTLS, Dial: toBob}
	var mallory *Attacker
	if cfg.Attack == "" {
		alice.Wrap = func(c net.Conn) net.Conn {
			return Inspect(c, Observer{Log: log, Leg: trace.LegWire, End: ClientEnd, Peer: "Bob"})
		}
	} else {
		var cert = bobCert // unused by the passive relay
		if cfg.Attack != attacker.Passive {
			mkey, err := NewKey()
			if err != nil {
				return nil, err
			}
			if cfg.Attack == MisIssuedCert {
				// The compromised CA: the one Alice trusts signs Mallory's
				// key for Bob's name.
				cert, err = ca.Issue(mkey, ServerName)
			} else {
				// A certificate Mallory signed himself, as anyone can.
				cert, err = SelfSigned(mkey, ServerName)
			}
			if err != nil {
				return nil, err
			}
			res.AttackerCertificate = cert.Leaf.Raw
		}
		mallory, err = NewAttacker(AttackerOptions{Flow: cfg.Flow, Attack: cfg.Attack, Certificate: cert, Dial: toBob, Log: log})
		if err != nil {
			return nil, err
		}
		defer mallory.Close()
		ml, err := cfg.Listen("mallory")
		if err != nil {
			return nil, fmt.Errorf("start attacker: %w", err)
		}
		mallory.Start(ml)
		// The network sends Alice's "bob.lab" to Mallory.
		alice.Dial = route(cfg.Dial, ml.Addr().String())
	}

	res.Chat = alice.Chat(ctx, cfg.Messages)

	// Let Mallory and Bob finish the connections Alice closed.
	nodes := []settle.Node{bob}
	if mallory != nil {
		nodes = []settle.Node{mallory, bob}
	}
	settle.Wait(ctx, nodes...)
	if mallory != nil {
		mallory.Close()
	}
	bob.Close()
	res.Sessions = bob.Sessions()
	res.Events = log.Events()
	return res, nil
}

// route returns a dialer that sends connections for bob.lab:443 to addr,
// and refuses every other name: the network as the lab arranges it.
func route(dial DialFunc, addr string) DialFunc {
	return func(ctx context.Context, network, hostport string) (net.Conn, error) {
		if hostport != ServerName+":443" {
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("tlslab: no route to %s", hostport)}
		}
		return dial(ctx, network, addr)
	}
}
