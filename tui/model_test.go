package tui

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// These tests call Update directly. pump plays the part of tea.Program:
// it runs each command that comes back, one at a time and in order, and
// feeds its message in, until there is none left. A run's command runs
// the whole scenario before its events are read, which the stream's
// buffer allows for runs this size.

func instantTick(_ time.Duration, fn func(time.Time) tea.Msg) tea.Cmd {
	return func() tea.Msg { return fn(time.Time{}) }
}

func pump(t *testing.T, m *Model, msgs ...tea.Msg) *Model {
	t.Helper()
	queue := append([]tea.Msg(nil), msgs...)
	for n := 0; len(queue) > 0; n++ {
		if n > 1_000_000 {
			t.Fatal("pump: the model never settles")
		}
		msg := queue[0]
		queue = queue[1:]
		switch msg := msg.(type) {
		case nil:
		case tea.BatchMsg:
			for _, c := range msg {
				if c != nil {
					queue = append(queue, c())
				}
			}
		default:
			next, cmd := m.Update(msg)
			m = next.(*Model)
			if cmd != nil {
				queue = append(queue, cmd())
			}
		}
	}
	return m
}

// open returns the lab at w×h with scenario name's run pumped to its end.
func open(t *testing.T, o Options, w, h int) *Model {
	t.Helper()
	if o.Tick == nil {
		o.Tick = instantTick
	}
	m := New(o)
	t.Cleanup(m.Close)
	m = pump(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	if cmd := m.Init(); cmd != nil {
		m = pump(t, m, cmd())
	}
	return m
}

func keys(ks ...string) []tea.Msg {
	var out []tea.Msg
	for _, k := range ks {
		out = append(out, press(k))
	}
	return out
}

func shown(m *Model) []trace.Event {
	var out []trace.Event
	for _, i := range m.run.visible {
		out = append(out, m.run.frames[i])
	}
	return out
}

func TestStepShowsOneFrameAtATime(t *testing.T) {
	t.Parallel()
	events, _ := mitmFixture(t)
	n := len(events)
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, 80, 24)
	if !m.run.finished || len(m.run.frames) != n {
		t.Fatalf("fixture run: finished=%v frames=%d", m.run.finished, len(m.run.frames))
	}
	if m.run.revealed != 0 || strings.Contains(screen(m), "client_hello") {
		t.Fatalf("a run starts with no frame shown:\n%s", screen(m))
	}
	for i := 1; i <= n; i++ {
		m = pump(t, m, keys("space")...)
		if m.run.revealed != i {
			t.Fatalf("after %d steps %d frames shown", i, m.run.revealed)
		}
		if got := shown(m)[m.run.cursor].Index; got != i-1 {
			t.Fatalf("step %d selected frame %d, want the new one", i, got)
		}
		summary := "attacker read 2/2 messages"
		if got := strings.Contains(screen(m), summary); got != (i == n) {
			t.Fatalf("after %d of %d steps, summary shown = %v", i, n, got)
		}
	}
	m = pump(t, m, keys("space")...)
	if m.run.revealed != n {
		t.Fatalf("stepping past the end showed %d frames", m.run.revealed)
	}
}

func TestPlayRunsToTheEndAndStops(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, 80, 24)
	m = pump(t, m, keys("p")...)
	if !m.run.atEnd() || m.run.playing {
		t.Fatalf("after play: revealed %d of %d, playing=%v", m.run.revealed, len(m.run.frames), m.run.playing)
	}
	if !strings.Contains(screen(m), "end of run") {
		t.Errorf("status does not say the run ended:\n%s", screen(m))
	}
}

func TestStaleTicksAreIgnored(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, 80, 24)
	next, _ := m.Update(press("p")) // playing, generation 1; its tick is dropped
	m = next.(*Model)
	m = pump(t, m, keys("p", "p")...) // pause, play again: generation 2 plays to the end
	before := m.run.revealed
	m = pump(t, m, tickMsg{run: m.run.run, gen: 1})
	if m.run.revealed != before {
		t.Errorf("a stale tick revealed a frame")
	}
}

