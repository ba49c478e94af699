package exercises_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/exercises"
	"github.com/mitmlab/mitmlab/exercises/mallory"
)

// TestExercises:
//
// ATTACK SCENARIO: each exercise's client, once as shipped and once as its
// reference solution, connects through Mallory to the lab's real server,
// once for every attack of `mitmlab exam` on its scheme.
//
// THIS TEST VERIFIES: every starter fails in the way its exercise says
// (Exercise.Breaks): Mallory reads the chat, with bytes the client really
// sent or received; or the chat fails with nothing changed on the wire; or
// the client takes a replayed record; or it ends without the end records.
// Every reference solution passes every attack. The Go exercises are
// compiled with -tags exercise and an -overlay that puts the pristine
// starter or the solution in place of the student's file, which is never
// read (see goReports); the JavaScript one runs under node, pointed at the
// same copies.
func TestExercises(t *testing.T) {
	t.Parallel()
	var goEx, jsEx []exercises.Exercise
	for _, ex := range exercises.List() {
		switch ex.Lang {
		case exercises.Go:
			goEx = append(goEx, ex)
		case exercises.JavaScript:
			jsEx = append(jsEx, ex)
		default:
			t.Errorf("%s: language %q has no proof", ex.Name, ex.Lang)
		}
	}
	for _, variant := range []string{"starter", "solution"} {
		t.Run("go/"+variant, func(t *testing.T) {
			t.Parallel()
			reports, out := goReports(t, goEx, variant)
			for _, ex := range goEx {
				t.Run(ex.Name, func(t *testing.T) {
					r := reports[ex.Name]
					if r == nil {
						t.Fatalf("no report: the exercise did not get as far as Mallory; go test said:\n%s", out)
					}
					judge(t, ex, variant, r)
				})
			}
		})
	}
	for _, ex := range jsEx {
		for _, variant := range []string{"starter", "solution"} {
			t.Run("js/"+variant+"/"+ex.Name, func(t *testing.T) {
				t.Parallel()
				node := needNode(t)
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
				defer cancel()
				client := mallory.Node(node, filepath.Join(ex.Name, "run.mjs"), filepath.Join(ex.Name, "testdata", variant, ex.Files[0]))
				r, err := mallory.Run(ctx, ex, client, nil)
				if err != nil {
					t.Fatal(err)
				}
				judge(t, ex, variant, r)
			})
		}
	}
}

// needNode returns node, or skips: outside CI a machine may have no Node;
// in CI (CI=true) it must.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not installed, and CI must run the JavaScript exercise")
		}
		t.Skip("node is not installed; the JavaScript exercise is proved in CI")
	}
	return node
}

