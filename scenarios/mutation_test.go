package scenarios_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/wire"
)

var (
	mutations    = flag.Int("mutations", 2000, "how many random single-message mutations TestRandomMutations tries; raise it for a longer hunt")
	mutationSeed = flag.Uint64("mutation-seed", 1, "the seed of TestRandomMutations' draws")
)

// shortWaits are the timeouts of random mutation runs that withhold a
// message: a dropped message must end in a named timeout on both sides
// quickly, never in a hang. A timeout that fires early on a busy machine
// is still a named error, so it cannot make the test pass wrongly.
func shortWaits(o *scenarios.Options) *scenarios.Options {
	o.HandshakeTimeout = 300 * time.Millisecond
	o.IdleTimeout = 300 * time.Millisecond
	o.Timeout = 30 * time.Second
	return o
}

// mutationWaits returns the timeouts of a random mutation run. Only a
// mutation that withholds a message (a drop, or a reorder with no later
// message to release the held one) needs a timeout to end: it gets short
// waits. Every other one must end on a named error or a clean close
// without waiting: it gets waits no busy machine reaches, so that it is
// not cut short by a timeout, and a timeout in its run is a hang.
func mutationWaits(k attacker.MutationKind, o *scenarios.Options) *scenarios.Options {
	if withholds(k) {
		return shortWaits(o)
	}
	o.HandshakeTimeout = 10 * time.Second
	o.IdleTimeout = 10 * time.Second
	o.Timeout = 30 * time.Second
	return o
}

// withholds reports whether mutations of kind k may leave a victim waiting
// for a message that never comes.
func withholds(k attacker.MutationKind) bool {
	return k == attacker.Drop || k == attacker.Reorder
}

// longWaits are for runs whose point is that no timeout fires.
func longWaits(o *scenarios.Options) *scenarios.Options {
	o.HandshakeTimeout = 20 * time.Second
	o.IdleTimeout = 20 * time.Second
	o.Timeout = 30 * time.Second
	return o
}

