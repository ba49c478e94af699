package docs_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/exercises"
)

// guideSection is the part of training.md under one heading: its shell
// blocks in order, and the lines its text blocks promise.
type guideSection struct {
	title  string
	blocks [][]string // commands, continuation lines joined
	expect []string
}

// parseGuide splits a page into sections at its headings.
func parseGuide(page string) []*guideSection {
	var out []*guideSection
	sec := &guideSection{title: "(top)"}
	var fence string // "sh", "text" or "" outside a block
	var block []string
	for line := range strings.Lines(page) {
		line = strings.TrimRight(line, "\n")
		switch {
		case fence == "" && strings.HasPrefix(line, "```"):
			fence, block = strings.TrimPrefix(line, "```"), nil
		case fence != "" && line == "```":
			switch fence {
			case "sh":
				sec.blocks = append(sec.blocks, joinContinued(block))
			case "text":
				for _, l := range block {
					if strings.TrimSpace(l) != "" {
						sec.expect = append(sec.expect, l)
					}
				}
			}
			fence = ""
		case fence != "":
			block = append(block, line)
		case strings.HasPrefix(line, "#"):
			out = append(out, sec)
			sec = &guideSection{title: strings.TrimLeft(line, "# ")}
		}
	}
	return append(out, sec)
}

func joinContinued(lines []string) []string {
	var out []string
	cur := ""
	for _, l := range lines {
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSpace(strings.TrimSuffix(l, "\\")) + " "
			continue
		}
		if cur != "" {
			l = strings.TrimSpace(l)
		}
		out = append(out, cur+l)
		cur = ""
	}
	return out
}

// TestParseGuide checks the reading of the page itself: sections at
// headings, continued lines joined, and text blocks as promises.
func TestParseGuide(t *testing.T) {
	t.Parallel()
	page := "# Top\n\n```sh\nmitmlab run a \\\n  --attack b\nmitmlab list\n```\n```text\nline one\n\nline two\n```\n## Next\n```go\nnot a command\n```\n"
	secs := parseGuide(page)
	if len(secs) != 3 || secs[1].title != "Top" || secs[2].title != "Next" {
		t.Fatalf("sections %+v", secs)
	}
	if got := secs[1].blocks; len(got) != 1 || !slices.Equal(got[0], []string{"mitmlab run a --attack b", "mitmlab list"}) {
		t.Errorf("blocks %q", got)
	}
	if !slices.Equal(secs[1].expect, []string{"line one", "line two"}) || len(secs[2].blocks) != 0 {
		t.Errorf("expect %q, next blocks %q", secs[1].expect, secs[2].blocks)
	}
}

// TestTrainingGuideRuns runs every command of docs/training.md as the page
// explains in "About the command blocks", section by section, and checks
// that every line of its text blocks was really printed.
//
// THIS TEST VERIFIES: the trainer's guide can be followed as written: the
// demo steps print the outcomes the guide tells the room to observe; the
// room's server, classroom attacker, projector and students' clients work
// together and the attacker's tally comes out; and a student's exercise
// loop and the trainer's reveal do what the guide says.
func TestTrainingGuideRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole guide; not in -short")
	}
	t.Parallel()
	g := newGuideRun(t)
	for _, sec := range parseGuide(readDoc(t, "training.md")) {
		if len(sec.blocks) == 0 && len(sec.expect) == 0 {
			continue
		}
		g.section(sec)
	}
}

// guideRun is the scratch directory, the binary and the state of the
// section being run.
type guideRun struct {
	t       *testing.T
	dir     string // the scratch directory, a copy of the course
	bin     string // the directory holding the mitmlab just built
	tmux    string
	tuis    int
	pin     string
	ports   map[string]string
	bg      []*guideProc
	screens []*guideTUI
	out     bytes.Buffer // everything the section's commands printed
}

func newGuideRun(t *testing.T) *guideRun {
	t.Helper()
	g := &guideRun{t: t, dir: t.TempDir(), bin: t.TempDir()}
	build := exec.Command("go", "build", "-o", filepath.Join(g.bin, "mitmlab"), "../cmd/mitmlab")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := guideCourse(g.dir); err != nil {
		t.Fatalf("a scratch course: %v", err)
	}
	if p, err := exec.LookPath("tmux"); err == nil {
		g.tmux = p
	}
	return g
}

