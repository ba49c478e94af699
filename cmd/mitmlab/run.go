package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("run", `
Usage: mitmlab run NAME [flags]

Runs one scenario: Alice (the victim client) chats with Bob (the server)
through Mallory (the attacker), over real WebSocket connections. Every frame
on every leg is printed as it happens, with what Mallory could do with it:

  PUBLIC       a handshake frame, public by design, relayed unchanged
  SUBSTITUTED  a handshake frame Mallory changed or made himself
  READ         a data frame Mallory decrypted, with the plaintext he recovered
  OPAQUE       a data frame Mallory could not decrypt
  FORGED       a data frame Mallory re-encrypted for the receiver
  BLOCKED      a frame that did not get through (a victim refused)

Leg A is Alice–Mallory, leg B is Mallory–Bob. The last line is the outcome,
taken from what the nodes really did, never from the scenario's script.
'mitmlab list' shows the scenarios.
`)
	asJSON := fs.Bool("json", false, "write JSON Lines: one object per frame, then an outcome object (see docs/cli.md)")
	noAttacker := fs.Bool("no-attacker", false, "connect Alice straight to Bob; a passive eavesdropper with no keys still watches the wire")
	attack := fs.String("attack", "", "replace the scenario's attack, e.g. passive (attacks: "+attackList()+")")
	transport := fs.String("transport", string(scenarios.Memory), "how the nodes connect: memory (in-process, no ports) or loopback (TCP on 127.0.0.1)")
	var messages stringList
	fs.Var(&messages, "message", "a chat message for Alice to send; repeat for several (default: a built-in script)")
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		return usagef("run needs a scenario name; one of: %s", strings.Join(scenarios.Names(), ", "))
	case 1:
	default:
		return usagef("run takes one scenario name, got %q (quote a message that has spaces: --message \"see you at 6\")", pos)
	}
	sc, err := scenarios.Lookup(pos[0])
	if err != nil {
		return &usageError{err.Error()}
	}
	if *attack != "" {
		if err := sc.CheckAttack(attacker.Attack(*attack)); err != nil {
			return usagef("run: %v", err)
		}
	}
	tr, err := transportFlag("run", *transport)
	if err != nil {
		return err
	}
	if *attack != "" && *noAttacker {
		return usagef("run: --attack and --no-attacker contradict each other")
	}

	var out printer = &textPrinter{w: e.stdout, color: e.color}
	if *asJSON {
		out = &jsonPrinter{enc: json.NewEncoder(e.stdout)}
	}
	out.header(sc, *noAttacker, attacker.Attack(*attack), tr)
	o, err := scenarios.Run(ctx, pos[0], &scenarios.Options{
		Messages:   messages,
		NoAttacker: *noAttacker,
		Attack:     attacker.Attack(*attack),
		Transport:  tr,
		OnEvent:    out.event,
	})
	if err != nil {
		return err
	}
	return out.outcome(o)
}

func attackList() string { return joinAttacks(scenarios.Attacks()) }

func joinAttacks(as []attacker.Attack) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// printer writes a run as it happens.
type printer interface {
	header(sc scenarios.Scenario, noAttacker bool, attack attacker.Attack, t scenarios.Transport)
	event(e trace.Event)
	outcome(o *scenarios.Outcome) error
}

// jsonPrinter writes JSON Lines; docs/cli.md documents every field.
type jsonPrinter struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// outcomeJSON is the last line.
type outcomeJSON struct {
	Type              string `json:"type"` // "outcome"
	Scenario          string `json:"scenario"`
	Scheme            string `json:"scheme"`
	Attack            string `json:"attack"`
	Transport         string `json:"transport"`
	MessagesTotal     int    `json:"messages_total"`
	MessagesSent      int    `json:"messages_sent"`
	MessagesDelivered int    `json:"messages_delivered"`
	AttackerRead      int    `json:"attacker_read"`
	Detected          bool   `json:"detected"`
	DetectedBy        string `json:"detected_by"`
	Reason            string `json:"reason"`
	Summary           string `json:"summary"`
}

func (p *jsonPrinter) header(scenarios.Scenario, bool, attacker.Attack, scenarios.Transport) {}

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
	return p.enc.Encode(outcomeJSON{
		Type:              "outcome",
		Scenario:          o.Scenario,
		Scheme:            o.Scheme,
		Attack:            string(o.Attack),
		Transport:         string(o.Transport),
		MessagesTotal:     len(o.Messages),
		MessagesSent:      o.MessagesSent(),
		MessagesDelivered: o.MessagesDelivered(),
		AttackerRead:      o.AttackerRead(),
		Detected:          o.Detected,
		DetectedBy:        o.DetectedBy,
		Reason:            o.Reason,
		Summary:           o.Summary(),
	})
}

// textPrinter writes the human transcript.
type textPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	conns bool // prefix each frame with its connection number
	typeW int  // width of the type column: wider for TLS record names
}

// typeWidth is the type column's width for a scheme: the lab's own message
// names fit 15 columns, TLS record names need 24.
func typeWidth(scheme string) int {
	if _, ok := kex.ByName(scheme); ok {
		return 15
	}
	return 24
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
	case trace.Forged, trace.Substituted:
		return ansiAmber
	case trace.Blocked:
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

func (p *textPrinter) header(sc scenarios.Scenario, noAttacker bool, attack attacker.Attack, t scenarios.Transport) {
	if attack == "" {
		attack = sc.Attack
	}
	who := "attack: " + string(attack)
	if noAttacker {
		who = "no attacker"
	}
	fmt.Fprintf(p.w, "%s · %s · %s · transport: %s\n", p.paint(ansiBold, sc.Name), sc.Title, who, t)
	fmt.Fprintf(p.w, "%s\n\n", p.paint(ansiDim, strings.ReplaceAll(sc.Lesson, "\n", " ")))
	p.typeW = typeWidth(sc.Scheme)
	fmt.Fprintf(p.w, "%3s  %-4s  %-17s  %-*s  %5s  %-11s  %s\n", "#", "leg", "from → to", p.typeW, "type", "size", "verdict", "what the attacker got")
}

// route names the sender and receiver of a frame on its leg.
func route(e trace.Event) string {
	from, to := "Alice", "Bob"
	switch e.Leg {
	case trace.LegA:
		to = "Mallory"
	case trace.LegB:
		from = "Mallory"
	}
	if e.Dir == "s2c" {
		from, to = to, from
	}
	return from + " → " + to
}

func (p *textPrinter) event(e trace.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	detail := e.Note
	if e.Recovered != nil {
		detail = fmt.Sprintf("%q", e.Recovered)
	}
	size := fmt.Sprint(e.Size)
	if e.Type == trace.TypeClose {
		size = "-"
	}
	badge := fmt.Sprintf("%-11s", strings.ToUpper(string(e.Verdict)))
	if p.conns {
		fmt.Fprintf(p.w, "conn %-3d ", e.Conn)
	}
	fmt.Fprintf(p.w, "%3d  %-4s  %-17s  %-*s  %5s  %s  %s\n",
		e.Index, e.Leg, route(e), max(p.typeW, 15), e.Type, size, p.paint(verdictColor(e.Verdict), badge), detail)
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
