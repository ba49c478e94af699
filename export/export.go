package export

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

// Run is one run of the lab, as an export sees it.
type Run struct {
	// Scenario is what ran: its name, title and lesson head the
	// Markdown, and its scheme names the WebSocket path. It may be the
	// zero Scenario (frames from an attacker process).
	Scenario scenarios.Scenario
	// Events is the trace, in order. Nil means Outcome.Events.
	Events []trace.Event
	// Outcome is what happened, or nil for a run with no outcome (frames
	// from an attacker process, a run still going): the exports then
	// have no summary.
	Outcome *scenarios.Outcome
	// KeyLog is the NSS key log of the attacker's own TLS endpoints. Nil
	// means Outcome.KeyLog.
	KeyLog []byte
}

func (r *Run) events() []trace.Event {
	if r.Events == nil && r.Outcome != nil {
		return r.Outcome.Events
	}
	return r.Events
}

func (r *Run) keyLog() []byte {
	if r.KeyLog == nil && r.Outcome != nil {
		return r.Outcome.KeyLog
	}
	return r.KeyLog
}

// name is the scenario's name, from the Scenario or the Outcome, or
// "mitmlab" for frames from no named scenario.
func (r *Run) name() string {
	switch {
	case r.Scenario.Name != "":
		return r.Scenario.Name
	case r.Outcome != nil && r.Outcome.Scenario != "":
		return r.Outcome.Scenario
	}
	return "mitmlab"
}

// scheme is the scheme's name, which is the WebSocket path.
func (r *Run) scheme() string {
	switch {
	case r.Outcome != nil && r.Outcome.Scheme != "":
		return r.Outcome.Scheme
	case r.Scenario.Scheme != nil:
		return r.Scenario.Scheme.Name
	}
	return "lab"
}

// Format is an export format, named by its file extension.
type Format string

// The formats.
const (
	Markdown Format = ".md"
	Mermaid  Format = ".mmd"
	HAR      Format = ".har"
	PCAPNG   Format = ".pcapng"
	JSONL    Format = ".jsonl"
)

// format is one row of the table of formats.
type format struct {
	f     Format
	about string
	write func(io.Writer, *Run) error
}

func formats() []format {
	return []format{
		{Markdown, "the transcript table and the summary, for a slide or a report", writeMarkdown},
		{Mermaid, "a Mermaid sequence diagram: Alice, Mallory and Bob, an arrow per frame", writeMermaid},
		{HAR, "HAR 1.2 with Chrome's WebSocket messages, one page per leg", writeHAR},
		{PCAPNG, "a capture for Wireshark: each leg a TCP stream, with the attacker's TLS keys", writePCAPNG},
		{JSONL, "JSON Lines, as mitmlab run --json prints them", writeJSONL},
	}
}

// Formats lists the formats, in the order help shows them.
func Formats() []Format {
	var out []Format
	for _, f := range formats() {
		out = append(out, f.f)
	}
	return out
}

// About says in a few words what a file of format f holds.
func (f Format) About() string {
	for _, row := range formats() {
		if row.f == f {
			return row.about
		}
	}
	return ""
}

// ErrUnknownFormat is returned, wrapped, for a file name whose extension
// names no format.
var ErrUnknownFormat = errors.New("unknown export format")

// FormatOf returns the format a file name asks for by its extension.
func FormatOf(path string) (Format, error) {
	ext := Format(strings.ToLower(filepath.Ext(path)))
	for _, f := range formats() {
		if f.f == ext {
			return ext, nil
		}
	}
	var names []string
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("%w %q for %q: the extension picks one of %s", ErrUnknownFormat, ext, path, strings.Join(names, ", "))
}

// Write writes run to path, in the format its extension names, creating or
// truncating the file.
func Write(path string, run Run) (err error) {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}()
	return WriteTo(file, f, run)
}

// WriteTo writes run to w in format f.
func WriteTo(w io.Writer, f Format, run Run) error {
	for _, row := range formats() {
		if row.f == f {
			return row.write(w, &run)
		}
	}
	return fmt.Errorf("%w %q", ErrUnknownFormat, string(f))
}