// goReports builds one test binary for every Go exercise, with the
// variant's files overlaid on the students' and a proof package that
// exists only in the overlay, runs each exercise's Under() through
// mallory.Check as its mallory_test.go does, and returns the reports by
// exercise, and what the build and the run printed. One binary, not one
// per exercise, because linking the lab is what takes the time.
func goReports(t *testing.T, exs []exercises.Exercise, variant string) (map[string]*exercises.Report, string) {
	t.Helper()
	dir := t.TempDir()
	overlay := struct{ Replace map[string]string }{map[string]string{}}
	var src strings.Builder
	src.WriteString("//go:build exercise\n\npackage proof_test\n\nimport (\n\t\"testing\"\n\n\t\"github.com/mitmlab/mitmlab/exercises/mallory\"\n")
	var pkgs []string
	for i, ex := range exs {
		for _, f := range ex.Files {
			student, err := filepath.Abs(filepath.Join(ex.Name, f))
			if err != nil {
				t.Fatal(err)
			}
			overlay.Replace[student], err = filepath.Abs(filepath.Join(ex.Name, "testdata", variant, f))
			if err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&src, "\tx%d \"github.com/mitmlab/mitmlab/exercises/%s\"\n", i, ex.Name)
		pkgs = append(pkgs, "./"+ex.Name)
	}
	src.WriteString(")\n\nfunc TestProof(t *testing.T) {\n")
	for i, ex := range exs {
		fmt.Fprintf(&src, "\tt.Run(%q, func(t *testing.T) { t.Parallel(); mallory.Check(t, %q, x%d.Under()) })\n", ex.Name, ex.Name, i)
	}
	src.WriteString("}\n")
	if err := os.WriteFile(filepath.Join(dir, "proof_test.go"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	proof, err := filepath.Abs(filepath.Join("proof", "proof_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	overlay.Replace[proof] = filepath.Join(dir, "proof_test.go")
	b, err := json.Marshal(overlay)
	if err != nil {
		t.Fatal(err)
	}
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	gocmd := func(args ...string) error {
		cmd := exec.CommandContext(t.Context(), "go", args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd.Run()
	}
	// What the student gets and what the trainer reveals must both be
	// code go vet is happy with.
	if err := gocmd(append([]string{"vet", "-tags", "exercise", "-overlay", ov}, pkgs...)...); err != nil {
		t.Errorf("go vet -tags exercise of the %ss: %v\n%s", variant, err, out.String())
	}
	bin := filepath.Join(dir, "proof.test")
	if err := gocmd("test", "-c", "-vet=off", "-tags", "exercise", "-overlay", ov, "-o", bin, "./proof"); err != nil {
		t.Fatalf("building the %ss: %v\n%s", variant, err, out.String())
	}
	cmd := exec.CommandContext(t.Context(), bin, "-test.run", "^TestProof$", "-test.parallel", strconv.Itoa(len(exs)))
	cmd.Env = append(os.Environ(), mallory.ReportDirEnv+"="+dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Run() // the starters fail their checks: the reports say how
	reports := map[string]*exercises.Report{}
	for _, ex := range exs {
		b, err := os.ReadFile(filepath.Join(dir, ex.Name+".json"))
		if err != nil {
			continue
		}
		var r exercises.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", ex.Name, err)
		}
		reports[ex.Name] = &r
	}
	return reports, out.String()
}

// judge holds a report to its variant: the starter falls as the exercise
// says, the solution passes.
func judge(t *testing.T, ex exercises.Exercise, variant string, r *exercises.Report) {
	t.Helper()
	if variant == "solution" {
		if !r.Passed {
			t.Errorf("the reference solution of %s does not pass:\n%s", ex.Name, r)
		}
		return
	}
	if r.Passed {
		t.Fatalf("%s passes as shipped; it must fail:\n%s", ex.Name, r)
	}
	for _, b := range ex.Breaks {
		a := find(r, b.Attack)
		if a == nil {
			t.Errorf("%s: the check ran no %s", ex.Name, b.Attack)
			continue
		}
		if a.Passed {
			t.Errorf("%s as shipped passes %s; it must fail it (%s)", ex.Name, b.Attack, b.How)
			continue
		}
		var ok bool
		switch b.How {
		case exercises.Read:
			// mallory.Run has already held every read byte to what the
			// client sent or received.
			ok = a.Read > 0 && a.Example != ""
		case exercises.Broken:
			ok = a.Attack == attacker.Passive && a.Read == 0
		case exercises.Accepted:
			ok = duplicated(a.Received)
		case exercises.Unended:
			ok = !a.ClientEnd || a.ClientError == ""
		}
		if !ok {
			t.Errorf("%s as shipped fails %s, but not as %q: %+v", ex.Name, b.Attack, b.How, *a)
		}
	}
}

func find(r *exercises.Report, attack string) *exercises.Attempt {
	for i := range r.Attempts {
		if r.Attempts[i].Attack == attack {
			return &r.Attempts[i]
		}
	}
	return nil
}

func duplicated(list []string) bool {
	seen := map[string]bool{}
	for _, s := range list {
		if seen[s] {
			return true
		}
		seen[s] = true
	}
	return false
}
