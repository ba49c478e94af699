package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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

// AttachRunner returns a Runner that, instead of running a scenario, shows
// the frames of a running attacker process: it reads the process's ledger
// from url (ws://HOST/events, see docs/cli.md) and hands each frame to the
// run view as it arrives, the backlog first. It runs until the stream ends
// or the view stops it; the scenario name and options are ignored.
func AttachRunner(url string) Runner {
	return func(ctx context.Context, _ string, opts *scenarios.Options) (*scenarios.Outcome, error) {
		ws, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			return nil, fmt.Errorf("attach to %s: %w (is 'mitmlab attacker' running there?)", url, err)
		}
		defer ws.CloseNow()
		ws.SetReadLimit(1 << 20)
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if websocket.CloseStatus(err) != -1 {
					return nil, fmt.Errorf("the attacker process closed its event stream: %w", err)
				}
				return nil, fmt.Errorf("the attacker process went away: %w", err)
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
