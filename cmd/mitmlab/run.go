package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
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
	out.header(f.sc, f.noAttacker, f.attack, f.transport)
	o, err := scenarios.Run(ctx, f.sc.Name, &scenarios.Options{
		Messages:   f.messages,
		NoAttacker: f.noAttacker,
		Attack:     f.attack,
		Transport:  f.transport,
		OnEvent:    out.event,
	})
	if err != nil {
		return err
	}
	return out.outcome(o)
}

// runFlags are mitmlab run's flags and its scenario, checked.
type runFlags struct {
	sc         scenarios.Scenario
	asJSON     bool
	noAttacker bool
	attack     string
	transport  scenarios.Transport
	messages   stringList
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
`)
	var f runFlags
	fs.BoolVar(&f.asJSON, "json", false, "write JSON Lines: one object per frame, then an outcome object (see docs/cli.md)")
	fs.BoolVar(&f.noAttacker, "no-attacker", false, "connect Alice straight to Bob; a passive eavesdropper with no keys still watches the wire")
	fs.StringVar(&f.attack, "attack", "", "replace the scenario's attack, e.g. passive (attacks: "+attackList()+")")
	transport := fs.String("transport", string(scenarios.Memory), "how the nodes connect: memory (in-process, no ports) or loopback (TCP on 127.0.0.1)")
	fs.Var(&f.messages, "message", "a chat message for Alice to send; repeat for several (default: a built-in script)")
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
	MessagesAltered   int    `json:"messages_altered"`
	Duplicated        int    `json:"messages_duplicated"`
	AttackerRead      int    `json:"attacker_read"`
	Detected          bool   `json:"detected"`
	DetectedBy        string `json:"detected_by"`
	Reason            string `json:"reason"`
	Summary           string `json:"summary"`
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
	return p.enc.Encode(outcomeJSON{
		Type:              "outcome",
		Scenario:          o.Scenario,
		Scheme:            o.Scheme,
		Attack:            o.Attack,
		Transport:         string(o.Transport),
		MessagesTotal:     len(o.Messages),
		MessagesSent:      o.MessagesSent(),
		MessagesDelivered: o.MessagesDelivered(),
		MessagesAltered:   o.MessagesAltered(),
		Duplicated:        o.Duplicated,
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
	if e.Type == trace.TypeProgress {
		fmt.Fprintf(p.w, "%s\n", p.paint(ansiDim, "     … "+e.Note))
		return
	}
	detail := eventDetail(e)
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

// eventDetail is the last column: a chat message the attacker read or
// forged, quoted; anything else he recovered, the note with a short look at
// the bytes.
func eventDetail(e trace.Event) string {
	switch {
	case e.Recovered == nil:
		return e.Note
	case e.Type == string(wire.TypeData):
		return fmt.Sprintf("%q", e.Recovered)
	case len(e.Recovered) == 0:
		return e.Note
	}
	return e.Note + ": " + preview(e.Recovered)
}

// preview shows the start of b: quoted if it is text, else hex.
func preview(b []byte) string {
	const n = 48
	cut := b[:min(len(b), n)]
	more := ""
	if len(b) > n {
		more = fmt.Sprintf("… (%d bytes)", len(b))
	}
	if utf8.Valid(cut) && printableShare(cut) {
		return fmt.Sprintf("%q%s", cut, more)
	}
	return fmt.Sprintf("%x%s", cut, more)
}

func printableShare(b []byte) bool {
	n := 0
	for _, c := range b {
		if c >= 0x20 && c < 0x7f || c == '\r' || c == '\n' {
			n++
		}
	}
	return n*10 >= len(b)*9
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
