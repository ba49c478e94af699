package victim_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// TestSchemeMismatch: a client for another scheme, or at another scheme's
// path, gets HTTP 400 naming the server's scheme, and Dial says so
// instead of failing somewhere in a handshake.
func TestSchemeMismatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		client string // the scheme the client speaks
		path   string
		detail string // in the server's answer
	}{
		{"unauth-ecdh client at the pinned-ecdh path", "unauth-ecdh", "/pinned-ecdh", "the client offered"},
		{"unauth-ecdh client at its own path", "unauth-ecdh", "/unauth-ecdh", "not /unauth-ecdh"},
		{"plaintext-rsa client at the root", "plaintext-rsa", "/", "the client offered"},
		{"pinned-ecdh client at the wrong path", "pinned-ecdh", "/chat", "at /pinned-ecdh, not /chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBob(t, setupFor(t, "pinned-ecdh"), nil)
			cs := setupFor(t, tt.client)
			alice := &victim.Client{Scheme: cs.scheme, Config: cs.client}
			s, err := alice.Dial(testContext(t), b.at(tt.path))
			var me *victim.SchemeMismatchError
			if !errors.As(err, &me) {
				if s != nil {
					s.Drop()
				}
				t.Fatalf("Dial = %v, want *SchemeMismatchError", err)
			}
			if me.Client != tt.client || me.Server != "pinned-ecdh" {
				t.Errorf("SchemeMismatchError{Client: %q, Server: %q}, want %q and pinned-ecdh", me.Client, me.Server, tt.client)
			}
			if !strings.Contains(err.Error(), tt.client) || !strings.Contains(err.Error(), "pinned-ecdh") {
				t.Errorf("error %q does not name both schemes", err)
			}
			if !strings.Contains(me.Detail, tt.detail) {
				t.Errorf("Detail %q does not say %q", me.Detail, tt.detail)
			}
		})
	}
	t.Run("a raw request gets 400 and the Mitmlab-Scheme header", func(t *testing.T) {
		t.Parallel()
		b := newBob(t, setupFor(t, "pinned-ecdh"), nil)
		for _, protos := range [][]string{nil, {"mitmlab.v2.unauth-ecdh"}, {"chat", "mitmlab.v1.pinned-ecdh"}} {
			ws, resp, err := websocket.Dial(testContext(t), b.url(), &websocket.DialOptions{Subprotocols: protos})
			if err == nil {
				ws.CloseNow()
				t.Fatalf("subprotocols %q: upgrade accepted", protos)
			}
			if resp == nil || resp.StatusCode != http.StatusBadRequest || resp.Header.Get(victim.SchemeHeader) != "pinned-ecdh" {
				t.Errorf("subprotocols %q: response %v, want 400 with %s: pinned-ecdh", protos, resp, victim.SchemeHeader)
			}
		}
	})
	t.Run("a server that chooses no subprotocol: the client closes with 1002", func(t *testing.T) {
		t.Parallel()
		got := make(chan websocket.StatusCode, 1)
		var wg sync.WaitGroup
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := websocket.Accept(w, r, nil) // a WebSocket server, but no lab server
			if err != nil {
				return
			}
			wg.Add(1)
			defer wg.Done()
			defer ws.CloseNow()
			_, msg, err := ws.Read(testContext(t))
			if err == nil {
				t.Errorf("the client sent %q to a server it should have refused", msg)
			}
			got <- websocket.CloseStatus(err)
		}))
		t.Cleanup(func() {
			srv.Close()
			wg.Wait()
		})
		alice := &victim.Client{Scheme: setupFor(t, "unauth-ecdh").scheme}
		s, err := alice.Dial(testContext(t), wsURL(srv)+"/unauth-ecdh")
		var me *victim.SchemeMismatchError
		if !errors.As(err, &me) {
			if s != nil {
				s.Drop()
			}
			t.Fatalf("Dial = %v, want *SchemeMismatchError", err)
		}
		if me.Client != "unauth-ecdh" || me.Server != "" || !strings.Contains(me.Detail, `""`) {
			t.Errorf("SchemeMismatchError = %+v, want the client's scheme and the empty subprotocol", me)
		}
		if code := receive(t, got); code != websocket.StatusProtocolError {
			t.Errorf("server got close %d, want 1002", code)
		}
	})
	t.Run("a plain HTTP 404 is a DialError with its status", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		alice := &victim.Client{Scheme: setupFor(t, "unauth-ecdh").scheme}
		url := wsURL(srv) + "/unauth-ecdh"
		s, err := alice.Dial(testContext(t), url)
		var de *victim.DialError
		if !errors.As(err, &de) {
			if s != nil {
				s.Drop()
			}
			t.Fatalf("Dial = %v, want *DialError", err)
		}
		if de.Status != http.StatusNotFound || de.URL != url || !strings.Contains(de.Body, "404 page not found") {
			t.Errorf("DialError{Status: %d, URL: %q, Body: %q}", de.Status, de.URL, de.Body)
		}
		if !strings.Contains(err.Error(), "404 Not Found") {
			t.Errorf("error %q does not name the status", err)
		}
	})
}

