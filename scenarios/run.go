package scenarios

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/internal/settle"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/tlslab"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// DefaultScript is the chat Alice sends when a caller gives none.
func DefaultScript() []string {
	return []string{"hi Bob, it's Alice", "my card PIN is 4921", "see you at 6"}
}

// Options configures [Run]. A nil *Options means defaults.
type Options struct {
	// Messages is Alice's script. Empty means [DefaultScript].
	Messages []string
	// NoAttacker connects Alice straight to Bob. A passive eavesdropper
	// with no keys still records the wire.
	NoAttacker bool
	// Attack replaces the scenario's own attack, for example with
	// "passive". Empty means the scenario's.
	Attack string
	// CustomAttack, if not nil, is run instead of any attack named: one
	// made by a function rather than listed in the table, such as
	// attacker.Mutate.
	CustomAttack *attacker.Attack
	// Transport is Memory (the default) or Loopback.
	Transport Transport
	// OnEvent, if not nil, is called with every trace event as it happens,
	// one at a time, from the nodes' goroutines. It must not block for long.
	OnEvent func(trace.Event)
	// Timeout bounds the whole run. Zero means 30 seconds.
	Timeout time.Duration

	// Scheme, if not nil, replaces the scenario's scheme: a learner's
	// whole scheme, both halves and its messages.
	Scheme *kex.Scheme
	// Client and Server, if not nil, replace one half of the scheme: a
	// learner's own Alice or Bob, run by the lab's victims and attacked
	// like theirs.
	Client kex.ClientHalf
	Server kex.ServerHalf

	// HandshakeTimeout and IdleTimeout bound every victim's and the
	// attacker's waits. Zero means the packages' defaults; tests that
	// drop messages shorten them.
	HandshakeTimeout, IdleTimeout time.Duration
	// Rand is the source of every key and nonce; nil means crypto/rand.
	// Only tests set it.
	Rand io.Reader
	// Browser, if not nil, runs the victim page of a browser scenario in a
	// real browser, over loopback TCP (scenarios/browser.go).
	Browser Browser
}

// Run runs the named scenario and returns what happened. Detection of the
// attack is part of the Outcome, not an error: Run returns an error only
// when the scenario could not be run at all.
func Run(ctx context.Context, name string, opts *Options) (*Outcome, error) {
	sc, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return RunScenario(ctx, sc, opts)
}

