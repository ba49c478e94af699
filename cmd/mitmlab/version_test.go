package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"go install of a release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/mitmlab/mitmlab", Version: "v1.2.3"}}, true,
			"mitmlab v1.2.3 go1.26.8"},
		{"a build from a clone, with VCS stamping", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-11-30T12:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}, true, "mitmlab (devel) (rev 0123456789ab, 2026-11-30T12:00:00Z, modified) go1.26.8"},
		{"a clean tree", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261130120000-0123456789ab"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789ab"}, {Key: "vcs.modified", Value: "false"},
		}}, true, "mitmlab v0.0.0-20261130120000-0123456789ab (rev 0123456789ab) go1.26.8"},
		{"no build info", nil, false, "mitmlab (unknown version: no build info)"},
	} {
		if got := versionLine(tc.bi, tc.ok); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestVersionFlag: mitmlab --version prints one line, this binary's, with
// its Go version, and exits 0.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--version"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("the test binary has no build info")
	}
	if got := strings.TrimSpace(stdout.String()); !strings.HasPrefix(got, "mitmlab ") || !strings.HasSuffix(got, bi.GoVersion) || strings.Contains(got, "\n") {
		t.Errorf("--version printed %q", got)
	}
}
