package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTUIInTmux drives the real binary in a real terminal, as a person
// would: tmux runs it at 120×40, send-keys types, capture-pane reads the
// screen.
//
// ATTACK SCENARIO: Mallory runs double-ecdh against unauth-ecdh, then
// impersonates Bob against pinned-ecdh.
//
// THIS TEST VERIFIES: plain `mitmlab` on a terminal opens the lab; after
// stepping through unauth-ecdh frame by frame the screen shows a READ badge
// with Alice's message in it; after going back to the picker, choosing
// pinned-ecdh and stepping to its end, the summary says the client refused
// the server and no READ is anywhere on screen; q quits with status 0.
func TestTUIInTmux(t *testing.T) {
	t.Parallel()
	tmuxPath, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed, so the lab cannot be driven in a terminal; .ci/run installs it (apt-get install tmux)")
	}
	dir := t.TempDir()
	bin := mitmlabBinary(t)

	// A private tmux server: its own socket, no user configuration.
	sock := filepath.Join(dir, "tmux.sock")
	tmux := func(args ...string) (string, error) {
		cmd := exec.Command(tmuxPath, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// The shell around the binary writes its exit status to a file:
	// tmux's own pane_dead_status is not always set when a pane ends.
	const session = "mitmlab"
	status := filepath.Join(dir, "status")
	command := fmt.Sprintf("%s; echo $? > %s", shellQuote(bin), shellQuote(status))
	if out, err := tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { _, _ = tmux("kill-server") })

	screen := func() string {
		out, err := tmux("capture-pane", "-p", "-t", session)
		if err != nil {
			t.Fatalf("capture-pane: %v: %s", err, out)
		}
		return out
	}
	send := func(keys ...string) {
		if out, err := tmux(append([]string{"send-keys", "-t", session}, keys...)...); err != nil {
			t.Fatalf("send-keys %v: %v: %s", keys, err, out)
		}
	}
	// waitFor polls the screen until ok holds, and fails at the deadline.
	// With keys, it presses them each time ok does not hold, then waits
	// for the screen to change (a second at most) before looking again,
	// so it never presses ahead of what the lab has drawn.
	waitFor := func(what string, ok func(string) bool, keys ...string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			s := screen()
			if ok(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; the screen:\n%s", what, s)
			}
			if len(keys) == 0 {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			send(keys...)
			for changed := time.Now().Add(time.Second); time.Now().Before(changed) && screen() == s; {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	has := func(subs ...string) func(string) bool {
		return func(s string) bool {
			for _, sub := range subs {
				if !strings.Contains(s, sub) {
					return false
				}
			}
			return true
		}
	}

	waitFor("the picker", has("plaintext-rsa", "unauth-ecdh", "enter run"))
	send("j", "Enter")
	waitFor("the unauth-ecdh run", has("unauth-ecdh Unauthenticated X25519", "Client (Alice)", "0 of "))
	s := waitFor("the end of the unauth-ecdh run", has("victims noticed nothing"), "Space")
	for _, want := range []string{"attacker read 6/6 messages", "READ", `"my card PIN is 4921"`, "22 of 22 frames shown"} {
		if !strings.Contains(s, want) {
			t.Errorf("unauth-ecdh screen lacks %q:\n%s", want, s)
		}
	}

	// Back to the picker, down to pinned-ecdh, wherever the catalogue
	// puts it, and run it.
	send("Escape")
	waitFor("the picker", has("enter run", "outcome:"))
	selected := regexp.MustCompile(`(?m)▸.*[ .]pinned-ecdh `)
	waitFor("pinned-ecdh selected in the picker", selected.MatchString, "j")
	send("Enter")
	waitFor("the pinned-ecdh run", has("pinned-ecdh Signed ECDH", "0 of "))
	s = waitFor("the end of the pinned-ecdh run", has("client refused the server"), "Space")
	if !strings.Contains(s, "client refused the server: key does not match pin · attacker read 0/3 messages") {
		t.Errorf("pinned-ecdh summary:\n%s", s)
	}
	if strings.Contains(s, "READ") {
		t.Errorf("pinned-ecdh screen shows READ:\n%s", s)
	}

	send("q")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(status)
		if code := strings.TrimSpace(string(b)); err == nil && code != "" {
			if code != "0" {
				t.Errorf("mitmlab exited with status %s", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for mitmlab to quit after q")
		}
	}
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
