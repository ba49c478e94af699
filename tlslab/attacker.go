package tlslab

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// The attacks on the TLS flows. [attacker.Passive] applies too: a TCP relay
// that copies bytes and sees only TLS records.
const (
	// TerminateTLS ends Alice's TLS connection at Mallory, with a
	// certificate for bob.lab he signed himself, and opens his own TLS
	// connection to Bob. Against https-key he also swaps Bob's RSA key for
	// his own and re-wraps Alice's AES key to Bob's.
	TerminateTLS attacker.Attack = "terminate-tls"
	// MisIssuedCert is TerminateTLS with a certificate for bob.lab that a
	// CA Alice trusts issued to Mallory: a compromised or mis-issuing CA,
	// as in the SEED PKI lab's task 6.
	MisIssuedCert attacker.Attack = "mis-issued-cert"
)

// Attacks lists the attacks that apply to the TLS flows, the scenarios'
// own first.
func Attacks() []attacker.Attack {
	return []attacker.Attack{TerminateTLS, MisIssuedCert, attacker.Passive}
}

// CheckAttack returns an error unless a applies to the TLS flows.
func CheckAttack(a attacker.Attack) error {
	for _, x := range Attacks() {
		if a == x {
			return nil
		}
	}
	names := make([]string, 0, len(Attacks()))
	for _, x := range Attacks() {
		names = append(names, string(x))
	}
	return fmt.Errorf("attack %s does not apply to the TLS scenarios; they take %s", a, strings.Join(names, ", "))
}

// AttackerOptions configures an [Attacker].
type AttackerOptions struct {
	Flow   Flow
	Attack attacker.Attack
	// Certificate is what Mallory presents to Alice when he terminates TLS.
	Certificate tls.Certificate
	// Dial opens Mallory's own connections to the real bob.lab:443.
	Dial DialFunc
	// RSAKey is the key Mallory swaps in for Bob's (https-key). Nil means a
	// fresh RSA-2048 key.
	RSAKey *rsa.PrivateKey
	// Log is Mallory's ledger.
	Log *trace.Log
}

// Attacker is Mallory on the TLS flows: he accepts Alice's TCP connections
// (leg A) and opens his own to Bob (leg B). As a passive relay he copies
// bytes; when he terminates TLS he is a TLS server toward Alice and a TLS
// client toward Bob, built from crypto/tls, and sees every HTTP request and
// WebSocket message in between.
type Attacker struct {
	opts  AttackerOptions
	conns atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // relays, WebSocket sessions and Alice's connections
	serve  sync.WaitGroup // accept loops
	srv    *http.Server   // terminating attacks

	mu       sync.Mutex
	listener net.Listener
	legs     map[net.Conn]*legs
	bobKey   *rsa.PublicKey    // Bob's real RSA key, fetched by Mallory
	stolen   map[string][]byte // session ID → the AES key Mallory unwrapped
}

