package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/export"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

func runRun(ctx context.Context, e *env, args []string) error {
	f, err := parseRunFlags(e, args)
	if err != nil {
		return err
	}
	var out printer = &textPrinter{w: e.stdout, color: e.color}
	if f.asJSON {
		out = &jsonPrinter{enc: json.NewEncoder(e.stdout)}
	}
	browser, err := browserFor(e.stderr, f.sc)
	if err != nil {
		return err
	}
	shown := f.transport
	if browser != nil {
		shown = scenarios.Loopback // a real browser reaches the nodes over TCP
	}
	out.header(f.sc, f.noAttacker, f.attack, shown)
	o, err := scenarios.Run(ctx, f.sc.Name, &scenarios.Options{
		Browser:    browser,
		Messages:   f.messages,
		NoAttacker: f.noAttacker,
		Attack:     f.attack,
		Transport:  f.transport,
		OnEvent:    out.event,
	})
	if err != nil {
		return err
	}
	if err := out.outcome(o); err != nil {
		return err
	}
	if err := writeExports(e, f.exports, export.Run{Scenario: f.sc, Outcome: o}); err != nil {
		return err
	}
	return f.expect.check(o)
}

// runFlags are mitmlab run's flags and its scenario, checked.
type runFlags struct {
	sc         scenarios.Scenario
	asJSON     bool
	noAttacker bool
	attack     string
	transport  scenarios.Transport
	messages   stringList
	exports    stringList   // files to export the run to
	expect     *expectation // nil: no expectation
}

func parseRunFlags(e *env, args []string) (*runFlags, error) {
	fs := newFlagSet("run", `
Usage: mitmlab run NAME [flags]

Runs one scenario: Alice (the victim client) chats with Bob (the server)
through Mallory (the attacker), over real WebSocket connections. Every frame
on every leg is printed as it happens, with what Mallory did with it:

  PUBLIC       a frame public by design (a key share, a close), relayed unchanged
  INTERCEPTED  a public frame Mallory took and did not pass on: he answered it himself
  SUBSTITUTED  a handshake frame or close Mallory changed or made himself
  READ         a frame Mallory decrypted or unwrapped, with what he recovered
  OPAQUE       an encrypted frame Mallory could not decrypt
  FORGED       a record Mallory encrypted himself for the receiver
  TAMPERED     a frame Mallory changed without holding its key
  REPLAYED     a copy of an earlier frame, sent again by Mallory
  DROPPED      a frame Mallory withheld on purpose
  BLOCKED      a frame that did not get through, or a close by which a victim refused

Each side ends the conversation with a sealed end record before its close,
so a conversation cut short (see 'mitmlab run truncation-refused') is
noticed. Leg A is Alice–Mallory, leg B is Mallory–Bob. The last line is
the outcome, taken from what the nodes really did, never from the
scenario's script. 'mitmlab list' shows the scenarios.

--export FILE also writes the run to FILE, in the format its extension
names (repeat it for several):

`+exportFormatsHelp()+`
--expect checks the outcome, for scripts and classes: run exits 1, with a
one-line explanation, when the outcome is not the one expected, and 0
otherwise, whatever the outcome (a refusal or a detection is an outcome,
not a failure):

`+expectationsHelp()+`
Exit status: 0 the run ran (and met --expect), 1 --expect failed or the
run could not be carried out, 2 a mistake on the command line.
`)
	var f runFlags
	fs.BoolVar(&f.asJSON, "json", false, "write JSON Lines: one object per frame, then an outcome object (see docs/cli.md)")
	fs.BoolVar(&f.noAttacker, "no-attacker", false, "connect Alice straight to Bob; a passive eavesdropper with no keys still watches the wire")
	fs.StringVar(&f.attack, "attack", "", "replace the scenario's attack, e.g. passive (attacks: "+attackList()+")")
	transport := fs.String("transport", string(scenarios.Memory), "how the nodes connect: memory (in-process, no ports) or loopback (TCP on 127.0.0.1)")
	fs.Var(&f.messages, "message", "a chat message for Alice to send; repeat for several (default: a built-in script)")
	fs.Var(&f.exports, "export", "also write the run to `FILE`, in the format its extension names: "+exportFormatList()+"; repeat for several")
	expect := fs.String("expect", "", "exit 1 unless the outcome is `OUTCOME`: "+expectationList())
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return nil, err
	}
	switch len(pos) {
	case 0:
		return nil, usagef("run needs a scenario name; one of: %s", strings.Join(scenarios.Names(), ", "))
	case 1:
	default:
		return nil, usagef("run takes one scenario name, got %q (quote a message that has spaces: --message \"see you at 6\")", pos)
	}
	if f.sc, err = scenarios.Lookup(pos[0]); err != nil {
		return nil, &usageError{err.Error()}
	}
	if f.attack != "" {
		if err := f.sc.CheckAttack(f.attack); err != nil {
			return nil, usagef("run: %v", err)
		}
	}
	if f.transport, err = transportFlag("run", *transport); err != nil {
		return nil, err
	}
	if f.attack != "" && f.noAttacker {
		return nil, usagef("run: --attack and --no-attacker contradict each other")
	}
	if err := checkExports("run", f.exports); err != nil {
		return nil, err
	}
	if *expect != "" {
		if f.expect, err = lookupExpectation("run", *expect); err != nil {
			return nil, err
		}
	}
	return &f, nil
}

