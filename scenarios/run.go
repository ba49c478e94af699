package scenarios

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/internal/settle"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
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
	// attacker.Passive. Empty means the scenario's.
	Attack attacker.Attack
	// Transport is Memory (the default) or Loopback.
	Transport Transport
	// OnEvent, if not nil, is called with every trace event as it happens,
	// one at a time, from the nodes' goroutines. It must not block for long.
	OnEvent func(trace.Event)
	// Timeout bounds the whole run. Zero means 30 seconds.
	Timeout time.Duration
}

// Run runs the named scenario and returns what happened. Detection of the
// attack is part of the Outcome, not an error: Run returns an error only
// when the scenario could not be run at all.
func Run(ctx context.Context, name string, opts *Options) (*Outcome, error) {
	sc, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Messages) == 0 {
		o.Messages = DefaultScript()
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if sc.run != nil {
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		return sc.run(ctx, sc, &o)
	}
	attack := sc.Attack
	if o.Attack != "" {
		attack = o.Attack
	}
	if o.NoAttacker {
		attack = ""
	} else if err := sc.CheckAttack(attack); err != nil {
		return nil, err
	}
	scheme, ok := kex.ByName(sc.Scheme)
	if !ok {
		return nil, fmt.Errorf("scenario %s names unknown scheme %q", sc.Name, sc.Scheme)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	nw, err := newNetwork(o.Transport)
	if err != nil {
		return nil, err
	}
	defer nw.close()
	log := trace.NewLog(o.OnEvent)

	var scfg kex.ServerConfig
	var ccfg kex.ClientConfig
	if sc.Scheme == kex.NamePinnedECDH {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			return nil, err
		}
		scfg.Identity = id
		ccfg.Pin = id.Pin() // Alice got Bob's pin out of band, before the lab began.
	}
	if sc.configure != nil {
		sc.configure(&ccfg, &scfg)
	}
	bob := victim.NewServer(scheme, &victim.ServerOptions{Config: &scfg})
	defer bob.Close()
	serverURL, err := nw.serve("server", bob)
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	serverURL += victim.Path(sc.Scheme)

	alice := &victim.Client{Scheme: scheme, Config: &ccfg, HTTPClient: nw.client}
	target := serverURL
	var mallory *attacker.Node
	if o.NoAttacker {
		alice.Tap = attacker.Eavesdrop(log)
		alice.CloseTap = attacker.EavesdropCloses(log)
	} else {
		mallory, err = attacker.New(attacker.Options{
			Scheme:     scheme,
			Attack:     attack,
			Upstream:   serverURL,
			HTTPClient: nw.client,
			Log:        log,
		})
		if err != nil {
			return nil, err
		}
		defer mallory.Close()
		u, err := nw.serve("attacker", mallory)
		if err != nil {
			return nil, fmt.Errorf("start attacker: %w", err)
		}
		target = u + victim.Path(sc.Scheme)
	}

	msgs := make([][]byte, len(o.Messages))
	for i, m := range o.Messages {
		msgs[i] = []byte(m)
	}
	chat := alice.Chat(ctx, target, msgs)

	// Let Mallory and Bob finish the connections Alice closed.
	nodes := []settle.Node{bob}
	if mallory != nil {
		nodes = []settle.Node{mallory, bob}
	}
	settle.Wait(ctx, nodes...)
	if chat.Err != nil && len(bob.Sessions()) == 0 && !kex.Detected(chat.Err) {
		var mismatch *victim.SchemeMismatchError
		if !errors.As(chat.Err, &mismatch) {
			return nil, fmt.Errorf("run %s: %w", sc.Name, chat.Err)
		}
	}
	return newOutcome(sc, attack, o.Transport, msgs, chat, bob.Sessions(), log.Events()), nil
}
