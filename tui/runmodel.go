package tui

import (
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// runModel is the run view: a live sequence diagram of one run, a frame at
// a time, with the selected frame's detail below.
//
// Frames arrive as fast as the lab makes them and are buffered in frames;
// only frames[:revealed] are shown, one more for each step or tick. visible
// lists, in order, the shown frames that pass the filters; only the rows on
// screen are rendered, so a long log costs nothing per keypress.
//
// The view's parts live in their own files: the key table (runkeys.go),
// playback (playback.go), the frame list and its filters (framelist.go),
// switching scenario (runswitch.go), typing as Alice (typing.go), the
// layout (layout.go), the screen (runview.go, rows.go) and the detail pane
// (detail.go).
type runModel struct {
	Common
	run        int // the run's number; messages of other runs are stale
	sc         scenarios.Scenario
	codec      *wire.Codec // the messages the run's frames can be
	noAttacker bool
	messages   []string // Alice's typed script, or nil for the default
	attack     string   // the attack chosen with A, or "" for the scenario's own
	intercept  bool     // Mallory holds each record for the person (i)
	byHand     bool     // this run started with intercept on

	frames   []trace.Event
	revealed int  // frames[:revealed] are shown
	cleared  int  // frames[:cleared] were cleared with c
	toEnd    bool // reveal frames as soon as they arrive
	live     bool // a live attacker process: no verdict, nothing to re-run differently
	outcome  *scenarios.Outcome
	err      error
	finished bool   // the run has ended, with an outcome or an error
	progress string // the latest progress report of a long attack

	held     *holdMsg // the record Mallory holds for the person, or nil
	heldNote string   // what the person did with the last one
	notice   string   // a line for the person: what x wrote, why a key did nothing

	card      bool // the lesson card fills the detail pane
	cardShown bool // it has been shown once this run
	tally     bool // the tally per student fills the screen (attached)

	detailOff int // the first line of the full-height detail on screen
	detailAt  int // the frame detailOff was scrolled for

	connW int // the width of the connection column, 0 for none (see rows.go)

	playing bool
	speed   int
	gen     int

	visible []int // positions in frames of the rows that can be shown
	cursor  int   // the selected row, an index into visible
	offset  int   // the first row on screen

	leg     int // index into legFilters
	verdict int // index into verdictFilters
	zoom    bool

	summaryHeight int        // lines of the summary bar, set by relayout
	summaryFor    summaryKey // what summaryHeight was computed for

	req request // for the lab to act on

	catalogue []scenarios.Scenario // what n and N step through

	keys      []runKey // the key table, from KeyMap
	prompt    prompt   // what the text input is for, if anything
	exportDir string   // where x writes
	input     textinput.Model
	help      help.Model
	ticker    func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
}

// codecFor returns a codec for the frames of sc's runs: its scheme's
// messages, or, for a live attacker process that could speak any scheme,
// every catalogue scheme's. A scheme whose messages clash with those
// already known is left out, so its frames show as undecoded.
func codecFor(sc scenarios.Scenario) *wire.Codec {
	schemes := scenarios.Schemes()
	if sc.Scheme != nil {
		schemes = []*kex.Scheme{sc.Scheme}
	}
	c := wire.Records()
	for _, s := range schemes {
		if with, err := c.With(s.Messages...); err == nil {
			c = with
		}
	}
	return c
}

func newRunModel(c Common, catalogue []scenarios.Scenario, ticker func(time.Duration, func(time.Time) tea.Msg) tea.Cmd) runModel {
	in := textinput.New()
	in.Prompt = "Alice says: "
	in.Placeholder = "a chat message, e.g. my password is hunter2"
	in.CharLimit = 200
	in.SetStyles(c.Styles.Input)
	h := help.New()
	h.Styles = c.Styles.Help
	return runModel{
		Common: c, speed: defaultSpeed, input: in, help: h, ticker: ticker,
		catalogue: catalogue, codec: wire.Records(), keys: runKeys(c.KeyMap),
	}
}

// reset prepares the view for a new run, keeping speed, filters and the
// detail layout, which belong to the person, not the run.
func (m *runModel) reset(run int, sc scenarios.Scenario, start startRunMsg) {
	*m = runModel{
		Common: m.Common, run: run, sc: sc, noAttacker: start.noAttacker, messages: start.messages,
		attack: start.attack, intercept: start.intercept, byHand: start.intercept,
		speed: m.speed, leg: m.leg, verdict: m.verdict, zoom: m.zoom,
		input: m.input, help: m.help, ticker: m.ticker, catalogue: m.catalogue,
		keys: m.keys, live: m.live, codec: codecFor(sc), exportDir: m.exportDir,
		detailAt: -1,
	}
	m.toEnd = m.live || m.intercept
	m.relayout()
}

// SetSize sets the view's size.
func (m *runModel) SetSize(w, h int) {
	m.Width, m.Height = w, h
	m.help.SetWidth(w)
	m.setPrompt(m.input.Prompt)
	m.summaryHeight = 0 // recompute
	m.relayout()
	m.scrollToCursor()
}

// atEnd reports whether the run is over and every frame is shown.
func (m *runModel) atEnd() bool { return m.finished && m.revealed == len(m.frames) }

// ShortHelp and FullHelp make the view a help.KeyMap.
func (m runModel) ShortHelp() []key.Binding {
	if m.held != nil && m.prompt == promptNone {
		return m.heldHelp()
	}
	return m.helpKeys().ShortHelp()
}

func (m runModel) FullHelp() [][]key.Binding { return m.helpKeys().FullHelp() }

func (m *runModel) helpKeys() runHelp {
	return runHelp{k: m.KeyMap, typing: m.prompt != promptNone, live: m.live}
}

// typing reports whether keys are text for the input.
func (m *runModel) typing() bool { return m.prompt != promptNone }

func (m runModel) Update(msg tea.Msg) (runModel, tea.Cmd) {
	m, cmd := m.update(msg)
	if sel := m.selected(); sel != m.detailAt {
		m.detailAt, m.detailOff = sel, 0 // another frame: its detail from the top
	}
	if m.atEnd() && m.outcome != nil && m.err == nil && !m.live && !m.cardShown {
		m.card, m.cardShown = true, true // the run is over: its lesson
	}
	m.relayout()
	return m, cmd
}

// update routes one message: the run's stream, playback ticks, the mouse
// and the keys.
func (m runModel) update(msg tea.Msg) (runModel, tea.Cmd) {
	switch msg := msg.(type) {
	case frameMsg:
		m.receive(msg.event)
		return m, nil
	case holdMsg:
		m.hold(msg)
		return m, nil
	case runDoneMsg:
		m.done(msg.outcome, msg.err)
		return m, nil
	case exportedMsg:
		m.notice = msg.String()
		return m, nil
	case tickMsg:
		return m, m.onTick(msg)
	case tea.MouseWheelMsg:
		m.wheel(msg.Button)
		return m, nil
	case tea.KeyPressMsg:
		m.notice = ""
		if m.typing() {
			return m.typingKey(msg)
		}
		if m.held != nil {
			if next, cmd, ok := m.heldKey(msg); ok {
				return next, cmd
			}
		}
		return m.key(msg)
	}
	if m.typing() {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// receive buffers one frame of the run. A progress report of a long
// attack is not a frame: it shows on its own line.
func (m *runModel) receive(e trace.Event) {
	if e.Type == trace.TypeProgress {
		m.progress = printable(e.Note)
		return
	}
	m.noteConn(&e)
	m.frames = append(m.frames, e)
	if m.toEnd {
		m.revealAll()
	}
}

// done records the run's end.
func (m *runModel) done(o *scenarios.Outcome, err error) {
	m.outcome, m.err, m.finished = o, err, true
	m.held = nil // the run is over: nobody waits for an answer
	if m.toEnd {
		m.revealAll()
	}
}