// guideCourse copies the course as shipped into dir, as a module of its
// own that uses this clone through a replace directive.
func guideCourse(dir string) error {
	repo, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	mod := "module course.test\n\ngo 1.26.0\n\nrequire github.com/mitmlab/mitmlab v0.0.0\n\nreplace github.com/mitmlab/mitmlab => " + repo + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		return err
	}
	for _, ex := range exercises.List() {
		to := filepath.Join(dir, ex.Dir())
		if err := os.MkdirAll(to, 0o755); err != nil {
			return err
		}
		entries, err := os.ReadDir(filepath.Join(repo, ex.Dir()))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() || slices.Contains(ex.Files, e.Name()) {
				continue
			}
			b, err := os.ReadFile(filepath.Join(repo, ex.Dir(), e.Name()))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
				return err
			}
		}
		for _, f := range ex.Files {
			b, err := ex.Starter(f)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(to, f), b, 0o644); err != nil {
				return err
			}
		}
	}
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir, tidy.Env = dir, append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := tidy.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod tidy: %v\n%s", err, out)
	}
	return nil
}

// skipped are the lines that fetch and build: the test builds mitmlab
// itself. export lines are the whiteboard's values, which env sets.
var skipped = regexp.MustCompile(`^(git clone|cd |go install|export )`)

func (g *guideRun) section(sec *guideSection) {
	t := g.t
	g.out.Reset()
	g.ports = map[string]string{}
	for _, port := range []string{"8443", "9443"} {
		g.ports[port] = freePort(t)
	}
	for _, block := range sec.blocks {
		for _, line := range block {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") || skipped.MatchString(line) {
				continue
			}
			line = g.rewrite(line)
			switch {
			case regexp.MustCompile(`^mitmlab (server|attacker|exercise watch)\b`).MatchString(line):
				g.background(sec.title, line)
			case strings.HasPrefix(line, "mitmlab tui"):
				g.tui(sec.title, line)
			default:
				g.foreground(sec.title, line)
			}
		}
	}
	g.endSection(sec.title)
	for _, want := range sec.expect {
		if !strings.Contains(g.out.String(), want) {
			t.Errorf("%s: the guide shows %q, which nothing in the section printed; they printed:\n%s", sec.title, want, g.out.String())
		}
	}
}

