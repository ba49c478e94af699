// Package labtest puts a learner's own code under Mallory in go test.
//
// A [Target] is a client half, a server half, or a whole scheme. [Attack]
// runs every attack in the lab's table that applies to it, each over real
// WebSocket connections with the lab's own victim on the other side, then
// a few hundred random single-message mutations, and fails the test with
// a report per attack: what Mallory read or forged, at which frame, or
// which check refused him and why. [Run] gives the same [Report] outside
// tests.
//
//	func TestMyClient(t *testing.T) {
//		labtest.Attack(t, labtest.Client(kex.PinnedECDH(), myClientHalf))
//	}
//
// Passing means: no attack read or altered a single message, every
// mutation was delivered intact or refused with a named error on the side
// that lost it, and with a passive Mallory the chat still works and ends
// cleanly.
package labtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// Target is the code under test.
type Target struct {
	// Name names it in the report.
	Name string
	// Scheme is the scheme it speaks: for a half, the lab scheme whose
	// other half it talks to; for a whole scheme, the scheme itself.
	Scheme *kex.Scheme
	// Client and Server, if not nil, replace the scheme's halves.
	Client kex.ClientHalf
	Server kex.ServerHalf
}

// Client is a learner's client half for a lab scheme: the lab's server
// runs the other half.
func Client(scheme *kex.Scheme, half kex.ClientHalf) Target {
	return Target{Name: "client for " + scheme.Name, Scheme: scheme, Client: half}
}

// Server is a learner's server half for a lab scheme.
func Server(scheme *kex.Scheme, half kex.ServerHalf) Target {
	return Target{Name: "server for " + scheme.Name, Scheme: scheme, Server: half}
}

// Scheme is a learner's whole scheme: both halves and its messages.
func Scheme(s *kex.Scheme) Target { return Target{Name: "scheme " + s.Name, Scheme: s} }

// Options configures [Run]. A nil *Options means the defaults.
type Options struct {
	// Mutations is how many random single-message mutations to try after
	// the attacks; zero means 200, negative means none.
	Mutations int
	// Seed makes the mutations the same on every run; zero means 1.
	Seed uint64
	// Messages is the client's chat; empty means the lab's default script.
	Messages []string
	// Timeout bounds each wait of each run (the victims' handshake and
	// idle timeouts); zero means 500 ms, enough on a busy machine and short
	// enough that a dropped message costs little.
	Timeout time.Duration
}

// Result is one attempt's verdict.
type Result string

// The results.
const (
	Refused       Result = "refused"        // a check stopped the attack, with a named error
	Clean         Result = "clean"          // nothing read, the chat worked and ended cleanly
	Read          Result = "read"           // Mallory read messages
	Altered       Result = "altered"        // a message was delivered changed, twice, or lost without a word
	Broken        Result = "broken"         // with a passive Mallory, the chat did not work
	NotApplicable Result = "not applicable" // the scheme lacks what the attack needs
)

// Attempt is one attack, or one mutation, against the target.
type Attempt struct {
	Attack string `json:"attack"`
	Result Result `json:"result"`
	// Read counts the messages Mallory recovered; Forged those he
	// delivered under a key of his own; Altered those delivered changed,
	// twice, or lost without a named error.
	Read    int `json:"read"`
	Forged  int `json:"forged"`
	Altered int `json:"altered"`
	// Frame is the ledger index where the attempt was decided: the first
	// record Mallory read, or the refusal.
	Frame int `json:"frame"`
	// By is who refused ("client", "server", "both") and Reason why; for
	// an attack that does not apply, Reason says what it lacks.
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Example is one message Mallory read, for the report.
	Example string `json:"example,omitempty"`
}

// Failed reports whether the attempt is a finding against the target.
func (a Attempt) Failed() bool {
	return a.Result == Read || a.Result == Altered || a.Result == Broken
}

// Report is every attempt against one target.
type Report struct {
	Target   string    `json:"target"`
	Attempts []Attempt `json:"attempts"`
}

// Passed reports whether no attempt failed.
func (r *Report) Passed() bool {
	for _, a := range r.Attempts {
		if a.Failed() {
			return false
		}
	}
	return true
}

