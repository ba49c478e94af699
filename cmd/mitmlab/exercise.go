package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mitmlab/mitmlab/exercises"
)

// check's verdicts on code that did not pass: exit 1, after the report
// or the compiler's errors, which say why.
var (
	errExerciseFailed   = errors.New("the check failed: Mallory broke it (the report above says how)")
	errExerciseNotBuilt = errors.New("the check failed: the code did not get as far as Mallory (see above)")
)

// checked is what a check found.
type checked int

const (
	passed   checked = iota // Mallory read nothing and the chat worked
	broken                  // Mallory broke it
	notBuilt                // it did not build, or the test stopped first
)

const exerciseUsage = `
Usage: mitmlab exercise COMMAND [NAME] [flags]

The course: small pieces of broken client code, in Go and in JavaScript,
that you fix until Mallory reads nothing. Each exercise is a directory,
exercises/NAME/, with a README.md (the story, the task, what to watch in
the lab) and the one file you edit. Mallory checks it, not a unit test:
check runs your code through every attack of 'mitmlab exam', one
connection each, against the lab's real server.

Commands:
  list [--json]      the exercises in order, with your progress
  check NAME         put your code under every attack; exit 0 only when
                     Mallory reads nothing and the chat still works
  hint NAME          a hint; one more each time you ask
  watch              check the current exercise on every save, and move
                     on to the next when it passes (Ctrl-C to stop)
  solve NAME [--yes] the instructor's reveal: put the reference solution
                     in place of your file, after you confirm
  reset NAME         put the exercise back as it was shipped

check needs the Go toolchain (go), and browser-rsa needs Node 20 or later.
Your progress (what passed, how many hints you saw) is kept in
exercises/.progress.json, which git ignores.

Examples:
  mitmlab exercise list
  mitmlab exercise check pin-the-rsa-key
  mitmlab exercise hint pin-the-rsa-key
  mitmlab exercise watch
`

// exerciseCommands are mitmlab exercise's commands, in the order its help
// gives them.
var exerciseCommands = []string{"list", "check", "hint", "watch", "solve", "reset"}

// exerciseFlags are the flags every exercise command takes.
type exerciseFlags struct {
	root     string
	asJSON   bool
	yes      bool
	interval time.Duration
}

func runExercise(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("exercise", exerciseUsage)
	var f exerciseFlags
	fs.StringVar(&f.root, "root", "", "the course: a directory with exercises/ in it (default: found from the current directory up)")
	fs.BoolVar(&f.asJSON, "json", false, "list: write the exercises and your progress as one JSON object")
	fs.BoolVar(&f.yes, "yes", false, "solve: do not ask first")
	fs.DurationVar(&f.interval, "interval", 500*time.Millisecond, "watch: how often to look for a saved file")
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.printHelp(e.stdout)
		return usagef("exercise needs a command: %s", strings.Join(exerciseCommands, ", "))
	}
	cmd, pos := pos[0], pos[1:]
	if !slices.Contains(exerciseCommands, cmd) {
		return usagef("unknown exercise command %q%s; run 'mitmlab exercise --help'", cmd, didYouMean(cmd, exerciseCommands))
	}
	c, err := openCourse(e, f.root)
	if err != nil {
		return err
	}
	needName := func() (exercises.Exercise, error) {
		if len(pos) != 1 {
			return exercises.Exercise{}, usagef("exercise %s needs one exercise name; 'mitmlab exercise list' shows them", cmd)
		}
		ex, err := exercises.Lookup(pos[0])
		if err != nil {
			return ex, &usageError{err.Error()}
		}
		return ex, nil
	}
	switch cmd {
	case "list":
		if len(pos) > 0 {
			return usagef("exercise list takes no name, got %q", pos)
		}
		return c.list(f.asJSON)
	case "check":
		ex, err := needName()
		if err != nil {
			return err
		}
		got, err := c.check(ctx, ex)
		switch {
		case err != nil:
			return err
		case got == broken:
			return errExerciseFailed
		case got == notBuilt:
			return errExerciseNotBuilt
		}
		return nil
	case "hint":
		ex, err := needName()
		if err != nil {
			return err
		}
		return c.hint(ex)
	case "watch":
		if len(pos) > 0 {
			return usagef("exercise watch takes no name: it starts at the first exercise that has not passed")
		}
		if f.interval <= 0 {
			return usagef("--interval must be positive")
		}
		return c.watch(ctx, f.interval)
	case "solve":
		ex, err := needName()
		if err != nil {
			return err
		}
		return c.solve(ex, f.yes)
	case "reset":
		ex, err := needName()
		if err != nil {
			return err
		}
		return c.reset(ex)
	}
	panic("exercise: a command in exerciseCommands with no case: " + cmd)
}

