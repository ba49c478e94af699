package tui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// The goldens are teatest runs of the real Model in a tea.Program at
// 80×24, the smallest terminal the lab promises to fit. Each golden is the
// last screen as text (colour stripped; see TestNoColor for colour).
// Update them with: go test ./tui -run Golden -update
//
// Real runs draw every key, nonce and certificate serial from a ChaCha8
// stream with a fixed seed (scenarios.Options.Rand), so key shares, pins
// and sizes are the same on every run. What still varies comes from
// crypto/rand, which Options.Rand does not reach: RSA keys and RSA-OAEP's
// padding (see maskRSA).

// seededRand is a ChaCha8 stream with a fixed seed, safe for the nodes'
// goroutines to share. The nodes read it in an order the protocol fixes
// (each reads only after the message that prompts it), so each run draws
// the same bytes for the same keys.
type seededRand struct {
	mu sync.Mutex
	c  *rand.ChaCha8
}

func newSeededRand() *seededRand {
	return &seededRand{c: rand.NewChaCha8([32]byte{'m', 'i', 't', 'm', 'l', 'a', 'b'})}
}

func (r *seededRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c.Read(p)
}

// seeded runs the real scenario with its randomness from a fresh
// seededRand.
func seeded(ctx context.Context, name string, opts *scenarios.Options) (*scenarios.Outcome, error) {
	o := *opts
	o.Rand = newSeededRand()
	return scenarios.Run(ctx, name, &o)
}

// goldenCatalogue is what the picker's golden offers: scenarios of every
// topic, named, so that the golden shows the topics' headings and does not
// change each time the catalogue grows.
func goldenCatalogue(t *testing.T) []scenarios.Scenario {
	var out []scenarios.Scenario
	for _, name := range []string{
		"plaintext-rsa", "unauth-ecdh", "pinned-ecdh",
		"signed-unpinned", "downgrade",
		"wss-skipverify", "wss-pinned",
		"truncation", "truncation-refused",
	} {
		sc, err := scenarios.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sc)
	}
	return out
}

func TestGoldenPicker(t *testing.T) {
	t.Parallel()
	cat := goldenCatalogue(t)
	l := newLab(t, Options{Catalogue: cat}, 80, 24)
	l.keys(press("down"), press("down"), press("down"), press("down"))
	m, s := l.final(t)
	for _, sc := range cat {
		if strings.Contains(s, sc.Expect) {
			t.Errorf("the picker gives the outcome of %s away before a run", sc.Name)
		}
	}
	if sel := m.picker.items[m.picker.cursor]; sel.Name != "downgrade" || !strings.Contains(s, sel.Lesson[:40]) {
		t.Errorf("selected %s, want downgrade with its lesson on screen:\n%s", sel.Name, s)
	}
	for _, topic := range []string{scenarios.TopicCore, scenarios.TopicNearMiss, scenarios.TopicTLS} {
		if !strings.Contains(s, topic) {
			t.Errorf("no heading %q:\n%s", topic, s)
		}
	}
	teatest.RequireEqualOutput(t, []byte(s))
}

func TestGoldenHelp(t *testing.T) {
	t.Parallel()
	l := newLab(t, Options{}, 80, 24)
	l.keys(press("?"))
	_, s := l.final(t)
	teatest.RequireEqualOutput(t, []byte(s))
}

// TestGoldenRun runs the three mandated scenarios and truncation for
// real, shows every frame and keeps the last screen.
func TestGoldenRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		summary string
		badges  []string // verdicts the screen must show
	}{
		{"plaintext-rsa", "attacker read 6/6 messages · victims noticed nothing", []string{"READ", "PUBLIC"}},
		{"unauth-ecdh", "attacker read 6/6 messages · victims noticed nothing", []string{"READ", "FORGED"}},
		{"pinned-ecdh", "client refused the server: key does not match pin · attacker read 0/3 messages", []string{"INTERCEPTED", "SUBSTITUTED", "BLOCKED"}},
		{"truncation", `1 lost ("see you at 6")`, []string{"OPAQUE", "DROPPED", "SUBSTITUTED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, Options{Scenario: tc.name, Runner: seeded}, 80, 24)
			l.waitFor(t, "the run to end", runDone(1))
			l.keys(press("e"))
			_, s := l.final(t)
			if !strings.Contains(strings.Join(strings.Fields(s), " "), tc.summary) {
				t.Errorf("screen lacks the summary %q:\n%s", tc.summary, s)
			}
			for _, b := range tc.badges {
				if !strings.Contains(s, b) {
					t.Errorf("screen lacks %s:\n%s", b, s)
				}
			}
			teatest.RequireEqualOutput(t, []byte(s))
		})
	}
}

