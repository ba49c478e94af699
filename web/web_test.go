package web_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/internal/chromium"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/web"
	"github.com/mitmlab/mitmlab/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bob serves the lab's server for scheme with the victim page, and
// returns its URL and pin.
func bob(t *testing.T, scheme *kex.Scheme) (string, string) {
	t.Helper()
	var cfg kex.ServerConfig
	pin := ""
	if scheme.Identity {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Identity, pin = id, id.Pin()
	}
	srv := victim.NewServer(scheme, &victim.ServerOptions{Config: &cfg, HandshakeTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second})
	hs := httptest.NewServer(web.Handler(srv, web.Options{Scheme: scheme.Name, Pin: pin}))
	t.Cleanup(func() { srv.Close(); hs.Close() })
	return hs.URL, pin
}

// mallory serves an attacker node in front of Bob's origin, with the page
// passed through, and returns its URL and ledger.
func mallory(t *testing.T, scheme *kex.Scheme, attack, bobURL string) (string, *trace.Log) {
	t.Helper()
	a, err := attacker.Lookup(attack)
	if err != nil {
		t.Fatal(err)
	}
	log := trace.NewLog(nil)
	n, err := attacker.New(attacker.Options{Scheme: scheme, Attack: a, Log: log,
		Upstream:         "ws" + strings.TrimPrefix(bobURL, "http") + victim.Path(scheme.Name),
		HandshakeTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(n)
	t.Cleanup(func() { n.Close(); hs.Close() })
	return hs.URL, log
}

func get(t *testing.T, u string) (string, http.Header) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, b)
	}
	return string(b), resp.Header
}

// TestPageCarriesTheServersPin: the page, its script and the protocol
// module come from the server, with the server's pin in the page.
func TestPageCarriesTheServersPin(t *testing.T) {
	t.Parallel()
	u, pin := bob(t, kex.PinnedECDH())
	page, h := get(t, u+"/")
	if want := `<meta name="` + web.PinMeta + `" content="` + pin + `">`; !strings.Contains(page, want) {
		t.Errorf("the page lacks %s:\n%s", want, page)
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "connect-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", h.Get("Content-Security-Policy"))
	}
	for _, f := range []string{"/page.mjs", "/mitmlab.mjs", "/page.css"} {
		body, h := get(t, u+f)
		if body == "" || h.Get("Content-Type") == "" {
			t.Errorf("%s: empty, or no Content-Type", f)
		}
	}
	if web.PinMeta != attacker.PinMeta {
		t.Errorf("the page carries its pin in %q, but rewrite-pin looks for %q", web.PinMeta, attacker.PinMeta)
	}
}