func TestSpeedKeysStayInRange(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, 80, 24)
	for range 20 {
		m = pump(t, m, keys("+")...)
	}
	if m.run.speed != len(speeds)-1 || !strings.Contains(screen(m), speeds[len(speeds)-1].label) {
		t.Errorf("fastest speed %d, status:\n%s", m.run.speed, screen(m))
	}
	for range 20 {
		m = pump(t, m, keys("-")...)
	}
	if m.run.speed != 0 {
		t.Errorf("slowest speed %d", m.run.speed)
	}
}

// longRun is a runner that sends n data frames, alternately on legs A
// and B.
func longRun(n int) Runner {
	return func(ctx context.Context, name string, opts *scenarios.Options) (*scenarios.Outcome, error) {
		for i := range n {
			leg := trace.LegA
			if i%2 == 1 {
				leg = trace.LegB
			}
			opts.OnEvent(trace.Event{Index: i, Leg: leg, Dir: wire.ClientToServer, Type: "data", Size: 79, Verdict: trace.Read, Seq: seq(uint64(i / 2)), Recovered: []byte(fmt.Sprintf("message %d", i/2))})
		}
		return &scenarios.Outcome{Scenario: name, Attack: "double-ecdh"}, ctx.Err()
	}
}

func TestNewFramesDoNotMoveAPersonReadingAbove(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: longRun(200)}, 80, 24)
	for range 50 {
		m = pump(t, m, keys("space")...)
	}
	if m.run.cursor != 49 || m.run.offset == 0 {
		t.Fatalf("at the tail the list follows: cursor %d offset %d", m.run.cursor, m.run.offset)
	}
	m = pump(t, m, keys("up", "up", "up")...)
	cursor, offset := m.run.cursor, m.run.offset
	top := strings.Split(screen(m), "\n")[3]
	for range 20 {
		m = pump(t, m, keys("space")...)
	}
	if m.run.cursor != cursor || m.run.offset != offset {
		t.Errorf("reading above the tail: cursor %d→%d, offset %d→%d", cursor, m.run.cursor, offset, m.run.offset)
	}
	if got := strings.Split(screen(m), "\n")[3]; got != top {
		t.Errorf("the top row moved: %q → %q", top, got)
	}
	m = pump(t, m, keys("G", "space")...)
	if m.run.cursor != len(m.run.visible)-1 || m.run.revealed != 71 {
		t.Errorf("back at the tail, the list follows again: cursor %d of %d", m.run.cursor, len(m.run.visible))
	}
}

func TestMouseWheelScrolls(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: longRun(100)}, 80, 24)
	m = pump(t, m, keys("e")...)
	at := m.run.cursor
	m = pump(t, m, tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	if m.run.cursor != at-3 {
		t.Errorf("wheel up: cursor %d → %d", at, m.run.cursor)
	}
	m = pump(t, m, tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if m.run.cursor != at {
		t.Errorf("wheel down: cursor %d, want %d", m.run.cursor, at)
	}
}

func TestClearHidesShownFramesOnly(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, 80, 24)
	m = pump(t, m, keys("space", "space", "space", "c")...)
	if len(shown(m)) != 0 || !strings.Contains(screen(m), "cleared") {
		t.Fatalf("after c: %d rows\n%s", len(shown(m)), screen(m))
	}
	m = pump(t, m, keys("space")...)
	if rows := shown(m); len(rows) != 1 || rows[0].Index != 3 {
		t.Fatalf("after c and a step, rows = %v", rows)
	}
	m = pump(t, m, keys("l")...) // refiltering keeps the cleared frames cleared
	for _, e := range shown(m) {
		if e.Index < 3 {
			t.Errorf("cleared frame %d came back", e.Index)
		}
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	events, _ := mitmFixture(t)
	var legA, legARead int
	for _, e := range events {
		if e.Leg == trace.LegA {
			legA++
			if e.Verdict == trace.Read {
				legARead++
			}
		}
	}
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, 80, 24)
	m = pump(t, m, keys("e")...)
	m = pump(t, m, keys("l")...) // leg A
	for _, e := range shown(m) {
		if e.Leg != trace.LegA {
			t.Errorf("leg filter A shows frame %d on leg %s", e.Index, e.Leg)
		}
	}
	if len(shown(m)) != legA {
		t.Errorf("leg A has %d frames, %d shown", legA, len(shown(m)))
	}
	m = pump(t, m, keys("v")...) // and READ
	rows := shown(m)
	if len(rows) != legARead {
		t.Fatalf("leg A and READ: %d rows, want %d", len(rows), legARead)
	}
	for _, e := range rows {
		if e.Verdict != trace.Read || e.Leg != trace.LegA {
			t.Errorf("leg A and READ shows frame %d: %s on leg %s", e.Index, e.Verdict, e.Leg)
		}
	}
	if !strings.Contains(screen(m), "only leg A, READ") {
		t.Errorf("the status does not name the filters:\n%s", screen(m))
	}
	for range len(legFilters) - 1 {
		m = pump(t, m, keys("l")...)
	}
	for range len(verdictFilters) - 1 {
		m = pump(t, m, keys("v")...)
	}
	if len(shown(m)) != len(events) {
		t.Errorf("filters cycled back to all: %d rows", len(shown(m)))
	}
}

