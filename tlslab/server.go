package tlslab

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// Flow is what Alice and Bob do over TLS.
type Flow string

// The flows.
const (
	// FlowWSS is plain chat over wss://: each chat message is one WebSocket
	// text message, and TLS is the only protection.
	FlowWSS Flow = "wss"
	// FlowHTTPSKey is the first answer's design: GET Bob's RSA public key
	// over HTTPS, POST an AES key wrapped in it with RSA-OAEP-SHA256, then
	// chat over wss:// with every message encrypted under that AES key.
	FlowHTTPSKey Flow = "https-key"
)

// Paths on Bob's server.
const (
	PathKey     = "/key"     // GET: Bob's RSA public key, PEM (https-key)
	PathSession = "/session" // POST {"wrapped_key": B64}: returns {"session": ID} (https-key)
	PathChat    = "/chat"    // the WebSocket; https-key adds ?session=ID
)

// Subprotocol returns the WebSocket subprotocol of a flow, as the core
// schemes name theirs: "mitmlab.v1.wss", "mitmlab.v1.https-key".
func (f Flow) Subprotocol() string { return wire.Subprotocol(string(f)) }

func (f Flow) check() error {
	if f != FlowWSS && f != FlowHTTPSKey {
		return fmt.Errorf("tlslab: unknown flow %q (want %q or %q)", f, FlowWSS, FlowHTTPSKey)
	}
	return nil
}

// Limits on what Bob and Mallory read.
const (
	maxChatMessage = channel.MaxPlaintext // a chat message over plain wss
	maxBody        = 4 << 10              // POST /session, GET /key responses
)

// sessionRequest is POST /session's body.
type sessionRequest struct {
	WrappedKey []byte `json:"wrapped_key"` // RSA-OAEP-SHA256 of the 32-byte AES key, standard base64
}

// sessionResponse is POST /session's answer.
type sessionResponse struct {
	Session string `json:"session"`
}

// ServerOptions configures a [Server].
type ServerOptions struct {
	Flow Flow
	// Certificate is Bob's TLS certificate and key.
	Certificate tls.Certificate
	// RSAKey is Bob's RSA-2048 key for FlowHTTPSKey. Nil means a fresh one.
	RSAKey *rsa.PrivateKey
	// Reply makes the answer to one message. Nil means [victim.DefaultReply].
	Reply func([]byte) []byte
}

// Server is Bob over TLS: one HTTPS server, TLS 1.3 only, that serves the
// flow's endpoints and answers every chat message.
type Server struct {
	flow  Flow
	tls   *tls.Config
	rsa   *rsa.PrivateKey
	reply func([]byte) []byte

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // chat sessions
	serve  sync.WaitGroup // the HTTP server
	srv    *http.Server

	mu       sync.Mutex
	sessions []*victim.ServerSession
	keys     map[string][]byte // session ID → AES key (https-key)
}

// NewServer returns Bob for opts. Start it with [Server.Start].
func NewServer(opts ServerOptions) (*Server, error) {
	if err := opts.Flow.check(); err != nil {
		return nil, err
	}
	if len(opts.Certificate.Certificate) == 0 {
		return nil, errors.New("tlslab: server needs a certificate")
	}
	s := &Server{
		flow:  opts.Flow,
		rsa:   opts.RSAKey,
		reply: opts.Reply,
		keys:  make(map[string][]byte),
		tls: &tls.Config{
			Certificates: []tls.Certificate{opts.Certificate},
			MinVersion:   tls.VersionTLS13,
			NextProtos:   []string{"http/1.1"},
			// Every connection is a full handshake, so the ledger shows
			// each one whole.
			SessionTicketsDisabled: true,
		},
	}
	if s.reply == nil {
		s.reply = victim.DefaultReply
	}
	if s.flow == FlowHTTPSKey && s.rsa == nil {
		k, err := kex.NewRSAKey()
		if err != nil {
			return nil, err
		}
		s.rsa = k
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathChat, s.chat)
	if s.flow == FlowHTTPSKey {
		mux.HandleFunc("GET "+PathKey, s.publicKey)
		mux.HandleFunc("POST "+PathSession, s.session)
	}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: quietLog()}
	return s, nil
}

// quietLog discards net/http's own logging: failed TLS handshakes are part
// of the lesson, and the ledger records them.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// RSAPublicKey returns Bob's RSA public key (https-key), or nil.
func (s *Server) RSAPublicKey() *rsa.PublicKey {
	if s.rsa == nil {
		return nil
	}
	return &s.rsa.PublicKey
}

// Start serves HTTPS on l until Close.
func (s *Server) Start(l net.Listener) {
	s.serve.Add(1)
	go func() {
		defer s.serve.Done()
		_ = s.srv.Serve(tls.NewListener(l, s.tls)) // returns ErrServerClosed on Close
	}()
}

