// Package mallory checks the course's exercises: it puts a student's client
// under every attack `mitmlab exam` runs, and grades each connection the way
// the exam does, from what crossed the wire.
//
// A check is real: the lab's server (Bob) runs on loopback with fresh keys,
// an attacker node (Mallory) sits in front of it, and the student's client
// connects through Mallory once per attack, with the attack's name as its
// ?name=. [exam.Grade] grades each connection from Mallory's ledger. On top
// of the exam's rules, every message Mallory marks read must be bytes the
// client really sent or received: a read that matches nothing is a lab
// bug, and [Run] returns an error for it rather than a verdict.
//
// Each Go exercise's mallory_test.go calls [Check] with the exercise's
// Under(), the student's code wired as a [Client]; `mitmlab exercise
// check` runs that test and prints the [exercises.Report] it writes to
// the file named by $MITMLAB_EXERCISE_REPORT.
package mallory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/exam"
	"github.com/mitmlab/mitmlab/exercises"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// ReportEnv names the file [Check] writes its report to, as JSON;
// ReportDirEnv, a directory it writes NAME.json to, for a go test of
// several exercises at once.
const (
	ReportEnv    = "MITMLAB_EXERCISE_REPORT"
	ReportDirEnv = "MITMLAB_EXERCISE_REPORT_DIR"
)

// Conn is what the client under test is told for one connection.
type Conn struct {
	// Scheme is the scheme to speak.
	Scheme *kex.Scheme
	// URL is where to connect: Mallory. Its query carries name=ATTACK, so
	// that Mallory knows which attack this connection gets.
	URL string
	// Pin is Bob's pin, given before the lab began: of his certificate's
	// key (pinned-ecdh) or of his RSA key (static-rsa).
	Pin string
	// Messages is the chat to send.
	Messages []string
	// Timeout bounds each wait of the client.
	Timeout time.Duration
}

// Chat is what a client did on one connection, as it reports it.
type Chat struct {
	Sent     [][]byte
	Received [][]byte
	Err      error
}

// Client is the code under test: it makes one connection and reports.
type Client func(ctx context.Context, c Conn) Chat

// Half is a client built from a learner's client half: the lab's victim
// client runs it, then the lab's record layer.
func Half(half kex.ClientHalf) Client {
	return func(ctx context.Context, c Conn) Chat {
		s := *c.Scheme
		s.Client = half
		v := &victim.Client{Scheme: &s, Config: &kex.ClientConfig{Pin: c.Pin}, Timeout: c.Timeout, IdleTimeout: c.Timeout}
		msgs := make([][]byte, len(c.Messages))
		for i, m := range c.Messages {
			msgs[i] = []byte(m)
		}
		r := v.Chat(ctx, c.URL, msgs)
		return Chat{Sent: r.Sent, Received: r.Replies, Err: r.Err}
	}
}

// Options tunes [Run]. A nil *Options means the defaults.
type Options struct {
	// Messages is the chat; empty means the lab's default script.
	Messages []string
	// Timeout bounds each wait of each side; zero means 10 s. No attack
	// waits it out: it is there for a client that hangs, and is long so
	// that a busy machine (a classroom laptop, CI) does not fail a good
	// client.
	Timeout time.Duration
	// Hold is how long withhold-end holds the server's end record; zero
	// means 300 ms.
	Hold time.Duration
}

