package exercises_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/exam"
	"github.com/mitmlab/mitmlab/exercises"
	"github.com/mitmlab/mitmlab/scenarios"
)

// TestEveryExerciseIsWhole checks that each exercise in the list is a
// directory with everything `mitmlab exercise` and the proof need, and
// that the file a student edits is, as shipped, its pristine starter.
func TestEveryExerciseIsWhole(t *testing.T) {
	t.Parallel()
	for _, ex := range exercises.List() {
		t.Run(ex.Name, func(t *testing.T) {
			t.Parallel()
			if len(ex.Files) == 0 || len(ex.Hints) < 2 || ex.Title == "" || ex.Summary() == "" {
				t.Errorf("want files, at least two hints, a title and a README story: %+v", ex)
			}
			for _, f := range ex.Files {
				starter, err := ex.Starter(f)
				if err != nil {
					t.Fatal(err)
				}
				solution, err := ex.Solution(f)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(starter, solution) {
					t.Errorf("%s: the solution is the starter", f)
				}
				if !bytes.Contains(starter, []byte("TODO(exercise)")) || bytes.Contains(solution, []byte("TODO(exercise)")) {
					t.Errorf("%s: the starter must mark the flaw with TODO(exercise), and the solution must not", f)
				}
				if ex.Lang == exercises.Go {
					for what, b := range map[string][]byte{"starter": starter, "solution": solution} {
						if !bytes.HasPrefix(b, []byte("//go:build exercise\n")) {
							t.Errorf("%s's %s must begin //go:build exercise, so go test ./... does not build it", f, what)
						}
					}
				}
				working, err := os.ReadFile(filepath.Join(ex.Name, f))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(working, starter) {
					// A student's edits are not a failure; a clone that
					// ships them is.
					if os.Getenv("CI") == "true" {
						t.Errorf("%s differs from testdata/starter/%s: as shipped, they must be the same", filepath.Join(ex.Name, f), f)
					} else {
						t.Logf("%s has been edited; the proof uses testdata/starter/%s", filepath.Join(ex.Name, f), f)
					}
				}
			}
			if ex.Lang == exercises.Go {
				want := "//go:build exercise\n\npackage exercise\n\nimport (\n\t\"testing\"\n\n\t\"github.com/mitmlab/mitmlab/exercises/mallory\"\n)\n\n" +
					"// TestMallory puts Under() through every attack of `mitmlab exam`, one\n// connection each. `mitmlab exercise check " + ex.Name + "` runs it.\n" +
					"func TestMallory(t *testing.T) { mallory.Check(t, \"" + ex.Name + "\", Under()) }\n"
				got, err := os.ReadFile(filepath.Join(ex.Name, "mallory_test.go"))
				if err != nil || string(got) != want {
					// The proof runs Under() as this file does; they must
					// not drift apart.
					t.Errorf("%s/mallory_test.go must be exactly\n%s(err %v)", ex.Name, want, err)
				}
				check, err := os.ReadFile(filepath.Join(ex.Name, "check.go"))
				if err != nil || !bytes.HasPrefix(check, []byte("//go:build exercise\n")) || !bytes.Contains(check, []byte("func Under() mallory.Client")) {
					t.Errorf("%s/check.go must define Under() under the exercise build tag (err %v)", ex.Name, err)
				}
			}
		})
	}
}

// TestNoStrayExercises checks that every exercise directory is in the
// list, so none is shipped unchecked.
func TestNoStrayExercises(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("*/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		name := filepath.Dir(d)
		if _, err := exercises.Lookup(name); err != nil {
			t.Errorf("%s has a README but is not in exercises.List: %v", name, err)
		}
	}
	if len(dirs) != len(exercises.List()) {
		t.Errorf("%d exercise directories, %d exercises", len(dirs), len(exercises.List()))
	}
	if names := exercises.Names(); len(names) < 8 {
		t.Errorf("the course has %d exercises; it promises at least eight", len(names))
	}
}

