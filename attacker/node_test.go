package attacker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// serve runs h on a fresh loopback port until the test ends and returns
// its base URL, "ws://127.0.0.1:PORT".
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l) // returns http.ErrServerClosed after Close
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "ws://" + l.Addr().String()
}

// lab is Alice, Mallory and Bob on loopback TCP.
type lab struct {
	bob      *victim.Server
	bobBase  string // Bob's base URL
	node     *attacker.Node
	log      *trace.Log
	alice    *victim.Client
	nodeBase string // Mallory's base URL
	nodeURL  string // Mallory's URL for the scheme, where Alice dials
	http     *http.Client
}

type labConfig struct {
	scheme kex.Scheme
	attack attacker.Attack
	client kex.ClientConfig
	server kex.ServerConfig
	// bob, if not nil, wraps Bob's handler, for tests that watch what
	// reaches him.
	bob func(http.Handler) http.Handler
	// upstream, if not empty, replaces the path Mallory relays to.
	upstream string
}

func newLab(t *testing.T, cfg labConfig) *lab {
	t.Helper()
	name := cfg.scheme.Name()
	if name == kex.NamePinnedECDH && cfg.server.Identity == nil {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			t.Fatal(err)
		}
		cfg.server.Identity = id
		if !cfg.client.SkipPinCheck {
			cfg.client.Pin = id.Pin()
		}
	}
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)

	l := &lab{http: hc, log: trace.NewLog(nil)}
	l.bob = victim.NewServer(cfg.scheme, &victim.ServerOptions{Config: &cfg.server})
	var h http.Handler = l.bob
	if cfg.bob != nil {
		h = cfg.bob(h)
	}
	l.bobBase = serve(t, h)
	upstream := l.bobBase + victim.Path(name)
	if cfg.upstream != "" {
		upstream = l.bobBase + cfg.upstream
	}
	node, err := attacker.New(attacker.Options{
		Scheme:     cfg.scheme,
		Attack:     cfg.attack,
		Upstream:   upstream,
		HTTPClient: hc,
		Log:        l.log,
	})
	if err != nil {
		t.Fatal(err)
	}
	l.node = node
	l.nodeBase = serve(t, node)
	l.nodeURL = l.nodeBase + victim.Path(name)
	// Cleanups run last-registered first: Mallory, then Bob, then the
	// listeners.
	t.Cleanup(l.bob.Close)
	t.Cleanup(l.node.Close)
	l.alice = &victim.Client{Scheme: cfg.scheme, Config: &cfg.client, HTTPClient: hc}
	return l
}

