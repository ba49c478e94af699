// Package exam puts a client written in any language under Mallory. An
// [Exam] is an attacker node that runs a different attack on each
// connection it accepts, relaying to the real server, and grades what the
// client did with each from the wire alone: what Mallory read, whether the
// client refused him, and at which frame. `mitmlab exam` is its command.
//
// The plan is every attack in the lab's table that applies to the scheme
// (the passive relay first, so the chat must work), and three checks of
// the client's own record layer: a replayed reply, a tampered reply, and
// a withheld end record.
package exam

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// Options configures an [Exam].
type Options struct {
	Scheme   *kex.Scheme
	Upstream string
	// HTTPClient dials Upstream; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Rounds is how many times each attack is tried; zero means once.
	Rounds int
	// OriginPatterns lets browser pages from these origins connect.
	OriginPatterns []string
	// Hold is how long the withheld end record is held; zero means 2 s.
	Hold time.Duration
	// HandshakeTimeout and IdleTimeout are the node's; zero means its
	// defaults.
	HandshakeTimeout, IdleTimeout time.Duration
	// OnAttempt, if not nil, is called with each graded attempt.
	OnAttempt func(Attempt)
	// Logf receives the node's operational messages.
	Logf func(format string, args ...any)
}

// Attempt is one connection, one attack, graded: the line `mitmlab exam
// --json` writes per connection.
type Attempt struct {
	Type   string `json:"type"` // "exam_attempt"
	Conn   int    `json:"conn"`
	Name   string `json:"name,omitempty"`
	Attack string `json:"attack"`
	// Read counts the messages Mallory recovered on this connection.
	Read int `json:"read"`
	// Refused says the client closed with a refusal (1002, 1007, 1008,
	// 1009, or 4000 + those) before Mallory read anything; Detected that it
	// noticed what the attack did to its records (a refusal after the
	// tampered or replayed record, or waiting for the withheld end).
	Refused  bool   `json:"refused"`
	Detected bool   `json:"detected"`
	Reason   string `json:"reason"`
	// Frame is the ledger index at which the attempt was decided.
	Frame  int  `json:"frame"`
	Passed bool `json:"passed"`
}

// Scorecard sums up the exam: the last line `mitmlab exam --json` writes.
type Scorecard struct {
	Type          string   `json:"type"` // "scorecard"
	Passed        bool     `json:"passed"`
	Attempts      int      `json:"attempts"`
	FailedAttacks []string `json:"failed_attacks"`
}

// Exam is the attacker node and its grading.
type Exam struct {
	opts Options
	plan []*attacker.Attack
	node *attacker.Node

	mu       sync.Mutex
	sessions int          // WebSocket sessions planned so far
	planned  map[int]bool // the node's connection numbers that are graded
	events   map[int][]trace.Event
	attempts []Attempt
	done     chan struct{}
	closed   bool
}

// New checks opts and returns the exam.
func New(opts Options) (*Exam, error) {
	if opts.Rounds == 0 {
		opts.Rounds = 1
	}
	if opts.Hold == 0 {
		opts.Hold = 2 * time.Second
	}
	e := &Exam{opts: opts, planned: make(map[int]bool), events: make(map[int][]trace.Event), done: make(chan struct{})}
	if err := opts.Scheme.Check(); err != nil {
		return nil, err
	}
	e.plan = Plan(opts.Scheme, opts.Hold)
	log := trace.NewLog(e.record)
	node, err := attacker.New(attacker.Options{
		Scheme:           opts.Scheme,
		Choose:           e.choose,
		Upstream:         opts.Upstream,
		HTTPClient:       opts.HTTPClient,
		OriginPatterns:   opts.OriginPatterns,
		HandshakeTimeout: opts.HandshakeTimeout,
		IdleTimeout:      opts.IdleTimeout,
		Log:              log,
		OnSessionEnd:     e.grade,
		Logf:             opts.Logf,
	})
	if err != nil {
		return nil, err
	}
	e.node = node
	return e, nil
}

