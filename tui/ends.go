package tui

import (
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// sender and receiver name the ends of a frame's leg.
func sender(e trace.Event) string {
	from, _ := ends(e)
	return from
}

func receiver(e trace.Event) string {
	_, to := ends(e)
	return to
}

func ends(e trace.Event) (from, to string) {
	from, to = "Alice", "Bob"
	switch e.Leg {
	case trace.LegA:
		to = "Mallory"
	case trace.LegB:
		from = "Mallory"
	}
	if e.Dir == wire.ServerToClient {
		from, to = to, from
	}
	return from, to
}

// finalSender and finalReceiver name the victims at the ends of a direction.
func finalSender(d wire.Direction) string {
	if d == wire.ServerToClient {
		return "Bob"
	}
	return "Alice"
}

func finalReceiver(d wire.Direction) string {
	if d == wire.ServerToClient {
		return "Alice"
	}
	return "Bob"
}

// pronoun is how the lab's sentences refer to a victim again.
func pronoun(victim string) string {
	if victim == "Alice" {
		return "she"
	}
	return "he"
}