// TestOriginCheck:
//
// ATTACK SCENARIO: a page on another site opens a WebSocket to the lab's
// server from a student's browser (cross-site WebSocket hijacking).
//
// THIS TEST VERIFIES: the server never switches coder/websocket's Origin
// check off: a foreign Origin is refused with 403, and the server's log
// names the Origin and the --origin value that would allow it; listed
// patterns, the same origin and non-browser clients get through, and
// "Origin: null" (a file:// page) only with the pattern "*".
func TestOriginCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		origin   string // "self" is the server's own origin
		allowed  bool
		logged   []string // in the refusal's log line
	}{
		{"a foreign origin is refused", nil, "https://evil.example", false, []string{`"https://evil.example"`, "--origin evil.example"}},
		{"a look-alike of a listed origin is refused", []string{"lab.example"}, "https://lab.example.evil.example", false, []string{"--origin lab.example.evil.example"}},
		{"a listed origin is allowed", []string{"lab.example"}, "https://lab.example", true, nil},
		{"a listed wildcard pattern is allowed", []string{"*.lab.example"}, "https://room1.lab.example", true, nil},
		{"a pattern with a scheme matches the scheme too", []string{"https://lab.example"}, "http://lab.example", false, []string{"--origin lab.example"}},
		{"no Origin (not a browser) is allowed", nil, "", true, nil},
		{"the same origin is allowed", nil, "self", true, nil},
		{"Origin null (a file:// page) is refused by default", nil, "null", false, []string{`"null"`, "--origin '*'"}},
		{"Origin null is refused by a host pattern", []string{"lab.example"}, "null", false, []string{"--origin '*'"}},
		{"Origin null is allowed by *", []string{"*"}, "null", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu   sync.Mutex
				logs []string
			)
			logf := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				logs = append(logs, fmt.Sprintf(format, args...))
			}
			b := newBob(t, setupFor(t, "unauth-ecdh"), &victim.ServerOptions{OriginPatterns: tt.patterns, Logf: logf})
			h := http.Header{}
			switch tt.origin {
			case "":
			case "self":
				h.Set("Origin", b.srv.URL)
			default:
				h.Set("Origin", tt.origin)
			}
			ws, resp, err := websocket.Dial(testContext(t), b.url(),
				&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol("unauth-ecdh")}, HTTPHeader: h})
			if !tt.allowed {
				if err == nil {
					ws.CloseNow()
					t.Fatal("upgrade accepted")
				}
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Errorf("response %v, want 403", resp)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(logs) != 1 {
					t.Fatalf("server logged %q, want one line", logs)
				}
				for _, want := range tt.logged {
					if !strings.Contains(logs[0], want) {
						t.Errorf("log %q does not say %s", logs[0], want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			ws.Close(websocket.StatusNormalClosure, "")
			b.session(t)
			mu.Lock()
			defer mu.Unlock()
			if len(logs) != 0 {
				t.Errorf("server logged %q for an allowed origin", logs)
			}
		})
	}
}

// TestCheckOrigin: the message a refusal logs names the Origin, the
// server, and the flag value that would allow it.
func TestCheckOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		origin   string
		patterns []string
		want     string // "" means allowed
	}{
		{"no Origin", "", nil, ""},
		{"same host", "http://lab.test:8080", nil, ""},
		{"same host in other case", "http://LAB.test:8080", nil, ""},
		{"listed host", "https://lab.example", []string{"lab.example"}, ""},
		{"listed host in other case", "https://Lab.Example", []string{"lab.example"}, ""},
		{"foreign host", "https://evil.example", []string{"lab.example"},
			`refused a WebSocket from Origin "https://evil.example" (browsers send it; this server is lab.test:8080): allow it with --origin evil.example`},
		{"foreign port", "http://lab.test:9090", nil, "allow it with --origin lab.test:9090"},
		{"null", "null", nil, `refused a WebSocket from Origin "null" (browsers send it; this server is lab.test:8080): allow it with --origin '*'`},
		{"null with *", "null", []string{"*"}, ""},
		{"unparsable", "http://[::1", nil, `Origin "http://[::1", which does not parse`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "http://lab.test:8080/unauth-ecdh", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			err := victim.CheckOrigin(r, tt.patterns)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckOrigin = %v, want allowed", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckOrigin = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
