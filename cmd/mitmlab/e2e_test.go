package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/tui"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// The tests in this file build the real binary and run the server, the
// attacker and the client as three processes on loopback, as a trainer
// does in three terminals (docs/localhost.md).

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// mitmlabBinary builds cmd/mitmlab once per test run.
func mitmlabBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mitmlab-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mitmlab")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// syncBuffer is a bytes.Buffer safe for a process to write while a test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a background mitmlab process, stopped when the test ends, pass
// or fail.
type proc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	errOut *syncBuffer
	done   chan struct{}
	err    error
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(mitmlabBinary(t), args...), out: &syncBuffer{}, errOut: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.errOut
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.out, p.errOut)
		}
	})
	return p
}

// waitFor polls the process's stdout until re matches, and returns the
// submatches.
func (p *proc) waitFor(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := rx.FindStringSubmatch(p.out.String()); m != nil {
			return m
		}
		select {
		case <-p.done:
			if m := rx.FindStringSubmatch(p.out.String()); m != nil {
				return m
			}
			t.Fatalf("process exited (%v) before printing %q:\n%s\n%s", p.err, re, p.out, p.errOut)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %q in output after 20s:\n%s", re, p.out)
	return nil
}

// stop sends Ctrl-C and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("%v exited with %v after Ctrl-C:\n%s", p.cmd.Args, p.err, p.errOut)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("%v did not exit 15s after Ctrl-C", p.cmd.Args)
	}
}

