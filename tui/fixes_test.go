package tui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// These tests hold the fixes of a review that drove the lab in tmux at
// 80×24, 200×50 and 60×20, each at the size where it was found.

// checkScreen fails unless s is exactly h lines, none wider than w.
func checkScreen(t *testing.T, s string, w, h int) {
	t.Helper()
	lines := strings.Split(s, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d wide, want at most %d: %q", i, lw, w, ansi.Strip(l))
		}
	}
}

// bigFrame is a runner with one frame whose detail is far taller than a
// screen: a TLS record of 2,000 bytes, shown in hex, and a second frame.
func bigFrame(ctx context.Context, _ string, opts *scenarios.Options) (*scenarios.Outcome, error) {
	raw := make([]byte, 2000)
	for i := range raw {
		raw[i] = byte(i)
	}
	opts.OnEvent(trace.Event{Index: 0, Conn: 1, Leg: trace.LegA, Dir: wire.ClientToServer, Type: "tls_application_data", Size: len(raw), Verdict: trace.Opaque, Note: "no key", Raw: raw})
	opts.OnEvent(trace.Event{Index: 1, Conn: 1, Leg: trace.LegB, Dir: wire.ClientToServer, Type: "tls_application_data", Size: 5, Verdict: trace.Opaque, Note: "the second", Raw: []byte("short")})
	return &scenarios.Outcome{Scenario: "unauth-ecdh"}, ctx.Err()
}

// TestFullDetailScrolls: at 80×24 the full-height detail (d) of a frame
// taller than the screen scrolls with j/k and the page keys, to its last
// line, and says where it is; it never ends in "… N more lines". ← and →
// still step through the frames, each from its top.
func TestFullDetailScrolls(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: bigFrame}, 80, 24)
	m = pump(t, m, keys("e", "home", "d")...)
	total := len(m.run.detailLines())
	s := screen(m)
	checkScreen(t, s, 80, 24)
	if strings.Contains(s, "more lines") || !strings.Contains(s, fmt.Sprintf("of %d", total)) {
		t.Fatalf("the full detail does not say where it is:\n%s", s)
	}
	first := strings.Split(s, "\n")[2]
	m = pump(t, m, keys("j")...)
	if got := strings.Split(screen(m), "\n")[2]; got == first || m.run.detailOff != 1 {
		t.Errorf("j did not scroll the detail (offset %d)", m.run.detailOff)
	}
	m = pump(t, m, keys("k", "k")...)
	if m.run.detailOff != 0 {
		t.Errorf("k past the top: offset %d", m.run.detailOff)
	}
	for range total {
		m = pump(t, m, tea.KeyPressMsg{Code: tea.KeyPgDown})
	}
	s = screen(m)
	if !strings.Contains(s, fmt.Sprintf("–%d of %d", total, total)) || !strings.Contains(s, "07d0") && !strings.Contains(s, "07c") {
		t.Errorf("pgdown does not reach the last line:\n%s", s)
	}
	if m.run.cursor != 0 {
		t.Errorf("scrolling moved the selection to %d", m.run.cursor)
	}
	m = pump(t, m, tea.KeyPressMsg{Code: tea.KeyRight})
	if m.run.cursor != 1 || m.run.detailOff != 0 {
		t.Errorf("→: cursor %d, offset %d; want the next frame from its top", m.run.cursor, m.run.detailOff)
	}
	m = pump(t, m, keys("d", "up")...)
	if m.run.cursor != 0 {
		t.Errorf("split again, up moves the selection: cursor %d", m.run.cursor)
	}
	if s := screen(m); !strings.Contains(s, "more lines · d shows the frame full height") {
		t.Errorf("the split pane does not say how to read the rest:\n%s", s)
	}
}

