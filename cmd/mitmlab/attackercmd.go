package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/exam"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
)

// attackerFlags are mitmlab attacker's flags.
type attackerFlags struct {
	scheme, addr, upstream, attack string
	asJSON, allowRemote, classroom bool
	origins                        stringList
	handshakeTimeout, idleTimeout  time.Duration
	dialTimeout                    time.Duration
	ledgerMax, truncateAt          int
	stealRSAKey, stealKey          string // record-then-steal: the server's key files
	stealCert                      string
}

func runAttacker(ctx context.Context, e *env, args []string) error {
	f, err := parseAttackerFlags(e, args)
	if err != nil {
		return err
	}
	sch, a, up, err := attackerTarget(f)
	if err != nil {
		return err
	}
	m := newMallory(e, f)
	stolen, err := stealKeys(f)
	if err != nil {
		return err
	}
	opts := attacker.Options{
		Scheme: sch, Attack: a, Upstream: up, Log: m.log, Stolen: stolen,
		OriginPatterns:   f.origins,
		HandshakeTimeout: f.handshakeTimeout, IdleTimeout: f.idleTimeout, DialTimeout: f.dialTimeout,
		TruncateAt:   f.truncateAt,
		OnSessionEnd: func(attacker.SessionEnd) { m.conns.Add(1) },
		Logf:         e.logf("mitmlab attacker"),
	}
	if f.classroom {
		opts.Attack, opts.Choose = nil, exam.Classroom(sch, classroomHold)
	}
	node, err := attacker.New(opts)
	if err != nil {
		return err
	}
	l, err := listen("listen", f.addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(eventsPath, m.events)
	mux.Handle("/", node)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: acceptLog(e.stderr, "mitmlab attacker")}
	// With --json, stdout is for scripts: the banner and the last line go
	// to stderr.
	banner := e.stdout
	if f.asJSON {
		banner = e.stderr
	}
	if f.classroom {
		printClassroomStart(banner, sch)
	}
	what := a.Name
	if f.classroom {
		what = "the classroom's attacks"
	}
	printAttackerStart(banner, what, sch, l.Addr().String(), up, !f.asJSON)
	err = serveUntilInterrupted(ctx, srv, l, m.shutdown(node), func() {})
	fmt.Fprintf(banner, "mitmlab attacker: stopped; %s\n", ledgerSummary(m.log, int(m.conns.Load())))
	if f.classroom {
		printTally(banner, exam.Tally(m.log.Events()))
	}
	return err
}

// classroomHold is how long the classroom's withhold-end holds the
// server's end record.
const classroomHold = 2 * time.Second

func printClassroomStart(w io.Writer, sch *kex.Scheme) {
	var names []string
	for _, a := range exam.Plan(sch, classroomHold) {
		names = append(names, a.Name)
	}
	fmt.Fprintf(w, "mitmlab attacker: classroom: each student's connections (told apart by --name) get, in turn: %s\n", strings.Join(names, ", "))
	fmt.Fprintln(w, "watch the room with: mitmlab tui --attach URL (the tally view shows who Mallory read)")
}

// printTally prints what got through, student by student.
func printTally(w io.Writer, students []exam.Student) {
	if len(students) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%-20s %5s %5s %8s %9s  %s\n", "student", "conns", "read", "refused", "detected", "what got through")
	for _, s := range students {
		name, got := s.Name, "nothing"
		if name == "" {
			name = "(no --name)"
		}
		if len(s.Failed) > 0 {
			got = strings.Join(s.Failed, ", ")
		}
		fmt.Fprintf(w, "%-20s %5d %5d %8d %9d  %s\n", name, s.Connections, s.Read, s.Refused, s.Detected, got)
	}
}