func attackList() string { return strings.Join(attacker.Names(), ", ") }

// printer writes a run as it happens.
type printer interface {
	header(sc scenarios.Scenario, noAttacker bool, attack string, t scenarios.Transport)
	event(e trace.Event)
	outcome(o *scenarios.Outcome) error
}

// jsonPrinter writes JSON Lines; docs/cli.md documents every field.
type jsonPrinter struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

func (p *jsonPrinter) header(scenarios.Scenario, bool, string, scenarios.Transport) {}

func (p *jsonPrinter) event(e trace.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.enc.Encode(trace.NewFrameJSON(e)); err != nil && p.err == nil {
		p.err = err
	}
}

func (p *jsonPrinter) outcome(o *scenarios.Outcome) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	return p.enc.Encode(export.NewOutcomeJSON(o))
}

// textPrinter writes the human transcript.
type textPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	conns bool // prefix each frame with its connection number
	typeW int  // width of the type column: wider for TLS record names
}

// typeWidth is the type column's width: the lab's own message names fit
// 15 columns, TLS record names need 24.
func typeWidth(overTLS bool) int {
	if overTLS {
		return 24
	}
	return 15
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[1;31m"
	ansiGreen  = "\x1b[32m"
	ansiAmber  = "\x1b[33m"
	ansiPurple = "\x1b[35m"
)

func verdictColor(v trace.Verdict) string {
	switch v {
	case trace.Read:
		return ansiRed
	case trace.Opaque:
		return ansiGreen
	case trace.Forged, trace.Substituted, trace.Tampered, trace.Replayed:
		return ansiAmber
	case trace.Blocked, trace.Dropped:
		return ansiPurple
	}
	return ansiDim
}

func (p *textPrinter) paint(code, s string) string {
	if !p.color {
		return s
	}
	return code + s + ansiReset
}

func (p *textPrinter) header(sc scenarios.Scenario, noAttacker bool, attack string, t scenarios.Transport) {
	if attack == "" {
		attack = sc.Attack
	}
	who := "attack: " + attack
	if noAttacker {
		who = "no attacker"
	}
	fmt.Fprintf(p.w, "%s · %s · %s · transport: %s\n", p.paint(ansiBold, sc.Name), sc.Title, who, t)
	fmt.Fprintf(p.w, "%s\n\n", p.paint(ansiDim, strings.ReplaceAll(sc.Lesson, "\n", " ")))
	p.typeW = typeWidth(sc.TLS != "")
	fmt.Fprintf(p.w, "%3s  %-4s  %-17s  %-*s  %5s  %-11s  %s\n", "#", "leg", "from → to", p.typeW, "type", "size", "verdict", "what the attacker got")
}

func (p *textPrinter) event(e trace.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Type == trace.TypeProgress {
		fmt.Fprintf(p.w, "%s\n", p.paint(ansiDim, "     … "+e.Note))
		return
	}
	detail, size := export.Detail(e), export.Size(e)
	badge := fmt.Sprintf("%-11s", strings.ToUpper(string(e.Verdict)))
	if p.conns {
		fmt.Fprintf(p.w, "conn %-3d ", e.Conn)
	}
	fmt.Fprintf(p.w, "%3d  %-4s  %-17s  %-*s  %5s  %s  %s\n",
		e.Index, e.Leg, export.Route(e), max(p.typeW, 15), e.Type, size, p.paint(verdictColor(e.Verdict), badge), detail)
}

func (p *textPrinter) outcome(o *scenarios.Outcome) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	code := ansiGreen
	if o.AttackerRead() > 0 {
		code = ansiRed
	}
	fmt.Fprintf(p.w, "\n%s\n", p.paint(ansiBold+code, o.Summary()))
	return nil
}