// Plan returns the attacks an exam tries against a scheme's client, in
// order: the applicable table attacks, passive first, then the checks of
// the client's record layer.
func Plan(s *kex.Scheme, hold time.Duration) []*attacker.Attack {
	var plan []*attacker.Attack
	for _, a := range attacker.For(s, false) {
		switch a.Name {
		case attacker.MutateName, attacker.Truncate:
			continue // the client-side checks below replace them
		}
		if a.ChangesPage() {
			continue // against a client that loads no page it is impersonate again
		}
		plan = append(plan, a)
	}
	first := func(k attacker.MutationKind, param uint32) *attacker.Attack {
		a := attacker.Mutate(attacker.Mutation{Dir: wire.ServerToClient, Index: 0, Records: true, Kind: k, Param: param})
		a.Name = string(k) + "-reply"
		return a
	}
	return append(plan,
		rename(first(attacker.Duplicate, 0), "replay-reply"),
		rename(first(attacker.FlipField, 3), "tamper-reply"),
		rename(attacker.Mutate(attacker.Mutation{Dir: wire.ServerToClient, Kind: attacker.WithholdEnd, Param: uint32(hold / time.Millisecond)}), "withhold-end"),
	)
}

func rename(a *attacker.Attack, name string) *attacker.Attack {
	a.Name = name
	return a
}

// Expected returns how many connections the exam needs.
func (e *Exam) Expected() int { return len(e.plan) * e.opts.Rounds }

// Plan returns the exam's attacks, in the order connections get them.
func (e *Exam) Plan() []*attacker.Attack { return e.plan }

// ServeHTTP accepts one client connection and runs its attack.
func (e *Exam) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.node.ServeHTTP(w, r) }

// Done is closed once every planned connection has been graded.
func (e *Exam) Done() <-chan struct{} { return e.done }

// Close ends every open connection and waits for them.
func (e *Exam) Close() { e.node.Close() }

// choose gives connection n its attack: the plan in order, round after
// round; connections beyond the plan get the passive relay, ungraded.
//
// The exam counts WebSocket sessions itself: the node's connection numbers
// also count other requests (a browser fetching the victim page), which
// are not attempts.
func (e *Exam) choose(n int, _ *http.Request) *attacker.Attack {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sessions < e.Expected() {
		a := e.plan[e.sessions%len(e.plan)]
		e.sessions++
		e.planned[n] = true
		return a
	}
	a, _ := attacker.Lookup(attacker.Passive)
	return a
}

// record keeps each connection's events until it is graded.
func (e *Exam) record(ev trace.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.planned[ev.Conn] {
		e.events[ev.Conn] = append(e.events[ev.Conn], ev)
	}
}