// TestVerdictFilterOffersEveryVerdict: v cycles through every verdict the
// trace knows, each once, then back to all.
func TestVerdictFilterOffersEveryVerdict(t *testing.T) {
	t.Parallel()
	if verdictFilters[0] != "" {
		t.Errorf("the first filter is %q, want all", verdictFilters[0])
	}
	if got, want := verdictFilters[1:], trace.Verdicts(); !slices.Equal(got, want) {
		t.Errorf("verdict filters %v, want %v", got, want)
	}
}

// TestDetailPane checks each part of the pane against the fixture's bytes.
func TestDetailPane(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, 120, 60)
	m = pump(t, m, keys("e", "home", "down")...) // frame 1: Mallory's server_hello to Alice
	s := screen(m)
	for _, want := range []string{
		"frame 1 · leg A · Mallory → Alice · server_hello",
		"SUBSTITUTED",
		"key_share e1e1e1e1e1e1… (32 bytes)  ≠ leg B, where Bob sent b1b1b1b1b1b1… (32 bytes)",
		`"key_share": "4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eE="`,
		"0000  7b 22 74 79 70 65 22 3a 22 73 65 72 76 65 72 5f  {\"type\":\"server_",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("detail lacks %q:\n%s", want, s)
		}
	}
	m = pump(t, m, keys("home")...) // Alice's client_hello: Mallory sends Bob his own on leg B
	if s := screen(m); !strings.Contains(s, "≠ leg B, where Mallory sent") {
		t.Errorf("Alice's client_hello should differ from what Mallory sent Bob:\n%s", s)
	}
}

func TestDetailSaysPendingUntilTheOutcome(t *testing.T) {
	t.Parallel()
	events, o := mitmFixture(t)
	m := New(Options{Runner: replay(t)})
	m = pump(t, m, tea.WindowSizeMsg{Width: 100, Height: 40})
	m.view = runView
	m.run.reset(7, scenarios.Scenario{Name: "unauth-ecdh"}, startRunMsg{})
	for _, e := range events[:5] {
		m.run, _ = m.run.Update(frameMsg{run: 7, event: e})
	}
	m.run, _ = m.run.Update(press("e"))
	if s := screen(m); !strings.Contains(s, "receiver  pending: the run is still going") {
		t.Fatalf("before the outcome:\n%s", s)
	}
	m.run, _ = m.run.Update(runDoneMsg{run: 7, outcome: o})
	m.run, _ = m.run.Update(press("L")) // the lesson card gives way to the frame
	if s := screen(m); !strings.Contains(s, `receiver  Bob accepted "my card PIN is 4921", just what Alice sent`) {
		t.Fatalf("after the outcome:\n%s", s)
	}
}

func TestStaleRunMessagesAreIgnored(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, 80, 24)
	n := len(m.run.frames)
	m = pump(t, m, frameMsg{run: m.run.run - 1, event: trace.Event{Type: "data"}}, runDoneMsg{run: 99, err: context.Canceled})
	if len(m.run.frames) != n || m.run.err != nil {
		t.Errorf("another run's messages changed this one")
	}
}

