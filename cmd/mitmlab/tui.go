package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/tui"
)

func runTUI(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("tui", `
Usage: mitmlab tui [NAME] [flags]

Opens the interactive lab: a live sequence diagram of every frame between
Alice (client), Mallory (attacker) and Bob (server), with what Mallory read.
Step through a run a frame at a time (space), play it (p), switch the
attacker off (a), or type a message as Alice (m) and watch it cross.
Press ? in the lab for every key; docs/tui.md has them too.

With NAME, the lab opens that scenario's run; without, the picker.
Plain 'mitmlab' on a terminal opens it too. NO_COLOR turns colour off.

With --attach, the run view shows a running 'mitmlab attacker' process
instead: every frame it relays, with the same badges, as it relays it,
and t tallies them per student. Give the attacker's URL
(ws://127.0.0.1:9443/pinned-ecdh) or its events URL
(ws://127.0.0.1:9443/events). Nothing listening there is an error at once.

--theme light draws for a light background (every colour at least 4.5:1
against white); the default asks the terminal for its background.
`)
	noAttacker := fs.Bool("no-attacker", false, "start with the attacker off (toggle with a)")
	transport := fs.String("transport", string(scenarios.Memory), "how the nodes connect: memory (in-process, no ports) or loopback (TCP on 127.0.0.1)")
	attach := fs.String("attach", "", "show a running attacker process's frames, live, from its URL")
	allowRemote := fs.Bool("allow-remote", false, "allow an --attach URL on another machine")
	theme := fs.String("theme", "", "the palette: dark or light (default: follow the terminal's background)")
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return err
	}
	th, err := themeFlag(*theme)
	if err != nil {
		return err
	}
	if *attach != "" {
		if len(pos) > 0 || *noAttacker {
			return usagef("tui: --attach shows a live attacker; it takes no scenario name and no --no-attacker")
		}
		return runAttach(ctx, e, *attach, *allowRemote, th)
	}
	return runLab(ctx, e, pos, *noAttacker, *transport, th)
}

// themeFlag checks --theme.
func themeFlag(s string) (tui.Theme, error) {
	if s == "" {
		return tui.ThemeAuto, nil
	}
	var names []string
	for _, t := range tui.Themes() {
		if string(t) == s {
			return t, nil
		}
		names = append(names, string(t))
	}
	return "", usagef("tui: unknown --theme %q%s (themes: %s)", s, didYouMean(s, names), strings.Join(names, ", "))
}

// runAttach opens the run view on a live attacker process's /events. It
// dials first, so that nothing listening there fails at once, with the
// whole hint, as every other command does.
func runAttach(ctx context.Context, e *env, raw string, allowRemote bool, theme tui.Theme) error {
	u, err := wsURL("attach", raw, allowRemote)
	if err != nil {
		return err
	}
	u.Path, u.RawQuery = eventsPath, ""
	if err := tui.CheckAttach(ctx, u.String()); err != nil {
		return err
	}
	if !e.tty {
		return fmt.Errorf("tui: the interactive lab needs a terminal (stdin and stdout); the attacker process prints the same frames in its own terminal (with --json, as JSON Lines), and %s streams them to your own tools", u)
	}
	return tui.Run(ctx, tui.Options{
		Scenario:  tui.AttachedName,
		Catalogue: []scenarios.Scenario{tui.AttachedScenario(u.String())},
		Runner:    tui.AttachRunner(u.String()),
		Live:      true,
		Theme:     theme,
	}, tui.Terminal{In: e.stdin, Out: e.stdout, NoColor: !e.color})
}

// runLab opens the lab on the picker, or on the scenario named in pos.
func runLab(ctx context.Context, e *env, pos []string, noAttacker bool, transport string, theme tui.Theme) error {
	name := ""
	switch len(pos) {
	case 0:
	case 1:
		name = pos[0]
		if _, err := scenarios.Lookup(name); err != nil {
			return &usageError{err.Error()}
		}
	default:
		return usagef("tui takes at most one scenario name, got %q", pos)
	}
	tr, err := transportFlag("tui", transport)
	if err != nil {
		return err
	}
	if !e.tty {
		try := "unauth-ecdh"
		if name != "" {
			try = name
		}
		return fmt.Errorf("tui: the interactive lab needs a terminal (stdin and stdout); try: mitmlab run %s", try)
	}
	return tui.Run(ctx, tui.Options{Scenario: name, NoAttacker: noAttacker, Transport: tr, Theme: theme},
		tui.Terminal{In: e.stdin, Out: e.stdout, NoColor: !e.color})
}
