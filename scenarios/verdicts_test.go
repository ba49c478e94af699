package scenarios_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// TestEveryEventKeepsItsVerdictsMeaning walks every event of every
// scenario, with its own attack, every other attack that applies, and no
// attacker, over both transports, and holds each event to the one meaning
// of its verdict (trace/trace.go):
//
//   - read and forged carry the bytes recovered or put in;
//   - substituted, forged, tampered and replayed are frames the attacker
//     sends, intercepted and dropped frames he receives;
//   - a public frame is relayed unchanged: the same bytes cross the other
//     leg of the same connection the same way, so a frame the attacker made
//     or replaced is never public;
//   - with no attacker, the wire holds only public, opaque, read (records
//     that need no key) and blocked.
//
// It also checks that the Outcome never claims bytes that were not sent.
func TestEveryEventKeepsItsVerdictsMeaning(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios.Catalogue() {
		attacks := []string{""} // none
		for _, a := range sc.Applicable() {
			if a.Name != "mutate" {
				attacks = append(attacks, a.Name)
			}
		}
		for _, attack := range attacks {
			for _, tr := range scenarios.Transports() {
				name := fmt.Sprintf("%s/%s/%s", sc.Name, orNone(attack), tr)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					skipLongUnderRace(t, attack)
					opts := &scenarios.Options{Transport: tr, Attack: attack, NoAttacker: attack == ""}
					o := run(t, sc.Name, opts)
					for _, p := range verdictProblems(o.Events) {
						t.Error(p)
					}
					if o.Misread() != 0 {
						t.Errorf("Misread() = %d: the attacker claims bytes that were never sent", o.Misread())
					}
				})
			}
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "no attacker"
	}
	return s
}

// TestVerdictCheckCanFail proves the walk above catches each kind of lie.
func TestVerdictCheckCanFail(t *testing.T) {
	t.Parallel()
	o := run(t, "unauth-ecdh", nil)
	lies := map[string]func([]trace.Event) []trace.Event{
		"a read with no bytes": func(ev []trace.Event) []trace.Event {
			for i := range ev {
				if ev[i].Verdict == trace.Read {
					ev[i].Recovered = nil
					break
				}
			}
			return ev
		},
		"a frame the attacker made, called public": func(ev []trace.Event) []trace.Event {
			for i := range ev {
				if ev[i].Verdict == trace.Substituted && ev[i].Type != trace.TypeClose {
					ev[i].Verdict = trace.Public
					break
				}
			}
			return ev
		},
		"an intercepted frame on the way out": func(ev []trace.Event) []trace.Event {
			for i := range ev {
				if ev[i].Verdict == trace.Substituted && ev[i].Type != trace.TypeClose {
					ev[i].Verdict = trace.Intercepted
					break
				}
			}
			return ev
		},
	}
	for name, lie := range lies {
		ev := lie(append([]trace.Event(nil), o.Events...))
		if len(verdictProblems(ev)) == 0 {
			t.Errorf("%s: the verdict check found nothing wrong", name)
		}
	}
}

// verdictProblems checks every event of one run.
func verdictProblems(events []trace.Event) []string {
	var p []string
	bad := func(e trace.Event, format string, args ...any) {
		p = append(p, fmt.Sprintf("event %d (conn %d, leg %s, %s %s, %s): %s", e.Index, e.Conn, e.Leg, e.Dir, e.Type, e.Verdict, fmt.Sprintf(format, args...)))
	}
	for _, e := range events {
		if e.Type == trace.TypeProgress {
			if e.Verdict != "" || e.Raw != nil || e.Recovered != nil {
				bad(e, "a progress report is not a frame: no verdict, no bytes")
			}
			continue
		}
		out := sends(e)
		switch e.Verdict {
		case trace.Read:
			if e.Recovered == nil {
				bad(e, "read, but carries no recovered bytes")
			}
		case trace.Forged:
			if e.Recovered == nil {
				bad(e, "forged, but carries no bytes put in")
			}
		}
		switch e.Verdict {
		case trace.Substituted, trace.Forged, trace.Tampered, trace.Replayed:
			if e.Leg == trace.LegWire || !out {
				bad(e, "a frame the attacker sends, on the way in")
			}
		case trace.Intercepted, trace.Dropped:
			if e.Leg == trace.LegWire || out {
				bad(e, "a frame the attacker receives, on the way out")
			}
		case trace.Public:
			if e.Type != trace.TypeClose && e.Leg != trace.LegWire && len(e.Raw) > 0 && !relayedUnchanged(events, e) {
				bad(e, "public, but the same bytes did not cross the other leg")
			}
		}
		if e.Leg == trace.LegWire {
			switch e.Verdict {
			case trace.Public, trace.Opaque, trace.Read, trace.Blocked:
			default:
				bad(e, "with no attacker, nobody substitutes, forges or drops")
			}
		}
	}
	return p
}

// sends reports whether the attacker sends e on its leg.
func sends(e trace.Event) bool {
	return (e.Leg == trace.LegA && e.Dir == wire.ServerToClient) || (e.Leg == trace.LegB && e.Dir == wire.ClientToServer)
}

// relayedUnchanged finds e's twin: the same bytes, the same direction, the
// same connection, on the other leg, public too.
func relayedUnchanged(events []trace.Event, e trace.Event) bool {
	for _, c := range events {
		if c.Index != e.Index && c.Conn == e.Conn && c.Leg != e.Leg && c.Leg != trace.LegWire &&
			c.Dir == e.Dir && c.Verdict == trace.Public && bytes.Equal(c.Raw, e.Raw) {
			return true
		}
	}
	return false
}