// Real runs from here on: the attacker switch and Alice's typed message
// are checked against what the nodes really did.

func TestAttackerToggleReRuns(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh"}, 100, 30)
	m = pump(t, m, keys("a")...)
	if !m.run.noAttacker || m.run.outcome == nil || m.run.outcome.Attack != "" {
		t.Fatalf("after a: noAttacker=%v outcome=%+v", m.run.noAttacker, m.run.outcome)
	}
	m = pump(t, m, keys("e")...)
	for _, e := range m.run.frames {
		if e.Leg != trace.LegWire {
			t.Errorf("with the attacker off, frame %d crossed leg %s", e.Index, e.Leg)
		}
		if e.Type == "data" && e.Verdict != trace.Opaque {
			t.Errorf("with the attacker off, data frame %d is %s", e.Index, e.Verdict)
		}
	}
	if s := screen(m); !strings.Contains(s, "no attacker; an eavesdropper read 0/6 messages") || !strings.Contains(s, "attacker off") {
		t.Errorf("screen:\n%s", s)
	}
	m = pump(t, m, keys("a", "e")...)
	if m.run.noAttacker || m.run.outcome.AttackerRead() != 6 {
		t.Errorf("attacker back on: read %d", m.run.outcome.AttackerRead())
	}
}

func TestTypedMessageCrosses(t *testing.T) {
	t.Parallel()
	const secret = "my password is hunter2"
	m := open(t, Options{Scenario: "unauth-ecdh"}, 100, 30)
	msgs := keys("m")
	for _, k := range typed(secret) {
		msgs = append(msgs, k)
	}
	m = pump(t, m, msgs...)
	if !m.run.typing() || !strings.Contains(screen(m), "Alice says: "+secret) {
		t.Fatalf("typing:\n%s", screen(m))
	}
	m = pump(t, m, keys("enter")...)
	m = pump(t, m, keys("e")...)
	var read []byte
	for _, e := range m.run.frames {
		if e.Verdict == trace.Read && e.Leg == trace.LegA && e.Dir == wire.ClientToServer && e.Type == string(wire.TypeData) {
			read = e.Recovered
		}
	}
	if !bytes.Equal(read, []byte(secret)) {
		t.Errorf("Mallory read %q on leg A, Alice typed %q", read, secret)
	}
	if got := m.run.outcome.Messages[0].Accepted; !bytes.Equal(got, []byte(secret)) {
		t.Errorf("Bob accepted %q", got)
	}
	if s := screen(m); !strings.Contains(s, `"my password is hunter2"`) {
		t.Errorf("the typed message is not on screen:\n%s", s)
	}
	// q types while typing; esc stops typing without a run.
	runs := m.runs
	m = pump(t, m, keys("m", "q", "esc")...)
	if m.runs != runs || m.run.typing() {
		t.Errorf("esc should cancel: runs %d→%d typing=%v", runs, m.runs, m.run.typing())
	}
}

func TestNextAndPreviousScenario(t *testing.T) {
	t.Parallel()
	names := scenarios.Names()
	m := open(t, Options{Scenario: names[0], Runner: replay(t)}, 80, 24)
	m = pump(t, m, keys("n")...)
	if m.run.sc.Name != names[1] {
		t.Errorf("n: %s, want %s", m.run.sc.Name, names[1])
	}
	m = pump(t, m, keys("N", "N")...)
	if m.run.sc.Name != names[len(names)-1] {
		t.Errorf("N twice from the second: %s, want %s", m.run.sc.Name, names[len(names)-1])
	}
}