// NewAttacker checks opts and returns Mallory.
func NewAttacker(opts AttackerOptions) (*Attacker, error) {
	if err := opts.Flow.check(); err != nil {
		return nil, err
	}
	if err := CheckAttack(opts.Attack); err != nil {
		return nil, fmt.Errorf("tlslab: %w", err)
	}
	if opts.Dial == nil {
		return nil, errors.New("tlslab: attacker needs Dial")
	}
	if opts.Log == nil {
		opts.Log = trace.NewLog(nil)
	}
	m := &Attacker{opts: opts, legs: make(map[net.Conn]*legs), stolen: make(map[string][]byte)}
	if opts.Attack != attacker.Passive {
		if len(opts.Certificate.Certificate) == 0 {
			return nil, fmt.Errorf("tlslab: attack %s needs a certificate", opts.Attack)
		}
		if opts.Flow == FlowHTTPSKey && opts.RSAKey == nil {
			k, err := kex.NewRSAKey()
			if err != nil {
				return nil, err
			}
			m.opts.RSAKey = k
		}
		m.srv = &http.Server{
			Handler:           m,
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          quietLog(),
			ConnContext:       m.connContext,
			ConnState:         m.connState,
		}
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Start accepts Alice's connections on l until Close.
func (m *Attacker) Start(l net.Listener) {
	m.mu.Lock()
	m.listener = l
	m.mu.Unlock()
	m.serve.Add(1)
	go func() {
		defer m.serve.Done()
		if m.srv == nil {
			m.acceptRelays(l)
			return
		}
		cfg := &tls.Config{
			Certificates:           []tls.Certificate{m.opts.Certificate},
			MinVersion:             tls.VersionTLS13,
			NextProtos:             []string{"http/1.1"},
			SessionTicketsDisabled: true,
		}
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c := cfg.Clone()
			c.GetConfigForClient = nil
			if ic, ok := hello.Conn.(*Conn); ok {
				c.KeyLogWriter = ic.KeyLog() // Mallory's own keys, for his ledger
			}
			return c, nil
		}
		_ = m.srv.Serve(tls.NewListener(&inspectingListener{Listener: l, m: m}, cfg))
	}()
}

// Wait blocks until every connection Alice opened, every relay and every
// WebSocket session has ended.
func (m *Attacker) Wait() { m.wg.Wait() }

// Close ends everything Mallory holds open and waits for it.
func (m *Attacker) Close() {
	m.cancel()
	m.mu.Lock()
	if m.listener != nil {
		m.listener.Close()
	}
	m.mu.Unlock()
	if m.srv != nil {
		m.srv.Close()
	}
	m.wg.Wait()
	m.serve.Wait()
	m.mu.Lock()
	for c, lg := range m.legs {
		lg.tr.CloseIdleConnections()
		delete(m.legs, c)
	}
	m.mu.Unlock()
}

// inspectingListener numbers each connection Alice opens and records its
// TLS records on leg A, with the keys of Mallory's own TLS server.
type inspectingListener struct {
	net.Listener
	m *Attacker
}

func (l *inspectingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ic := Inspect(c, Observer{Log: l.m.opts.Log, Leg: trace.LegA, Conn: int(l.m.conns.Add(1)), End: ServerEnd, Own: true, Peer: "Alice"})
	// Wait covers the connection until it closes, so that its last
	// records (Alice's close_notify) are in the ledger by then.
	l.m.wg.Add(1)
	ic.onClose = l.m.wg.Done
	return ic, nil
}

// acceptRelays is the passive attack: copy bytes both ways, record the TLS
// records, hold no keys.
func (m *Attacker) acceptRelays(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.relayBytes(c)
		}()
	}
}

func (m *Attacker) relayBytes(c net.Conn) {
	id := int(m.conns.Add(1))
	a := Inspect(c, Observer{Log: m.opts.Log, Leg: trace.LegA, Conn: id, End: ServerEnd, Peer: "Alice"})
	raw, err := m.opts.Dial(m.ctx, "tcp", ServerName+":443")
	if err != nil {
		a.Close()
		return
	}
	b := Inspect(raw, Observer{Log: m.opts.Log, Leg: trace.LegB, Conn: id, End: ClientEnd, Peer: "Bob"})
	stop := context.AfterFunc(m.ctx, func() {
		a.Close()
		b.Close()
	})
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(b, a)
		b.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		io.Copy(a, b)
		a.CloseWrite()
	}()
	wg.Wait()
	a.Close()
	b.Close()
}

// legs is Mallory's state for one connection from Alice: its number and
// the HTTP client with which he opens leg B for it.
type legs struct {
	id int
	tr *http.Transport
	hc *http.Client
}

type legsKey struct{}

func (m *Attacker) connContext(ctx context.Context, c net.Conn) context.Context {
	id := 0
	if tc, ok := c.(*tls.Conn); ok {
		if ic, ok := tc.NetConn().(*Conn); ok {
			id = ic.Observer().Conn
		}
	}
	lg := &legs{id: id}
	lg.tr = &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return m.dialBob(ctx, network, addr, id)
		},
		ForceAttemptHTTP2: false,
	}
	lg.hc = &http.Client{Transport: lg.tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	m.mu.Lock()
	m.legs[c] = lg
	m.mu.Unlock()
	return context.WithValue(ctx, legsKey{}, lg)
}

func (m *Attacker) connState(c net.Conn, s http.ConnState) {
	if s != http.StateClosed {
		return
	}
	m.mu.Lock()
	lg := m.legs[c]
	delete(m.legs, c)
	m.mu.Unlock()
	if lg != nil {
		lg.tr.CloseIdleConnections()
	}
}

