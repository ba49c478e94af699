package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/mitmlab/mitmlab/scenarios"
)

func runList(_ context.Context, e *env, args []string) error {
	fs := newFlagSet("list", `
Usage: mitmlab list [--json]

Lists every scenario: its name, title, scheme and the attack it runs.
The outcome is left out on purpose, so a class can guess first;
'mitmlab run NAME' shows it.
`)
	asJSON := fs.Bool("json", false, "write one JSON object per scenario (JSON Lines), outcome included")
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("list takes no arguments, got %q", pos)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		for _, s := range scenarios.Catalogue() {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCHEME\tATTACK\tTITLE")
	for _, s := range scenarios.Catalogue() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Scheme.Name, s.Attack, s.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	for _, s := range scenarios.Catalogue() {
		fmt.Fprintf(e.stdout, "%s\n  %s\n", s.Name, strings.ReplaceAll(s.Lesson, "\n", "\n  "))
	}
	fmt.Fprintln(e.stdout, "\nRun one with: mitmlab run NAME")
	return nil
}
