package export

import (
	"encoding/json"
	"io"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

// OutcomeJSON is the last line of `mitmlab run --json` and of a .jsonl
// export; docs/cli.md documents every field.
type OutcomeJSON struct {
	Type              string `json:"type"` // "outcome"
	Scenario          string `json:"scenario"`
	Scheme            string `json:"scheme"`
	Attack            string `json:"attack"`
	Transport         string `json:"transport"`
	MessagesTotal     int    `json:"messages_total"`
	MessagesSent      int    `json:"messages_sent"`
	MessagesDelivered int    `json:"messages_delivered"`
	MessagesAltered   int    `json:"messages_altered"`
	Duplicated        int    `json:"messages_duplicated"`
	AttackerRead      int    `json:"attacker_read"`
	Detected          bool   `json:"detected"`
	DetectedBy        string `json:"detected_by"`
	Reason            string `json:"reason"`
	Summary           string `json:"summary"`
}

// NewOutcomeJSON returns o's JSON line.
func NewOutcomeJSON(o *scenarios.Outcome) OutcomeJSON {
	return OutcomeJSON{
		Type:              "outcome",
		Scenario:          o.Scenario,
		Scheme:            o.Scheme,
		Attack:            o.Attack,
		Transport:         string(o.Transport),
		MessagesTotal:     len(o.Messages),
		MessagesSent:      o.MessagesSent(),
		MessagesDelivered: o.MessagesDelivered(),
		MessagesAltered:   o.MessagesAltered(),
		Duplicated:        o.Duplicated,
		AttackerRead:      o.AttackerRead(),
		Detected:          o.Detected,
		DetectedBy:        o.DetectedBy,
		Reason:            o.Reason,
		Summary:           o.Summary(),
	}
}

// writeJSONL writes one trace.FrameJSON line per event, then the outcome.
func writeJSONL(w io.Writer, r *Run) error {
	enc := json.NewEncoder(w)
	for _, e := range r.events() {
		if err := enc.Encode(trace.NewFrameJSON(e)); err != nil {
			return err
		}
	}
	if r.Outcome == nil {
		return nil
	}
	return enc.Encode(NewOutcomeJSON(r.Outcome))
}