func parseAttackerFlags(e *env, args []string) (*attackerFlags, error) {
	fs := newFlagSet("attacker", `
Usage: mitmlab attacker --scheme NAME --upstream URL [flags]

Runs Mallory, the man in the middle, as its own process. Every victim that
connects to --listen is relayed to --upstream (and nowhere else), each
connection with its own state, while the attack runs. Each frame is printed
with its verdict as it goes (see 'mitmlab run --help' for the verdicts).

The ledger is also streamed as JSON Lines over a WebSocket at
ws://LISTEN/events, for 'mitmlab tui --attach' or your own tools. A
subscriber that falls more than 1024 events behind is closed with 1008
(subscriber too slow), and one that stops reading for 5s is dropped:
the relay is never slowed. The process keeps the newest --ledger-max
events in memory (what a new subscriber is sent first); the counts in its
last line stay exact, and --json prints every event.

Timeouts: a victim or server that has not finished its handshake after
--handshake-timeout gets 1008 (handshake timed out); a leg quiet for
--idle-timeout gets 1001 (idle timeout). If the upstream refuses or does
not answer within --timeout, the victim gets 1011 with the reason, and
this process prints it. When either leg fails, both are closed.

Record now, steal later: with --attack record-then-steal the node relays
and records each session, and once it is over opens the recording with
the server's key files, as a thief who copies them later would:
--steal-rsa-key names static-rsa's key file (the server's --rsa-key),
--steal-key and --steal-cert pinned-ecdh's (its --key and --cert). Under
static-rsa every recorded message is READ; under pinned-ecdh nothing is,
because its session keys came from ephemeral shares (forward secrecy).

Stop it with Ctrl-C: every victim, server and /events viewer gets 1001
(attacker shutting down).

Example, the second of three terminals (see docs/localhost.md):
  mitmlab attacker --scheme pinned-ecdh --listen 127.0.0.1:9443 \
      --upstream ws://127.0.0.1:8443/pinned-ecdh
`)
	var f attackerFlags
	fs.StringVar(&f.scheme, "scheme", "", "the key exchange the victims speak: "+schemeList())
	fs.StringVar(&f.addr, "listen", "127.0.0.1:9443", "address for victims to connect to; 127.0.0.1:0 picks a free port")
	fs.StringVar(&f.upstream, "upstream", "", "the real server's WebSocket URL, such as ws://127.0.0.1:8443/pinned-ecdh")
	fs.StringVar(&f.attack, "attack", "", "the strategy (default: the scheme's scenario attack); one of "+attackList())
	fs.BoolVar(&f.asJSON, "json", false, "print JSON Lines, one object per frame (see docs/cli.md); the banner and the last line go to stderr")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a --listen address or --upstream other machines can reach")
	fs.Var(&f.origins, "origin", "a browser origin to allow, as a host pattern such as localhost:8000; repeat for several; '*' allows any")
	fs.DurationVar(&f.handshakeTimeout, "handshake-timeout", attacker.DefaultHandshakeTimeout, "close a leg whose handshake has not finished after this long (1008)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", attacker.DefaultIdleTimeout, "close a leg quiet for this long (1001)")
	fs.DurationVar(&f.dialTimeout, "timeout", attacker.DefaultDialTimeout, "how long to wait for the upstream to answer (then the victim gets 1011)")
	fs.IntVar(&f.ledgerMax, "ledger-max", 100_000, "events kept in memory; older ones are dropped, counts stay exact; 0 keeps every one")
	fs.IntVar(&f.truncateAt, "truncate-at", 0, "truncate: the client's data record to drop, counting from 1; 0 means its end record")
	fs.StringVar(&f.stealRSAKey, "steal-rsa-key", "", "record-then-steal: the server's RSA key file (its --rsa-key), opened after each session")
	fs.StringVar(&f.stealKey, "steal-key", "", "record-then-steal: the server's Ed25519 key file (its --key); goes with --steal-cert")
	fs.StringVar(&f.stealCert, "steal-cert", "", "record-then-steal: the server's certificate file (its --cert); goes with --steal-key")
	fs.BoolVar(&f.classroom, "classroom", false, "a room on one attacker: each student's connections get the exam's attacks in turn (see docs/training.md); prints a tally at the end")
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("attacker takes no arguments, got %q", pos)
	}
	if f.classroom && f.attack != "" {
		return nil, usagef("attacker: --classroom picks the attack per connection; it takes no --attack")
	}
	if (f.stealRSAKey != "" || f.stealKey != "" || f.stealCert != "") && f.attack != attacker.RecordThenSteal {
		return nil, usagef("attacker: --steal-rsa-key, --steal-key and --steal-cert are for --attack %s", attacker.RecordThenSteal)
	}
	if (f.stealKey == "") != (f.stealCert == "") {
		return nil, usagef("attacker: --steal-key and --steal-cert go together")
	}
	if f.ledgerMax < 0 || f.truncateAt < 0 {
		return nil, usagef("attacker: --ledger-max and --truncate-at count events and records; they cannot be negative")
	}
	for _, d := range []time.Duration{f.handshakeTimeout, f.idleTimeout, f.dialTimeout} {
		if d <= 0 {
			return nil, usagef("attacker: --handshake-timeout, --idle-timeout and --timeout must be more than 0, such as 10s")
		}
	}
	return &f, nil
}

// mallory is what the attacker process keeps: its bounded ledger, the
// printer it feeds, the /events hub, and the number of relayed
// connections.
type mallory struct {
	log    *trace.Log
	events *hub
	conns  atomic.Int64
}