// TestRandomMutations:
//
// ATTACK SCENARIO: Mallory holds no key for pinned-ecdh. On each run he
// changes one message, handshake or record, in either direction: he flips
// a bit of its bytes or of a field, drops it, delivers it twice, late,
// back to its sender, swaps in a message from an earlier session, forges
// an ordinary close in its place, cuts the TCP connections, replaces a key
// share with a fresh or a low-order one, or re-encodes its JSON.
//
// THIS TEST VERIFIES, on every run, byte for byte against what each victim
// sent: the attacker read nothing; no receiver accepted a message altered,
// twice, or from nowhere; every message that was sent and not delivered
// left its receiver with a named error; no run hung (each side's error is
// named, never the run's own deadline, and only a run that withholds a
// message ends in a timeout) and none panicked.
func TestRandomMutations(t *testing.T) {
	// Not parallel: it runs before the package's parallel tests, so their
	// RSA key generation does not slow its short timeouts.
	r := rand.New(rand.NewChaCha8(seed(*mutationSeed)))
	n := *mutations
	if raceEnabled && n > 400 {
		n = 400 // the race detector makes each run several times slower
	}
	draws := make([]attacker.Mutation, n)
	for i := range draws {
		m, err := attacker.RandomMutation(byteReader{r}, 12)
		if err != nil {
			t.Fatal(err)
		}
		draws[i] = m
	}
	var (
		mu       sync.Mutex
		failures []string
		kinds    = map[attacker.MutationKind]int{}
		detected int
	)
	parallel(t, len(draws), 48, func(i int) {
		m := draws[i]
		o, err := scenarios.Run(context.Background(), "pinned-ecdh", mutationWaits(m.Kind, &scenarios.Options{CustomAttack: attacker.Mutate(m)}))
		var problems []string
		if err != nil {
			problems = []string{"run failed: " + err.Error()}
		} else {
			problems = mutationProblems(o)
			if !withholds(m.Kind) {
				problems = append(problems, waited(o)...)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		kinds[m.Kind]++
		if err == nil && (o.ClientErr != nil || o.ServerErr != nil) {
			detected++
		}
		if len(problems) > 0 && len(failures) < 20 {
			failures = append(failures, fmt.Sprintf("%s: %s", m, strings.Join(problems, "; ")))
		}
	})
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d mutations (seed %d): %d ended in a named error on some side; by kind %v", len(draws), *mutationSeed, detected, kinds)
	for _, k := range attacker.MutationKinds() {
		if kinds[k] == 0 && len(draws) >= 500 {
			t.Errorf("no draw of kind %s: the test did not try it", k)
		}
	}
}

// TestMutationCheckCanFail is the positive control: the same checks, on
// victims that take an ordinary close at its word (the truncation
// lesson), must catch a message lost without a word.
func TestMutationCheckCanFail(t *testing.T) {
	t.Parallel()
	// The client's messages are client_hello (0), client_finished (1) and
	// the three records of the default script (2, 3, 4): #4 is the last.
	m := attacker.Mutation{Dir: wire.ClientToServer, Index: 4, Kind: attacker.ForgeClose}
	o, err := scenarios.Run(context.Background(), "truncation", longWaits(&scenarios.Options{CustomAttack: attacker.Mutate(m)}))
	if err != nil {
		t.Fatal(err)
	}
	if len(mutationProblems(o)) == 0 {
		t.Fatalf("a forged close in place of the client's last message went unnoticed, and the check saw nothing wrong: %s", o.Summary())
	}
	o, err = scenarios.Run(context.Background(), "truncation-refused", longWaits(&scenarios.Options{CustomAttack: attacker.Mutate(m)}))
	if err != nil {
		t.Fatal(err)
	}
	if p := mutationProblems(o); len(p) > 0 {
		t.Errorf("with end records the same forged close must be detected: %v", p)
	}
}

// mutationProblems holds one run to the test's rules.
func mutationProblems(o *scenarios.Outcome) []string {
	var p []string
	if n := o.AttackerRead(); n > 0 {
		p = append(p, fmt.Sprintf("the attacker read %d messages", n))
	}
	if n := o.MessagesAltered(); n > 0 {
		p = append(p, fmt.Sprintf("%d messages delivered altered", n))
	}
	if o.Duplicated > 0 || o.Extra > 0 {
		p = append(p, fmt.Sprintf("%d delivered twice, %d from nowhere", o.Duplicated, o.Extra))
	}
	for _, m := range o.Lost() {
		err, side := o.ServerErr, "server"
		if m.From == "server" {
			err, side = o.ClientErr, "client"
		}
		if !named(err) {
			p = append(p, fmt.Sprintf("%s message %q lost, and the %s has no named error (%v)", m.From, m.Text, side, err))
		}
	}
	for _, err := range []error{o.ClientErr, o.ServerErr} {
		if errors.Is(err, context.DeadlineExceeded) {
			p = append(p, "a side hung until the run's deadline: "+err.Error())
		}
	}
	return p
}

// waited lists the sides of a run that ended on a timeout.
func waited(o *scenarios.Outcome) []string {
	var p []string
	for _, side := range []struct {
		name string
		err  error
	}{{"client", o.ClientErr}, {"server", o.ServerErr}} {
		var t *wire.Timeout
		if errors.As(side.err, &t) {
			p = append(p, fmt.Sprintf("the %s waited for its timeout, though nothing was withheld: %v", side.name, side.err))
		}
	}
	return p
}

// named reports whether err is one of the lab's named outcomes: a decoding
// error, a failed check, a truncation, a timeout, or the peer's close.
func named(err error) bool {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var t *wire.Timeout
	return wire.Detected(err) || errors.As(err, &t) || errors.Is(err, wire.ErrPeerClosed) ||
		wire.CloseCode(err) != 1011
}

// parallel runs f(0..n-1) with at most width at once.
func parallel(t *testing.T, n, width int, f func(i int)) {
	t.Helper()
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}

func seed(s uint64) [32]byte {
	var b [32]byte
	for i := range 8 {
		b[i] = byte(s >> (8 * i))
	}
	return b
}

// byteReader reads from a math/rand/v2 source: draws that are the same on
// every run of the same seed.
type byteReader struct{ r *rand.Rand }

func (b byteReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b.r.Uint32())
	}
	return len(p), nil
}
