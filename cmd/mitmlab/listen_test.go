package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestAcceptLog checks what an http.Server's ErrorLog prints: net/http
// retries a failed accept every few milliseconds, so running out of file
// descriptors must give one line of advice, not thousands of log lines.
func TestAcceptLog(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string // substrings of each printed line, in order
	}{
		{
			"out of descriptors is said once, with what to do",
			[]string{
				"http: Accept error: accept tcp 127.0.0.1:9443: accept4: too many open files; retrying in 5ms",
				"http: Accept error: accept tcp 127.0.0.1:9443: accept4: too many open files; retrying in 10ms",
				"http: Accept error: accept tcp 127.0.0.1:9443: accept4: too many open files; retrying in 20ms",
			},
			[]string{"mitmlab attacker: out of file descriptors: every open connection holds one"},
		},
		{
			"the advice names the limit and the flag that helps",
			[]string{"http: Accept error: accept tcp [::]:80: accept4: too many open files; retrying in 1s"},
			[]string{"Raise the limit before starting (ulimit -n 4096), or lower --idle-timeout"},
		},
		{
			"a refused certificate is the lesson, not noise",
			[]string{"http: TLS handshake error from 127.0.0.1:5555: remote error: tls: bad certificate"},
			nil,
		},
		{
			"anything else is passed on with the prefix",
			[]string{"http: panic serving 127.0.0.1:5555: boom"},
			[]string{"mitmlab attacker: http: panic serving 127.0.0.1:5555: boom"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			l := acceptLog(&out, "mitmlab attacker")
			for _, line := range tc.lines {
				l.Print(line)
			}
			got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if out.Len() == 0 {
				got = nil
			}
			if len(got) != len(tc.want) {
				t.Fatalf("printed %d lines, want %d:\n%s", len(got), len(tc.want), out.String())
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("line %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
