package tui

import (
	"slices"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
)

// Common is what every view shares: its size, the styles and the keys.
// Styles and KeyMap are shared, never changed after New.
type Common struct {
	Width, Height int
	Styles        *Styles
	KeyMap        *KeyMap
}

// Options configures the lab.
type Options struct {
	// Scenario, if set, opens that scenario's run at once instead of the
	// picker.
	Scenario string
	// NoAttacker starts with the attacker off: Alice talks straight to Bob.
	NoAttacker bool
	// Transport is how the nodes connect; empty means scenarios.Memory.
	Transport scenarios.Transport
	// Catalogue is what the picker offers and n and N step through; nil
	// means scenarios.Catalogue().
	Catalogue []scenarios.Scenario
	// Runner runs a scenario; nil means [scenarios.Run].
	Runner Runner
	// Live says the runs are a live attacker process (AttachRunner), not
	// scenarios: frames are shown as they arrive, as the e key does, and
	// the keys that would change the scenario (attacker on/off, typing as
	// Alice, next and previous) are off, since the lab cannot change a
	// separate process.
	Live bool
	// Tick paces playback; nil means tea.Tick. Tests pass one that fires
	// at once.
	Tick func(d time.Duration, fn func(time.Time) tea.Msg) tea.Cmd
	// Theme is the palette: ThemeDark, ThemeLight, or ThemeAuto (the
	// zero value), which asks the terminal for its background colour and
	// starts dark until it answers. Styles, if set, overrides it.
	Theme Theme
	// ExportDir is where x writes the run; empty means the current
	// directory.
	ExportDir string
	// Styles and KeyMap; zero values mean the Theme's styles and
	// DefaultKeyMap.
	Styles *Styles
	KeyMap *KeyMap
}

// view names what fills the screen.
type view int

const (
	pickerView view = iota
	runView
)

// Model is the lab: the scenario picker, the run view and the help
// screen, one model each; Model routes messages between them and owns the
// run in flight.
type Model struct {
	Common
	opts     Options
	view     view
	showHelp bool
	picker   pickerModel
	run      runModel
	help     helpModel
	live     *liveRun // the run in flight, or nil
	runs     int      // runs started, to number them
}

// New returns the lab.
func New(o Options) *Model {
	st, km := ThemeStyles(o.Theme), DefaultKeyMap()
	c := Common{Styles: &st, KeyMap: &km}
	if o.Styles != nil {
		c.Styles = o.Styles
	}
	if o.KeyMap != nil {
		c.KeyMap = o.KeyMap
	}
	if o.Runner == nil {
		o.Runner = scenarios.Run
	}
	if o.Tick == nil {
		o.Tick = tea.Tick
	}
	if o.Catalogue == nil {
		o.Catalogue = scenarios.Catalogue()
	}
	m := &Model{Common: c, opts: o, picker: newPickerModel(c, o.Catalogue), run: newRunModel(c, o.Catalogue, o.Tick), help: helpModel{Common: c}}
	m.picker.noAttacker = o.NoAttacker
	m.picker.live = o.Live
	m.run.live = o.Live
	m.run.exportDir = o.ExportDir
	m.picker.selectName(o.Scenario)
	return m
}