func newMallory(e *env, f *attackerFlags) *mallory {
	var out interface{ event(trace.Event) }
	if f.asJSON {
		out = &jsonPrinter{enc: json.NewEncoder(e.stdout)}
	} else {
		out = &textPrinter{w: e.stdout, color: e.color, conns: true, typeW: typeWidth(false)}
	}
	m := &mallory{}
	m.events = newHub(func() []trace.Event { return m.log.Events() })
	m.log = trace.NewBoundedLog(f.ledgerMax, func(ev trace.Event) {
		out.event(ev)
		m.events.publish(ev)
	})
	return m
}

// shutdown returns what Ctrl-C runs: the /events viewers are told the
// attacker is going away, every relayed connection is closed with 1001,
// and the viewers' streams end.
func (m *mallory) shutdown(node *attacker.Node) func() {
	return func() {
		m.events.stop()
		node.Close()
		m.events.closeAll()
	}
}

func printAttackerStart(w io.Writer, attack string, sch *kex.Scheme, addr, upstream string, columns bool) {
	fmt.Fprintf(w, "mitmlab attacker: %s against %s, listening on ws://%s%s, relaying to %s\n", attack, sch.Name, addr, victim.Path(sch.Name), upstream)
	fmt.Fprintf(w, "events: ws://%s%s\n", addr, eventsPath)
	if columns {
		fmt.Fprintf(w, "%s     %3s  %-4s  %-17s  %-15s  %5s  %-11s  %s\n", "conn", "#", "leg", "from → to", "type", "size", "verdict", "what the attacker got")
	}
}

// attackerTarget checks the scheme, the attack and the upstream.
func attackerTarget(f *attackerFlags) (*kex.Scheme, *attacker.Attack, string, error) {
	sch, err := schemeFlag(f.scheme)
	if err != nil {
		return nil, nil, "", err
	}
	if err := checkLoopback("listen", f.addr, f.allowRemote); err != nil {
		return nil, nil, "", err
	}
	up, err := wsURL("upstream", f.upstream, f.allowRemote)
	if err != nil {
		return nil, nil, "", err
	}
	name := f.attack
	if name == "" {
		name = defaultAttack(sch)
	}
	a, err := attacker.Lookup(name)
	if err != nil {
		return nil, nil, "", usagef("%v", err)
	}
	if err := a.Applies(sch, false); err != nil {
		if a.Layer == attacker.TLSLayer {
			return nil, nil, "", usagef("attack %s works on TLS, which the attacker process does not speak; run a TLS scenario in one process (mitmlab run wss-skipverify); the attacker process runs %s", a.Name, attackNames(attacker.For(sch, false)))
		}
		return nil, nil, "", usagef("%v; %s takes %s", err, sch.Name, attackNames(attacker.For(sch, false)))
	}
	return sch, a, up.String(), nil
}

// defaultAttack is the attack of the first scenario over ws:// that uses
// the scheme, or passive.
func defaultAttack(sch *kex.Scheme) string {
	for _, sc := range scenarios.Catalogue() {
		if sc.Scheme.Name == sch.Name && sc.TLS == "" {
			return sc.Attack
		}
	}
	return attacker.Passive
}

func attackNames(as []*attacker.Attack) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}

// ledgerSummary counts the verdicts in a ledger; the counts are exact even
// when the ledger kept only its newest events.
func ledgerSummary(log *trace.Log, conns int) string {
	counts := log.Counts()
	var parts []string
	for _, v := range trace.Verdicts() {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no frames")
	}
	return fmt.Sprintf("%s relayed; frames: %s", plural(conns, "connection"), strings.Join(parts, ", "))
}

// stealKeys reads the key files a record-then-steal attacker is handed,
// or returns nil when none are named. It never creates a file: a thief
// takes what is there.
func stealKeys(f *attackerFlags) (*attacker.Stolen, error) {
	if f.stealRSAKey == "" && f.stealKey == "" {
		return nil, nil
	}
	st := &attacker.Stolen{}
	if f.stealRSAKey != "" {
		b, err := os.ReadFile(f.stealRSAKey)
		if err != nil {
			return nil, fmt.Errorf("--steal-rsa-key: %w", err)
		}
		if st.RSAKey, err = parseRSAKey(f.stealRSAKey, b); err != nil {
			return nil, fmt.Errorf("--steal-rsa-key: %w", err)
		}
	}
	if f.stealKey != "" {
		keyPEM, err := os.ReadFile(f.stealKey)
		if err != nil {
			return nil, fmt.Errorf("--steal-key: %w", err)
		}
		certPEM, err := os.ReadFile(f.stealCert)
		if err != nil {
			return nil, fmt.Errorf("--steal-cert: %w", err)
		}
		if st.Identity, err = kex.ParseIdentityPEM(certPEM, keyPEM); err != nil {
			return nil, fmt.Errorf("--steal-key and --steal-cert: %w", err)
		}
	}
	return st, nil
}