// Failures returns the attempts that failed.
func (r *Report) Failures() []Attempt {
	var out []Attempt
	for _, a := range r.Attempts {
		if a.Failed() {
			out = append(out, a)
		}
	}
	return out
}

// String is the report as a table, one line per attempt.
func (r *Report) String() string {
	var b strings.Builder
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "%s %s\n", verdict, r.Target)
	for _, a := range r.Attempts {
		fmt.Fprintf(&b, "  %-4s %-18s %s\n", mark(a), a.Attack, a.describe())
	}
	return b.String()
}

func mark(a Attempt) string {
	switch {
	case a.Failed():
		return "FAIL"
	case a.Result == NotApplicable:
		return "n/a"
	}
	return "ok"
}

func (a Attempt) describe() string {
	switch a.Result {
	case Read:
		s := fmt.Sprintf("Mallory read %d messages from frame %d on", a.Read, a.Frame)
		if a.Forged > 0 {
			s += fmt.Sprintf(" and forged %d", a.Forged)
		}
		if a.Example != "" {
			s += fmt.Sprintf(", such as %q", a.Example)
		}
		return s
	case Refused:
		return fmt.Sprintf("refused by the %s at frame %d: %s", a.By, a.Frame, a.Reason)
	case Clean:
		return "nothing read; the chat worked and ended cleanly"
	case NotApplicable:
		return "not applicable: " + a.Reason
	}
	return a.Reason
}

// Attack runs [Run] and fails t with the report unless the target passed.
func Attack(t testing.TB, target Target, opts ...Options) *Report {
	t.Helper()
	var o *Options
	if len(opts) > 0 {
		o = &opts[0]
	}
	r, err := Run(t.Context(), target, o)
	if err != nil {
		t.Fatalf("labtest: %v", err)
	}
	if !r.Passed() {
		t.Errorf("labtest: Mallory broke the %s:\n%s", target.Name, r)
	}
	return r
}

// Run attacks target with every applicable attack in the lab's table, then
// with random mutations, and reports each attempt.
func Run(ctx context.Context, target Target, opts *Options) (*Report, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Mutations == 0 {
		o.Mutations = 200
	}
	if o.Timeout == 0 {
		o.Timeout = 500 * time.Millisecond
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if err := target.Scheme.Check(); err != nil {
		return nil, err
	}
	if target.Name == "" {
		target.Name = target.Scheme.Name
	}
	r := &Report{Target: target.Name}
	sc := scenarios.Scenario{Name: "labtest", Title: target.Name, Scheme: target.Scheme}
	for _, a := range attacker.Attacks() {
		if a.Name == attacker.MutateName {
			continue // the mutations come below, drawn from a seed
		}
		if a.ChangesPage() {
			r.Attempts = append(r.Attempts, Attempt{Attack: a.Name, Result: NotApplicable, Reason: "it changes the victim page, and the target loads none; its WebSocket half is impersonate"})
			continue
		}
		if err := a.Applies(target.Scheme, false); err != nil {
			var na *attacker.NotApplicableError
			errors.As(err, &na)
			why := err.Error()
			if na != nil {
				why = na.Why
			}
			r.Attempts = append(r.Attempts, Attempt{Attack: a.Name, Result: NotApplicable, Reason: why})
			continue
		}
		out, err := o.run(ctx, sc, target, a, "")
		if err != nil {
			return nil, fmt.Errorf("labtest: %s: %w", a.Name, err)
		}
		r.Attempts = append(r.Attempts, grade(a.Name, out))
	}
	if o.Mutations > 0 {
		m, err := o.mutations(ctx, sc, target)
		if err != nil {
			return nil, err
		}
		r.Attempts = append(r.Attempts, m)
	}
	return r, nil
}

func (o *Options) run(ctx context.Context, sc scenarios.Scenario, target Target, a *attacker.Attack, _ string) (*scenarios.Outcome, error) {
	return scenarios.RunScenario(ctx, sc, &scenarios.Options{
		Messages:         o.Messages,
		CustomAttack:     a,
		Client:           target.Client,
		Server:           target.Server,
		HandshakeTimeout: o.Timeout,
		IdleTimeout:      o.Timeout,
	})
}

// mutations runs o.Mutations random mutations and sums them up in one
// attempt: the first one that hurt, if any.
func (o *Options) mutations(ctx context.Context, sc scenarios.Scenario, target Target) (Attempt, error) {
	r := rand.New(rand.NewChaCha8(seed(o.Seed)))
	draws := make([]attacker.Mutation, o.Mutations)
	for i := range draws {
		m, err := attacker.RandomMutation(byteReader{r}, 12)
		if err != nil {
			return Attempt{}, err
		}
		draws[i] = m
	}
	var (
		mu      sync.Mutex
		worst   *Attempt
		refused int
		runErr  error
	)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, m := range draws {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out, err := o.run(ctx, sc, target, attacker.Mutate(m), "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				runErr = err
				return
			}
			a := grade(attacker.MutateName, out)
			if a.Result == Refused {
				refused++
			}
			if a.Failed() && worst == nil {
				a.Reason = m.String() + ": " + a.Reason
				worst = &a
			}
		}()
	}
	wg.Wait()
	if runErr != nil {
		return Attempt{}, fmt.Errorf("labtest: mutation: %w", runErr)
	}
	name := fmt.Sprintf("mutate ×%d", len(draws))
	if worst != nil {
		worst.Attack = name
		return *worst, nil
	}
	return Attempt{Attack: name, Result: Clean, Reason: fmt.Sprintf("%d refused with a named error, the rest delivered intact", refused)}, nil
}

