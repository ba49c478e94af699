package js_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/exam"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
)

// needNode returns the node binary, or skips the test when node or the
// npm dependencies are missing; under CI (CI=true) it fails instead, so
// that CI cannot pass by skipping.
func needNode(t *testing.T) string {
	t.Helper()
	missing := ""
	node, err := exec.LookPath("node")
	switch {
	case err != nil:
		missing = "node is not installed (apt-get install nodejs, Node 20 or later)"
	default:
		if _, err := os.Stat(filepath.Join("node_modules", "ws", "package.json")); err != nil {
			missing = "clients/js/node_modules is missing (run npm ci in clients/js)"
		}
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("package clients/js: %s", missing)
		}
		t.Skipf("package clients/js: skipped: %s", missing)
	}
	return node
}

// jsClient runs cli.mjs once and returns its exit code and output.
type jsClient struct {
	node string
	args []string // beyond --scheme, --connect and the messages
}

func (c jsClient) run(ctx context.Context, scheme, url string) (int, string) {
	args := append([]string{"cli.mjs", "--scheme", scheme, "--connect", url, "--timeout", "5",
		"--message", "hi Bob, it's Alice", "--message", "my card PIN is 4921"}, c.args...)
	cmd := exec.CommandContext(ctx, c.node, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return code, out.String()
}

// bob starts the lab's server for scheme and returns its URL and pin.
func bob(t *testing.T, scheme *kex.Scheme) (url, pin string) {
	t.Helper()
	var cfg kex.ServerConfig
	if scheme.Identity {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Identity, pin = id, id.Pin()
	}
	if scheme.RSAIdentity {
		k, err := kex.NewRSAKey()
		if err != nil {
			t.Fatal(err)
		}
		cfg.RSAKey = k
		if pin, err = kex.RSAKeyPin(&k.PublicKey); err != nil {
			t.Fatal(err)
		}
	}
	srv := victim.NewServer(scheme, &victim.ServerOptions{Config: &cfg, HandshakeTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close() })
	return "ws" + strings.TrimPrefix(hs.URL, "http") + victim.Path(scheme.Name), pin
}

// connection is one client run through the exam.
type connection func(ctx context.Context, url, pin string) (exit int, out string)

// examine puts one client under an exam for scheme: one connection per
// planned attack, each a fresh run of the client.
func examine(t *testing.T, scheme *kex.Scheme, client connection) (exam.Scorecard, []exam.Attempt, []string) {
	t.Helper()
	up, pin := bob(t, scheme)
	x, err := exam.New(exam.Options{Scheme: scheme, Upstream: up, Hold: 300 * time.Millisecond,
		HandshakeTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	es := httptest.NewServer(x)
	t.Cleanup(func() { x.Close(); es.Close() })
	url := "ws" + strings.TrimPrefix(es.URL, "http") + victim.Path(scheme.Name)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var runs []string
	for i := range x.Expected() {
		exit, out := client(ctx, url, pin)
		runs = append(runs, fmt.Sprintf("connection %d (%s): exit %d\n%s", i+1, x.Plan()[i].Name, exit, out))
	}
	select {
	case <-x.Done():
	case <-ctx.Done():
		t.Fatalf("the exam did not finish: %d of %d graded\n%s", len(x.Attempts()), x.Expected(), strings.Join(runs, "\n"))
	}
	return x.Scorecard(), x.Attempts(), runs
}

func (c jsClient) connection(scheme string, withPin bool) connection {
	return func(ctx context.Context, url, pin string) (int, string) {
		cc := c
		if withPin && pin != "" {
			cc.args = append(slices.Clone(c.args), "--pin", pin)
		}
		return cc.run(ctx, scheme, url)
	}
}

func attempt(attempts []exam.Attempt, attack string) (exam.Attempt, bool) {
	for _, a := range attempts {
		if a.Attack == attack {
			return a, true
		}
	}
	return exam.Attempt{}, false
}

// TestJSClientUnderExam:
//
// ATTACK SCENARIO: the JavaScript starter client (node cli.mjs) connects
// to an exam, which runs a different attack from the lab's table on each
// connection, and grades each from the wire alone.
//
// THIS TEST VERIFIES: with the right pin the pinned-ecdh client passes
// every attack (and its passive chat works, exit 0); with the pin check
// skipped, impersonation reads its messages; on unauth-ecdh double-ecdh
// reads them; and the client's exit code says it refused (3) where the
// exam saw a refusal.
func TestJSClientUnderExam(t *testing.T) {
	t.Parallel()
	node := needNode(t)
	js := jsClient{node: node}
	tests := []struct {
		name    string
		scheme  *kex.Scheme
		client  connection
		passed  bool
		readsBy string // the attack that must read, if it does not pass
	}{
		{"pinned-ecdh with the right pin passes", kex.PinnedECDH(), js.connection(kex.NamePinnedECDH, true), true, ""},
		{"pinned-ecdh that skips the pin check is read by impersonate", kex.PinnedECDH(),
			jsClient{node: node, args: []string{"--insecure-no-pin"}}.connection(kex.NamePinnedECDH, false), false, "impersonate"},
		{"unauth-ecdh is read by double-ecdh", kex.UnauthECDH(), js.connection(kex.NameUnauthECDH, false), false, "double-ecdh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, attempts, runs := examine(t, tt.scheme, tt.client)
			report := fmt.Sprintf("scorecard %+v\nattempts %+v\n%s", sc, attempts, strings.Join(runs, "\n"))
			if sc.Passed != tt.passed {
				t.Fatalf("passed = %v, want %v\n%s", sc.Passed, tt.passed, report)
			}
			if p, _ := attempt(attempts, "passive"); !p.Passed || !strings.Contains(runs[0], "exit 0") {
				t.Errorf("the passive relay's chat did not work: %+v\n%s", p, runs[0])
			}
			if tt.readsBy != "" {
				a, ok := attempt(attempts, tt.readsBy)
				if !ok || a.Read == 0 || !slices.Contains(sc.FailedAttacks, tt.readsBy) {
					t.Errorf("%s read nothing: %+v\n%s", tt.readsBy, a, report)
				}
			}
			for i, a := range attempts {
				if a.Refused && !strings.Contains(runs[i], "exit 3") {
					t.Errorf("%s: the exam saw a refusal, but the client did not exit 3:\n%s", a.Attack, runs[i])
				}
			}
		})
	}
}

// TestJSClientGradesLikeTheLabClient:
//
// ATTACK SCENARIO: for the schemes TestJSClientUnderExam does not cover,
// the same exam runs against the JavaScript client and against the lab's
// own Go client, each with the server's pin where the scheme has one.
// (For pinned-ecdh and unauth-ecdh that test checks the very results
// exam's own tests require of the Go client.)
//
// THIS TEST VERIFIES: the two clients get the same scorecard, attack by
// attack: the same attacks pass and fail, and Mallory reads from both or
// from neither.
func TestJSClientGradesLikeTheLabClient(t *testing.T) {
	t.Parallel()
	node := needNode(t)
	for _, scheme := range []*kex.Scheme{kex.PlaintextRSA(), kex.StaticRSA(), kex.Plain()} {
		t.Run(scheme.Name, func(t *testing.T) {
			t.Parallel()
			_, goAttempts, _ := examine(t, scheme, func(ctx context.Context, url, pin string) (int, string) {
				c := &victim.Client{Scheme: scheme, Config: &kex.ClientConfig{Pin: pin}, Timeout: 5 * time.Second, IdleTimeout: 5 * time.Second}
				r := c.Chat(ctx, url, [][]byte{[]byte("hi Bob, it's Alice"), []byte("my card PIN is 4921")})
				return 0, fmt.Sprint(r.Err)
			})
			_, jsAttempts, runs := examine(t, scheme, jsClient{node: node}.connection(scheme.Name, true))
			if len(goAttempts) != len(jsAttempts) {
				t.Fatalf("%d attempts for the Go client, %d for the JavaScript one", len(goAttempts), len(jsAttempts))
			}
			for i := range goAttempts {
				g, j := goAttempts[i], jsAttempts[i]
				if g.Attack != j.Attack || g.Passed != j.Passed || (g.Read > 0) != (j.Read > 0) {
					t.Errorf("%s: Go client %+v, JavaScript client %+v\n%s", g.Attack, g, j, runs[i])
				}
			}
		})
	}
}

// TestJSProtocolVectors runs the module's own tests (test/*.test.mjs),
// which recompute the test vectors of docs/protocol.md with WebCrypto.
func TestJSProtocolVectors(t *testing.T) {
	t.Parallel()
	node := needNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "--test", "test/").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test test/: %v\n%s", err, out)
	}
}