// TestTooSmall: at 60×20 and below, every view says what the lab needs
// instead of a clipped screen; at the minimum it draws.
func TestTooSmall(t *testing.T) {
	t.Parallel()
	want := fmt.Sprintf("terminal too small: need %d×%d", MinWidth, MinHeight)
	for _, size := range [][2]int{{60, 20}, {MinWidth - 1, 40}, {200, MinHeight - 1}, {30, 8}, {1, 1}} {
		w, h := size[0], size[1]
		m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, w, h)
		for _, step := range [][]string{nil, {"?"}, {"esc", "esc"}} {
			m = pump(t, m, keys(step...)...)
			s := screen(m)
			checkScreen(t, m.View().Content, w, h)
			if w >= 30 && !strings.Contains(s, want) {
				t.Errorf("%d×%d after %v:\n%s", w, h, step, s)
			}
		}
	}
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, MinWidth, MinHeight)
	for _, step := range [][]string{nil, {"?"}, {"esc", "esc"}} {
		m = pump(t, m, keys(step...)...)
		if s := screen(m); strings.Contains(s, "too small") {
			t.Errorf("%d×%d is enough, but after %v:\n%s", MinWidth, MinHeight, step, s)
		}
		checkScreen(t, m.View().Content, MinWidth, MinHeight)
	}
}

// classroom is a live runner: two students' connections through one
// attacker, then the stream's end.
func classroom(end error) Runner {
	return func(ctx context.Context, _ string, o *scenarios.Options) (*scenarios.Outcome, error) {
		n := 0
		add := func(conn int, name, attack string, leg trace.Leg, dir wire.Direction, typ string, v trace.Verdict, rec, note string) {
			e := trace.Event{Index: n, Conn: conn, Name: name, Attack: attack, Leg: leg, Dir: dir, Type: typ, Size: 79, Verdict: v, Note: note}
			if typ == "data" || typ == "end" {
				e.Seq = seq(0)
			}
			if rec != "" {
				e.Recovered = []byte(rec)
			}
			n++
			o.OnEvent(e)
		}
		c2s := wire.ClientToServer
		// alice's weak client: Mallory reads her message.
		add(1, "alice", "double-ecdh", trace.LegA, c2s, "data", trace.Read, "my card PIN is 4921", "decrypted")
		add(1, "alice", "double-ecdh", trace.LegB, c2s, "data", trace.Forged, "my card PIN is 4921", "re-encrypted")
		add(1, "alice", "double-ecdh", trace.LegA, c2s, trace.TypeClose, trace.Public, "", "1000 StatusNormalClosure: bye")
		// bob's strong client refuses Mallory's certificate.
		add(2, "bob", "impersonate", trace.LegA, c2s, trace.TypeClose, trace.Blocked, "", "1008 StatusPolicyViolation: key does not match pin")
		add(2, "bob", "impersonate", trace.LegB, c2s, trace.TypeClose, trace.Blocked, "", "1008 StatusPolicyViolation: key does not match pin")
		// A long attack's progress report is not a frame.
		o.OnEvent(trace.Event{Index: n, Conn: 3, Type: trace.TypeProgress, Note: "grinding: 12 of 40 tries"})
		return nil, end
	}
}