// chat has Alice send each message through Mallory and check Bob's reply,
// then close and wait for every node to finish the connection.
func (l *lab) chat(t *testing.T, msgs [][]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := l.alice.Dial(ctx, l.nodeURL)
	if err != nil {
		t.Fatalf("Alice's dial through Mallory: %v", err)
	}
	for _, m := range msgs {
		if err := s.Send(ctx, m); err != nil {
			t.Fatalf("send %q: %v", m, err)
		}
		r, err := s.Receive(ctx)
		if err != nil {
			t.Fatalf("receive the reply to %q: %v", m, err)
		}
		if want := victim.DefaultReply(m); !bytes.Equal(r, want) {
			t.Fatalf("reply %q, Bob sent %q", r, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	l.node.Wait()
	l.bob.Wait()
}

var testMessages = [][]byte{[]byte("hi Bob, it's Alice"), []byte("my card PIN is 4921"), []byte("Grüße 🔐")}

// TestLedgerRecordsEveryFrameOnBothLegs:
//
// ATTACK SCENARIO: Mallory relays a chat with each attack that lets the
// handshake through.
//
// THIS TEST VERIFIES: each data frame appears once on leg A and once on leg
// B, the receiving leg after the sending one, with the verdict the attack
// earns: opaque with no keys, read on both legs when Mallory holds the
// victims' own keys, read then forged when he holds one key per leg. What
// he recovered is exactly what the victim sent.
func TestLedgerRecordsEveryFrameOnBothLegs(t *testing.T) {
	t.Parallel()
	offerBoth := []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
	for _, tc := range []struct {
		name    string
		cfg     labConfig
		in, out trace.Verdict // on the sender's leg, on the receiver's leg
		sameRaw bool          // the frame crosses both legs unchanged
	}{
		{"plaintext-rsa/attacker only relays", labConfig{scheme: kex.PlaintextRSA{}, attack: attacker.Passive}, trace.Opaque, trace.Opaque, true},
		{"unauth-ecdh/attacker only relays", labConfig{scheme: kex.UnauthECDH{}, attack: attacker.Passive}, trace.Opaque, trace.Opaque, true},
		{"pinned-ecdh/attacker only relays", labConfig{scheme: kex.PinnedECDH{}, attack: attacker.Passive}, trace.Opaque, trace.Opaque, true},
		{"plaintext-rsa/attacker swaps in its own RSA key", labConfig{scheme: kex.PlaintextRSA{}, attack: attacker.SwapRSAKey}, trace.Read, trace.Read, true},
		{"unauth-ecdh/attacker runs one key exchange with each side", labConfig{scheme: kex.UnauthECDH{}, attack: attacker.DoubleECDH}, trace.Read, trace.Forged, false},
		{"pinned-ecdh without a pin/attacker presents own certificate",
			labConfig{scheme: kex.PinnedECDH{}, attack: attacker.Impersonate, client: kex.ClientConfig{SkipPinCheck: true}},
			trace.Read, trace.Forged, false},
		{"pinned-ecdh with a fallback/attacker strips the offer",
			labConfig{scheme: kex.PinnedECDH{}, attack: attacker.StripOffer,
				client: kex.ClientConfig{Offer: offerBoth, AcceptFallback: true},
				server: kex.ServerConfig{Schemes: offerBoth}},
			trace.Read, trace.Forged, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, tc.cfg)
			l.chat(t, testMessages)
			events := l.log.Events()

			type key struct {
				leg trace.Leg
				dir wire.Direction
				seq uint64
			}
			frames := map[key][]trace.Event{}
			data := 0
			for _, e := range events {
				if e.Conn != 1 {
					t.Errorf("event %d on connection %d, want 1", e.Index, e.Conn)
				}
				if e.Type != string(wire.TypeData) {
					continue
				}
				data++
				if e.Seq == nil {
					t.Errorf("data event %d has no seq", e.Index)
					continue
				}
				frames[key{e.Leg, e.Dir, *e.Seq}] = append(frames[key{e.Leg, e.Dir, *e.Seq}], e)
			}
			if want := 4 * len(testMessages); data != want {
				t.Errorf("%d data events, want %d (each message and reply once on each leg)", data, want)
			}
			for _, d := range []wire.Direction{wire.ClientToServer, wire.ServerToClient} {
				from, to := trace.LegA, trace.LegB
				if d == wire.ServerToClient {
					from, to = to, from
				}
				for i, m := range testMessages {
					text := m
					if d == wire.ServerToClient {
						text = victim.DefaultReply(m)
					}
					at := fmt.Sprintf("%s seq %d", d, i)
					in, out := frames[key{from, d, uint64(i)}], frames[key{to, d, uint64(i)}]
					if len(in) != 1 || len(out) != 1 {
						t.Errorf("%s: %d events on leg %s, %d on leg %s; want 1 and 1", at, len(in), from, len(out), to)
						continue
					}
					checkVerdict(t, at+" leg "+string(from), in[0], tc.in, text)
					checkVerdict(t, at+" leg "+string(to), out[0], tc.out, text)
					if out[0].Index < in[0].Index {
						t.Errorf("%s: recorded on leg %s (event %d) before it arrived on leg %s (event %d)", at, to, out[0].Index, from, in[0].Index)
					}
					if same := bytes.Equal(in[0].Raw, out[0].Raw); same != tc.sameRaw {
						t.Errorf("%s: the same bytes on both legs is %v, want %v", at, same, tc.sameRaw)
					}
				}
			}
			checkHandshakeEvents(t, events, tc.cfg.attack)
		})
	}
}

// checkVerdict checks one data event: its verdict, and that the plaintext
// it carries is exactly text when the verdict says the attacker had it.
func checkVerdict(t *testing.T, at string, e trace.Event, want trace.Verdict, text []byte) {
	t.Helper()
	if e.Verdict != want {
		t.Errorf("%s: verdict %s, want %s", at, e.Verdict, want)
	}
	switch e.Verdict {
	case trace.Read, trace.Forged:
		if !bytes.Equal(e.Recovered, text) {
			t.Errorf("%s: %s with %q, the victim sent %q", at, e.Verdict, e.Recovered, text)
		}
	default:
		if e.Recovered != nil {
			t.Errorf("%s: %s but carries plaintext %q", at, e.Verdict, e.Recovered)
		}
	}
}

// checkHandshakeEvents: handshake frames are public when relayed and
// substituted when Mallory made them; a passive relay makes none and
// passes each one unchanged to the other leg.
func checkHandshakeEvents(t *testing.T, events []trace.Event, attack attacker.Attack) {
	t.Helper()
	var byLeg [2][][]byte
	for _, e := range events {
		if e.Type == string(wire.TypeData) || e.Type == trace.TypeClose {
			continue
		}
		switch e.Verdict {
		case trace.Public:
		case trace.Substituted:
			// Mallory sends on leg A toward the client (s2c) and on leg B
			// toward the server (c2s).
			if attack == attacker.Passive || (e.Leg == trace.LegA) != (e.Dir == wire.ServerToClient) {
				t.Errorf("event %d: %s %s %s substituted by a node that did not send it", e.Index, e.Leg, e.Dir, e.Type)
			}
		default:
			t.Errorf("event %d: handshake frame %s with verdict %s", e.Index, e.Type, e.Verdict)
		}
		if e.Leg == trace.LegA {
			byLeg[0] = append(byLeg[0], e.Raw)
		} else {
			byLeg[1] = append(byLeg[1], e.Raw)
		}
	}
	if len(byLeg[0]) == 0 {
		t.Error("no handshake frames in the ledger")
	}
	if attack != attacker.Passive {
		return
	}
	if len(byLeg[0]) != len(byLeg[1]) {
		t.Fatalf("%d handshake frames on leg A, %d on leg B", len(byLeg[0]), len(byLeg[1]))
	}
	for i := range byLeg[0] {
		if !bytes.Equal(byLeg[0][i], byLeg[1][i]) {
			t.Errorf("handshake frame %d differs between the legs", i)
		}
	}
}

// TestUpstreamDownIsBadGateway: a victim that reaches a relay whose server
// is gone gets an HTTP error, not a WebSocket that closes at once.
func TestUpstreamDownIsBadGateway(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "ws://" + l.Addr().String() + "/unauth-ecdh"
	l.Close() // nothing listens there now

	log := trace.NewLog(nil)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	node, err := attacker.New(attacker.Options{Scheme: kex.UnauthECDH{}, Upstream: dead, HTTPClient: hc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, node)
	t.Cleanup(node.Close)

	ws, resp, err := websocket.Dial(t.Context(), base+"/unauth-ecdh", &websocket.DialOptions{
		HTTPClient:   hc,
		Subprotocols: []string{wire.Subprotocol(kex.NameUnauthECDH)},
	})
	if err == nil {
		ws.CloseNow()
		t.Fatal("dial through a relay with no upstream succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("dial: %v, response %v; want HTTP 502", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "upstream "+dead) {
		t.Errorf("502 body %q does not name the upstream %s", body, dead)
	}

	// Alice's own client reports it as a failed dial, not as a scheme
	// mismatch.
	alice := &victim.Client{Scheme: kex.UnauthECDH{}, HTTPClient: hc}
	_, err = alice.Dial(t.Context(), base+"/unauth-ecdh")
	var mismatch *victim.SchemeMismatchError
	if err == nil || errors.As(err, &mismatch) || !strings.Contains(err.Error(), "502") {
		t.Errorf("Alice's dial = %v, want a dial error naming 502", err)
	}
	if n := len(log.Events()); n != 0 {
		t.Errorf("%d ledger events with no connection relayed", n)
	}
}

// TestProtocolMismatchIsReported: a relay pointed at a server that speaks
// another scheme says so, and so does a relay that Alice reaches with
// another scheme; neither looks like an attack.
func TestProtocolMismatchIsReported(t *testing.T) {
	t.Parallel()

	t.Run("upstream speaks another scheme than the relay", func(t *testing.T) {
		t.Parallel()
		// Bob speaks pinned-ecdh; Mallory was started for unauth-ecdh.
		hc := &http.Client{Transport: &http.Transport{}}
		t.Cleanup(hc.CloseIdleConnections)
		id, err := kex.NewIdentity("bob")
		if err != nil {
			t.Fatal(err)
		}
		bob := victim.NewServer(kex.PinnedECDH{}, &victim.ServerOptions{Config: &kex.ServerConfig{Identity: id}})
		bobURL := serve(t, bob) + victim.Path(kex.NamePinnedECDH)
		t.Cleanup(bob.Close)
		node, err := attacker.New(attacker.Options{Scheme: kex.UnauthECDH{}, Upstream: bobURL, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		nodeURL := serve(t, node) + victim.Path(kex.NameUnauthECDH)
		t.Cleanup(node.Close)

		alice := &victim.Client{Scheme: kex.UnauthECDH{}, HTTPClient: hc}
		_, err = alice.Dial(t.Context(), nodeURL)
		var mismatch *victim.SchemeMismatchError
		if !errors.As(err, &mismatch) {
			t.Fatalf("Dial = %v, want *victim.SchemeMismatchError", err)
		}
		if mismatch.Client != kex.NameUnauthECDH || mismatch.Server != kex.NamePinnedECDH {
			t.Errorf("mismatch names client %q and server %q, want %q and %q", mismatch.Client, mismatch.Server, kex.NameUnauthECDH, kex.NamePinnedECDH)
		}
		if want := "upstream speaks pinned-ecdh, attacker relays unauth-ecdh"; !strings.Contains(mismatch.Detail, want) {
			t.Errorf("detail %q does not say %q", mismatch.Detail, want)
		}
		if kex.Detected(err) {
			t.Errorf("a scheme mismatch counts as a detected attack: %v", err)
		}
	})

	t.Run("client speaks another scheme than the relay", func(t *testing.T) {
		t.Parallel()
		l := newLab(t, labConfig{scheme: kex.UnauthECDH{}, attack: attacker.DoubleECDH})
		alice := &victim.Client{Scheme: kex.PlaintextRSA{}, HTTPClient: l.http}
		_, err := alice.Dial(t.Context(), l.nodeURL)
		var mismatch *victim.SchemeMismatchError
		if !errors.As(err, &mismatch) || mismatch.Client != kex.NamePlaintextRSA {
			t.Fatalf("Dial = %v, want *victim.SchemeMismatchError for plaintext-rsa", err)
		}
		l.node.Wait()
		for _, e := range l.log.Events() {
			if e.Verdict == trace.Read || e.Type == string(wire.TypeData) {
				t.Errorf("event %d: %s %s after a refused connection", e.Index, e.Type, e.Verdict)
			}
		}
	})
}

// TestNodeRelaysOnlyToItsUpstream: nothing a client sends can point the
// relay elsewhere; the path, the query and the Host header are ignored.
func TestNodeRelaysOnlyToItsUpstream(t *testing.T) {
	t.Parallel()
	var decoyHits, bobHits []string
	var mu sync.Mutex
	decoy := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		decoyHits = append(decoyHits, r.URL.String())
		mu.Unlock()
		http.Error(w, "decoy", http.StatusTeapot)
	}))
	l := newLab(t, labConfig{
		scheme: kex.UnauthECDH{},
		attack: attacker.DoubleECDH,
		bob: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				bobHits = append(bobHits, r.URL.String())
				mu.Unlock()
				h.ServeHTTP(w, r)
			})
		},
	})
	decoyHost := strings.TrimPrefix(decoy, "ws://")

	// Alice's victim client, at a path and query that name the decoy.
	l.nodeURL = l.nodeBase + "/" + decoyHost + "/unauth-ecdh?upstream=" + url.QueryEscape(decoy+"/unauth-ecdh")
	l.chat(t, testMessages[:1])

	// A raw dial that also sets the Host header to the decoy.
	ws, _, err := websocket.Dial(t.Context(), l.nodeBase+"/unauth-ecdh", &websocket.DialOptions{
		HTTPClient:   l.http,
		Host:         decoyHost,
		Subprotocols: []string{wire.Subprotocol(kex.NameUnauthECDH)},
	})
	if err != nil {
		t.Fatalf("dial with Host %s: %v", decoyHost, err)
	}
	ws.Close(websocket.StatusNormalClosure, "bye")
	l.node.Wait()
	l.bob.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(decoyHits) != 0 {
		t.Errorf("the relay reached the decoy: %q", decoyHits)
	}
	if want := []string{"/unauth-ecdh", "/unauth-ecdh"}; fmt.Sprint(bobHits) != fmt.Sprint(want) {
		t.Errorf("Bob was reached at %q, want %q", bobHits, want)
	}
}