// TestGoldenDetail shows the detail pane of one frame, full height: a
// chat message Mallory read, the same with no attacker, an end record, a
// hello he intercepted, and the secret he unwrapped in plaintext-rsa. The
// fixture's keys are fixed, so its JSON and hex are the same on every run.
func TestGoldenDetail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		scenario   string
		noAttacker bool
		runner     Runner // nil: the fixture
		frame      int
		verdict    trace.Verdict
		want       []string
	}{
		{"read", "unauth-ecdh", false, nil, 4, trace.Read, []string{`READ  Mallory read "my card PIN is 4921"`, `Bob accepted "my card PIN is 4921"`, "≠ leg B: different bytes crossed it"}},
		{"opaque", "unauth-ecdh", true, nil, 2, trace.Opaque, []string{"OPAQUE  an eavesdropper with no keys saw ciphertext only", `Bob accepted "my card PIN is 4921"`}},
		{"end", "unauth-ecdh", false, nil, 8, trace.Read, []string{"READ  Mallory opened Alice's end record: she has nothing more to send", "Bob's session ended: clean"}},
		{"intercepted", "unauth-ecdh", false, nil, 0, trace.Intercepted, []string{"INTERCEPTED  Mallory took it and did not pass it on", "≠ leg B, where Mallory sent"}},
		{"unwrapped", "plaintext-rsa", false, seeded, 2, trace.Read, []string{"READ  Mallory unwrapped the session secret:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runner := tc.runner
			if runner == nil {
				runner = replay(t)
			}
			l := newLab(t, Options{Scenario: tc.scenario, NoAttacker: tc.noAttacker, Runner: runner}, 80, 24)
			l.waitFor(t, "the run to end", runDone(1))
			l.keys(press("e"), press("home"))
			for range tc.frame {
				l.keys(press("down"))
			}
			l.keys(press("d"))
			m, s := l.final(t)
			sel := m.run.frames[m.run.visible[m.run.cursor]]
			if sel.Index != tc.frame || sel.Verdict != tc.verdict {
				t.Fatalf("selected frame %d, %s; want frame %d, %s", sel.Index, sel.Verdict, tc.frame, tc.verdict)
			}
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Errorf("detail lacks %q:\n%s", w, s)
				}
			}
			if tc.scenario == "plaintext-rsa" {
				s = maskRSA(t, m, s)
			}
			teatest.RequireEqualOutput(t, []byte(s))
		})
	}
}

// The RSA key pairs of plaintext-rsa come from crypto/rand whatever
// Options.Rand says (kex.NewRSAKey; Alice makes a fresh one for each
// handshake), and so does RSA-OAEP's padding (kex.WrapSecret). So the SPKI
// in each rsa_public_key and the wrapped secret in each key_transport
// differ on every run, though their sizes do not; the session secret
// itself comes from Options.Rand and stays. maskRSA masks exactly what
// those bytes show, character for character so the layout stays: their
// short hex and fingerprints, their base64 in the selected frame's JSON,
// and their bytes in its hex dump.
func maskRSA(t *testing.T, m *Model, s string) string {
	t.Helper()
	var random [][]byte
	for _, e := range m.run.frames {
		if k, err := wire.DecodeAs[*kex.RSAPublicKey](m.run.codec, e.Raw); err == nil {
			random = append(random, k.SPKI)
		}
		if k, err := wire.DecodeAs[*kex.KeyTransport](m.run.codec, e.Raw); err == nil {
			random = append(random, k.Wrapped)
		}
	}
	if len(random) == 0 {
		t.Fatal("maskRSA: no RSA key or wrapped secret in the run")
	}
	mask := func(x string) string { return strings.Repeat("x", len(x)) }
	for _, v := range random {
		sum := sha256.Sum256(v)
		for _, x := range []string{hex.EncodeToString(v[:6]), strings.TrimPrefix(fingerprint(sum[:]), "sha256/")} {
			s = strings.ReplaceAll(s, x, mask(x))
		}
	}
	// The base64 of the selected frame's random field, hard-wrapped over
	// the sent block's lines: every piece of it, each a run of base64
	// characters.
	sel := m.run.frames[m.run.visible[m.run.cursor]]
	lines := strings.Split(s, "\n")
	for _, v := range random {
		b64 := base64.StdEncoding.EncodeToString(v)
		start := bytes.Index(sel.Raw, []byte(b64))
		if start < 0 {
			continue
		}
		for i, l := range lines {
			for _, r := range b64RunRE.FindAllStringIndex(l, -1) {
				run := l[r[0]:r[1]]
				closes := r[1] < len(l) && l[r[1]] == '"' // the value's last piece
				if len(run) >= 6 && strings.Contains(b64, run) || closes && strings.HasSuffix(b64, run) {
					l = l[:r[0]] + mask(run) + l[r[1]:]
				}
			}
			lines[i] = l
		}
		lines = maskHex(lines, start, start+len(b64))
	}
	return strings.Join(lines, "\n")
}

