package main

import (
	"bufio"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// TestExamProcess:
//
// ATTACK SCENARIO: mitmlab exam relays to a real server process and runs a
// different attack on each connection of the client under test.
//
// THIS TEST VERIFIES, with the lab's own client process as the one under
// test: with the right pin it passes every attack and the exam exits 0;
// with --insecure-no-pin impersonation reads it and the exam exits 1,
// naming the attack in the scorecard; on unauth-ecdh double-ecdh reads it.
func TestExamProcess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, scheme string
		noPin        bool
		passed       bool
		failed       string
	}{
		{"pinned-ecdh with the pin passes", "pinned-ecdh", false, true, ""},
		{"pinned-ecdh without a pin fails impersonate", "pinned-ecdh", true, false, "impersonate"},
		{"unauth-ecdh fails double-ecdh", "unauth-ecdh", false, false, "double-ecdh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, upstream, pin := startServer(t, tc.scheme)
			ex := startProc(t, "exam", "--scheme", tc.scheme, "--listen", "127.0.0.1:0", "--upstream", upstream, "--json", "--hold", "300ms")
			m := ex.waitIn(t, ex.errOut, `connect the client under test to (ws://\S+), (\d+) times`)
			n, _ := strconv.Atoi(m[2])
			for range n {
				args := append([]string{"client"}, chatArgs(tc.scheme, m[1], "", "hi", "bye")...)
				switch {
				case tc.noPin:
					args = append(args, "--insecure-no-pin")
				case pin != "":
					args = append(args, "--pin", pin)
				}
				runClientProc(t, args[1:]...)
			}
			if got := ex.exitCode(t); (got == 0) != tc.passed {
				t.Fatalf("exam exited %d; output:\n%s", got, ex.out.String())
			}
			var sc struct {
				Type          string   `json:"type"`
				Passed        bool     `json:"passed"`
				Attempts      int      `json:"attempts"`
				FailedAttacks []string `json:"failed_attacks"`
			}
			attempts := 0
			sca := bufio.NewScanner(strings.NewReader(ex.out.String()))
			for sca.Scan() {
				var line map[string]any
				if err := json.Unmarshal(sca.Bytes(), &line); err != nil {
					t.Fatalf("not JSON Lines: %q", sca.Text())
				}
				switch line["type"] {
				case "exam_attempt":
					attempts++
				case "scorecard":
					json.Unmarshal(sca.Bytes(), &sc)
				}
			}
			if attempts != n || sc.Type != "scorecard" || sc.Attempts != n || sc.Passed != tc.passed {
				t.Errorf("%d attempts, scorecard %+v; want %d and passed=%v", attempts, sc, n, tc.passed)
			}
			if tc.failed != "" && !strings.Contains(strings.Join(sc.FailedAttacks, ","), tc.failed) {
				t.Errorf("failed attacks %v, want %s among them", sc.FailedAttacks, tc.failed)
			}
		})
	}
}

// TestClassroomProcess: one attacker process with --classroom, two
// students, each connecting once per planned attack; the tally printed at
// Ctrl-C names the careless student's client as read by impersonation and
// the careful one as passing.
func TestClassroomProcess(t *testing.T) {
	t.Parallel()
	_, upstream, pin := startServer(t, "pinned-ecdh")
	att, target := startAttacker(t, "pinned-ecdh", upstream, "--classroom")
	for range 7 {
		runClientProc(t, append(chatArgs("pinned-ecdh", target, pin, "hi"), "--name", "ann")...)
		runClientProc(t, append(chatArgs("pinned-ecdh", target, "", "hi"), "--name", "bob", "--insecure-no-pin")...)
	}
	att.stop(t)
	att.waitFor(t, `(?m)^ann +7 +0 .* nothing$`)
	att.waitFor(t, `(?m)^bob +7 +[1-9].* impersonate$`)
}