// course is a student's copy of the exercises, and their progress.
type course struct {
	e    *env
	root string // the directory that holds exercises/
}

// progressFile is where the progress is kept, under the root.
const progressFile = "exercises/.progress.json"

// progress is what the student has done, per exercise.
type progress struct {
	Exercises map[string]*exerciseProgress `json:"exercises"`
}

type exerciseProgress struct {
	Passed   bool `json:"passed"`
	Hints    int  `json:"hints"`
	Revealed bool `json:"revealed,omitempty"`
}

// openCourse finds the course: root if given, or the nearest directory
// from the current one up that holds exercises/ with the course in it.
func openCourse(e *env, root string) (*course, error) {
	if root != "" {
		if _, err := os.Stat(filepath.Join(root, "exercises")); err != nil {
			return nil, fmt.Errorf("--root %s: no exercises directory in it", root)
		}
		return &course{e: e, root: root}, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	first := exercises.List()[0]
	for {
		if _, err := os.Stat(filepath.Join(dir, first.Dir())); err == nil {
			return &course{e: e, root: dir}, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return nil, errors.New("no course here: run mitmlab exercise inside a clone of mitmlab (it has exercises/), or give --root DIR")
		}
		dir = up
	}
}

func (c *course) path(rel ...string) string {
	return filepath.Join(append([]string{c.root}, rel...)...)
}

func (c *course) load() (*progress, error) {
	p := &progress{Exercises: map[string]*exerciseProgress{}}
	b, err := os.ReadFile(c.path(progressFile))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start afresh)", progressFile, err)
	}
	if p.Exercises == nil {
		p.Exercises = map[string]*exerciseProgress{}
	}
	return p, nil
}

func (p *progress) of(name string) *exerciseProgress {
	if p.Exercises[name] == nil {
		p.Exercises[name] = &exerciseProgress{}
	}
	return p.Exercises[name]
}

func (c *course) save(p *progress) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(c.path(progressFile), append(b, '\n'), 0o644)
}

// update loads the progress, changes it and saves it.
func (c *course) update(f func(*progress)) error {
	p, err := c.load()
	if err != nil {
		return err
	}
	f(p)
	return c.save(p)
}

// next returns the first exercise that has not passed, or false.
func (p *progress) next() (exercises.Exercise, bool) {
	for _, ex := range exercises.List() {
		if !p.of(ex.Name).Passed {
			return ex, true
		}
	}
	return exercises.Exercise{}, false
}

// exerciseJSON is one exercise in 'exercise list --json'.
type exerciseJSON struct {
	Number     int      `json:"number"`
	Name       string   `json:"name"`
	Title      string   `json:"title"`
	Story      string   `json:"story"`
	Lang       string   `json:"lang"`
	Scheme     string   `json:"scheme"`
	Files      []string `json:"files"`
	Status     string   `json:"status"` // "passed", "next" or "todo"
	HintsShown int      `json:"hints_shown"`
	Hints      int      `json:"hints"`
	Revealed   bool     `json:"revealed"`
	Watch      []string `json:"watch"`
}