var (
	b64RunRE  = regexp.MustCompile(`[A-Za-z0-9+/]+=*`)
	hexLineRE = regexp.MustCompile(`^((?:hex)? *)([0-9a-f]{4}) ((?: (?:[0-9a-f]{2}|  ))+)  (.*)$`)
)

// maskHex masks the hex and ASCII of the bytes [from, to) in the hex
// dump's lines.
func maskHex(lines []string, from, to int) []string {
	for i, l := range lines {
		g := hexLineRE.FindStringSubmatch(l)
		if g == nil {
			continue
		}
		off, err := strconv.ParseInt(g[2], 16, 64)
		if err != nil {
			continue
		}
		cells := strings.Split(strings.TrimPrefix(g[3], " "), " ")
		ascii := []rune(g[4])
		for j := range cells {
			if b := int(off) + j; b >= from && b < to && cells[j] != "" {
				cells[j] = "xx"
				if j < len(ascii) {
					ascii[j] = 'x'
				}
			}
		}
		lines[i] = g[1] + g[2] + "  " + strings.Join(cells, " ") + "  " + string(ascii)
	}
	return lines
}

// TestGoldenTooSmall is 60×20, below the lab's minimum: the message, not
// a clipped screen.
func TestGoldenTooSmall(t *testing.T) {
	t.Parallel()
	l := newLab(t, Options{}, 60, 20)
	l.keys(press("?"))
	_, s := l.final(t)
	teatest.RequireEqualOutput(t, []byte(s))
}

// TestGoldenHelpLegend is the help's second page at 80×24: the legend of
// the badges and the legs.
func TestGoldenHelpLegend(t *testing.T) {
	t.Parallel()
	l := newLab(t, Options{}, 80, 24)
	l.keys(press("?"), tea.KeyPressMsg{Code: tea.KeyPgDown})
	_, s := l.final(t)
	if !strings.Contains(s, "Badges") {
		t.Errorf("the second page has no legend:\n%s", s)
	}
	teatest.RequireEqualOutput(t, []byte(s))
}

// TestGoldenAttached is the view of a live attacker process at 80×24, a
// classroom on it: the connection column, then the tally (t).
func TestGoldenAttached(t *testing.T) {
	t.Parallel()
	ended := &StreamEnded{Err: websocket.CloseError{Code: websocket.StatusGoingAway, Reason: "attacker shutting down"}}
	for _, tc := range []struct {
		name string
		keys []tea.KeyPressMsg
	}{
		{"frames", nil},
		{"tally", []tea.KeyPressMsg{press("t")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := AttachedScenario("ws://127.0.0.1:9443/events")
			l := newLab(t, Options{Scenario: sc.Name, Catalogue: []scenarios.Scenario{sc}, Runner: classroom(ended), Live: true}, 80, 24)
			l.waitFor(t, "the stream to end", runDone(1))
			l.keys(tc.keys...)
			_, s := l.final(t)
			if !strings.Contains(s, "the attacker shut down") {
				t.Errorf("the view does not say the attacker shut down:\n%s", s)
			}
			teatest.RequireEqualOutput(t, []byte(s))
		})
	}
}

// TestGoldenHeld is a record Mallory holds for the learner at 80×24: with
// the keys (unauth-ecdh: its plaintext, and e to edit it), and without
// them (pinned-ecdh under the passive relay: its ciphertext, and f to
// flip a bit).
func TestGoldenHeld(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, scenario string
		keys           []tea.KeyPressMsg
		want           string
	}{
		{"with the keys", "unauth-ecdh", nil, `plaintext "hi Bob, it's Alice"`},
		{"without the keys", "pinned-ecdh", []tea.KeyPressMsg{press("A")}, "f flip a bit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, Options{Scenario: tc.scenario, Runner: seeded}, 80, 24)
			l.waitFor(t, "the first run", runDone(1))
			l.keys(tc.keys...)
			l.waitFor(t, "the run to settle", func(m *Model) bool { return m.run.run == 1+len(tc.keys) })
			l.keys(press("i"))
			l.waitFor(t, "Alice's first record held", holding(wire.ClientToServer, 0))
			_, s := l.final(t)
			if !strings.Contains(s, tc.want) {
				t.Errorf("the held record lacks %q:\n%s", tc.want, s)
			}
			// pinned-ecdh's transcript holds Bob's certificate, whose
			// validity starts now: the keys, and so the ciphertext, differ
			// on every run.
			s = heldCTRE.ReplaceAllString(s, "${1}xxxxxxxxxxxx")
			teatest.RequireEqualOutput(t, []byte(s))
		})
	}
}

var heldCTRE = regexp.MustCompile(`(?m)^(ct {8})[0-9a-f]{12}`)