func TestPickerRevealsExpectAfterARun(t *testing.T) {
	t.Parallel()
	m := New(Options{Tick: instantTick})
	t.Cleanup(m.Close)
	m = pump(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	sc := scenarios.Catalogue()[1]
	if strings.Contains(screen(m), sc.Expect) {
		t.Fatal("expected outcome shown before any run")
	}
	m = pump(t, m, keys("down", "enter")...)
	if m.view != runView || m.run.sc.Name != sc.Name {
		t.Fatalf("enter did not open %s", sc.Name)
	}
	m = pump(t, m, keys("esc")...)
	if strings.Contains(screen(m), sc.Expect) {
		t.Error("expected outcome shown after a run that was not followed to its end")
	}
	m = pump(t, m, keys("enter")...)
	m = pump(t, m, keys("e", "esc")...)
	if !strings.Contains(screen(m), "outcome: "+sc.Expect) {
		t.Errorf("the picker hides the outcome of a scenario run to its end:\n%s", screen(m))
	}
	// The last scenario scrolls into view.
	for range scenarios.Catalogue() {
		m = pump(t, m, keys("down")...)
	}
	last := scenarios.Catalogue()[len(scenarios.Catalogue())-1]
	if !strings.Contains(screen(m), "▸ "+fmt.Sprint(len(scenarios.Catalogue()))+". "+last.Name) {
		t.Errorf("the last scenario is not selected on screen:\n%s", screen(m))
	}
}

// TestPickerGroupsByTopic lists thirty scenarios in four topics: each
// topic has one heading, above its own scenarios only, and the selected
// scenario is on screen, under the heading of its topic, wherever the
// cursor goes.
func TestPickerGroupsByTopic(t *testing.T) {
	t.Parallel()
	base := scenarios.Catalogue()
	topics := []string{scenarios.TopicCore, scenarios.TopicNearMiss, scenarios.TopicTLS, scenarios.TopicIntegrity}
	var cat []scenarios.Scenario
	for i := range 30 {
		sc := base[i%len(base)]
		sc.Name = fmt.Sprintf("scenario-%02d", i+1)
		sc.Topic = topics[i*len(topics)/30]
		cat = append(cat, sc)
	}
	m := New(Options{Catalogue: cat, Tick: instantTick})
	t.Cleanup(m.Close)
	m = pump(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})

	// The layout: four headings, each followed by its topic's scenarios.
	lines := m.picker.list()
	var headings []string
	for i, l := range lines {
		if l.item >= 0 {
			if cat[l.item].Topic != headings[len(headings)-1] {
				t.Errorf("line %d: %s under the heading %q", i, cat[l.item].Name, headings[len(headings)-1])
			}
			continue
		}
		headings = append(headings, l.topic)
	}
	if !slices.Equal(headings, topics) {
		t.Errorf("headings %q, want %q", headings, topics)
	}

	for i := range cat {
		s := screen(m)
		rows := strings.Split(s, "\n")
		if len(rows) != 24 {
			t.Fatalf("at %s: %d lines", cat[i].Name, len(rows))
		}
		at := slices.IndexFunc(rows, func(r string) bool { return strings.Contains(r, "▸ ") && strings.Contains(r, cat[i].Name) })
		if at < 0 {
			t.Fatalf("%s is selected but not on screen:\n%s", cat[i].Name, s)
		}
		// The nearest heading above the selection is its topic's.
		heading := ""
		for j := at - 1; j >= 0 && heading == ""; j-- {
			if slices.Contains(topics, rows[j]) {
				heading = rows[j]
			}
		}
		if heading != cat[i].Topic {
			t.Fatalf("%s shows under %q, want %q:\n%s", cat[i].Name, heading, cat[i].Topic, s)
		}
		m = pump(t, m, keys("down")...)
	}
	if m.picker.cursor != len(cat)-1 {
		t.Errorf("down past the end: cursor %d", m.picker.cursor)
	}
	m = pump(t, m, keys("enter")...)
	if m.view != runView || m.run.sc.Name != cat[len(cat)-1].Name {
		t.Errorf("enter ran %q, want %q", m.run.sc.Name, cat[len(cat)-1].Name)
	}
}

