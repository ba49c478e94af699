package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/exam"
	"github.com/mitmlab/mitmlab/victim"
)

// examFlags are mitmlab exam's flags.
type examFlags struct {
	scheme, addr, upstream        string
	rounds                        int
	asJSON, allowRemote           bool
	origins                       stringList
	hold                          time.Duration
	handshakeTimeout, idleTimeout time.Duration
}

// errExamFailed is the exam's verdict on a client that did not pass: exit 1
// after the scorecard, which says why.
var errExamFailed = errors.New("the client did not pass the exam")

func runExam(ctx context.Context, e *env, args []string) error {
	f, err := parseExamFlags(e, args)
	if err != nil {
		return err
	}
	sch, err := schemeFlag(f.scheme)
	if err != nil {
		return err
	}
	if err := checkLoopback("listen", f.addr, f.allowRemote); err != nil {
		return err
	}
	up, err := wsURL("upstream", f.upstream, f.allowRemote)
	if err != nil {
		return err
	}
	out := newExamPrinter(e, f.asJSON)
	x, err := exam.New(exam.Options{
		Scheme: sch, Upstream: up.String(), Rounds: f.rounds, OriginPatterns: f.origins, Hold: f.hold,
		HandshakeTimeout: f.handshakeTimeout, IdleTimeout: f.idleTimeout,
		OnAttempt: out.attempt, Logf: e.logf("mitmlab exam"),
	})
	if err != nil {
		return err
	}
	l, err := listen("listen", f.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: x, ReadHeaderTimeout: 5 * time.Second, ErrorLog: acceptLog(e.stderr, "mitmlab exam")}
	out.start(x, fmt.Sprintf("ws://%s%s", l.Addr(), victim.Path(sch.Name)), up.String())
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-x.Done():
			stop()
		case <-sctx.Done():
		}
	}()
	if err := serveUntilInterrupted(sctx, srv, l, x.Close, func() {}); err != nil {
		return err
	}
	sc := x.Scorecard()
	out.scorecard(sc, x)
	switch {
	case ctx.Err() != nil && sc.Attempts < x.Expected():
		return &interruptedError{fmt.Sprintf("the exam stopped after %d of %d connections", sc.Attempts, x.Expected())}
	case !sc.Passed:
		return errExamFailed
	}
	return nil
}