// Run checks client as exercise ex asks: every attack of the exam's plan
// for the scheme, one connection each, all at once.
func Run(ctx context.Context, ex exercises.Exercise, client Client, opts *Options) (*exercises.Report, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Messages) == 0 {
		o.Messages = scenarios.DefaultScript()
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Hold == 0 {
		o.Hold = 300 * time.Millisecond
	}
	scheme, ok := scenarios.Scheme(ex.Scheme)
	if !ok {
		return nil, fmt.Errorf("mallory: exercise %s: no scheme %q", ex.Name, ex.Scheme)
	}
	lab, err := newLab(ex, scheme, o)
	if err != nil {
		return nil, err
	}
	defer lab.close()

	r := &exercises.Report{Exercise: ex.Name, Scheme: scheme.Name, Passed: true}
	r.Attempts = make([]exercises.Attempt, len(lab.plan))
	errs := make([]error, len(lab.plan))
	var wg sync.WaitGroup
	for i, a := range lab.plan {
		wg.Go(func() { r.Attempts[i], errs[i] = lab.attempt(ctx, client, a.Name) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, a := range r.Attempts {
		r.Passed = r.Passed && a.Passed
	}
	return r, nil
}

// Check runs [Run] for the exercise called name, writes the report where
// $MITMLAB_EXERCISE_REPORT says, and fails t unless the client passed.
func Check(t *testing.T, name string, client Client) {
	t.Helper()
	ex, err := exercises.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	r, err := Run(ctx, ex, client, nil)
	if err != nil {
		t.Fatalf("mallory: %v", err)
	}
	path := os.Getenv(ReportEnv)
	if dir := os.Getenv(ReportDirEnv); dir != "" {
		path = filepath.Join(dir, name+".json")
	}
	if path != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !r.Passed {
		t.Errorf("Mallory broke %s:\n%s", name, r)
	}
}

// lab is one check's Bob and Mallory, on loopback.
type lab struct {
	scheme   *kex.Scheme
	o        Options
	pin      string
	plan     []*attacker.Attack
	bob      *victim.Server
	bobHTTP  *httptest.Server
	node     *attacker.Node
	nodeHTTP *httptest.Server

	mu     sync.Mutex
	events map[int][]trace.Event
	ends   map[string]chan attacker.SessionEnd
}

func newLab(ex exercises.Exercise, scheme *kex.Scheme, o Options) (*lab, error) {
	l := &lab{scheme: scheme, o: o, events: map[int][]trace.Event{}, ends: map[string]chan attacker.SessionEnd{}}
	cfg := &kex.ServerConfig{Schemes: ex.ServerSchemes}
	if scheme.Identity {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			return nil, err
		}
		cfg.Identity, l.pin = id, id.Pin()
	}
	if scheme.RSAIdentity {
		k, err := kex.NewRSAKey()
		if err != nil {
			return nil, err
		}
		if l.pin, err = kex.RSAKeyPin(&k.PublicKey); err != nil {
			return nil, err
		}
		cfg.RSAKey = k
	}
	l.plan = exam.Plan(scheme, o.Hold)
	plan := map[string]*attacker.Attack{}
	for _, a := range l.plan {
		plan[a.Name] = a
		l.ends[a.Name] = make(chan attacker.SessionEnd, 1)
	}
	l.bob = victim.NewServer(scheme, &victim.ServerOptions{Config: cfg, HandshakeTimeout: o.Timeout, IdleTimeout: o.Timeout})
	l.bobHTTP = httptest.NewServer(l.bob)
	node, err := attacker.New(attacker.Options{
		Scheme: scheme,
		Choose: func(_ int, r *http.Request) *attacker.Attack {
			if a := plan[r.URL.Query().Get("name")]; a != nil {
				return a
			}
			a, _ := attacker.Lookup(attacker.Passive)
			return a
		},
		Upstream:         "ws" + strings.TrimPrefix(l.bobHTTP.URL, "http") + victim.Path(scheme.Name),
		Log:              trace.NewLog(l.record),
		HandshakeTimeout: o.Timeout,
		IdleTimeout:      o.Timeout,
		OnSessionEnd:     l.ended,
	})
	if err != nil {
		l.close()
		return nil, err
	}
	l.node = node
	l.nodeHTTP = httptest.NewServer(node)
	return l, nil
}

func (l *lab) close() {
	if l.node != nil {
		l.node.Close()
		l.nodeHTTP.Close()
	}
	l.bob.Close()
	l.bobHTTP.Close()
}

func (l *lab) record(ev trace.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events[ev.Conn] = append(l.events[ev.Conn], ev)
}

func (l *lab) ended(end attacker.SessionEnd) {
	l.mu.Lock()
	ch := l.ends[end.Name]
	l.mu.Unlock()
	if ch != nil {
		select {
		case ch <- end:
		default: // a second connection with the same name: not ours
		}
	}
}

// attempt runs one connection of client under the attack called name,
// waits for Mallory to finish with it, and grades it.
func (l *lab) attempt(ctx context.Context, client Client, name string) (exercises.Attempt, error) {
	u := url.URL{Scheme: "ws", Host: strings.TrimPrefix(l.nodeHTTP.URL, "http://"), Path: victim.Path(l.scheme.Name), RawQuery: url.Values{"name": {name}}.Encode()}
	cctx, cancel := context.WithTimeout(ctx, 10*l.o.Timeout)
	chat := client(cctx, Conn{Scheme: l.scheme, URL: u.String(), Pin: l.pin, Messages: l.o.Messages, Timeout: l.o.Timeout})
	cancel()
	a := exercises.Attempt{Attack: name, Frame: -1}
	for _, m := range chat.Received {
		a.Received = append(a.Received, string(m))
	}
	if chat.Err != nil {
		a.ClientError = chat.Err.Error()
	}
	var end attacker.SessionEnd
	select {
	case end = <-l.ends[name]:
	case <-time.After(2 * l.o.Timeout):
		a.Reason = "the client never reached Mallory, or he never saw it leave (" + orNone(a.ClientError) + ")"
		return a, nil
	case <-ctx.Done():
		return a, ctx.Err()
	}
	l.mu.Lock()
	events := l.events[end.Conn]
	l.mu.Unlock()
	g := exam.Grade(name, events)
	a.Passed, a.Read, a.Refused, a.Detected, a.Reason = g.Passed, g.Read, g.Refused, g.Detected, g.Reason
	// The ledger numbers every connection's frames together; a student
	// reads this connection's, from 0.
	for i, ev := range events {
		if ev.Index == g.Frame {
			a.Frame = i
		}
	}
	if err := honest(name, events, chat, &a); err != nil {
		return a, err
	}
	if dup := twice(chat.Received); !a.Passed && dup != "" {
		a.Reason += fmt.Sprintf("; it took %q twice", dup)
	}
	return a, nil
}

// twice returns a message the client says it received more than once.
func twice(received [][]byte) string {
	seen := map[string]bool{}
	for _, m := range received {
		if seen[string(m)] {
			return string(m)
		}
		seen[string(m)] = true
	}
	return ""
}

// honest checks every record Mallory marked read against what the client
// really sent and received, counts the records he forged for the client,
// and takes an example of what he read.
func honest(name string, events []trace.Event, chat Chat, a *exercises.Attempt) error {
	// Mallory may read Bob's answer to a message on leg B and never pass
	// it on, so Bob's replies count as known too.
	known := append(append([][]byte{}, chat.Sent...), chat.Received...)
	for _, m := range chat.Sent {
		known = append(known, victim.DefaultReply(m))
	}
	for _, ev := range events {
		if ev.Type == string(wire.TypeEnd) && ev.Leg == trace.LegA && ev.Dir == wire.ClientToServer {
			a.ClientEnd = true
		}
		if ev.Type != string(wire.TypeData) {
			continue
		}
		switch ev.Verdict {
		case trace.Read:
			if !contains(known, ev.Recovered) {
				return fmt.Errorf("mallory: lab bug: under %s Mallory marked frame %d read, but %q is nothing the client sent or received", name, ev.Index, ev.Recovered)
			}
			if a.Example == "" && ev.Leg == trace.LegA && ev.Dir == wire.ClientToServer {
				a.Example = string(ev.Recovered)
			}
		case trace.Forged:
			if ev.Leg == trace.LegA {
				a.Forged++
			}
		}
	}
	return nil
}

func contains(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "no error from the client"
	}
	return s
}