func TestHelpScreenListsEveryKey(t *testing.T) {
	t.Parallel()
	m := open(t, Options{}, 80, 24)
	m = pump(t, m, keys("?")...)
	s := helpPages(t, m)
	for _, v := range trace.Verdicts() {
		if !strings.Contains(s, badgeText(v)+"  "+verdictMeaning(v)[:20]) {
			t.Errorf("the help's legend lacks %s", v)
		}
	}
	for _, l := range legs() {
		if !strings.Contains(s, l.leg) {
			t.Errorf("the help's legend lacks %s", l.leg)
		}
	}
	for _, g := range m.KeyMap.Groups() {
		for _, b := range g.Bindings {
			if !strings.Contains(s, b.Help().Desc) {
				t.Errorf("help screen lacks %q", b.Help().Desc)
			}
		}
	}
	m = pump(t, m, keys("esc")...)
	if m.showHelp {
		t.Error("esc did not close the help")
	}
}

// helpPages pages through the help screen with pgdown and returns every
// page's text.
func helpPages(t *testing.T, m *Model) string {
	t.Helper()
	var pages []string
	for range 20 {
		s := screen(m)
		if len(pages) > 0 && pages[len(pages)-1] == s {
			return strings.Join(pages, "\n")
		}
		pages = append(pages, s)
		m = pump(t, m, tea.KeyPressMsg{Code: tea.KeyPgDown})
	}
	t.Fatal("the help never reaches its end")
	return ""
}

// TestSizes checks every view at 80×24 and smaller: exactly the
// terminal's height, no line wider than it, and no panic.
func TestSizes(t *testing.T) {
	t.Parallel()
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 16}, {30, 8}, {10, 3}, {1, 1}} {
		w, h := size[0], size[1]
		m := open(t, Options{Scenario: "pinned-ecdh"}, w, h)
		for _, step := range [][]string{nil, {"space", "space"}, {"e"}, {"d"}, {"m"}, {"esc", "esc"}, {"?"}} {
			m = pump(t, m, keys(step...)...)
			lines := strings.Split(m.View().Content, "\n")
			if len(lines) != h {
				t.Errorf("%dx%d after %v: %d lines", w, h, step, len(lines))
			}
			for i, l := range lines {
				if lw := ansi.StringWidth(l); lw > w {
					t.Errorf("%dx%d after %v: line %d is %d wide: %q", w, h, step, i, lw, ansi.Strip(l))
				}
			}
		}
	}
}

func TestQuitStopsTheRun(t *testing.T) {
	t.Parallel()
	started, ended := make(chan struct{}), make(chan error, 1)
	hang := func(ctx context.Context, name string, opts *scenarios.Options) (*scenarios.Outcome, error) {
		close(started)
		<-ctx.Done()
		ended <- ctx.Err()
		return nil, ctx.Err()
	}
	m := New(Options{Scenario: "unauth-ecdh", Runner: hang, Theme: ThemeDark})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	next, cmd := next.Update(m.Init()())
	batch := cmd().(tea.BatchMsg)
	go batch[0]() // the run, as tea.Program would start it
	<-started
	next, cmd = next.Update(press("q"))
	if cmd == nil {
		t.Fatal("q returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q does not quit")
	}
	select {
	case err := <-ended:
		if err != context.Canceled {
			t.Errorf("run ended with %v", err)
		}
	default:
		t.Error("q returned before the run ended")
	}
	// The reader sees the closed stream and ends.
	if msg := batch[1](); msg != nil {
		t.Errorf("reader after stop got %T", msg)
	}
	next.(*Model).Close() // stopping twice is safe
}

func TestStopBeforeTheRunStarted(t *testing.T) {
	t.Parallel()
	m := New(Options{Scenario: "unauth-ecdh", Runner: replay(t), Theme: ThemeDark})
	next, cmd := m.Update(m.Init()())
	if cmd == nil {
		t.Fatal("no command")
	}
	next.(*Model).Close() // the program ended before running the command
	batch := cmd().(tea.BatchMsg)
	if msg := batch[0](); msg != nil {
		t.Errorf("an abandoned run started: %T", msg)
	}
	if msg := batch[1](); msg != nil {
		t.Errorf("an abandoned run's reader got %T", msg)
	}
}