// RunScenario runs sc, which need not be in the catalogue.
func RunScenario(ctx context.Context, sc Scenario, opts *Options) (*Outcome, error) {
	r, err := newRun(sc, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	defer r.close()
	for _, step := range []func() error{r.buildNetwork, r.makePKI, r.startBob, r.startMallory, r.makeAlice} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return r.chat(ctx)
}

// run is one scenario run: the network, the three nodes and the ledger.
type run struct {
	sc     Scenario
	o      Options
	scheme *kex.Scheme
	attack *attacker.Attack
	msgs   [][]byte
	log    *trace.Log
	setup  Setup

	nw      *network
	ca      *tlslab.CA
	bobCert *tls.Certificate
	bobAddr string
	bob     *victim.Server
	mallory *attacker.Node
	target  string // the address Alice reaches
	alice   *victim.Client
	url     string
	keyLog  tlslab.KeyLog // the attacker's own TLS secrets

	preludeEvents int // events the prelude left in the log
}

func newRun(sc Scenario, opts *Options) (*run, error) {
	r := &run{sc: sc, scheme: sc.Scheme}
	if opts != nil {
		r.o = *opts
	}
	r.o.Transport = browserTransport(sc, r.o)
	if len(r.o.Messages) == 0 {
		r.o.Messages = sc.Script
	}
	if len(r.o.Messages) == 0 {
		r.o.Messages = DefaultScript()
	}
	if r.o.Timeout == 0 {
		r.o.Timeout = 30 * time.Second
	}
	if r.o.HandshakeTimeout == 0 {
		r.o.HandshakeTimeout = sc.HandshakeTimeout
	}
	if r.o.Scheme != nil {
		r.scheme = r.o.Scheme
	}
	if r.o.Client != nil || r.o.Server != nil {
		s := *r.scheme
		if r.o.Client != nil {
			s.Client = r.o.Client
		}
		if r.o.Server != nil {
			s.Server = r.o.Server
		}
		r.scheme = &s
	}
	if err := r.scheme.Check(); err != nil {
		return nil, err
	}
	if sc.Prelude != nil && sc.TLS != "" {
		return nil, errors.New("a prelude runs over ws:// only")
	}
	if !r.o.NoAttacker {
		name := sc.Attack
		if r.o.Attack != "" {
			name = r.o.Attack
		}
		a := r.o.CustomAttack
		if a == nil {
			var err error
			if a, err = attacker.Lookup(name); err != nil {
				return nil, err
			}
		}
		if err := a.Applies(r.scheme, sc.TLS != ""); err != nil {
			return nil, err
		}
		r.attack = a
	} else if r.o.Attack != "" || r.o.CustomAttack != nil {
		return nil, errors.New("an attack and no attacker contradict each other")
	}
	r.msgs = make([][]byte, len(r.o.Messages))
	for i, m := range r.o.Messages {
		r.msgs[i] = []byte(m)
	}
	r.log = trace.NewLog(r.o.OnEvent)
	r.setup = Setup{Client: &kex.ClientConfig{Rand: r.o.Rand}, Server: &kex.ServerConfig{Rand: r.o.Rand}}
	return r, nil
}

func (r *run) buildNetwork() (err error) {
	r.nw, err = newNetwork(r.o.Transport)
	return err
}

// makePKI makes Bob's keys, and for a TLS scenario the lab's CA and Bob's
// certificate; Alice gets his pin out of band, before the lab begins.
func (r *run) makePKI() error {
	if r.scheme.Identity {
		id, err := kex.GenerateIdentity(r.o.Rand, nil, "bob")
		if err != nil {
			return err
		}
		r.setup.Server.Identity = id
		r.setup.Client.Pin = id.Pin()
	}
	if r.scheme.RSAIdentity {
		k, err := kex.NewRSAKey()
		if err != nil {
			return err
		}
		r.setup.Server.RSAKey = k
	}
	if r.sc.configure != nil {
		dir, err := os.MkdirTemp("", "mitmlab-run-")
		if err != nil {
			return err
		}
		r.setup.Dir = dir
		r.sc.configure(&r.setup)
	}
	if r.sc.TLS == "" {
		return nil
	}
	ca, err := tlslab.NewCA("mitmlab lab CA")
	if err != nil {
		return err
	}
	key, err := tlslab.NewKey()
	if err != nil {
		return err
	}
	cert, err := ca.Issue(key, tlslab.ServerName, "127.0.0.1")
	if err != nil {
		return err
	}
	r.ca, r.bobCert = ca, &cert
	return nil
}

func (r *run) startBob() (err error) {
	r.bob = victim.NewServer(r.scheme, &victim.ServerOptions{
		Config:           r.setup.Server,
		Records:          r.setup.ServerRecords,
		HandshakeTimeout: r.o.HandshakeTimeout,
		IdleTimeout:      r.o.IdleTimeout,
	})
	r.bobAddr, err = r.nw.serve("server", r.pageHandler(), r.bobCert)
	if err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	r.target = r.bobAddr
	return nil
}

func (r *run) upstream() string {
	if r.sc.TLS != "" {
		return "wss://" + tlslab.ServerName + victim.Path(r.scheme.Name)
	}
	return "ws://" + r.bobAddr + victim.Path(r.scheme.Name)
}

func (r *run) startMallory() error {
	if r.attack == nil {
		return nil
	}
	var choose func(int, *http.Request) *attacker.Attack
	if p := r.sc.Prelude; p != nil && p.Attack != "" {
		first, err := attacker.Lookup(p.Attack)
		if err != nil {
			return err
		}
		main := r.attack
		choose = func(n int, _ *http.Request) *attacker.Attack {
			if n == 1 {
				return first
			}
			return main
		}
	}
	opts := attacker.Options{
		Choose:           choose,
		Scheme:           r.scheme,
		Attack:           r.attack,
		Upstream:         r.upstream(),
		HTTPClient:       r.nw.client(r.bobAddr, nil, nil),
		Log:              r.log,
		TruncateAt:       len(r.msgs),
		HandshakeTimeout: r.o.HandshakeTimeout,
		IdleTimeout:      r.o.IdleTimeout,
		Rand:             r.o.Rand,
		Given:            r.setup.Given,
	}
	if r.attack.Steals {
		// Only an attack that steals the server's keys is handed them,
		// and only after its session: see attacker.Stolen.
		opts.Stolen = &attacker.Stolen{RSAKey: r.setup.Server.RSAKey, Identity: r.setup.Server.Identity}
	}
	if r.sc.TLS != "" {
		opts.TLS = &attacker.TLS{ServerName: tlslab.ServerName, Dial: tlslab.Route(r.nw.dial, r.bobAddr), CA: r.ca}
		opts.KeyLog = &r.keyLog
	}
	m, err := attacker.New(opts)
	if err != nil {
		return err
	}
	r.mallory = m
	if r.target, err = r.nw.start("attacker", m.Serve); err != nil {
		return fmt.Errorf("start attacker: %w", err)
	}
	return nil
}

func (r *run) makeAlice() error {
	r.alice = &victim.Client{
		Scheme:      r.scheme,
		Config:      r.setup.Client,
		Records:     r.setup.ClientRecords,
		Timeout:     r.o.HandshakeTimeout,
		IdleTimeout: r.o.IdleTimeout,
	}
	var cfg *tls.Config
	var wrap func(net.Conn) net.Conn
	r.url = "ws://" + r.target + victim.Path(r.scheme.Name)
	if r.sc.TLS != "" {
		trust := tlslab.Trust{Check: r.sc.TLS, Roots: r.ca.Pool(), Pin: tlslab.Pin(r.bobCert.Leaf)}
		var err error
		if cfg, err = trust.ClientConfig(); err != nil {
			return err
		}
		r.url = "wss://" + tlslab.ServerName + victim.Path(r.scheme.Name)
	}
	if r.attack == nil {
		if r.sc.TLS != "" {
			// An eavesdropper on the wire sees TLS records only.
			wrap = func(c net.Conn) net.Conn {
				return tlslab.Inspect(c, tlslab.Observer{Log: r.log, Leg: trace.LegWire, End: tlslab.ClientEnd, Peer: "Bob"})
			}
		} else {
			r.alice.Tap = attacker.Eavesdrop(r.log, r.scheme)
			r.alice.CloseTap = attacker.EavesdropCloses(r.log)
		}
	}
	r.alice.HTTPClient = r.nw.client(r.target, cfg, wrap)
	return nil
}

// chat lets Alice chat, lets Mallory and Bob finish the connections she
// closed, and builds the Outcome from what each of them saw.
func (r *run) chat(ctx context.Context) (*Outcome, error) {
	mainConn := 1
	if p := r.sc.Prelude; p != nil {
		url := r.url
		if p.Attack == "" || r.attack == nil {
			url = "ws://" + r.bobAddr + victim.Path(r.scheme.Name) // Mallory is not on the path yet
		} else {
			mainConn = 2
		}
		script := p.Messages
		if len(script) == 0 {
			script = DefaultScript()
		}
		var msgs [][]byte
		for _, m := range script {
			msgs = append(msgs, []byte(m))
		}
		r.alice.Chat(ctx, url, msgs)
		nodes := []settle.Node{r.bob}
		if r.mallory != nil {
			nodes = []settle.Node{r.mallory, r.bob}
		}
		settle.Wait(ctx, nodes...)
		r.preludeEvents = r.log.Len()
	}
	chat := r.aliceChat(ctx)
	nodes := []settle.Node{r.bob}
	if r.mallory != nil {
		nodes = []settle.Node{r.mallory, r.bob}
	}
	settle.Wait(ctx, nodes...)
	r.alice.HTTPClient.CloseIdleConnections()
	if chat.Err != nil && len(r.bob.Sessions()) == 0 && !refused(chat.Err) {
		var mismatch *victim.SchemeMismatchError
		var dial *victim.DialError
		if !errors.As(chat.Err, &mismatch) && !errors.As(chat.Err, &dial) && !errors.Is(chat.Err, wire.ErrPeerClosed) {
			return nil, fmt.Errorf("run %s: %w", r.sc.Name, chat.Err)
		}
	}
	attack := ""
	if r.attack != nil {
		attack = r.attack.Name
	}
	sessions, events := r.bob.Sessions(), r.log.Events()
	main := events
	if r.sc.Prelude != nil {
		sessions = sessions[len(sessions)-1:] // the conversation the scenario is about
		main = nil
		for _, e := range events {
			if e.Conn == mainConn || (e.Leg == trace.LegWire && e.Index >= r.preludeEvents) {
				main = append(main, e)
			}
		}
	}
	o := newOutcome(r.sc.Name, r.scheme.Name, attack, r.o.Transport, r.msgs, chat, sessions, main)
	o.Events = events
	o.KeyLog = r.keyLog.Bytes()
	return o, nil
}

func (r *run) close() {
	if r.mallory != nil {
		r.mallory.Close()
	}
	if r.bob != nil {
		r.bob.Close()
	}
	if r.nw != nil {
		r.nw.close()
	}
	if r.setup.Dir != "" {
		os.RemoveAll(r.setup.Dir)
	}
}

// quietLog discards net/http's own logging: failed TLS handshakes are part
// of the lesson, and the ledger records them.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