// grade grades one ended connection from its ledger.
func (e *Exam) grade(end attacker.SessionEnd) {
	e.mu.Lock()
	events := e.events[end.Conn]
	delete(e.events, end.Conn)
	graded := e.planned[end.Conn]
	delete(e.planned, end.Conn)
	e.mu.Unlock()
	if !graded {
		return
	}
	a := Grade(end.Attack, events)
	a.Conn, a.Name = end.Conn, end.Name
	if e.opts.OnAttempt != nil {
		e.opts.OnAttempt(a)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempts = append(e.attempts, a)
	if len(e.attempts) == e.Expected() && !e.closed {
		e.closed = true
		close(e.done)
	}
}

// Attempts returns the graded attempts so far, by connection.
func (e *Exam) Attempts() []Attempt {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := append([]Attempt(nil), e.attempts...)
	sort.Slice(out, func(i, j int) bool { return out[i].Conn < out[j].Conn })
	return out
}

// Scorecard sums up the attempts so far. An attack not yet tried counts
// as failed.
func (e *Exam) Scorecard() Scorecard {
	sc := Scorecard{Type: "scorecard", Passed: true, FailedAttacks: []string{}}
	tried := map[string]int{}
	failed := map[string]bool{}
	for _, a := range e.Attempts() {
		sc.Attempts++
		tried[a.Attack]++
		if !a.Passed {
			failed[a.Attack] = true
		}
	}
	for _, p := range e.plan {
		if failed[p.Name] || tried[p.Name] < e.opts.Rounds {
			sc.Passed = false
			sc.FailedAttacks = append(sc.FailedAttacks, p.Name)
		}
	}
	return sc
}

// Grade judges one connection from its events alone: what crossed the
// wire, as Mallory saw it. events are the connection's, in ledger order.
func Grade(attack string, events []trace.Event) Attempt {
	a := Attempt{Type: "exam_attempt", Attack: attack, Frame: -1}
	var (
		clientData, serverData, clientEnd, serverEnd bool
		clientClose, forged                          *trace.Event
	)
	for i := range events {
		ev := events[i]
		fromClient := ev.Leg == trace.LegA && ev.Dir == wire.ClientToServer
		fromServer := ev.Leg == trace.LegB && ev.Dir == wire.ServerToClient
		switch {
		case ev.Type == string(wire.TypeData) && ev.Verdict == trace.Read && (fromClient || fromServer):
			a.Read++
			if a.Frame < 0 {
				a.Frame = ev.Index
			}
		}
		switch {
		case fromClient && ev.Type == string(wire.TypeData):
			clientData = true
		case fromServer && ev.Type == string(wire.TypeData):
			serverData = true
		case fromClient && ev.Type == string(wire.TypeEnd):
			clientEnd = true
		case fromServer && ev.Type == string(wire.TypeEnd):
			serverEnd = true
		case fromClient && ev.Type == trace.TypeClose && clientClose == nil:
			clientClose = &events[i]
		case ev.Leg == trace.LegA && ev.Dir == wire.ServerToClient && ev.Type == trace.TypeClose && ev.Verdict == trace.Substituted && forged == nil:
			forged = &events[i]
		}
	}
	refusal := clientClose != nil && clientClose.Verdict == trace.Blocked
	closedFirst := clientClose != nil && (forged == nil || clientClose.Index < forged.Index)
	switch {
	case a.Read > 0:
		a.Reason = fmt.Sprintf("Mallory read %d messages", a.Read)
	case attack == attacker.Passive:
		ok := clientData && serverData && clientEnd && serverEnd && clientClose != nil && strings.HasPrefix(clientClose.Note, "1000")
		a.Passed = ok
		a.Reason = "the chat worked and ended with both end records"
		if !ok {
			a.Reason = fmt.Sprintf("with a relay that changes nothing the chat did not work and end cleanly (client data %v, server data %v, client end %v, server end %v, client close %s)",
				clientData, serverData, clientEnd, serverEnd, note(clientClose))
		}
	case attack == "replay-reply" || attack == "tamper-reply":
		a.Detected = refusal && closedFirst
		a.Passed = a.Detected
		a.Reason = "the client refused the record: " + note(clientClose)
		if !a.Passed {
			a.Reason = "the client did not refuse the " + strings.TrimSuffix(attack, "-reply") + "ed reply (" + note(clientClose) + ")"
		}
	case attack == "withhold-end":
		a.Detected = clientEnd && !(closedFirst && strings.HasPrefix(note(clientClose), "1000"))
		a.Passed = a.Detected
		switch {
		case !clientEnd:
			a.Reason = "the client sent no end record: a cut conversation and a finished one look the same to its server"
		case !a.Passed:
			a.Reason = "the client closed normally without the server's end record: it cannot tell a cut conversation from a finished one"
		default:
			a.Reason = "the client sent its end record and waited for the server's"
		}
	default:
		a.Refused = refusal
		a.Passed = true
		switch {
		case refusal:
			a.Reason = "the client refused: " + note(clientClose)
		case !clientData:
			a.Reason = "the attack went nowhere; no record crossed (" + note(clientClose) + ")"
		default:
			a.Reason = "nothing read"
		}
	}
	if clientClose != nil && a.Frame < 0 {
		a.Frame = clientClose.Index
	}
	return a
}

func note(e *trace.Event) string {
	if e == nil {
		return "no close from the client"
	}
	return e.Note
}