func TestBadgesCarryWords(t *testing.T) {
	t.Parallel()
	st := DefaultStyles()
	for _, v := range trace.Verdicts() {
		word := strings.ToUpper(string(v))
		if got := ansi.Strip(st.badge(v)); strings.TrimSpace(got) != word || len(got) != badgeWidth {
			t.Errorf("badge for %s reads %q", v, got)
		}
		if _, ok := st.Badge[v]; !ok {
			t.Errorf("no badge style for %s", v)
		}
		if _, ok := st.Text[v]; !ok {
			t.Errorf("no text style for %s", v)
		}
	}
	for colour, vs := range map[string][]trace.Verdict{
		"38;2;255;95;95":   {trace.Read},                                    // red
		"38;2;95;215;95":   {trace.Opaque},                                  // green
		"38;2;255;175;0":   {trace.Forged, trace.Substituted},               // amber
		"38;2;95;215;215":  {trace.Intercepted},                             // cyan
		"38;2;255;95;215":  {trace.Tampered, trace.Replayed, trace.Dropped}, // magenta
		"38;2;175;135;255": {trace.Blocked},                                 // purple
	} {
		for _, v := range vs {
			if !strings.Contains(st.badge(v), colour) {
				t.Errorf("%s is not %s: %q", v, colour, st.badge(v))
			}
		}
	}
}

// TestControlCharactersNeverReachTheTerminal feeds a frame whose
// recovered text and note hold escape sequences.
func TestControlCharactersNeverReachTheTerminal(t *testing.T) {
	t.Parallel()
	evil := "\x1b[2J\x1b]0;pwned\x07"
	runner := func(ctx context.Context, name string, opts *scenarios.Options) (*scenarios.Outcome, error) {
		opts.OnEvent(trace.Event{Leg: trace.LegA, Dir: wire.ClientToServer, Type: "data", Verdict: trace.Read, Seq: seq(0), Recovered: []byte(evil), Note: evil, Raw: []byte(`{"type":"data","seq":0,"ct":"` + "\u009b" + `"}`)})
		return &scenarios.Outcome{}, nil
	}
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: runner}, 100, 30)
	m = pump(t, m, keys("e")...)
	if s := ansi.Strip(m.View().Content); strings.ContainsAny(s, "\x1b\x07\u009b") {
		t.Errorf("a control character reached the screen: %q", s)
	}
}

// TestEveryScenario runs each scenario in the catalogue for real, shows
// every frame, selects each in turn and checks the screen: the right size,
// a summary that is the outcome's own, and a detail pane for the frame
// that tells the truth about its verdict (see checkAttackerLine).
func TestEveryScenario(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios.Catalogue() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			m := open(t, Options{Scenario: sc.Name}, 80, 24)
			if m.run.err != nil {
				t.Fatalf("run: %v", m.run.err)
			}
			m = pump(t, m, keys("e", "home")...)
			if s := screen(m); !strings.Contains(strings.Join(strings.Fields(s), " "), m.run.outcome.Summary()) {
				t.Errorf("the summary bar does not carry the outcome's summary %q:\n%s", m.run.outcome.Summary(), s)
			}
			for i := range m.run.visible {
				if i > 0 {
					m = pump(t, m, keys("down")...)
				}
				e := m.run.frames[m.run.visible[m.run.cursor]]
				s := m.View().Content
				lines := strings.Split(s, "\n")
				if len(lines) != 24 {
					t.Fatalf("frame %d: %d lines", e.Index, len(lines))
				}
				for _, l := range lines {
					if ansi.StringWidth(l) > 80 {
						t.Fatalf("frame %d: a line is %d wide", e.Index, ansi.StringWidth(l))
					}
				}
				if head := fmt.Sprintf("── frame %d · leg %s ·", e.Index, e.Leg); !strings.Contains(ansi.Strip(s), head) {
					t.Fatalf("no detail pane for frame %d:\n%s", e.Index, ansi.Strip(s))
				}
				checkAttackerLine(t, m, e)
			}
		})
	}
}