func (c *course) list(asJSON bool) error {
	p, err := c.load()
	if err != nil {
		return err
	}
	next, _ := p.next()
	var rows []exerciseJSON
	passed := 0
	for i, ex := range exercises.List() {
		st := p.of(ex.Name)
		status := "todo"
		switch {
		case st.Passed:
			status = "passed"
			passed++
		case ex.Name == next.Name:
			status = "next"
		}
		var files []string
		for _, f := range ex.Files {
			files = append(files, filepath.ToSlash(filepath.Join(ex.Dir(), f)))
		}
		rows = append(rows, exerciseJSON{i + 1, ex.Name, ex.Title, ex.Summary(), string(ex.Lang), ex.Scheme, files, status, st.Hints, len(ex.Hints), st.Revealed, ex.Watch})
	}
	if asJSON {
		return json.NewEncoder(c.e.stdout).Encode(struct {
			Passed    int            `json:"passed"`
			Total     int            `json:"total"`
			Next      string         `json:"next,omitempty"`
			Exercises []exerciseJSON `json:"exercises"`
		}{passed, len(rows), next.Name, rows})
	}
	fmt.Fprintf(c.e.stdout, "%d of %d exercises pass.\n\n", passed, len(rows))
	tw := tabwriter.NewWriter(c.e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tEXERCISE\tLANG\tSTATUS\tHINTS\tTITLE")
	for _, r := range rows {
		status := r.Status
		if r.Revealed {
			status += " (solution shown)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%s\n", r.Number, r.Name, r.Lang, status, r.HintsShown, r.Hints, r.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next.Name != "" {
		fmt.Fprintf(c.e.stdout, "\nNext: read %s/README.md, edit %s, then: mitmlab exercise check %s\n", next.Dir(), filepath.Join(next.Dir(), next.Files[0]), next.Name)
	}
	return nil
}

// check runs the exercise's mallory_test.go with `go test -tags exercise`
// in its directory, prints the report it writes, and records a pass.
func (c *course) check(ctx context.Context, ex exercises.Exercise) (checked, error) {
	dir := c.path(ex.Dir())
	if _, err := os.Stat(dir); err != nil {
		return notBuilt, fmt.Errorf("%s: %w", ex.Dir(), err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return notBuilt, errors.New("check builds your code with the Go toolchain, and 'go' is not on PATH: install Go (https://go.dev/dl/)")
	}
	tmp, err := os.MkdirTemp("", "mitmlab-exercise-")
	if err != nil {
		return notBuilt, err
	}
	defer os.RemoveAll(tmp)
	report := filepath.Join(tmp, "report.json")
	fmt.Fprintf(c.e.stdout, "%s: Mallory attacks your %s, once per attack, with the lab's %s server behind him...\n", ex.Name, strings.Join(ex.Files, ", "), ex.Scheme)
	cmd := exec.CommandContext(ctx, goBin, "test", "-tags", "exercise", "-count=1", "-timeout=3m", "-run", "^TestMallory$", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MITMLAB_EXERCISE_REPORT="+report)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return notBuilt, &interruptedError{"check interrupted"}
	}
	b, err := os.ReadFile(report)
	if err != nil {
		// No report: the code did not build, or the test stopped first.
		fmt.Fprintf(c.e.stdout, "\nYour code did not get as far as Mallory (go test: %v):\n\n%s\n", runErr, indent(out.String()))
		return notBuilt, nil
	}
	var r exercises.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return notBuilt, fmt.Errorf("the check's report: %w", err)
	}
	fmt.Fprintln(c.e.stdout)
	fmt.Fprint(c.e.stdout, r.String())
	fmt.Fprintln(c.e.stdout)
	if !r.Passed {
		var failed []string
		for _, a := range r.Attempts {
			if !a.Passed {
				failed = append(failed, a.Attack)
			}
		}
		fmt.Fprintf(c.e.stdout, "✗ %s: Mallory broke your code (%s).\n", ex.Name, strings.Join(failed, ", "))
		if len(ex.Watch) > 0 {
			fmt.Fprintf(c.e.stdout, "  Watch it happen in the lab: %s\n", ex.Watch[0])
		}
		fmt.Fprintf(c.e.stdout, "  Stuck? mitmlab exercise hint %s\n", ex.Name)
		return broken, nil
	}
	var p *progress
	err = c.update(func(pp *progress) {
		pp.of(ex.Name).Passed = true
		p = pp
	})
	if err != nil {
		return passed, err
	}
	fmt.Fprintf(c.e.stdout, "✓ %s passes: Mallory read nothing, and the chat worked.\n", ex.Name)
	if next, ok := p.next(); ok {
		fmt.Fprintf(c.e.stdout, "  Next: %s (%s/README.md)\n", next.Name, next.Dir())
	} else {
		fmt.Fprintln(c.e.stdout, "  That was the last one: every exercise passes.")
	}
	return passed, nil
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// hint shows one more hint than last time, and the ones before it.
func (c *course) hint(ex exercises.Exercise) error {
	var n int
	err := c.update(func(p *progress) {
		st := p.of(ex.Name)
		if st.Hints < len(ex.Hints) {
			st.Hints++
		}
		n = st.Hints
	})
	if err != nil {
		return err
	}
	for i := range n {
		fmt.Fprintf(c.e.stdout, "%s, hint %d of %d:\n%s\n\n", ex.Name, i+1, len(ex.Hints), wrap(ex.Hints[i], "  ", 76))
	}
	if n < len(ex.Hints) {
		fmt.Fprintf(c.e.stdout, "Ask again for the next hint: mitmlab exercise hint %s\n", ex.Name)
	} else {
		fmt.Fprintf(c.e.stdout, "That was the last hint. Your trainer can reveal the reference solution: mitmlab exercise solve %s\n", ex.Name)
	}
	return nil
}

// wrap fills s to width, each line starting with prefix.
func wrap(s, prefix string, width int) string {
	var b strings.Builder
	line := prefix
	for _, w := range strings.Fields(s) {
		if len(line) > len(prefix) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = prefix
		}
		if len(line) > len(prefix) {
			line += " "
		}
		line += w
	}
	b.WriteString(line)
	return b.String()
}

// solve puts the reference solution in place of the student's files,
// once they have said yes.
func (c *course) solve(ex exercises.Exercise, yes bool) error {
	files := c.files(ex)
	if !yes {
		fmt.Fprintf(c.e.stdout, "This replaces %s with the reference solution; your changes to it are lost.\nGo on? [y/N] ", strings.Join(files, ", "))
		line, err := bufio.NewReader(c.e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(c.e.stdout, "Nothing changed.")
			return nil
		}
	}
	if err := c.put(ex, ex.Solution); err != nil {
		return err
	}
	if err := c.update(func(p *progress) { p.of(ex.Name).Revealed = true }); err != nil {
		return err
	}
	fmt.Fprintf(c.e.stdout, "Put the reference solution in %s. Read it, then: mitmlab exercise check %s\n", strings.Join(files, ", "), ex.Name)
	return nil
}

// reset puts the exercise back as it was shipped.
func (c *course) reset(ex exercises.Exercise) error {
	if err := c.put(ex, ex.Starter); err != nil {
		return err
	}
	if err := c.update(func(p *progress) {
		st := p.of(ex.Name)
		st.Passed, st.Revealed = false, false
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.e.stdout, "Restored %s as shipped.\n", strings.Join(c.files(ex), ", "))
	return nil
}

// files are the exercise's files, as paths from the root.
func (c *course) files(ex exercises.Exercise) []string {
	var out []string
	for _, f := range ex.Files {
		out = append(out, filepath.Join(ex.Dir(), f))
	}
	return out
}

// put writes each of the exercise's files from content.
func (c *course) put(ex exercises.Exercise, content func(string) ([]byte, error)) error {
	for _, f := range ex.Files {
		b, err := content(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.path(ex.Dir(), f), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// watch checks the first exercise that has not passed, then again each
// time one of its files changes, and moves on when it passes.
func (c *course) watch(ctx context.Context, interval time.Duration) error {
	for {
		p, err := c.load()
		if err != nil {
			return err
		}
		ex, ok := p.next()
		if !ok {
			fmt.Fprintf(c.e.stdout, "Every exercise passes. Well done.\n")
			return nil
		}
		seen := c.stamp(ex)
		got, err := c.check(ctx, ex)
		var ie *interruptedError
		switch {
		case errors.As(err, &ie):
			return nil
		case err != nil:
			return err
		case got == passed:
			fmt.Fprintln(c.e.stdout)
			continue
		}
		fmt.Fprintf(c.e.stdout, "\nWatching %s: save it to check again (Ctrl-C to stop).\n\n", strings.Join(c.files(ex), ", "))
		for seen == c.stamp(ex) {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(interval):
			}
		}
	}
}

// stamp sums up the exercise's files as they are now: a save changes it.
func (c *course) stamp(ex exercises.Exercise) string {
	var b strings.Builder
	for _, f := range ex.Files {
		if fi, err := os.Stat(c.path(ex.Dir(), f)); err == nil {
			fmt.Fprintf(&b, "%s %d %d;", f, fi.ModTime().UnixNano(), fi.Size())
		}
	}
	return b.String()
}
