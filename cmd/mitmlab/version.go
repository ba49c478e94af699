package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

// runVersion prints the version line: `mitmlab --version`.
func runVersion(_ context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return usagef("--version takes no arguments, got %q", args)
	}
	bi, ok := debug.ReadBuildInfo()
	fmt.Fprintln(e.stdout, versionLine(bi, ok))
	return nil
}

// versionLine says what was built, from the build info Go records:
// the module version ("(devel)" in a build from a clone; v1.2.3 from go
// install …@v1.2.3), then the VCS revision, its time and whether the tree
// was modified, when the build recorded them, then the Go version.
//
//	mitmlab v1.2.3 (rev 0123456789ab, 2026-11-30T12:00:00Z) go1.26.8
func versionLine(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "mitmlab (unknown version: no build info)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var vcs []string
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		vcs = append(vcs, "rev "+rev[:min(len(rev), 12)])
	}
	if t := settings["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if settings["vcs.modified"] == "true" {
		vcs = append(vcs, "modified")
	}
	line := "mitmlab " + version
	if len(vcs) > 0 {
		line += " (" + strings.Join(vcs, ", ") + ")"
	}
	return line + " " + bi.GoVersion
}