// dialBob opens leg B: Mallory's own TLS connection to the real Bob.
func (m *Attacker) dialBob(ctx context.Context, network, addr string, id int) (net.Conn, error) {
	raw, err := m.opts.Dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	ic := Inspect(raw, Observer{Log: m.opts.Log, Leg: trace.LegB, Conn: id, End: ClientEnd, Own: true, Peer: "Bob"})
	tc := tls.Client(ic, &tls.Config{
		ServerName: ServerName,
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{"http/1.1"},
		// INSECURE(attacker): Mallory does not care who the server is.
		InsecureSkipVerify: true,
		KeyLogWriter:       ic.KeyLog(),
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		tc.Close()
		return nil, err
	}
	return tc, nil
}

// ServeHTTP handles one request from Alice on a terminated connection.
func (m *Attacker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lg, _ := r.Context().Value(legsKey{}).(*legs)
	if lg == nil {
		http.Error(w, "attacker: no leg B for this connection", http.StatusInternalServerError)
		return
	}
	switch {
	case r.URL.Path == PathChat && strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		m.relayChat(w, r, lg)
	case m.opts.Flow == FlowHTTPSKey && r.Method == http.MethodGet && r.URL.Path == PathKey:
		m.swapKey(w, r, lg)
	case m.opts.Flow == FlowHTTPSKey && r.Method == http.MethodPost && r.URL.Path == PathSession:
		m.stealSession(w, r, lg)
	default:
		m.forward(w, r, lg)
	}
}

func (m *Attacker) add(id int, leg trace.Leg, dir wire.Direction, typ string, raw []byte, v trace.Verdict, recovered []byte, seq *uint64, note string) {
	m.opts.Log.Add(trace.Event{Conn: id, Leg: leg, Dir: dir, Type: typ, Size: len(raw), Verdict: v, Seq: seq, Recovered: recovered, Note: note, Raw: raw})
}

// Event types for what Mallory sees inside TLS.
const (
	typeHTTPRequest  = "http_request"
	typeHTTPResponse = "http_response"
	typeWSText       = "ws_text"
)

// bobRequest sends one request to the real Bob on leg B and returns the
// status and body.
func (m *Attacker) bobRequest(ctx context.Context, lg *legs, method, uri, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "https://"+ServerName+uri, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := lg.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return resp.StatusCode, b, err
}

// forward relays a request Mallory has no use for, unchanged.
func (m *Attacker) forward(w http.ResponseWriter, r *http.Request, lg *legs) {
	what := r.Method + " " + r.URL.RequestURI()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	m.add(lg.id, trace.LegA, wire.ClientToServer, typeHTTPRequest, body, trace.Read, nil, nil, what)
	m.add(lg.id, trace.LegB, wire.ClientToServer, typeHTTPRequest, body, trace.Forged, nil, nil, what+", relayed")
	status, out, err := m.bobRequest(r.Context(), lg, r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), body)
	if err != nil {
		m.add(lg.id, trace.LegB, wire.ServerToClient, typeHTTPResponse, nil, trace.Blocked, nil, nil, "no answer from Bob: "+err.Error())
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	m.add(lg.id, trace.LegB, wire.ServerToClient, typeHTTPResponse, out, trace.Read, nil, nil, http.StatusText(status))
	m.add(lg.id, trace.LegA, wire.ServerToClient, typeHTTPResponse, out, trace.Forged, nil, nil, http.StatusText(status)+", relayed")
	w.WriteHeader(status)
	w.Write(out)
}

// fetchBobKey gets Bob's real RSA key over Mallory's own leg B, once.
func (m *Attacker) fetchBobKey(ctx context.Context, lg *legs) (*rsa.PublicKey, error) {
	m.mu.Lock()
	k := m.bobKey
	m.mu.Unlock()
	if k != nil {
		return k, nil
	}
	m.add(lg.id, trace.LegB, wire.ClientToServer, typeHTTPRequest, nil, trace.Public, nil, nil, "GET "+PathKey+": the attacker asks Bob for his key")
	status, body, err := m.bobRequest(ctx, lg, http.MethodGet, PathKey, "", nil)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", PathKey, http.StatusText(status))
	}
	if err != nil {
		m.add(lg.id, trace.LegB, wire.ServerToClient, typeHTTPResponse, body, trace.Blocked, nil, nil, "no key from Bob: "+err.Error())
		return nil, err
	}
	k, err = ParsePublicKeyPEM(body)
	if err != nil {
		m.add(lg.id, trace.LegB, wire.ServerToClient, typeHTTPResponse, body, trace.Public, nil, nil, "not an RSA key: "+err.Error())
		return nil, err
	}
	m.add(lg.id, trace.LegB, wire.ServerToClient, typeHTTPResponse, body, trace.Public, nil, nil, "Bob's RSA-2048 public key, "+keyPin(k))
	m.mu.Lock()
	m.bobKey = k
	m.mu.Unlock()
	return k, nil
}

