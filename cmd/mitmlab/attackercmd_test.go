package main

import (
	"testing"

	"github.com/mitmlab/mitmlab/trace"
)

// TestLedgerSummaryCountsEvery checks the attacker's last line against a
// ledger that kept only its newest events: the counts are of every event
// ever relayed, not of those still in memory.
func TestLedgerSummaryCountsEvery(t *testing.T) {
	t.Parallel()
	log := trace.NewBoundedLog(3, nil)
	for range 40 {
		log.Add(trace.Event{Verdict: trace.Opaque})
	}
	for range 2 {
		log.Add(trace.Event{Verdict: trace.Dropped})
	}
	if n := len(log.Events()); n > 3 {
		t.Fatalf("the bounded ledger holds %d events, want at most 3", n)
	}
	const want = "1 connection relayed; frames: 2 dropped, 40 opaque"
	if got := ledgerSummary(log, 1); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got := ledgerSummary(trace.NewLog(nil), 0); got != "0 connections relayed; frames: no frames" {
		t.Errorf("empty summary %q", got)
	}
}
