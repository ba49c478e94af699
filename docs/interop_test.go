package docs_test

// The implementation written from protocol.md (docimpl_test.go) against the
// lab's own victims, both ways, for every scheme that runs over ws://.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
)

// testCtx bounds a test so that a broken peer fails it instead of hanging.
// It is a deadline for the whole test, not a timing assertion.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The long-term keys the tests share: RSA-2048 keys take a while to make.
var (
	serverRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	clientRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	bobIdentity = sync.OnceValue(func() *kex.Identity {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			panic(err)
		}
		return id
	})
)

// wsSchemes are the schemes a lab connection speaks over ws://, each by
// the function that returns it.
var wsSchemes = []func() *kex.Scheme{kex.PinnedECDH, kex.UnauthECDH, kex.PlaintextRSA, kex.StaticRSA, kex.Plain}

// labServer starts the lab's server (Bob) for scheme and returns its base
// URL, ws://127.0.0.1:port, and the server.
func labServer(t *testing.T, scheme *kex.Scheme, opts *victim.ServerOptions) (string, *victim.Server) {
	t.Helper()
	if opts == nil {
		opts = &victim.ServerOptions{}
	}
	if opts.Config == nil {
		opts.Config = &kex.ServerConfig{Identity: bobIdentity(), RSAKey: serverRSAKey()}
	}
	bob := victim.NewServer(scheme, opts)
	srv := httptest.NewServer(bob)
	t.Cleanup(func() {
		bob.Close()
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http"), bob
}

// docDial connects as protocol.md says: path /<scheme>, subprotocol
// mitmlab.v2.<scheme>, and checks the server chose it.
func docDial(t *testing.T, ctx context.Context, base, scheme string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, base+"/"+scheme, &websocket.DialOptions{Subprotocols: []string{docSubprotocol(scheme)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	if got := ws.Subprotocol(); got != docSubprotocol(scheme) {
		t.Fatalf("server chose subprotocol %q", got)
	}
	return ws
}

// labPin is the pin a doc client holds for the lab server of scheme.
func labPin(t *testing.T, scheme string) string {
	switch scheme {
	case kex.NamePinnedECDH:
		return bobIdentity().Pin()
	case kex.NameStaticRSA:
		p, err := kex.RSAKeyPin(&serverRSAKey().PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	return ""
}

var script = []string{"hello from protocol.md", "a second record", "", "ünïcode ✓"}

// serverSession waits for the lab server's one session and returns it.
func serverSession(t *testing.T, bob *victim.Server) *victim.ServerSession {
	t.Helper()
	bob.Wait()
	sessions := bob.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(sessions))
	}
	return sessions[0]
}

// TestDocClientAgainstLabServer: a client written from protocol.md runs
// every ws:// scheme against the lab's server, chats, and ends in order:
// its end record, the server's end record, close 1000. The server must
// call that session clean and have accepted exactly the script.
func TestDocClientAgainstLabServer(t *testing.T) {
	t.Parallel()
	for _, newScheme := range wsSchemes {
		scheme := newScheme()
		t.Run(scheme.Name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			base, bob := labServer(t, scheme, nil)
			ws := docDial(t, ctx, base, scheme.Name)
			s, err := clientHandshakes[scheme.Name](ctx, ws, clientOpts{pin: labPin(t, scheme.Name), rsaKey: clientRSAKey()})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range script {
				if err := s.send(ctx, []byte(m)); err != nil {
					t.Fatal(err)
				}
				reply, err := s.receive(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if want := "got it: " + m; string(reply) != want {
					t.Fatalf("reply %q, want %q", reply, want)
				}
			}
			if err := s.end(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := s.receive(ctx); err != io.EOF {
				t.Fatalf("after the client's end record: %v, want the server's end record", err)
			}
			if s.recvSeq != uint64(len(script))+1 {
				t.Errorf("the server's end record had seq %d, want %d", s.recvSeq-1, len(script))
			}
			if err := ws.Close(websocket.StatusNormalClosure, "bye"); err != nil {
				t.Fatal(err)
			}
			sess := serverSession(t, bob)
			if sess.Err != nil || sess.Ending != victim.EndClean {
				t.Errorf("server session ended %q: %v", sess.Ending, sess.Err)
			}
			var got []string
			for _, r := range sess.Received {
				got = append(got, string(r))
			}
			if !slices.Equal(got, script) {
				t.Errorf("server received %q, want %q", got, script)
			}
		})
	}
}

// docServer serves one scheme as protocol.md describes, for the lab's own
// client: it answers each message with "echo: " and the message, answers
// the client's end record with its own, and reports the client's close.
type docServer struct {
	t      *testing.T
	scheme string
	opts   serverOpts
	// misbehave, if not nil, replaces the chat after the handshake.
	misbehave func(ctx context.Context, s *docSession)
	done      chan error // the client's close, or what went wrong
}

func (d *docServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	if r.URL.Path != "/"+d.scheme {
		http.Error(w, "wrong path", http.StatusBadRequest)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{docSubprotocol(d.scheme)}})
	if err != nil {
		d.done <- err
		return
	}
	defer ws.CloseNow()
	s, err := serverHandshakes[d.scheme](ctx, ws, d.opts)
	if err != nil {
		d.done <- err
		return
	}
	if d.misbehave != nil {
		d.misbehave(ctx, s)
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				d.done <- err
				return
			}
		}
	}
	for {
		msg, err := s.receive(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			d.done <- err
			return
		}
		if err := s.send(ctx, append([]byte("echo: "), msg...)); err != nil {
			d.done <- err
			return
		}
	}
	if err := s.end(ctx); err != nil {
		d.done <- err
		return
	}
	_, _, err = ws.Read(ctx) // the client's close
	d.done <- err
}

// startDocServer serves d and returns the URL the lab's client dials and
// the client's configuration for it (the pin).
func startDocServer(t *testing.T, d *docServer) (string, *kex.ClientConfig) {
	t.Helper()
	d.t, d.done = t, make(chan error, 1)
	cfg := &kex.ClientConfig{RSAKey: clientRSAKey()}
	switch d.scheme {
	case kex.NamePinnedECDH:
		id, pin, err := newDocIdentity()
		if err != nil {
			t.Fatal(err)
		}
		d.opts.id, cfg.Pin = id, pin
	case kex.NameStaticRSA:
		d.opts.rsaKey = serverRSAKey()
		spki, err := kex.MarshalRSAPublicKey(&d.opts.rsaKey.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Pin = spkiPin(spki)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/" + d.scheme, cfg
}

// closeOf returns the close frame in err, or fails.
func closeOf(t *testing.T, err error) websocket.CloseError {
	t.Helper()
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("want a close frame, got %v", err)
	}
	return ce
}

// TestLabClientAgainstDocServer: the lab's client (Alice) runs every ws://
// scheme against a server written from protocol.md, chats, and ends in
// order: the server sees her end record, answers with its own, and only
// then gets her close, 1000 "bye".
func TestLabClientAgainstDocServer(t *testing.T) {
	t.Parallel()
	for _, newScheme := range wsSchemes {
		scheme := newScheme()
		t.Run(scheme.Name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			d := &docServer{scheme: scheme.Name}
			url, cfg := startDocServer(t, d)
			msgs := [][]byte{[]byte("hi Bob"), {}, []byte("bye Bob")}
			res := (&victim.Client{Scheme: scheme, Config: cfg}).Chat(ctx, url, msgs)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if len(res.Replies) != len(msgs) {
				t.Fatalf("replies %q", res.Replies)
			}
			for i, m := range msgs {
				if want := append([]byte("echo: "), m...); !bytes.Equal(res.Replies[i], want) {
					t.Errorf("reply %d is %q, want %q", i, res.Replies[i], want)
				}
			}
			ce := closeOf(t, <-d.done)
			if ce.Code != websocket.StatusNormalClosure || ce.Reason != "bye" {
				t.Errorf("client closed with %d %q, want 1000 \"bye\"", ce.Code, ce.Reason)
			}
		})
	}
}

// insertSpace returns msg with one space inserted at i.
func insertSpace(msg []byte, i int) []byte {
	return slices.Concat(msg[:i], []byte(" "), msg[i:])
}

// spaceSites are the places in a message where JSON allows white space and
// the lab's decoder accepts it: after '{', ':' and ',', and before '}'.
// (A message has no ':' or ',' inside a base64 value or a scheme name.)
func spaceSites(msg []byte) []int {
	sites := []int{1, len(msg) - 1}
	for i, c := range msg {
		if c == ':' || c == ',' {
			sites = append(sites, i+1)
		}
	}
	return sites
}

// TestOneSpaceBreaksTheHandshake: one extra space anywhere in a signed
// handshake message, where the decoder accepts white space, breaks
// pinned-ecdh. The receiver hashes the bytes it received, not a
// re-encoding, so the signature is over other bytes.
func TestOneSpaceBreaksTheHandshake(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)

	// The server_hello: a doc server signs it, then sends it with one
	// more space. The lab's client refuses at check 5 and sends nothing.
	sample := spaceSites(encode("server_hello", bin("nonce", make([]byte, 32)), bin("key_share", make([]byte, 32)),
		str("chosen", "pinned-ecdh"), bin("certificate", []byte("cert"))))
	for k := range sample {
		d := &docServer{scheme: kex.NamePinnedECDH}
		d.opts.tamperSH = func(sh []byte) []byte {
			sites := spaceSites(sh)
			if len(sites) != len(sample) {
				t.Errorf("server_hello has another shape than the sample: %s", sh)
			}
			return insertSpace(sh, sites[k])
		}
		url, cfg := startDocServer(t, d)
		res := (&victim.Client{Scheme: kex.PinnedECDH(), Config: cfg}).Chat(ctx, url, [][]byte{[]byte("hi Bob")})
		if !errors.Is(res.Err, kex.ErrBadSignature) {
			t.Errorf("space %d of server_hello: client error %v, want %v", k, res.Err, kex.ErrBadSignature)
		}
		if len(res.Sent) != 0 {
			t.Errorf("client sent %q after a failed check", res.Sent)
		}
		ce := closeOf(t, <-d.done)
		if ce.Code != websocket.StatusPolicyViolation || ce.Reason != "server signature does not verify" {
			t.Errorf("client closed with %d %q", ce.Code, ce.Reason)
		}
	}

	// The client_hello: the doc client sends it with one more space than
	// the one it hashes, as if someone on the path had added it. The lab
	// server signs what it received, and the doc client's check 5 fails.
	chSample := encode("client_hello", bin("nonce", make([]byte, 32)), bin("key_share", make([]byte, 32)), list("offered", "pinned-ecdh"))
	for k := range spaceSites(chSample) {
		base, bob := labServer(t, kex.PinnedECDH(), nil)
		ws := docDial(t, ctx, base, kex.NamePinnedECDH)
		var sent []byte
		o := clientOpts{
			pin: bobIdentity().Pin(),
			chFormat: func(nonce, keyShare []byte, offered []string) []byte {
				ch := encode("client_hello", bin("nonce", nonce), bin("key_share", keyShare), list("offered", offered...))
				sent = insertSpace(ch, spaceSites(ch)[k])
				return sent
			},
			tamperCH: func([]byte) []byte { // what the client believes it sent
				return encode("client_hello", bin("nonce", must(t, sent, "nonce")), bin("key_share", must(t, sent, "key_share")), list("offered", "pinned-ecdh"))
			},
		}
		_, err := pinnedClient(ctx, ws, o)
		var r *errRefused
		if !errors.As(err, &r) || r.reason != "server signature does not verify" {
			t.Errorf("space %d of client_hello: doc client %v, want a refusal at check 5", k, err)
		}
		if sess := serverSession(t, bob); sess.Ending != victim.EndPeer {
			t.Errorf("server session ended %q: %v", sess.Ending, sess.Err)
		}
	}
}

// must decodes a client_hello the doc client sent and returns one field.
func must(t *testing.T, ch []byte, field string) []byte {
	m, err := decode(ch, "client_hello")
	if err != nil {
		t.Fatal(err)
	}
	return m.bytes(field)
}

// TestWhiteSpaceAcrossTheHelloBoundary: in v1, a space after a hello's
// closing brace was allowed and the transcript was a plain concatenation,
// so an attacker could move a space from the end of client_hello to the
// start of server_hello without changing SHA-256(CH ‖ SH). v2 refuses
// white space around the object, and frames each message with its length.
func TestWhiteSpaceAcrossTheHelloBoundary(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ch := encode("client_hello", bin("nonce", make([]byte, 32)), bin("key_share", make([]byte, 32)), list("offered", "pinned-ecdh"))
	sh := encode("server_hello", bin("nonce", make([]byte, 32)), bin("key_share", make([]byte, 32)))

	// Concatenated, the move is invisible; framed, it is not.
	v1a := sha256.Sum256(slices.Concat(ch, []byte(" "), sh))
	v1b := sha256.Sum256(slices.Concat(ch, []byte(" "), sh))
	if v1a != v1b {
		t.Fatal("the concatenations differ")
	}
	moved := [][2][]byte{{append(bytes.Clone(ch), ' '), sh}, {ch, append([]byte(" "), sh...)}}
	for _, impl := range []func(...[]byte) []byte{transcriptHash, kex.TranscriptHash} {
		if bytes.Equal(impl(moved[0][0], moved[0][1]), impl(moved[1][0], moved[1][1])) {
			t.Error("the framed transcript hash does not see a space move across the boundary")
		}
	}

	// And the decoders refuse the space on either side of the boundary.
	base, _ := labServer(t, kex.PinnedECDH(), nil)
	ws := docDial(t, ctx, base, kex.NamePinnedECDH)
	priv, nonce := keyShare()
	trailing := append(encode("client_hello", bin("nonce", nonce), bin("key_share", priv.PublicKey().Bytes()), list("offered", "pinned-ecdh")), ' ')
	if err := ws.Write(ctx, websocket.MessageText, trailing); err != nil {
		t.Fatal(err)
	}
	_, _, err := ws.Read(ctx)
	ce := closeOf(t, err)
	if ce.Code != websocket.StatusProtocolError || !strings.HasPrefix(ce.Reason, "wire: malformed message: ") {
		t.Errorf("a client_hello with a trailing space: server closed with %d %q, want 1002 malformed", ce.Code, ce.Reason)
	}

	d := &docServer{scheme: kex.NamePinnedECDH}
	d.opts.tamperSH = func(sh []byte) []byte { return append([]byte(" "), sh...) }
	url, cfg := startDocServer(t, d)
	res := (&victim.Client{Scheme: kex.PinnedECDH(), Config: cfg}).Chat(ctx, url, [][]byte{[]byte("hi")})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "malformed message") {
		t.Errorf("a server_hello with a leading space: client error %v, want malformed", res.Err)
	}
	ce = closeOf(t, <-d.done)
	if ce.Code != websocket.StatusProtocolError {
		t.Errorf("client closed with %d %q, want 1002", ce.Code, ce.Reason)
	}
}

