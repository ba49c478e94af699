package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mitmlab/mitmlab/export"
)

// exportFormatList is ".md, .mmd, .har, .pcapng or .jsonl".
func exportFormatList() string {
	var names []string
	for _, f := range export.Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// exportFormatsHelp is the table of formats for --help.
func exportFormatsHelp() string {
	var b strings.Builder
	for _, f := range export.Formats() {
		fmt.Fprintf(&b, "  %-8s %s\n", f, f.About())
	}
	return b.String()
}

// checkExports refuses, before anything runs, a file whose extension
// names no format.
func checkExports(cmd string, paths []string) error {
	for _, p := range paths {
		if _, err := export.FormatOf(p); err != nil {
			return usagef("%s: --export %q: unknown format %q; the extension picks one of %s", cmd, p, filepath.Ext(p), exportFormatList())
		}
	}
	return nil
}

// writeExports writes run to each file and says so on stderr (stdout may
// be JSON Lines).
func writeExports(e *env, paths []string, run export.Run) error {
	for _, p := range paths {
		if err := export.Write(p, run); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		f, _ := export.FormatOf(p)
		fmt.Fprintf(e.stderr, "wrote %s: %s\n", p, f.About())
	}
	return nil
}
