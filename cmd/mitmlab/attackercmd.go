package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
)

func runAttacker(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("attacker", `
Usage: mitmlab attacker --scheme NAME --upstream URL [flags]

Runs Mallory, the man in the middle, as its own process. Every victim that
connects to --listen is relayed to --upstream (and nowhere else), each
connection with its own state, while the attack runs. Each frame is printed
with its verdict as it goes (see 'mitmlab run --help' for the verdicts).

The ledger is also streamed as JSON Lines over a WebSocket at
ws://LISTEN/events, for 'mitmlab tui --attach' or your own tools.

Example, the second of three terminals (see docs/localhost.md):
  mitmlab attacker --scheme pinned-ecdh --listen 127.0.0.1:9443 \
      --upstream ws://127.0.0.1:8443/pinned-ecdh
`)
	scheme := fs.String("scheme", "", "the key exchange the victims speak: plaintext-rsa, unauth-ecdh or pinned-ecdh")
	addr := fs.String("listen", "127.0.0.1:9443", "address for victims to connect to; 127.0.0.1:0 picks a free port")
	upstream := fs.String("upstream", "", "the real server's WebSocket URL, such as ws://127.0.0.1:8443/pinned-ecdh")
	attack := fs.String("attack", "", "the strategy (default: the scheme's scenario attack); one of "+joinAttacks(attacker.Attacks()))
	asJSON := fs.Bool("json", false, "print JSON Lines, one object per frame (see docs/cli.md)")
	allowRemote := fs.Bool("allow-remote", false, "allow a --listen address or --upstream other machines can reach")
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("attacker takes no arguments, got %q", pos)
	}
	sch, err := schemeFlag(*scheme)
	if err != nil {
		return err
	}
	if err := checkLoopback("listen", *addr, *allowRemote); err != nil {
		return err
	}
	up, err := wsURL("upstream", *upstream, *allowRemote)
	if err != nil {
		return err
	}
	a := attacker.Attack(*attack)
	if a == "" {
		sc, err := scenarios.Lookup(sch.Name())
		if err != nil {
			return err
		}
		a = sc.Attack
	}
	if err := a.Check(sch.Name()); err != nil {
		if !slices.Contains(attacker.Attacks(), a) && slices.Contains(scenarios.Attacks(), a) {
			return usagef("attack %s belongs to the TLS scenarios, which run in one process (mitmlab run wss-skipverify); the attacker process runs %s", a, joinAttacks(attacker.For(sch.Name())))
		}
		var names []string
		for _, x := range attacker.Attacks() {
			names = append(names, string(x))
		}
		return usagef("%v%s", err, didYouMean(*attack, names))
	}

	events := newHub()
	var printer interface{ event(trace.Event) }
	if *asJSON {
		printer = &jsonPrinter{enc: json.NewEncoder(e.stdout)}
	} else {
		printer = &textPrinter{w: e.stdout, color: e.color, conns: true, typeW: typeWidth(sch.Name())}
	}
	log := trace.NewLog(func(ev trace.Event) {
		printer.event(ev)
		events.publish(ev)
	})
	node, err := attacker.New(attacker.Options{Scheme: sch, Attack: a, Upstream: up.String(), Log: log})
	if err != nil {
		return err
	}
	l, err := listen("listen", *addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(eventsPath, events)
	mux.Handle("/", node)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	url := fmt.Sprintf("ws://%s%s", l.Addr(), victim.Path(sch.Name()))
	if !*asJSON {
		fmt.Fprintf(e.stdout, "mitmlab attacker: %s against %s, listening on %s, relaying to %s\n", a, sch.Name(), url, up)
		fmt.Fprintf(e.stdout, "events: ws://%s%s\n", l.Addr(), eventsPath)
		fmt.Fprintf(e.stdout, "%s     %3s  %-4s  %-17s  %-15s  %5s  %-11s  %s\n", "conn", "#", "leg", "from → to", "type", "size", "verdict", "what the attacker got")
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		node.Close()
		return err
	case <-ctx.Done():
	}
	node.Close()
	events.closeAll(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(e.stdout, "mitmlab attacker: stopped; %s\n", ledgerSummary(log.Events()))
	}
	return nil
}

// ledgerSummary counts the verdicts in a ledger.
func ledgerSummary(events []trace.Event) string {
	counts := map[trace.Verdict]int{}
	conns := map[int]bool{}
	for _, e := range events {
		counts[e.Verdict]++
		conns[e.Conn] = true
	}
	var parts []string
	for _, v := range []trace.Verdict{trace.Read, trace.Forged, trace.Opaque, trace.Substituted, trace.Public, trace.Blocked} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no frames")
	}
	noun := "connections"
	if len(conns) == 1 {
		noun = "connection"
	}
	return fmt.Sprintf("%d %s relayed; frames: %s", len(conns), noun, strings.Join(parts, ", "))
}
