package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mitmlab/mitmlab/exercises"
)

// newCourse makes a course of its own in dir: a module that uses this
// clone of the lab through a replace directive, with the named exercises
// copied in as shipped (their pristine starters, never a student's working
// copy). The tests of `mitmlab exercise` run on it, so they never read or
// touch the files a student edits.
func newCourse(dir string, env []string, names ...string) error {
	repo, err := filepath.Abs("../..")
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
	for _, name := range names {
		ex, err := exercises.Lookup(name)
		if err != nil {
			return err
		}
		to := filepath.Join(dir, ex.Dir())
		if err := os.MkdirAll(to, 0o755); err != nil {
			return err
		}
		// Everything of the exercise's own (its README, mallory_test.go,
		// check.go), and the student's files as the pristine starters.
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
	// Fill in go.mod's indirect requirements from the module cache alone.
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir, tidy.Env = dir, append(env, "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := tidy.CombinedOutput(); err != nil {
		return &exec.ExitError{ProcessState: tidy.ProcessState, Stderr: out}
	}
	return nil
}

// goEnv is what a go command in a test's sandbox needs from the real one:
// its caches, and no downloads.
func goEnv(t testing.TB) []string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("mitmlab exercise check needs the go command")
	}
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	v := strings.Split(strings.TrimSpace(string(out)), "\n")
	return []string{"GOCACHE=" + v[0], "GOMODCACHE=" + v[1], "GOPATH=" + v[2], "GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS="}
}

// TestExerciseScripts runs testdata/exercise/*.txtar, each on a course of
// its own with check-the-pin in it, as shipped.
func TestExerciseScripts(t *testing.T) {
	t.Parallel()
	env := goEnv(t)
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/exercise",
		Setup: func(e *testscript.Env) error {
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				e.Setenv(k, v)
			}
			e.Setenv("REPO", repo)
			course := filepath.Join(e.WorkDir, "course")
			if err := os.MkdirAll(course, 0o755); err != nil {
				return err
			}
			return newCourse(course, append(os.Environ(), env...), "check-the-pin")
		},
	})
}

// TestExerciseWatchMovesOn:
//
// THIS TEST VERIFIES: watch checks the first exercise that has not passed,
// waits for a save, checks again, records the pass and moves on; with
// nothing left it says so and ends. The save is the reference solution,
// written into a course of the test's own.
func TestExerciseWatchMovesOn(t *testing.T) {
	t.Parallel()
	env := goEnv(t)
	course := t.TempDir()
	if err := newCourse(course, append(os.Environ(), env...), "check-the-pin"); err != nil {
		t.Fatal(err)
	}
	// Every other exercise has passed already: watch starts at this one.
	p := progress{Exercises: map[string]*exerciseProgress{}}
	for _, name := range exercises.Names() {
		p.Exercises[name] = &exerciseProgress{Passed: name != "check-the-pin"}
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(course, progressFile), b, 0o644); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"exercise", "watch", "--root", course, "--interval", "20ms"}, strings.NewReader(""), &stdout, &stderr)
	}()
	waitFor := func(what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		for !strings.Contains(stdout.String(), what) {
			select {
			case <-ctx.Done():
				t.Fatalf("watch never printed %q; it printed:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	waitFor("Watching exercises/check-the-pin/client.go")
	if !strings.Contains(stdout.String(), "FAIL impersonate") {
		t.Errorf("the first check did not fail impersonate:\n%s", stdout.String())
	}
	ex, err := exercises.Lookup("check-the-pin")
	if err != nil {
		t.Fatal(err)
	}
	sol, err := ex.Solution("client.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(course, ex.Dir(), "client.go"), sol, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("Every exercise passes")
	if code := <-done; code != 0 {
		t.Errorf("watch exited %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"✓ check-the-pin passes", "That was the last one"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("watch did not print %q:\n%s", want, stdout.String())
		}
	}
	after, err := os.ReadFile(filepath.Join(course, progressFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(after), `"check-the-pin": {
      "passed": true`) {
		t.Errorf("the pass was not recorded:\n%s", after)
	}
}

// TestExerciseMistakes checks the usage errors, which need no course
// beyond an empty exercises directory.
func TestExerciseMistakes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "exercises"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no command", nil, "exercise needs a command"},
		{"unknown command suggests", []string{"chek"}, `did you mean "check"?`},
		{"check needs a name", []string{"check"}, "exercise check needs one exercise name"},
		{"unknown exercise suggests", []string{"hint", "check-the-pn"}, `did you mean "check-the-pin"?`},
		{"list takes no name", []string{"list", "check-the-pin"}, "exercise list takes no name"},
		{"watch takes no name", []string{"watch", "check-the-pin"}, "exercise watch takes no name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(append(append([]string{"exercise"}, tc.args...), "--root", root), strings.NewReader(""), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tc.stderr)
			}
		})
	}
	t.Run("a root with no exercises", func(t *testing.T) {
		t.Parallel()
		var stdout, stderr bytes.Buffer
		if code := run([]string{"exercise", "list", "--root", t.TempDir()}, strings.NewReader(""), &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no exercises directory") {
			t.Errorf("exit %d, stderr %q", code, stderr.String())
		}
	})
}