// Init opens the scenario named in Options, if any, and asks the terminal
// for its background colour when the theme is to follow it.
func (m *Model) Init() tea.Cmd {
	var cmds []tea.Cmd
	if m.opts.Theme == ThemeAuto && m.opts.Styles == nil {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	if m.opts.Scenario != "" {
		start := startRunMsg{name: m.opts.Scenario, noAttacker: m.opts.NoAttacker}
		cmds = append(cmds, func() tea.Msg { return start })
	}
	return tea.Batch(cmds...)
}

// Close stops the run in flight, if any, and waits for it.
func (m *Model) Close() { m.live.stop() }

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.Width, m.Height = msg.Width, msg.Height
		m.picker.SetSize(msg.Width, msg.Height)
		m.run.SetSize(msg.Width, msg.Height)
		m.help.SetSize(msg.Width, msg.Height)
		return m, nil

	case tea.BackgroundColorMsg:
		if m.opts.Theme == ThemeAuto && m.opts.Styles == nil {
			theme := ThemeDark
			if !msg.IsDark() {
				theme = ThemeLight
			}
			m.setStyles(ThemeStyles(theme))
		}
		return m, nil

	case startRunMsg:
		return m.start(msg)

	case holdMsg:
		if m.live == nil || msg.run != m.live.id {
			msg.reply <- attacker.Forward() // a stopped run's: let it go
			return m, nil
		}
		m.run, _ = m.run.Update(msg)
		return m, m.live.next()

	case frameMsg:
		if m.live == nil || msg.run != m.live.id {
			return m, nil // a stopped run's; its reader ends here
		}
		m.run, _ = m.run.Update(msg)
		m.noteRan()
		return m, m.live.next()

	case runDoneMsg:
		if m.live == nil || msg.run != m.live.id {
			return m, nil
		}
		m.run, _ = m.run.Update(msg)
		m.noteRan()
		return m, nil

	case tea.KeyPressMsg:
		typing := m.view == runView && m.run.typing()
		switch {
		case key.Matches(msg, m.KeyMap.Quit) && (!typing || msg.String() == "ctrl+c"):
			m.live.stop()
			return m, tea.Quit
		case m.showHelp:
			if key.Matches(msg, m.KeyMap.Help, m.KeyMap.Back) {
				m.showHelp = false
			}
			m.help.key(msg)
			return m, nil
		case !typing && key.Matches(msg, m.KeyMap.Help):
			m.showHelp = true
			m.help.offset = 0
			return m, nil
		}
	}

	var cmd tea.Cmd
	switch m.view {
	case pickerView:
		m.picker, cmd = m.picker.Update(msg)
	case runView:
		m.run, cmd = m.run.Update(msg)
		m.noteRan()
	}
	return m.act(cmd)
}

// act carries out what a view asked for.
func (m *Model) act(cmd tea.Cmd) (tea.Model, tea.Cmd) {
	req := m.run.req
	if m.picker.req.start != nil {
		req = m.picker.req
	}
	m.run.req, m.picker.req = request{}, request{}
	if req.release {
		m.live.release()
	}
	switch {
	case req.start != nil:
		next, start := m.start(*req.start)
		return next, tea.Batch(cmd, start)
	case req.picker:
		m.live.stop()
		m.live = nil
		m.view = pickerView
		m.picker.noAttacker = m.run.noAttacker
		m.picker.selectName(m.run.sc.Name)
	}
	return m, cmd
}

// start replaces the run in flight with a new one.
func (m *Model) start(msg startRunMsg) (tea.Model, tea.Cmd) {
	i := slices.IndexFunc(m.opts.Catalogue, func(s scenarios.Scenario) bool { return s.Name == msg.name })
	if i < 0 {
		return m, nil
	}
	sc := m.opts.Catalogue[i]
	m.live.stop()
	var inner *attacker.Attack
	if msg.intercept && !msg.noAttacker && !m.opts.Live {
		name := sc.Attack
		if msg.attack != "" {
			name = msg.attack
		}
		a, err := attacker.Lookup(name)
		if err != nil {
			msg.intercept = false
		}
		inner = a
	}
	msg.intercept = inner != nil
	m.runs++
	m.run.reset(m.runs, sc, msg)
	m.view = runView
	m.showHelp = false
	var cmd tea.Cmd
	m.live, cmd = startRun(m.runs, m.opts.Runner, sc.Name, scenarios.Options{
		Messages:   msg.messages,
		NoAttacker: msg.noAttacker,
		Attack:     msg.attack,
		Transport:  m.opts.Transport,
	}, inner)
	return m, cmd
}

// setStyles replaces the palette everywhere: the views share the styles,
// and the widgets keep copies of their own.
func (m *Model) setStyles(st Styles) {
	*m.Styles = st
	m.run.help.Styles = st.Help
	m.run.input.SetStyles(st.Input)
	m.picker.help.Styles = st.Help
}

// noteRan lets the picker show a scenario's expected outcome once it has
// been run to the end.
func (m *Model) noteRan() {
	if m.run.atEnd() && m.run.err == nil {
		m.picker.ran[m.run.sc.Name] = true
	}
}

func (m *Model) View() tea.View {
	var s string
	switch {
	case m.Width == 0 || m.Height == 0:
		s = ""
	case m.Width < MinWidth || m.Height < MinHeight:
		s = tooSmall(m.Styles, m.Width, m.Height)
	case m.showHelp:
		s = m.help.View()
	case m.view == runView:
		s = m.run.View()
	default:
		s = m.picker.View()
	}
	v := tea.NewView(s)
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "mitmlab"
	return v
}