// checkAttackerLine holds the detail pane of e to its verdict's one
// meaning: its badge is the verdict's; a frame Mallory made, changed, kept
// or withheld never reads as public or relayed unchanged; READ always says
// what he recovered, and never shows an empty quote.
func checkAttackerLine(t *testing.T, m *Model, e trace.Event) {
	t.Helper()
	d := detail{st: m.Styles, frames: m.run.frames, at: m.run.visible[m.run.cursor], e: e, outcome: m.run.outcome, noAttacker: m.run.noAttacker, width: 200, codec: m.run.codec}
	pane := ansi.Strip(strings.Join(d.lines(), "\n"))
	line := ""
	for _, l := range strings.Split(pane, "\n") {
		if strings.HasPrefix(l, "attacker  ") {
			line = strings.TrimPrefix(l, "attacker  ")
		}
	}
	word := strings.ToUpper(string(e.Verdict))
	if !strings.HasPrefix(line, word+"  ") {
		t.Fatalf("frame %d is %s, but the pane says %q", e.Index, e.Verdict, line)
	}
	if e.Verdict != trace.Public && (strings.Contains(pane, "relayed unchanged") || strings.Contains(line, "PUBLIC")) {
		t.Fatalf("frame %d is %s, but the pane calls it public or relayed unchanged:\n%s", e.Index, e.Verdict, pane)
	}
	if strings.Contains(pane, `read ""`) {
		t.Fatalf("frame %d: the pane says read \"\":\n%s", e.Index, pane)
	}
	if e.Verdict != trace.Read {
		return
	}
	switch kindOf(e, m.run.codec) {
	case kindRecord:
		if len(e.Recovered) > 0 && !strings.Contains(line, quote(e.Recovered)) {
			t.Fatalf("frame %d: READ without what was read: %q", e.Index, line)
		}
	case kindEnd:
		if !strings.Contains(line, "end record: "+pronoun(finalSender(e.Dir))+" has nothing more to send") {
			t.Fatalf("frame %d: an end record READ says %q", e.Index, line)
		}
	case kindHandshake:
		if want := "Mallory unwrapped the session secret: " + hex.EncodeToString(e.Recovered); len(e.Recovered) == 0 || !strings.Contains(line, want) {
			t.Fatalf("frame %d: a secret READ says %q, want %q", e.Index, line, want)
		}
	case kindTLS:
		if !strings.Contains(pane, "content   ") {
			t.Fatalf("frame %d: a TLS record READ shows no content:\n%s", e.Index, pane)
		}
	}
}

// TestLiveViewKeepsItsHandsOff checks the view of a live attacker process
// (mitmlab tui --attach): the keys that would change the scenario do
// nothing, since the lab cannot switch a separate process, and the summary
// says the stream is live instead of a verdict.
func TestLiveViewKeepsItsHandsOff(t *testing.T) {
	t.Parallel()
	seq := uint64(0)
	live := func(ctx context.Context, _ string, o *scenarios.Options) (*scenarios.Outcome, error) {
		o.OnEvent(trace.Event{Index: 0, Leg: trace.LegA, Dir: "c2s", Type: "data", Size: 79, Verdict: trace.Read, Seq: &seq, Recovered: []byte("my card PIN is 4921")})
		return nil, errors.New("closed by the attacker")
	}
	sc := AttachedScenario("ws://127.0.0.1:9443/events")
	m := open(t, Options{Scenario: sc.Name, Catalogue: []scenarios.Scenario{sc}, Runner: live, Live: true}, 100, 30)
	runs := m.runs
	m = pump(t, m, keys("a", "m", "n", "N")...)
	if m.run.noAttacker || m.run.typing() || m.runs != runs {
		t.Errorf("after a, m, n, N: noAttacker=%v typing=%v runs=%d (was %d); want nothing changed", m.run.noAttacker, m.run.typing(), m.runs, runs)
	}
	s := screen(m)
	if !strings.Contains(s, `READ`) || !strings.Contains(s, "my card PIN is 4921") {
		t.Errorf("live frame not shown:\n%s", s)
	}
	if !strings.Contains(s, "the attacker process's stream ended") || strings.Contains(s, "type as Alice") || strings.Contains(s, "attacker on/off") {
		t.Errorf("live view's summary or help is wrong:\n%s", s)
	}
}
