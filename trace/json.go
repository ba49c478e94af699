package trace

import "unicode/utf8"

// FrameJSON is an event as one line of JSON, the form that `mitmlab run
// --json` prints and that an attacker process streams on /events.
// docs/cli.md documents every field.
type FrameJSON struct {
	Type string `json:"type"` // always "frame"
	Event
	// Raw is the message as it crossed the leg, standard base64.
	Raw []byte `json:"raw,omitempty"`
	// RecoveredText is Recovered as a string, when it is valid UTF-8.
	RecoveredText *string `json:"recovered_text,omitempty"`
}

// NewFrameJSON returns e's JSON form.
func NewFrameJSON(e Event) FrameJSON {
	f := FrameJSON{Type: "frame", Event: e, Raw: e.Raw}
	if e.Recovered != nil && utf8.Valid(e.Recovered) {
		s := string(e.Recovered)
		f.RecoveredText = &s
	}
	return f
}

// ToEvent turns a decoded line back into an event.
func (f FrameJSON) ToEvent() Event {
	e := f.Event
	e.Raw = f.Raw
	if e.Recovered == nil && f.RecoveredText != nil {
		e.Recovered = []byte{} // read, and empty: omitempty dropped it
	}
	return e
}
