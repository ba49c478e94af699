package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

// AttachedName is the name the run view gives a live attacker process.
const AttachedName = "attached"

// AttachedScenario describes the live attacker process whose events stream
// from url, for the run view's header.
func AttachedScenario(url string) scenarios.Scenario {
	return scenarios.Scenario{
		Name:   AttachedName,
		Title:  "live attacker process at " + url,
		Lesson: "Every frame a running 'mitmlab attacker' relays, as it relays it.\nStart a client against the attacker and watch the frames arrive.",
		Attack: "live",
		Expect: "whatever the attacker really does",
	}
}

// attachHint is what to check when nothing answers at an events URL.
const attachHint = "is 'mitmlab attacker' running there? Start it first, for example:\n  mitmlab attacker --scheme unauth-ecdh --upstream ws://127.0.0.1:8443/unauth-ecdh"

// dialTimeout bounds CheckAttach.
const dialTimeout = 5 * time.Second

// AttachError says that nothing streams events at URL, and what to check.
type AttachError struct {
	URL string
	Err error
}

func (e *AttachError) Error() string {
	why := e.Err.Error()
	switch {
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		why = "connection refused"
	case errors.Is(e.Err, context.DeadlineExceeded):
		why = "no answer within " + dialTimeout.String()
	}
	return fmt.Sprintf("cannot attach to %s: %s; %s", e.URL, why, attachHint)
}

func (e *AttachError) Unwrap() error { return e.Err }

// CheckAttach dials url once and hangs up, so that a command can fail at
// once, before the lab takes the terminal, when no attacker process
// answers there. The error is an *AttachError.
func CheckAttach(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return &AttachError{URL: url, Err: err}
	}
	ws.Close(websocket.StatusNormalClosure, "checked")
	return nil
}

// AttachRunner returns a Runner that, instead of running a scenario, shows
// the frames of a running attacker process: it reads the process's ledger
// from url (ws://HOST/events, see docs/cli.md) and hands each frame to the
// run view as it arrives, the backlog first. It runs until the stream ends
// or the view stops it; the scenario name and options are ignored.
func AttachRunner(url string) Runner {
	return func(ctx context.Context, _ string, opts *scenarios.Options) (*scenarios.Outcome, error) {
		ws, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			return nil, &AttachError{URL: url, Err: err}
		}
		defer ws.CloseNow()
		ws.SetReadLimit(1 << 20)
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, &StreamEnded{Err: err}
			}
			var f trace.FrameJSON
			if err := json.Unmarshal(b, &f); err != nil || f.Type != "frame" {
				return nil, errors.Join(fmt.Errorf("attach to %s: not a mitmlab event stream", url), err)
			}
			if opts.OnEvent != nil {
				opts.OnEvent(f.ToEvent())
			}
		}
	}
}

// StreamEnded is how an attacker process's event stream ended: Err is
// its close frame (a websocket.CloseError: 1001 when the process shut
// down, 1008 when it dropped a viewer that fell behind) or why the
// connection went away without one.
type StreamEnded struct {
	Err error
}

func (e *StreamEnded) Error() string {
	var ce websocket.CloseError
	switch {
	case errors.As(e.Err, &ce) && ce.Code == websocket.StatusGoingAway:
		return "the attacker shut down: the frames above are all it relayed; r attaches again once it is back"
	case errors.As(e.Err, &ce) && ce.Code == websocket.StatusPolicyViolation:
		return "the attacker dropped this view: it fell behind the frames (" + ce.Reason + "); r attaches again"
	case errors.As(e.Err, &ce):
		return fmt.Sprintf("the attacker process closed its event stream: %d %s; r attaches again", int(ce.Code), ce.Reason)
	}
	return "the attacker process went away without a word (" + e.Err.Error() + "); r attaches again"
}

func (e *StreamEnded) Unwrap() error { return e.Err }

// liveEnding is the summary bar's text when a live view's stream ends,
// its lines kept.
func liveEnding(err error) string {
	var se *StreamEnded
	var ae *AttachError
	switch {
	case errors.As(err, &se):
		return printable(se.Error())
	case errors.As(err, &ae):
		lines := strings.Split(ae.Error(), "\n")
		for i, l := range lines {
			lines[i] = printable(l)
		}
		return strings.Join(lines, "\n")
	}
	return "the attacker process's stream ended: " + printable(err.Error())
}