// TestServerEndings: how the lab's server names a session's end, for the
// ways a client can leave (protocol.md, "Ending a conversation").
func TestServerEndings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		leave  func(ctx context.Context, s *docSession, ws *websocket.Conn)
		ending string
		is     error
	}{
		{"end record, then close 1000", func(ctx context.Context, s *docSession, ws *websocket.Conn) {
			s.end(ctx)
			s.receive(ctx)
			ws.Close(websocket.StatusNormalClosure, "bye")
		}, victim.EndClean, nil},
		{"end record, then close 1001", func(ctx context.Context, s *docSession, ws *websocket.Conn) {
			s.end(ctx)
			ws.Close(websocket.StatusGoingAway, "client interrupted")
		}, victim.EndClean, nil},
		{"close 1000 with no end record", func(ctx context.Context, s *docSession, ws *websocket.Conn) {
			ws.Close(websocket.StatusNormalClosure, "bye")
		}, victim.EndTruncated, channel.ErrTruncated},
		{"connection dropped with no end record", func(ctx context.Context, s *docSession, ws *websocket.Conn) {
			ws.CloseNow()
		}, victim.EndTruncated, channel.ErrTruncated},
		{"close 4011, which is no refusal", func(ctx context.Context, s *docSession, ws *websocket.Conn) {
			ws.Close(4011, "internal error")
		}, victim.EndTruncated, channel.ErrTruncated},
		{"close 4008, a browser's refusal", func(ctx context.Context, s *docSession, ws *websocket.Conn) {
			ws.Close(4008, "refused")
		}, victim.EndPeer, nil},
		{"close 1008", func(ctx context.Context, s *docSession, ws *websocket.Conn) {
			ws.Close(websocket.StatusPolicyViolation, "refused")
		}, victim.EndPeer, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			base, bob := labServer(t, kex.UnauthECDH(), nil)
			ws := docDial(t, ctx, base, kex.NameUnauthECDH)
			s, err := unauthClient(ctx, ws, clientOpts{})
			if err != nil {
				t.Fatal(err)
			}
			s.send(ctx, []byte("one"))
			if _, err := s.receive(ctx); err != nil {
				t.Fatal(err)
			}
			tc.leave(ctx, s, ws)
			sess := serverSession(t, bob)
			if sess.Ending != tc.ending {
				t.Errorf("server session ended %q (%v), want %q", sess.Ending, sess.Err, tc.ending)
			}
			if tc.is != nil && !errors.Is(sess.Err, tc.is) {
				t.Errorf("server session error %v, want %v", sess.Err, tc.is)
			}
			if tc.ending == victim.EndClean && sess.Err != nil {
				t.Errorf("clean session with error %v", sess.Err)
			}
		})
	}
}
