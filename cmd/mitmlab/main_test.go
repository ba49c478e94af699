package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"mitmlab": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar: each reads like a terminal
// session, with an ATTACK SCENARIO and a THIS TEST VERIFIES header.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}

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
		if obj["verdict"] == "read" && obj["leg"] == "A" && obj["direction"] == "c2s" {
			read = append(read, obj["recovered_text"].(string))
		}
	}
	if strings.Join(read, "\n") != strings.Join(msgs, "\n") {
		t.Errorf("attacker read %q on leg A, Alice sent %q", read, msgs)
	}
}