// TestNodeCloseEndsLiveSessions: closing the node ends every session it
// relays with 1001 (going away) on both legs, and leaves no goroutine.
// Not parallel, so that goleak sees only this test's goroutines.
func TestNodeCloseEndsLiveSessions(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // registered first, so it runs last

	for _, tc := range []struct {
		name string
		cfg  labConfig
	}{
		{"unauth-ecdh/attacker re-encrypting", labConfig{scheme: kex.UnauthECDH{}, attack: attacker.DoubleECDH}},
		{"pinned-ecdh/attacker only relays", labConfig{scheme: kex.PinnedECDH{}, attack: attacker.Passive}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, tc.cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			s, err := l.alice.Dial(ctx, l.nodeURL)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("are you still there?")
			if err := s.Send(ctx, msg); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Receive(ctx); err != nil {
				t.Fatal(err)
			}

			// Alice waits for Bob's next message while Mallory leaves.
			got := make(chan error, 1)
			go func() {
				_, err := s.Receive(ctx)
				got <- err
			}()
			l.node.Close()
			err = <-got
			var ce *wire.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "attacker shutting down" {
				t.Errorf("Alice's Receive = %v, want a 1001 close: attacker shutting down", err)
			}
			l.bob.Wait()
			sessions := l.bob.Sessions()
			if len(sessions) != 1 {
				t.Fatalf("Bob has %d ended sessions, want 1", len(sessions))
			}
			if sessions[0].Err != nil || len(sessions[0].Received) != 1 || !bytes.Equal(sessions[0].Received[0], msg) {
				t.Errorf("Bob's session: received %q, err %v; want %q and a going-away close", sessions[0].Received, sessions[0].Err, msg)
			}
			for _, leg := range []trace.Leg{trace.LegA, trace.LegB} {
				found := false
				for _, e := range l.log.Events() {
					if e.Leg == leg && e.Type == trace.TypeClose && e.Note == "1001 StatusGoingAway: attacker shutting down" {
						found = true
					}
				}
				if !found {
					t.Errorf("no 1001 close recorded on leg %s", leg)
				}
			}
		})
	}
}