// TestMalloryPassesThePageThrough:
//
// ATTACK SCENARIO: the page comes over plain HTTP through Mallory, once
// with the passive relay and once with rewrite-pin.
//
// THIS TEST VERIFIES: the passive relay hands over Bob's page byte for
// byte and records it public on both legs; rewrite-pin hands over a page
// with Mallory's own pin in it, and records Bob's page intercepted and
// his own substituted. Neither is read: the page is public by design.
func TestMalloryPassesThePageThrough(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		attack      string
		rewritten   bool
		inB, outA   trace.Verdict
		wantPinFrom string
	}{
		{attacker.Passive, false, trace.Public, trace.Public, "bob"},
		{attacker.RewritePin, true, trace.Intercepted, trace.Substituted, "mallory"},
	} {
		t.Run(tt.attack, func(t *testing.T) {
			t.Parallel()
			b, pin := bob(t, kex.PinnedECDH())
			m, log := mallory(t, kex.PinnedECDH(), tt.attack, b)
			orig, _ := get(t, b+"/?scheme=pinned-ecdh")
			page, _ := get(t, m+"/?scheme=pinned-ecdh")
			if (page != orig) != tt.rewritten {
				t.Fatalf("rewritten = %v, want %v", page != orig, tt.rewritten)
			}
			if hasPin := strings.Contains(page, pin); hasPin != (tt.wantPinFrom == "bob") {
				t.Errorf("the page through Mallory has Bob's pin: %v, want the pin from %s", hasPin, tt.wantPinFrom)
			}
			var got []string
			for _, e := range log.Events() {
				got = append(got, string(e.Leg)+" "+string(e.Dir)+" "+e.Type+" "+string(e.Verdict))
				if e.Type != attacker.TypeHTTPResponse {
					continue
				}
				switch {
				case e.Leg == trace.LegB && e.Verdict != tt.inB, e.Leg == trace.LegA && e.Verdict != tt.outA:
					t.Errorf("%s %s: %s", e.Leg, e.Type, e.Verdict)
				case e.Leg == trace.LegA && string(e.Raw) != page:
					t.Errorf("leg A's event does not hold the page Alice got")
				case e.Leg == trace.LegB && string(e.Raw) != orig:
					t.Errorf("leg B's event does not hold Bob's page")
				}
			}
			want := []string{"A c2s http_request public", "B c2s http_request public",
				"B s2c http_response " + string(tt.inB), "A s2c http_response " + string(tt.outA)}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("ledger:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// startChromium starts a browser, or skips the test when there is none;
// under CI (CI=true) it fails instead, so that CI cannot pass by skipping.
func startChromium(t *testing.T) *chromium.Browser {
	t.Helper()
	b, err := chromium.Start(t.Context(), chromium.Options{Timeout: 30 * time.Second})
	if errors.Is(err, chromium.ErrNotFound) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("package web: %v", err)
		}
		t.Skipf("package web: skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestTheBrowserIsAlice:
//
// ATTACK SCENARIO: headless Chromium opens the victim page through
// Mallory, over plain HTTP, and the page chats with Bob through him. The
// page's message travels in the URL's fragment, which the browser never
// sends, so the only way Mallory can get it is from the chat itself.
//
// THIS TEST VERIFIES, from the page's #outcome and Mallory's ledger side
// by side:
//   - unauth-ecdh under double-ecdh: the ledger holds the page's message
//     as read, byte for byte, and the page noticed nothing;
//   - pinned-ecdh under impersonate: the page refuses (key does not match
//     pin) before it sends any record, and the message is nowhere in the
//     ledger;
//   - pinned-ecdh under rewrite-pin: the page arrives with Mallory's pin,
//     accepts his key, and the ledger holds the message as read;
//   - pinned-ecdh under the passive relay (the control): the chat works
//     and Mallory reads nothing.
func TestTheBrowserIsAlice(t *testing.T) {
	t.Parallel()
	br := startChromium(t)
	const msg = "a secret only this test knows: 20417"
	tests := []struct {
		name    string
		scheme  *kex.Scheme
		attack  string
		refused string // the page's reason, if it refuses
		read    bool   // whether Mallory reads the message
	}{
		{"unauth-ecdh: Mallory reads and the page notices nothing", kex.UnauthECDH(), attacker.DoubleECDH, "", true},
		{"pinned-ecdh: the page refuses impersonate before any data", kex.PinnedECDH(), attacker.Impersonate, "key does not match pin", false},
		{"pinned-ecdh: rewrite-pin over plain HTTP reads", kex.PinnedECDH(), attacker.RewritePin, "", true},
		{"pinned-ecdh: the passive relay reads nothing (control)", kex.PinnedECDH(), attacker.Passive, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, _ := bob(t, tt.scheme)
			m, log := mallory(t, tt.scheme, tt.attack, b)
			ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
			defer cancel()
			frag := url.Values{"autorun": {"1"}, "message": {msg}, "scheme": {tt.scheme.Name}}
			v, err := br.Visit(ctx, m+"/#"+frag.Encode(), &chromium.VisitOptions{Screenshot: os.Getenv("MITMLAB_SCREENSHOTS") != ""})
			if err != nil {
				t.Fatal(err)
			}
			if dir := os.Getenv("MITMLAB_SCREENSHOTS"); dir != "" {
				name := strings.NewReplacer(" ", "-", ":", "").Replace(tt.name)
				os.WriteFile(filepath.Join(dir, name+".png"), v.Screenshot, 0o644)
			}
			o := v.Outcome
			if o == nil {
				t.Fatalf("the page wrote no outcome (load error %q)\n%s", v.LoadError, strings.Join(v.Console, "\n"))
			}
			events := log.Events()
			var readMsg, anyMsg, clientData bool
			var clientClose *trace.Event
			for i, e := range events {
				if bytes.Contains(e.Raw, []byte(msg)) || bytes.Contains(e.Recovered, []byte(msg)) {
					anyMsg = true
				}
				if e.Leg == trace.LegA && e.Dir == wire.ClientToServer {
					switch e.Type {
					case string(wire.TypeData):
						clientData = true
						if e.Verdict == trace.Read && string(e.Recovered) == msg {
							readMsg = true
						}
					case trace.TypeClose:
						if clientClose == nil {
							clientClose = &events[i]
						}
					}
				}
			}
			switch {
			case tt.refused != "":
				if !o.Refused || !strings.Contains(o.Reason, tt.refused) || o.Sent != 0 {
					t.Errorf("the page: %+v, want it to refuse (%s) before sending anything", *o, tt.refused)
				}
				if clientData || anyMsg {
					t.Errorf("the page sent a record (%v), or its message reached the ledger (%v)", clientData, anyMsg)
				}
				if clientClose == nil || clientClose.Verdict != trace.Blocked || !strings.HasPrefix(clientClose.Note, "4008") {
					t.Errorf("the page's close in the ledger: %+v, want 4008, blocked", clientClose)
				}
			default:
				if o.Refused || o.Reason != "" || o.Sent != 1 || o.Replies != 1 {
					t.Errorf("the page: %+v, want one message sent and answered, and nothing noticed", *o)
				}
			}
			if readMsg != tt.read {
				t.Errorf("Mallory read the page's message: %v, want %v", readMsg, tt.read)
			}
			if t.Failed() {
				t.Logf("browser console:\n%s", strings.Join(v.Console, "\n"))
				for _, e := range events {
					t.Logf("%d conn %d %s %s %s %s %q", e.Index, e.Conn, e.Leg, e.Dir, e.Type, e.Verdict, e.Note)
				}
			}
		})
	}
}