// TestBreaksAreInThePlan checks that each attack a starter must fall to
// is one the check really runs for its scheme.
func TestBreaksAreInThePlan(t *testing.T) {
	t.Parallel()
	for _, ex := range exercises.List() {
		s, ok := scenarios.Scheme(ex.Scheme)
		if !ok {
			t.Errorf("%s: no scheme %q", ex.Name, ex.Scheme)
			continue
		}
		var plan []string
		for _, a := range exam.Plan(s, time.Second) {
			plan = append(plan, a.Name)
		}
		if len(ex.Breaks) == 0 {
			t.Errorf("%s: no Breaks: the proof would check nothing about the starter", ex.Name)
		}
		for _, b := range ex.Breaks {
			if !slices.Contains(plan, b.Attack) {
				t.Errorf("%s: breaks under %s, which the check for %s does not run (%v)", ex.Name, b.Attack, ex.Scheme, plan)
			}
			if !slices.Contains([]exercises.How{exercises.Read, exercises.Broken, exercises.Accepted, exercises.Unended}, b.How) {
				t.Errorf("%s: unknown way to break %q", ex.Name, b.How)
			}
		}
	}
}

var (
	shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")
	runLine = regexp.MustCompile(`^mitmlab (run|tui) ([a-z0-9-]+)(?: --attack ([a-z0-9-]+))?$`)
)

// TestREADMEs checks each README's shape, and that every command it gives
// runs: the check names its exercise, and the lab commands name real
// scenarios and attacks that apply to them.
func TestREADMEs(t *testing.T) {
	t.Parallel()
	for _, ex := range exercises.List() {
		t.Run(ex.Name, func(t *testing.T) {
			t.Parallel()
			readme := ex.README()
			if !strings.HasPrefix(readme, "# "+ex.Name+": ") {
				t.Errorf("README.md must begin with # %s: and the title", ex.Name)
			}
			for _, h := range []string{"\n## Your task\n", "\n## Check it\n", "\n## What to watch in the lab\n", "\n## Why it matters\n"} {
				if !strings.Contains(readme, h) {
					t.Errorf("README.md has no %q section", strings.TrimSpace(h))
				}
			}
			blocks := shBlock.FindAllStringSubmatch(readme, -1)
			if len(blocks) != 2 {
				t.Fatalf("README.md has %d sh blocks; want the check and what to watch", len(blocks))
			}
			if got, want := strings.TrimSpace(blocks[0][1]), "mitmlab exercise check "+ex.Name; got != want {
				t.Errorf("the check block says %q, want %q", got, want)
			}
			watch := strings.Split(strings.TrimSpace(blocks[1][1]), "\n")
			if !slices.Equal(watch, ex.Watch) {
				t.Errorf("the watch block says %q; exercises.List says %q", watch, ex.Watch)
			}
			for _, cmd := range watch {
				m := runLine.FindStringSubmatch(cmd)
				if m == nil {
					t.Errorf("%q is not mitmlab run|tui SCENARIO [--attack A]", cmd)
					continue
				}
				sc, err := scenarios.Lookup(m[2])
				if err != nil {
					t.Errorf("%q: %v", cmd, err)
					continue
				}
				if m[3] != "" {
					if err := sc.CheckAttack(m[3]); err != nil {
						t.Errorf("%q: %v", cmd, err)
					}
				}
			}
			for _, m := range regexp.MustCompile("`mitmlab run ([a-z0-9-]+)`").FindAllStringSubmatch(readme, -1) {
				if _, err := scenarios.Lookup(m[1]); err != nil {
					t.Errorf("the README names %s: %v", m[0], err)
				}
			}
		})
	}
}

// TestLookupSuggests checks the error for a name that is no exercise.
func TestLookupSuggests(t *testing.T) {
	t.Parallel()
	_, err := exercises.Lookup("check-the-pn")
	if !errors.Is(err, exercises.ErrUnknown) || !strings.Contains(err.Error(), `did you mean "check-the-pin"?`) {
		t.Errorf("Lookup(check-the-pn) = %v", err)
	}
}
