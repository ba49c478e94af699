package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	testscript.Main(leakChecked{m}, map[string]func(){
		"mitmlab": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// leakChecked runs the tests, then fails the run if any goroutine they
// started is still running: every test waits for what it starts.
type leakChecked struct{ m *testing.M }

func (l leakChecked) Run() int {
	// Under -race the mitmlab processes the tests start are this race
	// binary, which by default sleeps a second as it exits; they need not.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	code := l.m.Run()
	if code != 0 {
		return code
	}
	if err := goleak.Find(); err != nil {
		fmt.Fprintf(os.Stderr, "goleak: goroutines left running after the tests: %v\n", err)
		return 1
	}
	return 0
}

// TestScripts runs testdata/script/*.txtar: each reads like a terminal
// session, with an ATTACK SCENARIO and a THIS TEST VERIFIES header.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}

// TestExitCodes checks the exit statuses a script can rely on for the
// mistakes and successes that need no network: 0 and 2. Status 1 (failed),
// 3 (refused or detected) and 130 (interrupted) come from the client
// process: TestThreeProcesses, TestTruncationProcesses,
// TestClientErrorAdvice and TestClientCtrlC check them.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no arguments prints help", nil, 0, ""},
		{"help flag", []string{"--help"}, 0, ""},
		{"unknown command suggests", []string{"lsit"}, 2, `did you mean "list"?`},
		{"unknown scenario suggests", []string{"run", "unauth-ecd"}, 2, `did you mean "unauth-ecdh"?`},
		{"unknown flag suggests", []string{"run", "unauth-ecdh", "--no-atacker"}, 2, "did you mean --no-attacker?"},
		{"missing scenario", []string{"run"}, 2, "run needs a scenario name"},
		{"two scenarios", []string{"run", "unauth-ecdh", "pinned-ecdh"}, 2, "run takes one scenario name"},
		{"unknown transport", []string{"run", "unauth-ecdh", "--transport", "udp"}, 2, `unknown transport "udp"`},
		{"attack that does not apply", []string{"run", "pinned-ecdh", "--attack", "swap-rsa-key"}, 2, "does not apply to pinned-ecdh"},
		{"unknown attack", []string{"run", "pinned-ecdh", "--attack", "telepathy"}, 2, `unknown attack "telepathy"`},
		{"contradicting flags", []string{"run", "pinned-ecdh", "--attack", "passive", "--no-attacker"}, 2, "contradict"},
		{"list takes no arguments", []string{"list", "x"}, 2, "list takes no arguments"},
		{"scenario given as a scheme", []string{"server", "--scheme", "truncation"}, 2, "truncation is a scenario, not a scheme"},
		{"zero handshake timeout", []string{"server", "--scheme", "unauth-ecdh", "--handshake-timeout", "0s"}, 2, "must be more than 0"},
		{"negative ledger", []string{"attacker", "--scheme", "unauth-ecdh", "--upstream", "ws://127.0.0.1:1/unauth-ecdh", "--ledger-max", "-1"}, 2, "cannot be negative"},
		{"tofu without a pin store", []string{"client", "--scheme", "tofu-ecdh", "--connect", "ws://127.0.0.1:1/tofu-ecdh"}, 2, "tofu-ecdh needs --pin-store FILE"},
		{"tofu given a pin", []string{"client", "--scheme", "tofu-ecdh", "--connect", "ws://127.0.0.1:1/tofu-ecdh", "--pin", "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}, 2, "a pin given in advance is pinned-ecdh"},
		{"pin store for a pinned scheme", []string{"client", "--scheme", "pinned-ecdh", "--connect", "ws://127.0.0.1:1/pinned-ecdh", "--pin-store", "known"}, 2, "--pin-store is for tofu-ecdh"},
		{"stolen key without record-then-steal", []string{"attacker", "--scheme", "static-rsa", "--upstream", "ws://127.0.0.1:1/static-rsa", "--steal-rsa-key", "k.pem"}, 2, "are for --attack record-then-steal"},
		{"zero client timeout", []string{"client", "--scheme", "unauth-ecdh", "--connect", "ws://127.0.0.1:1/unauth-ecdh", "--timeout", "0s"}, 2, "must be more than 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.stderr)
			}
		})
	}
}

// TestRunJSONLines checks that every line of --json output is one JSON
// object, that the frames the attacker read carry exactly the messages sent,
// and that the outcome line comes last and agrees with them.
func TestRunJSONLines(t *testing.T) {
	t.Parallel()
	msgs := []string{"hi Bob, it's Alice", "my card PIN is 4921", "naïve café ✓"}
	args := []string{"run", "unauth-ecdh", "--json", "--transport", "loopback"}
	for _, m := range msgs {
		args = append(args, "--message", m)
	}
	var stdout, stderr bytes.Buffer
	if code := run(args, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var read []string
	for i, l := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, l)
		}
		if i == len(lines)-1 {
			if obj["type"] != "outcome" {
				t.Fatalf("last line is not the outcome: %s", l)
			}
			if got := obj["attacker_read"].(float64); int(got) != 2*len(msgs) {
				t.Errorf("attacker_read = %v, want %d", got, 2*len(msgs))
			}
			if obj["messages_sent"].(float64) != float64(2*len(msgs)) || obj["messages_delivered"].(float64) != float64(2*len(msgs)) {
				t.Errorf("sent/delivered wrong: %s", l)
			}
			if obj["detected"] != false || obj["detected_by"] != "" {
				t.Errorf("victims should not notice: %s", l)
			}
			continue
		}
		if obj["type"] != "frame" {
			t.Fatalf("line %d: type %v, want frame", i, obj["type"])
		}
		if obj["verdict"] == "read" && obj["leg"] == "A" && obj["direction"] == "c2s" && obj["message_type"] == "data" {
			read = append(read, obj["recovered_text"].(string))
		}
	}
	if strings.Join(read, "\n") != strings.Join(msgs, "\n") {
		t.Errorf("attacker read %q on leg A, Alice sent %q", read, msgs)
	}
}