// rewrite keeps the room on this machine, on free ports.
func (g *guideRun) rewrite(line string) string {
	for port, free := range g.ports {
		line = strings.ReplaceAll(line, ":"+port, ":"+free)
	}
	return strings.ReplaceAll(line, "0.0.0.0", "127.0.0.1")
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func (g *guideRun) env() []string {
	return append(os.Environ(),
		"PATH="+g.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TRAINER=127.0.0.1", "NAME=ada", "PIN="+g.pin, "NO_COLOR=1")
}

func (g *guideRun) command(ctx context.Context, line string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir, cmd.Env = g.dir, g.env()
	cmd.Stdin = strings.NewReader("")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// foreground runs a command to its end and holds it to its exit status.
func (g *guideRun) foreground(title, line string) {
	t := g.t
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := g.command(ctx, line)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	g.out.Write(out.Bytes())
	code := cmd.ProcessState.ExitCode()
	ok := []int{0}
	switch {
	case strings.Contains(line, "mitmlab client"):
		ok = append(ok, 3) // it refused Mallory: the lesson
	case strings.HasPrefix(line, "mitmlab exercise check"):
		ok = append(ok, 1) // Mallory broke the starter: the exercise
	}
	if !slices.Contains(ok, code) {
		t.Errorf("%s: %s: exit %d (%v), want one of %v:\n%s", title, line, code, err, ok, out.String())
	}
}

// guideProc is a command that runs in its own terminal.
type guideProc struct {
	line string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

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

var pinLine = regexp.MustCompile(`pin: (sha256/\S+)`)

// background starts a long-running command and waits until it is ready:
// a server or an attacker listening, watch checking. A server's pin
// becomes $PIN.
func (g *guideRun) background(title, line string) {
	t := g.t
	p := &guideProc{line: line, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = g.command(context.WithoutCancel(t.Context()), "exec "+line)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %s: %v", title, line, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	g.bg = append(g.bg, p)
	// Ready is when it says so: before that, Ctrl-C would find it
	// without its handler.
	ready := "listening on"
	if strings.HasPrefix(line, "mitmlab exercise watch") {
		ready = "Mallory attacks"
	}
	deadline := time.After(30 * time.Second)
	for !strings.Contains(p.out.String(), ready) {
		select {
		case <-p.done:
			t.Fatalf("%s: %s ended before it was ready:\n%s", title, line, p.out.String())
		case <-deadline:
			t.Fatalf("%s: %s did not get ready:\n%s", title, line, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if m := pinLine.FindStringSubmatch(p.out.String()); m != nil {
		g.pin = m[1]
	}
}

// guideTUI is a mitmlab tui running in a tmux window.
type guideTUI struct {
	line, session, status string
}

func (g *guideRun) tmuxRun(args ...string) (string, error) {
	sock := filepath.Join(g.bin, "tmux.sock")
	out, err := exec.Command(g.tmux, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
	return string(out), err
}

// tui starts the lab in a tmux window of 120×40 and waits for its first
// screen: the scenario's name, or, attached, the live view.
func (g *guideRun) tui(title, line string) {
	t := g.t
	if g.tmux == "" {
		if os.Getenv("CI") == "true" {
			t.Errorf("%s: %s: tmux is not installed, and CI must run the TUI", title, line)
		} else {
			t.Logf("%s: %s: skipped, tmux is not installed", title, line)
		}
		return
	}
	g.tuis++
	s := &guideTUI{line: line, session: fmt.Sprintf("tui%d", g.tuis), status: filepath.Join(g.bin, fmt.Sprintf("tui%d.status", g.tuis))}
	script := filepath.Join(g.bin, s.session+".sh")
	var b strings.Builder
	fmt.Fprintf(&b, "cd %q\n", g.dir)
	for _, kv := range g.env() {
		k, v, _ := strings.Cut(kv, "=")
		if regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k) {
			fmt.Fprintf(&b, "export %s=%s\n", k, shellQuoted(v))
		}
	}
	fmt.Fprintf(&b, "%s\necho $? > %q\n", line, s.status)
	if err := os.WriteFile(script, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := g.tmuxRun("new-session", "-d", "-s", s.session, "-x", "120", "-y", "40", "bash "+shellQuoted(script)); err != nil {
		t.Fatalf("%s: tmux new-session: %v: %s", title, err, out)
	}
	g.screens = append(g.screens, s)
	want := "live"
	if f := strings.Fields(line); len(f) > 2 && !strings.HasPrefix(f[2], "-") {
		want = f[2]
	}
	g.waitScreen(title, s, want)
}

func (g *guideRun) waitScreen(title string, s *guideTUI, want string) string {
	t := g.t
	deadline := time.After(30 * time.Second)
	for {
		screen, _ := g.tmuxRun("capture-pane", "-p", "-t", s.session)
		if strings.Contains(screen, want) {
			return screen
		}
		select {
		case <-deadline:
			t.Errorf("%s: %s never showed %q; the screen:\n%s", title, s.line, want, screen)
			return screen
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// endSection does what a trainer does at the end of a section: the
// attached lab shows its tally (t) and quits (q), and every terminal's
// process gets Ctrl-C.
func (g *guideRun) endSection(title string) {
	t := g.t
	for _, s := range g.screens {
		if strings.Contains(s.line, "--attach") {
			g.tmuxRun("send-keys", "-t", s.session, "t")
			g.out.WriteString(g.waitScreen(title, s, "conns"))
		}
		g.tmuxRun("send-keys", "-t", s.session, "q")
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, err := os.ReadFile(s.status)
			if err == nil && len(b) > 0 {
				if code := strings.TrimSpace(string(b)); code != "0" {
					t.Errorf("%s: %s quit with %s", title, s.line, code)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: %s did not quit on q", title, s.line)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		g.tmuxRun("kill-session", "-t", s.session)
	}
	g.screens = nil
	// The students' terminals first, then Mallory, then Bob.
	for _, p := range slices.Backward(g.bg) {
		p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			t.Errorf("%s: %s did not stop on Ctrl-C", title, p.line)
		}
		if code := p.cmd.ProcessState.ExitCode(); code != 0 && code != 130 {
			t.Errorf("%s: %s exited %d after Ctrl-C:\n%s", title, p.line, code, p.out.String())
		}
		g.out.WriteString(p.out.String())
	}
	g.bg = nil
	g.pin = ""
}

func shellQuoted(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
