package tui

import (
	"context"
	"sync/atomic"

	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

// Runner runs one scenario, as [scenarios.Run] does. It is a seam: tests
// pass a runner that replays a fixed trace.
type Runner func(ctx context.Context, name string, opts *scenarios.Options) (*scenarios.Outcome, error)

// frameMsg carries one trace event of run number run.
type frameMsg struct {
	run   int
	event trace.Event
}

// runDoneMsg ends run number run: the outcome, or why there is none.
type runDoneMsg struct {
	run     int
	outcome *scenarios.Outcome
	err     error
}

// streamItem is one item on a run's channel: an event, a record Mallory
// holds for the person at the intercept, or, last, the end.
type streamItem struct {
	event trace.Event
	hold  *holdMsg
	done  *runDoneMsg
}

// streamBuffer is how many events a run may get ahead of the screen before
// the nodes wait for it.
const streamBuffer = 1024

// liveRun is a scenario run in flight. The run itself is a goroutine that a
// tea.Cmd starts; its events reach the model only as messages, through
// items, read one at a time by the Cmd that [liveRun.next] returns (as glow
// reads its streams). Nothing else touches the model.
type liveRun struct {
	id     int
	items  chan streamItem
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the run's goroutine has returned
	state  atomic.Int32  // runPending, runStarted or runAbandoned
	// released says the person turned intercept off during the run:
	// Mallory holds nothing more.
	released atomic.Bool
}

// The states of a liveRun: its Cmd may never run (the program can end
// first), and stop must not wait for a goroutine that never started.
const (
	runPending int32 = iota
	runStarted
	runAbandoned
)

// startRun returns a run and the Cmd that starts it and reads its first
// item. The run reports into items; run owns the channel and closes it
// when it returns, which ends the reading Cmd too.
//
// With intercept not nil, Mallory runs that attack with a person's hand
// on every record ([attacker.Intercept]): each held record comes down
// items as a hold, after the events before it, and the run waits for the
// answer. The run's timeouts are then a person's, not a machine's.
func startRun(id int, run Runner, name string, opts scenarios.Options, intercept *attacker.Attack) (*liveRun, tea.Cmd) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &liveRun{id: id, items: make(chan streamItem, streamBuffer), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	if intercept != nil {
		opts.CustomAttack = attacker.Intercept(intercept, r.decide)
		opts.Timeout = max(opts.Timeout, interactiveTimeout)
		opts.IdleTimeout = max(opts.IdleTimeout, interactiveIdle)
	}
	opts.OnEvent = func(e trace.Event) {
		select {
		case r.items <- streamItem{event: e}:
		case <-ctx.Done():
		}
	}
	launch := func() tea.Msg {
		if !r.state.CompareAndSwap(runPending, runStarted) {
			return nil
		}
		defer close(r.done)
		defer close(r.items)
		o, err := run(ctx, name, &opts)
		if ctx.Err() != nil {
			return nil // stopped: nobody waits for this run's end
		}
		select {
		case r.items <- streamItem{done: &runDoneMsg{run: id, outcome: o, err: err}}:
		case <-ctx.Done():
		}
		return nil
	}
	return r, tea.Batch(launch, r.next())
}

// next returns a Cmd that reads one item of the run and returns it as a
// message. The model issues it again after each frame.
func (r *liveRun) next() tea.Cmd {
	return func() tea.Msg {
		it, ok := <-r.items
		switch {
		case !ok:
			return nil
		case it.done != nil:
			return *it.done
		case it.hold != nil:
			return *it.hold
		}
		return frameMsg{run: r.id, event: it.event}
	}
}

// stop cancels the run and waits for its goroutine. It is safe on a nil
// run and to call more than once.
func (r *liveRun) stop() {
	if r == nil {
		return
	}
	r.cancel()
	if r.state.CompareAndSwap(runPending, runAbandoned) {
		close(r.items)
		close(r.done)
		return
	}
	<-r.done
}
