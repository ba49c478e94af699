package export

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// arrow is one arrow a diagram should have, and what a reader sees on it.
type arrow struct {
	From, To string
	Crossed  bool
	Text     string
}

// wantArrows is the diagram's arrows for the run's frames, in order.
func wantArrows(events []trace.Event) []arrow {
	var out []arrow
	for _, e := range events {
		if e.Type == trace.TypeProgress {
			continue
		}
		from, to := Ends(e)
		out = append(out, arrow{laneID(from), laneID(to), e.Verdict == trace.Dropped || e.Verdict == trace.Blocked, mermaidLabel(e)})
	}
	return out
}

// mermaidLine is an arrow line: lane, arrow, lane, label.
var mermaidLine = regexp.MustCompile(`^    ([AMB])(->>|-x)([AMB]): (.*)$`)

// mermaidEntity is one of Mermaid's entity codes.
var mermaidEntity = regexp.MustCompile(`#(\d+);`)

// TestMermaidStructure reads the diagram line by line, without Mermaid:
// the header, a participant per node, an arrow per frame between the right
// lanes with its label, nothing left that Mermaid would read as syntax.
func TestMermaidStructure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opts  *scenarios.Options
		lanes []string
	}{
		{"unauth-ecdh", &scenarios.Options{Messages: []string{"100% sure; #1 <br> & {x} `y` \\ end"}}, []string{"A", "M", "B"}},
		{"unauth-ecdh", &scenarios.Options{NoAttacker: true}, []string{"A", "B"}},
		{"truncation", nil, []string{"A", "M", "B"}},
	} {
		r := labRun(t, tc.name, tc.opts)
		var buf bytes.Buffer
		if err := WriteTo(&buf, Mermaid, r); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if lines[0] != "sequenceDiagram" {
			t.Fatalf("%s: first line %q", tc.name, lines[0])
		}
		var lanes []string
		var got []arrow
		for _, l := range lines[1:] {
			if id, _, ok := strings.Cut(strings.TrimPrefix(l, "    participant "), " as "); ok {
				lanes = append(lanes, id)
				continue
			}
			m := mermaidLine.FindStringSubmatch(l)
			if m == nil {
				if !strings.HasPrefix(l, "    Note over ") && !strings.HasPrefix(l, "    title ") {
					t.Errorf("%s: line %q is neither an arrow nor a note", tc.name, l)
				}
				continue
			}
			label := m[4]
			if strings.ContainsAny(mermaidEntity.ReplaceAllString(label, ""), "#;%<>&`{}\\\n") {
				t.Errorf("%s: label %q keeps a character Mermaid reads as syntax", tc.name, label)
			}
			got = append(got, arrow{m[1], m[3], m[2] == "-x", unescapeMermaid(label)})
		}
		if strings.Join(lanes, ",") != strings.Join(tc.lanes, ",") {
			t.Errorf("%s: lanes %v, want %v", tc.name, lanes, tc.lanes)
		}
		want := wantArrows(r.events())
		if len(got) != len(want) {
			t.Fatalf("%s: %d arrows for %d frames", tc.name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: arrow %d is %+v, want %+v", tc.name, i, got[i], want[i])
			}
		}
	}
}

func unescapeMermaid(s string) string {
	return mermaidEntity.ReplaceAllStringFunc(s, func(m string) string {
		var n rune
		for _, c := range m[1 : len(m)-1] {
			n = n*10 + c - '0'
		}
		return string(n)
	})
}

// mermaidDiagram is what Mermaid's parser built: check.mjs's output.
type mermaidDiagram struct {
	Title  string
	Actors []struct{ ID, Label string }
	// Messages are Mermaid's: type 0 is a solid arrow, 3 a solid crossed
	// one, 2 a note.
	Messages []struct {
		From, To string
		Type     int
		Text     string
	}
}

