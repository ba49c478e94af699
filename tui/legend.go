package tui

import "github.com/mitmlab/mitmlab/trace"

// The legend that the help screen shows beside the keys: what each badge
// means and what each leg is. docs/tui.md has the same table; a test
// keeps every verdict in it.

// verdictMeaning is one badge's meaning, in a line.
func verdictMeaning(v trace.Verdict) string {
	switch v {
	case trace.Read:
		return "Mallory recovered it with keys he really holds; the row shows what"
	case trace.Forged:
		return "a record Mallory encrypted himself, under a key the receiver shares"
	case trace.Tampered:
		return "a frame Mallory changed without holding its key"
	case trace.Replayed:
		return "a copy of an earlier frame, sent again by Mallory"
	case trace.Dropped:
		return "a frame Mallory withheld on purpose: its receiver never gets it"
	case trace.Opaque:
		return "ciphertext only: Mallory has no key for it"
	case trace.Substituted:
		return "a handshake frame or close that Mallory made or changed"
	case trace.Intercepted:
		return "a public frame Mallory took and did not pass on"
	case trace.Public:
		return "public by design, relayed unchanged: the same bytes crossed the other leg"
	case trace.Blocked:
		return "it did not get through: a victim refused, or it could not be delivered"
	}
	return ""
}

// legs names the legs, as the lanes draw them.
func legs() []struct{ leg, means string } {
	return []struct{ leg, means string }{
		{"leg A", "Alice (client) ↔ Mallory (attacker)"},
		{"leg B", "Mallory (attacker) ↔ Bob (server)"},
		{"wire", "Alice ↔ Bob, with the attacker off (a dotted middle lane)"},
		{"─▶ ◀─", "who sent the frame to whom; ✕ ends a frame a victim refused"},
	}
}
