package exercises

import (
	"fmt"
	"strings"
)

// Attempt is one attack against a student's code, graded: one line of
// `mitmlab exercise check`.
type Attempt struct {
	Attack string `json:"attack"`
	Passed bool   `json:"passed"`
	// Read counts the messages Mallory recovered; Forged the records he
	// sealed himself for the client.
	Read   int `json:"read"`
	Forged int `json:"forged"`
	// Refused and Detected are the exam's: the client refused Mallory, or
	// noticed what he did to its records.
	Refused  bool `json:"refused"`
	Detected bool `json:"detected"`
	// Reason is the exam's grade in words; Frame is where it was decided:
	// the index of the frame among this connection's, from 0.
	Reason string `json:"reason"`
	Frame  int    `json:"frame"`
	// Example is one message Mallory read.
	Example string `json:"example,omitempty"`
	// ClientEnd says the client's end record crossed to Mallory.
	ClientEnd bool `json:"client_end"`
	// Received is what the client says it accepted, and ClientError how
	// it ended, if not cleanly.
	Received    []string `json:"received"`
	ClientError string   `json:"client_error,omitempty"`
}

// Report is every attempt against one exercise: what each exercise's
// mallory_test.go writes for `mitmlab exercise check` to print.
type Report struct {
	Exercise string    `json:"exercise"`
	Scheme   string    `json:"scheme"`
	Passed   bool      `json:"passed"`
	Attempts []Attempt `json:"attempts"`
}

// String is the report as a table, one line per attack.
func (r *Report) String() string {
	var b strings.Builder
	for _, a := range r.Attempts {
		mark := "ok  "
		if !a.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  %s %-18s %s\n", mark, a.Attack, a.Describe())
	}
	return b.String()
}

// Describe says what happened, in a line.
func (a Attempt) Describe() string {
	if a.Read > 0 {
		s := fmt.Sprintf("Mallory read %d messages from frame %d on", a.Read, a.Frame)
		if a.Forged > 0 {
			s += fmt.Sprintf(" and forged %d", a.Forged)
		}
		if a.Example != "" {
			s += fmt.Sprintf(", such as %q", a.Example)
		}
		return s
	}
	return a.Reason
}