// TestMalformedFrameThroughPassiveRelay:
//
// ATTACK SCENARIO: a broken client sends garbage through a passive relay.
//
// THIS TEST VERIFIES: the relay passes the frame on unchanged, Bob closes
// with 1002 (protocol error) naming the decoding error, and the relay
// passes that close back to the client with the same code.
func TestMalformedFrameThroughPassiveRelay(t *testing.T) {
	t.Parallel()
	data, err := wire.Encode(&wire.Data{Seq: 0, CT: make([]byte, wire.TagSize)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"unauth-ecdh/client sends truncated JSON", []byte(`{"type":"client_hello","nonce":`), wire.ErrMalformed},
		{"unauth-ecdh/client sends an unknown message type", []byte(`{"type":"hello"}`), wire.ErrUnknownType},
		{"unauth-ecdh/client sends data before the handshake", data, wire.ErrUnexpectedMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, labConfig{scheme: kex.UnauthECDH{}, attack: attacker.Passive})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, l.nodeURL, &websocket.DialOptions{
				HTTPClient:   l.http,
				Subprotocols: []string{wire.Subprotocol(kex.NameUnauthECDH)},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			if err := ws.Write(ctx, websocket.MessageText, tc.msg); err != nil {
				t.Fatal(err)
			}
			_, _, err = ws.Read(ctx)
			if code := websocket.CloseStatus(err); code != websocket.StatusProtocolError {
				t.Fatalf("client read = %v (close code %d), want a 1002 close", err, code)
			}
			l.node.Wait()
			l.bob.Wait()

			sessions := l.bob.Sessions()
			if len(sessions) != 1 || !errors.Is(sessions[0].Err, tc.want) {
				t.Fatalf("Bob's sessions %v, want one that failed with %v", sessions, tc.want)
			}
			events := l.log.Events()
			var a, b []byte
			for _, e := range events {
				if e.Dir == wire.ClientToServer && e.Type != trace.TypeClose {
					if e.Verdict != trace.Public && e.Verdict != trace.Opaque {
						t.Errorf("event %d: relayed garbage with verdict %s", e.Index, e.Verdict)
					}
					if e.Leg == trace.LegA {
						a = e.Raw
					} else {
						b = e.Raw
					}
				}
			}
			if !bytes.Equal(a, tc.msg) || !bytes.Equal(b, tc.msg) {
				t.Errorf("garbage on leg A %q and leg B %q, the client sent %q", a, b, tc.msg)
			}
			for _, leg := range []trace.Leg{trace.LegB, trace.LegA} {
				found := false
				for _, e := range events {
					if e.Leg == leg && e.Dir == wire.ServerToClient && e.Type == trace.TypeClose && strings.HasPrefix(e.Note, "1002 ") {
						found = true
						if e.Verdict != trace.Blocked {
							t.Errorf("leg %s: 1002 close with verdict %s, want blocked", leg, e.Verdict)
						}
					}
				}
				if !found {
					t.Errorf("no 1002 close from the server recorded on leg %s", leg)
				}
			}
		})
	}
}