// Sessions returns the chat sessions that have ended so far.
func (s *Server) Sessions() []*victim.ServerSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sessions)
}

// Wait blocks until every open chat session has ended.
func (s *Server) Wait() { s.wg.Wait() }

// Close ends every session with 1001 (going away), stops the server and
// waits for all of it.
func (s *Server) Close() {
	s.cancel()
	s.srv.Close()
	s.wg.Wait()
	s.serve.Wait()
}

// publicKey serves GET /key: the RSA public key as a PEM "PUBLIC KEY"
// block, as a web developer would serve it.
func (s *Server) publicKey(w http.ResponseWriter, _ *http.Request) {
	spki, err := kex.MarshalRSAPublicKey(&s.rsa.PublicKey)
	if err != nil {
		http.Error(w, "cannot encode key", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))
}

// session serves POST /session: it unwraps the client's AES key and
// returns a fresh session ID for the WebSocket.
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	var req sessionRequest
	if err := decodeJSON(http.MaxBytesReader(w, r.Body, maxBody), &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	secret, err := kex.UnwrapSecret(s.rsa, req.WrappedKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var id [16]byte
	rand.Read(id[:])
	sid := hex.EncodeToString(id[:])
	s.mu.Lock()
	s.keys[sid] = secret
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(sessionResponse{Session: sid})
}

// decodeJSON decodes exactly one JSON object with no unknown fields.
func decodeJSON(r io.Reader, v any) error {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("bad request body: %w", err)
	}
	if d.More() {
		return errors.New("bad request body: trailing data")
	}
	return nil
}

// chat serves the WebSocket.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var secret []byte
	if s.flow == FlowHTTPSKey {
		sid := r.URL.Query().Get("session")
		s.mu.Lock()
		secret = s.keys[sid]
		delete(s.keys, sid) // one WebSocket per session
		s.mu.Unlock()
		if secret == nil {
			http.Error(w, "unknown session: POST "+PathSession+" first", http.StatusForbidden)
			return
		}
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{s.flow.Subprotocol()},
		// OriginPatterns stays empty: same-origin browsers and non-browser
		// clients only. The Origin check is never switched off.
	})
	if err != nil {
		return // Accept wrote the HTTP error
	}
	if ws.Subprotocol() != s.flow.Subprotocol() {
		ws.Close(websocket.StatusProtocolError, "this server speaks "+s.flow.Subprotocol())
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, func() { ws.Close(websocket.StatusGoingAway, "server shutting down") })
	defer stop()

	var sess *victim.ServerSession
	if s.flow == FlowHTTPSKey {
		sess = s.serveSealed(ctx, wire.NewConn(ws, nil), secret)
	} else {
		sess = s.servePlain(ctx, ws)
	}
	s.mu.Lock()
	s.sessions = append(s.sessions, sess)
	s.mu.Unlock()
}

// servePlain answers text messages; TLS is all that protects them.
func (s *Server) servePlain(ctx context.Context, ws *websocket.Conn) *victim.ServerSession {
	sess := &victim.ServerSession{}
	ws.SetReadLimit(maxChatMessage)
	for {
		typ, msg, err := ws.Read(ctx)
		if err != nil {
			if !normalClose(err) {
				sess.Err = err
				ws.CloseNow()
			}
			return sess
		}
		if typ != websocket.MessageText {
			sess.Err = fmt.Errorf("tlslab: %w", wire.ErrBinaryMessage)
			ws.Close(websocket.StatusUnsupportedData, "text messages only")
			return sess
		}
		sess.Received = append(sess.Received, msg)
		reply := s.reply(msg)
		if err := ws.Write(ctx, websocket.MessageText, reply); err != nil {
			sess.Err = err
			ws.CloseNow()
			return sess
		}
		sess.Replies = append(sess.Replies, reply)
	}
}

// serveSealed answers records sealed under the session's AES key, with the
// lab's record layer and the keys plaintext-rsa derives from a secret.
func (s *Server) serveSealed(ctx context.Context, conn *wire.Conn, secret []byte) *victim.ServerSession {
	sess := &victim.ServerSession{}
	ch, err := channel.New(conn, kex.RSASecrets(secret), channel.Server)
	if err != nil {
		sess.Err = conn.Fail(err)
		return sess
	}
	for {
		msg, _, err := ch.Receive(ctx)
		if err != nil {
			if !normalClose(err) {
				sess.Err = conn.Fail(err)
			}
			return sess
		}
		sess.Received = append(sess.Received, nonNil(msg))
		reply := s.reply(msg)
		if _, err := ch.Send(ctx, reply); err != nil {
			sess.Err = conn.Fail(err)
			return sess
		}
		sess.Replies = append(sess.Replies, reply)
	}
}

// normalClose reports whether err is the peer closing with 1000 or 1001.
func normalClose(err error) bool {
	var ce *wire.CloseError
	if errors.As(err, &ce) {
		return ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway
	}
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return true
	}
	return false
}