// TestMermaidParses hands the diagrams to Mermaid's own parser (the npm
// package, in Node with jsdom: export/testdata/node/check.mjs) and
// compares the diagram it builds with the run: every arrow from the right
// lane to the right lane, crossed where the frame did not go on, and
// every label as Mermaid will show it, after its entity codes. A diagram
// with a raw ';' in a label is the positive control: the parser must
// reject it.
func TestMermaidParses(t *testing.T) {
	t.Parallel()
	node := nodeChecks(t)
	seq := uint64(7)
	tricky := Run{Events: []trace.Event{
		{Index: 0, Leg: trace.LegA, Dir: wire.ClientToServer, Type: "data", Seq: &seq, Verdict: trace.Read, Recovered: []byte("a;b #c %% <br> & {x} `y` \\ \"q\" end\nnext"), Time: time.Unix(1, 0)},
		{Index: 1, Type: trace.TypeProgress, Note: "50% done; #2 of 4", Time: time.Unix(2, 0)},
		{Index: 2, Leg: trace.LegB, Dir: wire.ServerToClient, Type: "close", Verdict: trace.Blocked, Note: "1008 StatusPolicyViolation: key does not match pin: sha256/x+y=", Time: time.Unix(3, 0)},
	}}
	runs := []struct {
		name string
		run  Run
	}{
		{"unauth-ecdh", labRun(t, "unauth-ecdh", &scenarios.Options{Messages: []string{"100% sure; #1 <br> & {x}"}})},
		{"no-attacker", labRun(t, "pinned-ecdh", &scenarios.Options{NoAttacker: true})},
		{"truncation", labRun(t, "truncation", nil)},
		{"wss-skipverify", labRun(t, "wss-skipverify", nil)},
		{"tricky-text", tricky},
	}
	dir := t.TempDir()
	var files []string
	for _, r := range runs {
		path := filepath.Join(dir, r.name+".mmd")
		if err := Write(path, r.run); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	broken := filepath.Join(dir, "broken.mmd")
	if err := os.WriteFile(broken, []byte("sequenceDiagram\n    participant A as Alice\n    participant B as Bob\n    A->>B: a;b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	results := runChecks(t, node, append(files, broken)...)
	if results[broken].Error == "" {
		t.Error("Mermaid parsed a diagram with a raw ';' in a label: the check cannot fail")
	}
	for i, r := range runs {
		res := results[files[i]]
		if res.Error != "" {
			t.Errorf("%s: Mermaid does not parse it: %s", r.name, res.Error)
			continue
		}
		var d mermaidDiagram
		if err := json.Unmarshal(res.Diagram, &d); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		var got []arrow
		notes := 0
		for _, m := range d.Messages {
			switch m.Type {
			case 0, 3:
				got = append(got, arrow{m.From, m.To, m.Type == 3, m.Text})
			case 2:
				notes++
			default:
				t.Errorf("%s: unexpected Mermaid message type %d: %+v", r.name, m.Type, m)
			}
		}
		want := wantArrows(r.run.events())
		if len(got) != len(want) {
			t.Errorf("%s: Mermaid sees %d arrows, want %d: %+v", r.name, len(got), len(want), d)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: arrow %d: Mermaid sees %+v, want %+v", r.name, i, got[i], want[i])
			}
		}
		if r.run.Outcome != nil && notes == 0 {
			t.Errorf("%s: no note with the summary", r.name)
		}
		if r.run.Outcome != nil && !strings.HasPrefix(d.Title, r.run.name()+": ") {
			t.Errorf("%s: title %q", r.name, d.Title)
		}
	}
}

// checkResult is one line of check.mjs's output.
type checkResult struct {
	File    string
	OK      bool
	Error   string
	Diagram json.RawMessage
}

// runChecks runs check.mjs once over files and returns its results by
// file.
func runChecks(t *testing.T, node string, files ...string) map[string]checkResult {
	t.Helper()
	cmd := exec.Command(node, append([]string{filepath.Join("testdata", "node", "check.mjs")}, files...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check.mjs: %v: %s", err, stderrOf(err))
	}
	results := map[string]checkResult{}
	for line := range strings.Lines(string(out)) {
		var r checkResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("check.mjs: %v: %q", err, line)
		}
		results[r.File] = r
	}
	for _, f := range files {
		if _, ok := results[f]; !ok {
			t.Fatalf("check.mjs said nothing about %s", f)
		}
	}
	return results
}

// nodeChecks returns node, once export/testdata/node's packages are
// installed (npm ci there; .ci/run does it). Outside CI, without them,
// the test skips.
func nodeChecks(t *testing.T) string {
	t.Helper()
	node := tool(t, "node", "apt-get install nodejs npm")
	if _, err := os.Stat(filepath.Join("testdata", "node", "node_modules", "mermaid")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("export/testdata/node has no node_modules in CI: .ci/run runs npm ci there")
		}
		t.Skip("export/testdata/node's packages are not installed: run npm ci there")
	}
	return node
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