// TestAttachedView: attached to a live attacker process at 80×24, the
// rows name each student's connection, the status says live rather than
// paused, its picker does not ask what you expect, and t tallies what
// Mallory read from each student and who refused him.
func TestAttachedView(t *testing.T) {
	t.Parallel()
	sc := AttachedScenario("ws://127.0.0.1:9443/events")
	m := open(t, Options{Scenario: sc.Name, Catalogue: []scenarios.Scenario{sc}, Runner: classroom(context.Canceled), Live: true}, 80, 24)
	m.run.finished, m.run.err = false, nil // the stream goes on: as while it follows
	s := screen(m)
	checkScreen(t, m.View().Content, 80, 24)
	for _, want := range []string{"conn", "alice#1", "bob#2", "● live"} {
		if !strings.Contains(s, want) {
			t.Errorf("the attached view lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "paused") {
		t.Errorf("the attached view says paused while following:\n%s", s)
	}
	if len(m.run.frames) != 5 || m.run.progress != "grinding: 12 of 40 tries" {
		t.Errorf("%d frames, progress %q: a progress report is not a frame", len(m.run.frames), m.run.progress)
	}
	if !strings.Contains(s, "Mallory is at work: grinding: 12 of 40 tries") {
		t.Errorf("no progress line:\n%s", s)
	}

	m = pump(t, m, keys("t")...)
	s = screen(m)
	checkScreen(t, m.View().Content, 80, 24)
	lines := strings.Split(s, "\n")
	row := func(name string) string {
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), name+" ") })
		if i < 0 {
			t.Fatalf("the tally has no row for %s:\n%s", name, s)
		}
		return strings.Join(strings.Fields(lines[i]), " ")
	}
	if got := row("alice"); !strings.HasPrefix(got, `alice 1 1 0 0 "my card PIN is 4921"`) {
		t.Errorf("alice's tally: %q", got)
	}
	if got := row("bob"); !strings.HasPrefix(got, "bob 1 0 1 0 nothing") {
		t.Errorf("bob's tally: %q", got)
	}

	m = pump(t, m, keys("t", "esc")...)
	if s := screen(m); strings.Contains(s, "What do you expect") || strings.Contains(s, "outcome:") {
		t.Errorf("the attached view's picker asks for a guess:\n%s", s)
	}
}

// TestAttachFailsFast: nothing listening at the URL is an error at once,
// which says what to start; shown in the view, it is shown whole.
func TestAttachFailsFast(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + l.Addr().String() + "/events"
	l.Close() // nothing listens there now
	err = CheckAttach(context.Background(), url)
	var ae *AttachError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "is 'mitmlab attacker' running there?") {
		t.Fatalf("CheckAttach: %v", err)
	}
	sc := AttachedScenario(url)
	m := open(t, Options{Scenario: sc.Name, Catalogue: []scenarios.Scenario{sc}, Runner: AttachRunner(url), Live: true}, 80, 24)
	// Wrapped, the hint may break at any space or hyphen.
	squeeze := func(s string) string { return strings.Join(strings.Fields(s), "") }
	if !strings.Contains(squeeze(screen(m)), squeeze(attachHint)) {
		t.Errorf("the view does not show the whole hint:\n%s", screen(m))
	}
}

// eventsServer streams one frame on /events, then closes with code and
// reason, as an attacker process does.
func eventsServer(t *testing.T, code websocket.StatusCode, reason string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		b := []byte(`{"type":"frame","index":0,"conn":1,"leg":"A","direction":"c2s","message_type":"data","size":79,"verdict":"opaque","seq":0,"time":"2026-01-01T00:00:00Z"}`)
		if ws.Write(r.Context(), websocket.MessageText, b) == nil {
			ws.Close(code, reason)
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/events"
}

// TestAttachedViewSaysWhyTheStreamEnded: Ctrl-C on the attacker process
// (1001 "attacker shutting down") reads as the attacker shutting down,
// never as a subscriber too slow; a view the attacker dropped for falling
// behind (1008) says so.
func TestAttachedViewSaysWhyTheStreamEnded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code         websocket.StatusCode
		reason, want string
		never        string
	}{
		{websocket.StatusGoingAway, "attacker shutting down", "the attacker shut down", "too slow"},
		{websocket.StatusPolicyViolation, "subscriber too slow: it fell behind the attacker's events", "fell behind", "shut down"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			url := eventsServer(t, tc.code, tc.reason)
			sc := AttachedScenario(url)
			m := open(t, Options{Scenario: sc.Name, Catalogue: []scenarios.Scenario{sc}, Runner: AttachRunner(url), Live: true}, 80, 24)
			s := screen(m)
			if !strings.Contains(s, tc.want) || strings.Contains(s, tc.never) || len(m.run.frames) != 1 {
				t.Errorf("%d frames; screen:\n%s", len(m.run.frames), s)
			}
			if !strings.Contains(s, "■ the attacker's stream ended") {
				t.Errorf("the status does not say the stream ended:\n%s", s)
			}
		})
	}
}

