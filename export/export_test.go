package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

func TestFormatOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path string
		want Format
	}{
		{"run.md", Markdown},
		{"slides/run.MMD", Mermaid},
		{"run.har", HAR},
		{"/tmp/x.pcapng", PCAPNG},
		{"run.jsonl", JSONL},
	} {
		got, err := FormatOf(tc.path)
		if err != nil || got != tc.want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	for _, bad := range []string{"run.txt", "run", "run.pcap", "md"} {
		_, err := FormatOf(bad)
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("FormatOf(%q) = %v; want ErrUnknownFormat", bad, err)
			continue
		}
		for _, f := range Formats() {
			if !strings.Contains(err.Error(), string(f)) {
				t.Errorf("FormatOf(%q): %q does not list %s", bad, err, f)
			}
		}
	}
	for _, f := range Formats() {
		if f.About() == "" {
			t.Errorf("format %s says nothing about itself", f)
		}
	}
}

// TestWriteRefusesAnUnknownFormat: nothing is created for a name whose
// extension names no format.
func TestWriteRefusesAnUnknownFormat(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/run.txt"
	if err := Write(path, Run{}); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("Write(%q) = %v; want ErrUnknownFormat", path, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("Write created %s for an unknown format", path)
	}
}

// TestJSONLIsTheRunStream: a .jsonl export is one frame line per event,
// with every field and the raw bytes, then the outcome line.
func TestJSONLIsTheRunStream(t *testing.T) {
	t.Parallel()
	r := labRun(t, "unauth-ecdh", nil)
	var buf bytes.Buffer
	if err := WriteTo(&buf, JSONL, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	events := r.events()
	if len(lines) != len(events)+1 {
		t.Fatalf("%d lines for %d events and an outcome", len(lines), len(events))
	}
	for i, e := range events {
		var f trace.FrameJSON
		if err := json.Unmarshal([]byte(lines[i]), &f); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		got := f.ToEvent()
		if f.Type != "frame" || got.Index != e.Index || got.Leg != e.Leg || got.Verdict != e.Verdict ||
			!bytes.Equal(got.Raw, e.Raw) || !bytes.Equal(got.Recovered, e.Recovered) || !got.Time.Equal(e.Time) {
			t.Errorf("line %d is %+v; want event %+v", i, got, e)
		}
	}
	var o OutcomeJSON
	if err := json.Unmarshal([]byte(lines[len(events)]), &o); err != nil {
		t.Fatal(err)
	}
	if o != NewOutcomeJSON(r.Outcome) || o.AttackerRead != 6 {
		t.Errorf("outcome line %+v; want %+v", o, NewOutcomeJSON(r.Outcome))
	}
}

// mdUnescape matches a backslash escape of ASCII punctuation.
var mdUnescape = regexp.MustCompile("\\\\([!-/:-@[-`{-~])")

// cellSplit splits a Markdown table row at its unescaped pipes.
var cellSplit = regexp.MustCompile(`(?:^|[^\\])\|`)

// TestMarkdownHasTheTranscriptAndTheSummary: one table row per frame, in
// order, with seven cells each (an escaped pipe in a note does not make an
// eighth), then the summary in bold.
func TestMarkdownHasTheTranscriptAndTheSummary(t *testing.T) {
	t.Parallel()
	r := labRun(t, "unauth-ecdh", &scenarios.Options{Messages: []string{"a | b", "*not bold* <b>x</b> `tick` [link](x) \\ _u_"}})
	var buf bytes.Buffer
	if err := WriteTo(&buf, Markdown, r); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	if !strings.HasPrefix(md, "# unauth-ecdh: ") {
		t.Errorf("no heading: %q", md[:min(len(md), 80)])
	}
	var rows []string
	sc := bufio.NewScanner(strings.NewReader(md))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| # ") {
			rows = append(rows, line)
		}
	}
	events := r.events()
	if len(rows) != len(events) {
		t.Fatalf("%d rows for %d events:\n%s", len(rows), len(events), md)
	}
	for i, row := range rows {
		cells := cellSplit.Split(row, -1)
		// "| a | b |" splits into an empty first and last piece around
		// seven cells.
		if len(cells) != 9 {
			t.Errorf("row %d has %d cells, want 7: %s", i, len(cells)-2, row)
			continue
		}
		if got := strings.TrimSpace(cells[1]); got != strconv.Itoa(events[i].Index) {
			t.Errorf("row %d is frame %s, want %d", i, got, events[i].Index)
		}
		if got := strings.TrimSpace(cells[6]); got != strings.ToUpper(string(events[i].Verdict)) {
			t.Errorf("row %d verdict %q, want %q", i, got, events[i].Verdict)
		}
		// What a renderer shows: each backslash escape undone.
		shown := mdUnescape.ReplaceAllString(strings.TrimSpace(cells[7]), "$1")
		if want := Detail(events[i]); shown != want {
			t.Errorf("row %d shows %q, want %q", i, shown, want)
		}
	}
	if want := "**" + mdText(r.Outcome.Summary()) + "**"; !strings.Contains(md, want) {
		t.Errorf("no summary %q in\n%s", want, md)
	}
}