// grade turns one run's outcome into an attempt, from what the victims
// really accepted and what Mallory really recovered.
func grade(attack string, o *scenarios.Outcome) Attempt {
	a := Attempt{Attack: attack, Read: o.AttackerRead(), Frame: -1}
	for _, e := range o.Events {
		if e.Verdict == trace.Forged && e.Type == string(wire.TypeData) {
			a.Forged++
		}
	}
	for _, m := range o.Messages {
		if m.Read() && a.Example == "" {
			a.Example = string(m.Text)
		}
	}
	a.Altered = o.MessagesAltered() + o.Duplicated + o.Extra
	for _, m := range o.Lost() {
		err := o.ServerErr
		if m.From == "server" {
			err = o.ClientErr
		}
		if err == nil {
			a.Altered++
		}
	}
	switch {
	case a.Read > 0:
		a.Result = Read
		a.Frame = firstEvent(o.Events, func(e trace.Event) bool { return e.Verdict == trace.Read && e.Type == string(wire.TypeData) })
	case a.Altered > 0:
		a.Result = Altered
		a.Reason = fmt.Sprintf("%d messages delivered changed, twice or lost without a named error: %s", a.Altered, o.Summary())
	case o.Detected:
		a.Result, a.By, a.Reason = Refused, o.DetectedBy, o.Reason
		a.Frame = firstEvent(o.Events, func(e trace.Event) bool { return e.Verdict == trace.Blocked })
	case attack == attacker.Passive && (o.ClientErr != nil || o.ServerErr != nil || o.MessagesDelivered() != len(o.Messages)):
		a.Result, a.Reason = Broken, "with a passive relay the chat did not work: "+o.Summary()
	case o.ClientErr != nil || o.ServerErr != nil:
		a.Result, a.Reason = Refused, o.Summary()
		a.By = "client"
		if o.ClientErr == nil {
			a.By = "server"
		}
	default:
		a.Result = Clean
	}
	return a
}

func firstEvent(events []trace.Event, f func(trace.Event) bool) int {
	for _, e := range events {
		if f(e) {
			return e.Index
		}
	}
	return -1
}

func seed(s uint64) [32]byte {
	var b [32]byte
	for i := range 8 {
		b[i] = byte(s >> (8 * i))
	}
	return b
}

type byteReader struct{ r *rand.Rand }

func (b byteReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b.r.Uint32())
	}
	return len(p), nil
}

var _ io.Reader = byteReader{}