// TestArrowLabelsStayApart: at 80 columns tls_certificate and
// tls_certificate_verify look different on their arrows.
func TestArrowLabelsStayApart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"tls_certificate", 16, "tls_certificate"},
		{"tls_certificate_verify", 16, "certific…_verify"},
		{"tls_application_data", 16, "application_data"},
		{"client_finished", 16, "client_finished"},
		{"server_hello", 5, "serv…"},
	} {
		if got := fitLabel(tc.in, tc.n); got != tc.want || ansi.StringWidth(got) > tc.n {
			t.Errorf("fitLabel(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	runner := func(ctx context.Context, _ string, o *scenarios.Options) (*scenarios.Outcome, error) {
		for i, typ := range []string{"tls_certificate", "tls_certificate_verify"} {
			o.OnEvent(trace.Event{Index: i, Leg: trace.LegA, Dir: wire.ServerToClient, Type: typ, Size: 100, Verdict: trace.Substituted})
		}
		return &scenarios.Outcome{}, ctx.Err()
	}
	m := open(t, Options{Scenario: "wss-skipverify", Runner: runner}, 80, 24)
	m = pump(t, m, keys("e", "home")...)
	rows := strings.Split(screen(m), "\n")[3:5]
	arrow := func(r string) string { return strings.Fields(r)[2] }
	if arrow(rows[0]) == arrow(rows[1]) {
		t.Errorf("the two arrows look the same:\n%s\n%s", rows[0], rows[1])
	}
}

// TestNotesShowOnceAndWhole: at 80 columns the detail pane prints each
// frame's note once, whatever the verdict, and a note longer than the
// line wraps instead of ending in "…".
func TestNotesShowOnceAndWhole(t *testing.T) {
	t.Parallel()
	note := "decrypted by the attacker: alert: bad certificate, and then a great deal more about why, so that it runs past the end of the line"
	for _, v := range trace.Verdicts() {
		for _, typ := range []string{"data", "tls_alert", trace.TypeClose} {
			e := trace.Event{Leg: trace.LegA, Dir: wire.ClientToServer, Type: typ, Verdict: v, Note: note, Recovered: []byte("x")}
			if typ == "data" {
				e.Seq = seq(0)
			}
			st := DefaultStyles()
			d := detail{st: &st, frames: []trace.Event{e}, e: e, width: 80, codec: wire.Records()}
			lines := d.lines()
			for i, l := range lines {
				if ansi.StringWidth(l) > 80 {
					t.Errorf("%s %s: line %d is wider than 80", v, typ, i)
				}
			}
			text := strings.Join(strings.Fields(ansi.Strip(strings.Join(lines, "\n"))), " ")
			if n := strings.Count(text, "decrypted by the attacker: alert"); n != 1 {
				t.Errorf("%s %s: the note shows %d times:\n%s", v, typ, n, text)
			}
			if !strings.Contains(text, "past the end of the line") {
				t.Errorf("%s %s: the note is cut:\n%s", v, typ, text)
			}
		}
	}
}

// luminance is a colour's WCAG 2 relative luminance.
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// contrast is the WCAG 2 contrast ratio of two colours, from 1 to 21.
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// TestLightPaletteContrast computes every colour of the light palette
// against white: each must reach 4.5:1 (WCAG AA for text). The dark
// palette's amber and green, about 1.8:1 on white, fail the same check:
// it can fail.
func TestLightPaletteContrast(t *testing.T) {
	t.Parallel()
	white := lipgloss.Color("#ffffff")
	p := LightPalette()
	for name, c := range map[string]color.Color{"red": p.Red, "green": p.Green, "amber": p.Amber, "purple": p.Purple, "grey": p.Grey, "blue": p.Blue, "magenta": p.Magenta, "cyan": p.Cyan} {
		if r := contrast(c, white); r < 4.5 {
			t.Errorf("light %s is %.2f:1 against white, want at least 4.5:1", name, r)
		}
	}
	d := DarkPalette()
	for name, c := range map[string]color.Color{"amber": d.Amber, "green": d.Green} {
		if r := contrast(c, white); r >= 4.5 {
			t.Errorf("the check cannot fail: dark %s is %.2f:1 against white", name, r)
		}
	}
	// Every style the light theme draws with comes from the palette.
	st := ThemeStyles(ThemeLight)
	for _, v := range trace.Verdicts() {
		if fg := st.Badge[v].GetForeground(); contrast(fg, white) < 4.5 {
			t.Errorf("the light %s badge is %.2f:1 against white", v, contrast(fg, white))
		}
	}
}

// TestThemeFollowsTheTerminal: with no theme given, the lab asks the
// terminal for its background and turns light on a light one; a theme
// given on the command line stays.
func TestThemeFollowsTheTerminal(t *testing.T) {
	t.Parallel()
	white := tea.BackgroundColorMsg{Color: lipgloss.Color("#ffffff")}
	light := LightPalette().Red
	for _, tc := range []struct {
		theme Theme
		light bool
	}{{ThemeAuto, true}, {ThemeDark, false}, {ThemeLight, true}} {
		m := New(Options{Theme: tc.theme, Tick: instantTick})
		t.Cleanup(m.Close)
		m = pump(t, m, tea.WindowSizeMsg{Width: 80, Height: 24}, white)
		got := m.Styles.Badge[trace.Read].GetForeground()
		if isLight := got == light; isLight != tc.light {
			t.Errorf("theme %q on a white terminal: light = %v, want %v", tc.theme, isLight, tc.light)
		}
		if tc.light && m.run.help.Styles.ShortKey.GetForeground() == DefaultStyles().Help.ShortKey.GetForeground() {
			t.Errorf("theme %q: the help bar kept the dark styles", tc.theme)
		}
	}
}

// TestDefaultScriptComesBack: after m gives Alice another message, M runs
// the scenario again with her own script.
func TestDefaultScriptComesBack(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh"}, 100, 30)
	msgs := keys("m")
	for _, k := range typed("something else") {
		msgs = append(msgs, k)
	}
	m = pump(t, m, append(msgs, press("enter"))...)
	if got := string(m.run.outcome.Messages[0].Text); got != "something else" {
		t.Fatalf("after m, Alice said %q", got)
	}
	if !strings.Contains(screen(m), "M: her own script") {
		t.Errorf("the status does not say how to go back:\n%s", screen(m))
	}
	m = pump(t, m, keys("M")...)
	if m.run.messages != nil || string(m.run.outcome.Messages[0].Text) != scenarios.DefaultScript()[0] {
		t.Errorf("after M, Alice said %q", m.run.outcome.Messages[0].Text)
	}
}

// TestLessonCards: every scenario in the catalogue has a lesson card of
// its own (docs/pages_test.go makes sure the page it points to exists).
// A scenario without one still gets a card, made from its outcome line.
func TestLessonCards(t *testing.T) {
	t.Parallel()
	var missing []string
	for _, sc := range scenarios.Catalogue() {
		if _, ok := cards()[sc.Name]; !ok {
			missing = append(missing, sc.Name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("scenarios with no lesson card in tui/cards.go (they show one made from their Expect): %s", strings.Join(missing, ", "))
	}
	names := map[string]bool{}
	for _, n := range scenarios.Names() {
		names[n] = true
	}
	for name := range cards() {
		if !names[name] {
			t.Errorf("a lesson card for %q, which is not in the catalogue", name)
		}
	}
	if c := cardFor(scenarios.Scenario{Name: "new-one", Expect: "the attacker reads every message"}); !strings.Contains(c.Takeaway, "the attacker reads every message") {
		t.Errorf("a scenario with no card gets %+v", c)
	}
}

// TestLessonCardAfterARun: at 80×24, once a run's last frame is shown, a
// card gives the takeaway, the fix and the scenario's page; moving to a
// frame puts it away and L brings it back.
func TestLessonCardAfterARun(t *testing.T) {
	t.Parallel()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t)}, 80, 24)
	if m.run.card {
		t.Fatal("a card before the run's end")
	}
	m = pump(t, m, keys("e")...)
	s := strings.Join(strings.Fields(screen(m)), " ")
	c := cards()["unauth-ecdh"]
	for _, want := range []string{"lesson: unauth-ecdh", c.Takeaway, c.Fix, "docs/scenarios/unauth-ecdh.md"} {
		if !strings.Contains(s, strings.Join(strings.Fields(want), " ")) {
			t.Errorf("the card lacks %q:\n%s", want, screen(m))
		}
	}
	checkScreen(t, m.View().Content, 80, 24)
	m = pump(t, m, keys("up")...)
	if m.run.card || strings.Contains(screen(m), "lesson:") {
		t.Error("moving to a frame leaves the card up")
	}
	m = pump(t, m, keys("L")...)
	if !strings.Contains(screen(m), "lesson: unauth-ecdh") {
		t.Error("L does not bring the card back")
	}
}

