package trace_test

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"

	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// TestLogOrdersConcurrentEvents checks that events added from many
// goroutines get distinct indexes 0..n-1, in the order the callback sees
// them.
func TestLogOrdersConcurrentEvents(t *testing.T) {
	t.Parallel()
	var seen []int
	log := trace.NewLog(func(e trace.Event) { seen = append(seen, e.Index) })
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Add(trace.Event{Leg: trace.LegA})
		}()
	}
	wg.Wait()
	events := log.Events()
	if len(events) != 50 || len(seen) != 50 {
		t.Fatalf("%d events, %d callbacks; want 50 each", len(events), len(seen))
	}
	for i, e := range events {
		if e.Index != i || seen[i] != i {
			t.Fatalf("event %d has index %d, callback saw %d", i, e.Index, seen[i])
		}
	}
	events[0].Leg = trace.LegB
	if log.Events()[0].Leg != trace.LegA {
		t.Error("Events returned the log's own slice")
	}
}

// TestFrameJSONRoundTrip checks that the JSON form of an event, as the
// CLI prints it and an attacker process streams it, keeps every field the
// run view needs, the raw bytes included.
func TestFrameJSONRoundTrip(t *testing.T) {
	t.Parallel()
	seq := uint64(7)
	in := trace.Event{
		Index: 3, Conn: 2, Leg: trace.LegB, Dir: wire.ServerToClient, Type: "data", Size: 5,
		Verdict: trace.Read, Seq: &seq, Recovered: []byte("héllo"), Note: "n", Raw: []byte(`{"x":1}`),
	}
	b, err := json.Marshal(trace.NewFrameJSON(in))
	if err != nil {
		t.Fatal(err)
	}
	var f trace.FrameJSON
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Type != "frame" || f.RecoveredText == nil || *f.RecoveredText != "héllo" {
		t.Errorf("frame line %s", b)
	}
	out := f.ToEvent()
	if out.Index != in.Index || out.Conn != in.Conn || out.Leg != in.Leg || out.Dir != in.Dir ||
		out.Type != in.Type || out.Size != in.Size || out.Verdict != in.Verdict || *out.Seq != seq ||
		!bytes.Equal(out.Recovered, in.Recovered) || out.Note != in.Note || !bytes.Equal(out.Raw, in.Raw) {
		t.Errorf("round trip changed the event:\n in %+v\nout %+v", in, out)
	}
	// Recovered bytes that are not UTF-8 have no text form.
	f = trace.NewFrameJSON(trace.Event{Recovered: []byte{0xff, 0xfe}})
	if f.RecoveredText != nil {
		t.Errorf("recovered_text %q for bytes that are not UTF-8", *f.RecoveredText)
	}
}

// TestBoundedLogKeepsTheNewest checks the bounded log as a ring: it never
// holds more than max events, Events returns the newest in order at
// every fill level, and the counters still count every event.
func TestBoundedLogKeepsTheNewest(t *testing.T) {
	t.Parallel()
	const max = 100
	log := trace.NewBoundedLog(max, nil)
	for n := 1; n <= 5*max+7; n++ {
		log.Add(trace.Event{Verdict: trace.Opaque})
		ev := log.Events()
		want := min(n, max)
		if len(ev) != want {
			t.Fatalf("after %d events the log holds %d, want %d", n, len(ev), want)
		}
		for i, e := range ev {
			if e.Index != n-want+i {
				t.Fatalf("after %d events, event %d has index %d, want %d", n, i, e.Index, n-want+i)
			}
		}
	}
	if got := log.Counts()[trace.Opaque]; got != 5*max+7 {
		t.Errorf("counted %d opaque events, want %d", got, 5*max+7)
	}
	if log.Len() != 5*max+7 {
		t.Errorf("Len %d, want %d", log.Len(), 5*max+7)
	}
}