// swapKey answers GET /key with Mallory's own RSA key. He fetches Bob's,
// which he needs to re-wrap Alice's AES key later.
func (m *Attacker) swapKey(w http.ResponseWriter, r *http.Request, lg *legs) {
	m.add(lg.id, trace.LegA, wire.ClientToServer, typeHTTPRequest, nil, trace.Public, nil, nil, "GET "+PathKey)
	if _, err := m.fetchBobKey(r.Context(), lg); err != nil {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	pub := &m.opts.RSAKey.PublicKey
	spki, err := kex.MarshalRSAPublicKey(pub)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
	m.add(lg.id, trace.LegA, wire.ServerToClient, typeHTTPResponse, out, trace.Substituted, nil, nil,
		"the attacker's own RSA-2048 key in place of Bob's, "+keyPin(pub))
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(out)
}

// stealSession unwraps the AES key Alice POSTs, re-wraps it to Bob's real
// key and remembers it under the session ID Bob answers with.
func (m *Attacker) stealSession(w http.ResponseWriter, r *http.Request, lg *legs) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	what := "POST " + PathSession
	var req sessionRequest
	var secret []byte
	if err := decodeJSON(bytes.NewReader(body), &req); err == nil {
		secret, err = kex.UnwrapSecret(m.opts.RSAKey, req.WrappedKey)
		if err != nil {
			secret = nil
		}
	}
	out := body
	if secret == nil {
		m.add(lg.id, trace.LegA, wire.ClientToServer, typeHTTPRequest, body, trace.Opaque, nil, nil, what+": the wrapped key does not unwrap with the attacker's RSA key")
		m.add(lg.id, trace.LegB, wire.ClientToServer, typeHTTPRequest, body, trace.Opaque, nil, nil, what+", relayed unchanged")
	} else {
		m.add(lg.id, trace.LegA, wire.ClientToServer, typeHTTPRequest, body, trace.Read, nil, nil,
			fmt.Sprintf("%s: unwrapped with the attacker's RSA key: AES key %x", what, secret))
		bob, err := m.fetchBobKey(r.Context(), lg)
		if err != nil {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		wrapped, err := kex.WrapSecret(bob, secret)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if out, err = json.Marshal(sessionRequest{WrappedKey: wrapped}); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		m.add(lg.id, trace.LegB, wire.ClientToServer, typeHTTPRequest, out, trace.Substituted, nil, nil,
			what+": the same AES key, re-wrapped to Bob's real RSA key")
	}
	status, answer, err := m.bobRequest(r.Context(), lg, http.MethodPost, PathSession, "application/json", out)
	if err != nil {
		m.add(lg.id, trace.LegB, wire.ServerToClient, typeHTTPResponse, nil, trace.Blocked, nil, nil, "no answer from Bob: "+err.Error())
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	var resp sessionResponse
	note := http.StatusText(status)
	if status == http.StatusOK && decodeJSON(bytes.NewReader(answer), &resp) == nil && secret != nil {
		m.mu.Lock()
		m.stolen[resp.Session] = secret
		m.mu.Unlock()
		note = "session " + resp.Session + ": the attacker now holds its AES key"
	}
	m.add(lg.id, trace.LegB, wire.ServerToClient, typeHTTPResponse, answer, trace.Public, nil, nil, note)
	m.add(lg.id, trace.LegA, wire.ServerToClient, typeHTTPResponse, answer, trace.Public, nil, nil, note+", relayed")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(answer)
}

// keyPin names an RSA public key by the SHA-256 of its SPKI.
func keyPin(k *rsa.PublicKey) string {
	spki, err := kex.MarshalRSAPublicKey(k)
	if err != nil {
		return "a key that does not encode"
	}
	sum := sha256.Sum256(spki)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}