// TestProgressIsNotAFrame: a long attack's progress reports show on a
// line of their own while the run goes on, never as rows.
func TestProgressIsNotAFrame(t *testing.T) {
	t.Parallel()
	m := New(Options{Tick: instantTick})
	m = pump(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m.view = runView
	m.run.reset(3, scenarios.Scenario{Name: "sas-grinding"}, startRunMsg{})
	m.run, _ = m.run.Update(frameMsg{run: 3, event: trace.Event{Index: 0, Leg: trace.LegA, Dir: wire.ClientToServer, Type: "client_hello", Verdict: trace.Intercepted}})
	m.run, _ = m.run.Update(frameMsg{run: 3, event: trace.Event{Index: 1, Conn: 1, Type: trace.TypeProgress, Note: "tried 5,000 key shares"}})
	m.run, _ = m.run.Update(press("e"))
	s := screen(m)
	if len(m.run.frames) != 1 || strings.Count(s, "progress") > 0 {
		t.Errorf("%d frames; a progress report shows as a row:\n%s", len(m.run.frames), s)
	}
	if !strings.Contains(s, "Mallory is at work: tried 5,000 key shares") {
		t.Errorf("no progress line:\n%s", s)
	}
}

// TestExport: x asks for a file, offering the scenario's name as
// Markdown, and writes the run there; a name with no format says which
// there are.
func TestExport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := open(t, Options{Scenario: "unauth-ecdh", Runner: replay(t), ExportDir: dir}, 80, 24)
	m = pump(t, m, keys("e", "x")...)
	if !strings.Contains(screen(m), "export to: unauth-ecdh.md") {
		t.Fatalf("x does not offer a file:\n%s", screen(m))
	}
	m = pump(t, m, keys("enter")...)
	b, err := os.ReadFile(filepath.Join(dir, "unauth-ecdh.md"))
	if err != nil {
		t.Fatalf("x wrote nothing: %v\n%s", err, screen(m))
	}
	if !strings.Contains(string(b), fixtureMessage) {
		t.Errorf("the export lacks the message Mallory read:\n%s", b)
	}
	if !strings.Contains(screen(m), "wrote "+filepath.Join(dir, "unauth-ecdh.md")) {
		t.Errorf("the view does not say what it wrote:\n%s", screen(m))
	}
	m = pump(t, m, keys("x")...)
	m = pump(t, m, tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	msgs := typed("run.txt")
	msgs = append(msgs, press("enter"))
	var in []tea.Msg
	for _, k := range msgs {
		in = append(in, k)
	}
	m = pump(t, m, in...)
	if s := screen(m); !strings.Contains(s, "could not export") || !strings.Contains(s, ".md") {
		t.Errorf("an unknown format does not say which there are:\n%s", s)
	}
}