// runClientProc runs the client to completion and returns its output and
// exit code.
func runClientProc(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mitmlabBinary(t), append([]string{"client"}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// lab starts a server and an attacker process and returns the URL a
// victim should connect to and the server's pin.
func lab(t *testing.T, scheme, attack string) (attackerProc *proc, target, pin string) {
	t.Helper()
	srv := startProc(t, "server", "--scheme", scheme, "--listen", "127.0.0.1:0")
	upstream := srv.waitFor(t, `listening on (ws://\S+)`)[1]
	if scheme == "pinned-ecdh" {
		pin = srv.waitFor(t, `(?m)^pin: (sha256/\S+)$`)[1]
	}
	args := []string{"attacker", "--scheme", scheme, "--listen", "127.0.0.1:0", "--upstream", upstream}
	if attack != "" {
		args = append(args, "--attack", attack)
	}
	att := startProc(t, args...)
	target = att.waitFor(t, `listening on (ws://\S+),`)[1]
	return att, target, pin
}

func TestThreeProcesses(t *testing.T) {
	t.Parallel()
	msgs := []string{"hi Bob, it's Alice", "my card PIN is 4921"}
	for _, tc := range []struct {
		name, scheme string
		broken       bool
	}{
		{"plaintext-rsa/attacker process swaps the key and reads every message", "plaintext-rsa", true},
		{"unauth-ecdh/attacker process runs two exchanges and reads every message", "unauth-ecdh", true},
		{"pinned-ecdh/client process refuses the attacker's certificate", "pinned-ecdh", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			att, target, pin := lab(t, tc.scheme, "")
			args := []string{"--scheme", tc.scheme, "--connect", target}
			if pin != "" {
				args = append(args, "--pin", pin)
			}
			for _, m := range msgs {
				args = append(args, "--message", m)
			}
			stdout, stderr, code := runClientProc(t, args...)
			att.stop(t)
			ledger := att.out.String()

			if tc.broken {
				if code != 0 {
					t.Fatalf("client exit %d: %s", code, stderr)
				}
				for _, m := range msgs {
					// The victim got Bob's answer...
					if !strings.Contains(stdout, "Bob:   got it: "+m) {
						t.Errorf("client did not get Bob's answer to %q:\n%s", m, stdout)
					}
					// ...and the attacker process printed what it decrypted.
					if !regexp.MustCompile(`A +Alice → Mallory +data .*READ +` + regexp.QuoteMeta(fmt.Sprintf("%q", m))).MatchString(ledger) {
						t.Errorf("attacker did not print READ %q:\n%s", m, ledger)
					}
				}
				return
			}
			if code != 3 {
				t.Fatalf("client exit %d, want 3 (refused); stdout %s stderr %s", code, stdout, stderr)
			}
			if !strings.Contains(stderr, "client refused the server: key does not match pin") {
				t.Errorf("client stderr lacks the pin reason: %s", stderr)
			}
			for _, m := range msgs {
				if strings.Contains(ledger, m) {
					t.Errorf("attacker printed message text %q:\n%s", m, ledger)
				}
			}
			if strings.Contains(ledger, "READ") {
				t.Errorf("attacker printed a READ frame:\n%s", ledger)
			}
		})
	}
}

func TestProcessErrors(t *testing.T) {
	t.Parallel()
	srv := startProc(t, "server", "--scheme", "pinned-ecdh", "--listen", "127.0.0.1:0")
	url := srv.waitFor(t, `listening on (ws://\S+)`)[1]
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/pinned-ecdh")

	_, stderr, code := runClientProc(t, "--scheme", "unauth-ecdh", "--connect", url, "--message", "x")
	if code != 1 || !strings.Contains(stderr, "protocol mismatch: client speaks unauth-ecdh, server speaks pinned-ecdh") {
		t.Errorf("wrong scheme: exit %d, stderr %s", code, stderr)
	}
	_, stderr, code = runClientProc(t, "--scheme", "pinned-ecdh", "--connect", url, "--message", "x")
	if code != 2 || !strings.Contains(stderr, "needs --pin") {
		t.Errorf("missing pin: exit %d, stderr %s", code, stderr)
	}
	// A port that was free a moment ago and is now closed.
	dead := startProc(t, "server", "--scheme", "unauth-ecdh", "--listen", "127.0.0.1:0")
	deadURL := dead.waitFor(t, `listening on (ws://\S+)`)[1]
	dead.stop(t)
	_, stderr, code = runClientProc(t, "--scheme", "unauth-ecdh", "--connect", deadURL, "--message", "x")
	if code != 1 || !strings.Contains(stderr, "connection refused; is the server running? Start it with:") {
		t.Errorf("connection refused: exit %d, stderr %s", code, stderr)
	}
	busy := startProc(t, "server", "--scheme", "pinned-ecdh", "--listen", addr)
	select {
	case <-busy.done:
	case <-time.After(10 * time.Second):
		t.Fatal("second server on a busy port did not exit")
	}
	if !strings.Contains(busy.errOut.String(), "the port is already in use") {
		t.Errorf("port in use: %s", busy.errOut)
	}
	remote := startProc(t, "attacker", "--scheme", "unauth-ecdh", "--listen", "0.0.0.0:0", "--upstream", url)
	<-remote.done
	if !strings.Contains(remote.errOut.String(), "--allow-remote") {
		t.Errorf("non-loopback listen: %s", remote.errOut)
	}
	srv.stop(t)
	if !strings.Contains(srv.out.String(), "closing every connection with 1001") {
		t.Errorf("server did not report its shutdown:\n%s", srv.out)
	}
}

// TestServerKeepsPinAcrossRestarts checks that --key and --cert keep the
// pin stable, so a trainer's printed pin keeps working.
func TestServerKeepsPinAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := []string{"server", "--scheme", "pinned-ecdh", "--listen", "127.0.0.1:0", "--key", filepath.Join(dir, "bob.key"), "--cert", filepath.Join(dir, "bob.crt")}
	first := startProc(t, args...)
	pin1 := first.waitFor(t, `(?m)^pin: (\S+)$`)[1]
	first.stop(t)
	second := startProc(t, args...)
	pin2 := second.waitFor(t, `(?m)^pin: (\S+)$`)[1]
	second.stop(t)
	if pin1 != pin2 {
		t.Errorf("pin changed across restarts: %s then %s", pin1, pin2)
	}
	if fi, err := os.Stat(filepath.Join(dir, "bob.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v; want 0600", err, fi.Mode())
	}
}