func parseExamFlags(e *env, args []string) (*examFlags, error) {
	fs := newFlagSet("exam", `
Usage: mitmlab exam --scheme NAME --upstream URL [flags]

Puts a client written in any language under Mallory. The exam is an
attacker process that relays to the real server (--upstream) and runs a
different attack on each connection it accepts: first the passive relay
(the chat must work and end with both end records), then every attack
that applies to the scheme (key swaps, impersonation, share substitution,
offer stripping, ...), then three checks of the client's own record
layer: a replayed reply, a tampered reply, and a withheld end record.

Point the client under test at the URL the exam prints, once per
connection it asks for (a loop in a shell is enough). Each connection is
graded from the wire alone: what Mallory read, whether the client refused
him and at which frame. The exam ends when every attack has been tried
--rounds times, prints the scorecard, and exits 0 if the client passed
(no attack read anything, and the passive chat worked) or 1 if not.

A client that refuses should close with 1008 (a browser: 4008); see
docs/byo.md. With --json the exam writes one line per connection,
{"type":"exam_attempt",...}, and a last {"type":"scorecard",...}.

Example, with the lab's own client as the one under test:
  mitmlab server --scheme pinned-ecdh --listen 127.0.0.1:8443
  mitmlab exam   --scheme pinned-ecdh --listen 127.0.0.1:9443 --upstream ws://127.0.0.1:8443/pinned-ecdh
  for i in $(seq 9); do mitmlab client --scheme pinned-ecdh --connect ws://127.0.0.1:9443/pinned-ecdh --pin sha256/... --message hi; done
`)
	var f examFlags
	fs.StringVar(&f.scheme, "scheme", "", "the key exchange the client under test speaks: "+schemeList())
	fs.StringVar(&f.addr, "listen", "127.0.0.1:9443", "address for the client under test to connect to")
	fs.StringVar(&f.upstream, "upstream", "", "the real server's WebSocket URL, such as ws://127.0.0.1:8443/pinned-ecdh")
	fs.IntVar(&f.rounds, "rounds", 1, "how many times to try each attack")
	fs.BoolVar(&f.asJSON, "json", false, "write one JSON object per connection and a scorecard (see docs/byo.md)")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a --listen address or --upstream other machines can reach")
	fs.Var(&f.origins, "origin", "a browser origin to allow, as a host pattern such as localhost:8000; repeat for several; '*' allows any, file:// pages included")
	fs.DurationVar(&f.hold, "hold", 2*time.Second, "withhold-end: how long to withhold the server's end record before forging a close")
	fs.DurationVar(&f.handshakeTimeout, "handshake-timeout", attacker.DefaultHandshakeTimeout, "give up on a client that has not finished the handshake after this long (1008)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", attacker.DefaultIdleTimeout, "give up on a connection quiet for this long (1001)")
	pos, err := fs.parse(e.stdout, args)
	switch {
	case err != nil:
		return nil, err
	case len(pos) > 0:
		return nil, usagef("exam takes no arguments, got %q", pos)
	case f.rounds < 1:
		return nil, usagef("--rounds must be at least 1")
	case f.hold <= 0 || f.handshakeTimeout <= 0 || f.idleTimeout <= 0:
		return nil, usagef("--hold, --handshake-timeout and --idle-timeout must be positive")
	}
	return &f, nil
}

// examPrinter writes the exam's lines, as text or JSON.
type examPrinter struct {
	mu     sync.Mutex
	w, log io.Writer
	enc    *json.Encoder // nil for text
	color  bool
}

func newExamPrinter(e *env, asJSON bool) *examPrinter {
	p := &examPrinter{w: e.stdout, log: e.stdout, color: e.color}
	if asJSON {
		p.enc, p.log = json.NewEncoder(e.stdout), e.stderr
	}
	return p
}

func (p *examPrinter) start(x *exam.Exam, url, upstream string) {
	var names []string
	for _, a := range x.Plan() {
		names = append(names, a.Name)
	}
	fmt.Fprintf(p.log, "mitmlab exam: connect the client under test to %s, %d times (relaying to %s)\n", url, x.Expected(), upstream)
	fmt.Fprintf(p.log, "attacks, one per connection: %s\n", strings.Join(names, ", "))
}

func (p *examPrinter) attempt(a exam.Attempt) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enc != nil {
		p.enc.Encode(a)
		return
	}
	mark := "PASS"
	if !a.Passed {
		mark = "FAIL"
	}
	who := ""
	if a.Name != "" {
		who = " (" + a.Name + ")"
	}
	fmt.Fprintf(p.w, "conn %-3d %-18s %s  %s%s\n", a.Conn, a.Attack, mark, a.Reason, who)
}

func (p *examPrinter) scorecard(sc exam.Scorecard, x *exam.Exam) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enc != nil {
		p.enc.Encode(sc)
		return
	}
	switch {
	case sc.Attempts < x.Expected():
		fmt.Fprintf(p.w, "\nscorecard: incomplete, %d of %d connections; not tried or failed: %s\n", sc.Attempts, x.Expected(), strings.Join(sc.FailedAttacks, ", "))
	case sc.Passed:
		fmt.Fprintf(p.w, "\nscorecard: PASSED · %d attacks, Mallory read nothing and the chat worked\n", sc.Attempts)
	default:
		fmt.Fprintf(p.w, "\nscorecard: FAILED · %s\n", strings.Join(sc.FailedAttacks, ", "))
	}
}