// TestEavesdropSeesOnlyCiphertext: the tap for a run with no attacker
// records every frame on the wire leg, handshake public and data opaque.
func TestEavesdropSeesOnlyCiphertext(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	bob := victim.NewServer(kex.UnauthECDH{}, nil)
	bobURL := serve(t, bob) + victim.Path(kex.NameUnauthECDH)
	t.Cleanup(bob.Close)
	log := trace.NewLog(nil)
	alice := &victim.Client{Scheme: kex.UnauthECDH{}, HTTPClient: hc, Tap: attacker.Eavesdrop(log)}
	res := alice.Chat(t.Context(), bobURL, testMessages)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	bob.Wait()
	var types []string
	for _, e := range log.Events() {
		types = append(types, e.Type+"/"+string(e.Verdict))
		if e.Leg != trace.LegWire || e.Recovered != nil {
			t.Errorf("event %d: leg %s, recovered %q", e.Index, e.Leg, e.Recovered)
		}
		for _, m := range testMessages {
			if bytes.Contains(e.Raw, m) {
				t.Errorf("event %d: %q in clear", e.Index, m)
			}
		}
	}
	want := "client_hello/public server_hello/public data/opaque data/opaque data/opaque data/opaque data/opaque data/opaque"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("eavesdropper saw %q, want %q", got, want)
	}
}