// TestTUIAttachToAttackerProcess checks what 'mitmlab tui --attach' shows:
// the run view's runner, pointed at a live attacker process, receives every
// frame the process relays, with the same verdicts and recovered bytes.
func TestTUIAttachToAttackerProcess(t *testing.T) {
	t.Parallel()
	att, target, _ := lab(t, "unauth-ecdh", "")
	events := strings.TrimSuffix(target, "/unauth-ecdh") + eventsPath

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan trace.Event, 100)
	done := make(chan error, 1)
	go func() {
		_, err := tui.AttachRunner(events)(ctx, tui.AttachedName, &scenarios.Options{OnEvent: func(e trace.Event) { got <- e }})
		done <- err
	}()
	if _, stderr, code := runClientProc(t, "--scheme", "unauth-ecdh", "--connect", target, "--message", "my card PIN is 4921"); code != 0 {
		t.Fatalf("client exit %d: %s", code, stderr)
	}
	for {
		select {
		case e := <-got:
			if e.Verdict == trace.Read && e.Leg == trace.LegA && string(e.Recovered) == "my card PIN is 4921" {
				if len(e.Raw) == 0 || e.Seq == nil || *e.Seq != 0 {
					t.Errorf("attached event lost its bytes or seq: %+v", e)
				}
				cancel()
				if err := <-done; !errors.Is(err, context.Canceled) {
					t.Errorf("runner ended with %v, want context.Canceled", err)
				}
				att.stop(t)
				return
			}
		case err := <-done:
			t.Fatalf("attach ended before the READ frame: %v", err)
		case <-ctx.Done():
			t.Fatal("no READ frame on the attached stream")
		}
	}
}

// TestCtrlCClosesWith1001 checks that Ctrl-C on a server or an attacker
// process closes an open victim connection with 1001 (going away), not a
// dropped socket.
func TestCtrlCClosesWith1001(t *testing.T) {
	t.Parallel()
	for _, which := range []string{"server", "attacker"} {
		t.Run(which, func(t *testing.T) {
			t.Parallel()
			var stopping *proc
			var target string
			if which == "server" {
				stopping = startProc(t, "server", "--scheme", "unauth-ecdh", "--listen", "127.0.0.1:0")
				target = stopping.waitFor(t, `listening on (ws://\S+)`)[1]
			} else {
				stopping, target, _ = lab(t, "unauth-ecdh", "passive")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			alice := &victim.Client{Scheme: kex.UnauthECDH{}}
			s, err := alice.Dial(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Send(ctx, []byte("still there?")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			stopping.cmd.Process.Signal(os.Interrupt)
			_, err = s.Receive(ctx)
			var ce *wire.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
				t.Fatalf("after Ctrl-C on the %s, Alice got %v; want a 1001 close", which, err)
			}
			stopping.stop(t)
		})
	}
}

// TestDowngradeProcesses runs the downgrade lessons as processes: a server
// that can fall back, an attacker that strips the offer, and two clients,
// one that accepts the fallback and one that only offers it.
func TestDowngradeProcesses(t *testing.T) {
	t.Parallel()
	srv := startProc(t, "server", "--scheme", "pinned-ecdh", "--fallback", "--listen", "127.0.0.1:0")
	upstream := srv.waitFor(t, `listening on (ws://\S+)`)[1]
	pin := srv.waitFor(t, `(?m)^pin: (sha256/\S+)$`)[1]
	att := startProc(t, "attacker", "--scheme", "pinned-ecdh", "--attack", "strip-offer", "--listen", "127.0.0.1:0", "--upstream", upstream)
	target := att.waitFor(t, `listening on (ws://\S+),`)[1]

	_, stderr, code := runClientProc(t, "--scheme", "pinned-ecdh", "--pin", pin, "--offer-unauth", "--connect", target, "--message", "never sent")
	if code != 3 || !strings.Contains(stderr, "client refused the server: server chose unauthenticated unauth-ecdh") {
		t.Errorf("--offer-unauth: exit %d, stderr %s; want 3 and the downgrade reason", code, stderr)
	}
	stdout, stderr, code := runClientProc(t, "--scheme", "pinned-ecdh", "--pin", pin, "--insecure-fallback", "--connect", target, "--message", "read me")
	if code != 0 || !strings.Contains(stdout, "Bob:   got it: read me") || !strings.Contains(stderr, "WARNING: --insecure-fallback") {
		t.Errorf("--insecure-fallback: exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}
	att.stop(t)
	ledger := att.out.String()
	if strings.Contains(ledger, "never sent") {
		t.Errorf("the refused client's message reached the attacker:\n%s", ledger)
	}
	if !regexp.MustCompile(`client_hello .*SUBSTITUTED +offer stripped to unauth-ecdh`).MatchString(ledger) ||
		!regexp.MustCompile(`READ +"read me"`).MatchString(ledger) {
		t.Errorf("attacker ledger lacks the stripped offer or the READ message:\n%s", ledger)
	}
}
