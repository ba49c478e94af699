package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/web"
)

// serverFlags are mitmlab server's flags.
type serverFlags struct {
	scheme, addr, keyFile, certFile, rsaKeyFile string
	fallback, allowRemote, asJSON, web          bool
	origins                                     stringList
	handshakeTimeout, idleTimeout               time.Duration
}

func runServer(ctx context.Context, e *env, args []string) error {
	f, err := parseServerFlags(e, args)
	if err != nil {
		return err
	}
	sch, err := schemeFlag(f.scheme)
	if err != nil {
		return err
	}
	if err := checkLoopback("listen", f.addr, f.allowRemote); err != nil {
		return err
	}
	cfg, notes, err := serverConfig(sch, f)
	if err != nil {
		return err
	}
	if sch.SAS {
		cfg.OutOfBand = &kex.OutOfBand{Ask: readOutSAS(e.stdout, f.asJSON)}
	}
	l, err := listen("listen", f.addr)
	if err != nil {
		return err
	}
	bob := victim.NewServer(sch, serverOptions(e, f, cfg))
	var handler http.Handler = bob
	if f.web {
		handler = web.Handler(bob, web.Options{Scheme: sch.Name, Pin: serverPin(cfg)})
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ErrorLog: acceptLog(e.stderr, "mitmlab server")}
	// With --json, stdout is for scripts: the banner goes to stderr.
	banner := e.stdout
	if f.asJSON {
		banner = e.stderr
	}
	printServerStart(banner, sch, cfg, fmt.Sprintf("ws://%s%s", l.Addr(), victim.Path(sch.Name)))
	if f.web {
		fmt.Fprintf(banner, "page: http://%s/ (the browser is Alice, with the pin above in the page; see docs/browser.md)\n", l.Addr())
	}
	for _, n := range notes {
		fmt.Fprintln(e.stderr, n)
	}
	return serveUntilInterrupted(ctx, srv, l, bob.Close, func() {
		fmt.Fprintln(banner, "mitmlab server: shutting down; every open session gets the server's end record and 1001")
	})
}

func parseServerFlags(e *env, args []string) (*serverFlags, error) {
	fs := newFlagSet("server", `
Usage: mitmlab server --scheme NAME [flags]

Runs Bob, the victim server, as its own process. It serves the scheme's
WebSocket endpoint at ws://ADDRESS/NAME and answers every chat message with
"got it: " and the message.

For pinned-ecdh it prints the certificate pin (sha256/...) that the client
needs. Pass --key and --cert to keep the same key, and so the same pin,
across restarts: the files are created on first use and loaded after that.
static-rsa's long-term RSA key is kept the same way with --rsa-key.

Each session's end gets one line saying how it ended: clean (both sides
sealed their end records), truncated (the connection ended without the
client's end record: something cut the conversation), refused (a check
failed or the input was bad), client refused, timed out, shutdown, or
failed. With --json the line is one JSON object, and the start-up lines
(the address, the pin) go to stderr:
  {"type":"session_end","session":N,"name":"...","clean":BOOL,"ending":"...",
   "reason":"...","messages_received":N,"messages_answered":N}
The process keeps nothing of a session once its line is printed.

Timeouts: a client that has not finished the handshake after
--handshake-timeout is closed with 1008 (handshake timed out); a session
quiet for --idle-timeout, with 1001 (idle timeout).

Browsers send an Origin header; pages from another origin are refused
(HTTP 403) unless --origin allows them. Stop the server with Ctrl-C:
every open session gets the server's end record and 1001 (going away).

Example, the first of three terminals (see docs/localhost.md):
  mitmlab server --scheme pinned-ecdh --listen 127.0.0.1:8443 --key bob.key --cert bob.crt
`)
	var f serverFlags
	fs.StringVar(&f.scheme, "scheme", "", "the key exchange to speak: "+schemeList())
	fs.StringVar(&f.addr, "listen", "127.0.0.1:8443", "address to listen on; 127.0.0.1:0 picks a free port")
	fs.StringVar(&f.keyFile, "key", "", "pinned-ecdh: PEM file with the Ed25519 private key (created if missing)")
	fs.StringVar(&f.certFile, "cert", "", "pinned-ecdh: PEM file with the certificate (created if missing)")
	fs.StringVar(&f.rsaKeyFile, "rsa-key", "", "static-rsa: PEM file with the long-term RSA-2048 key (created if missing)")
	fs.BoolVar(&f.fallback, "fallback", false, "pinned-ecdh: also accept unauth-ecdh from clients that offer it (see the downgrade scenario)")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a --listen address other machines can reach")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object per session end, for scripts (see docs/cli.md)")
	fs.BoolVar(&f.web, "web", false, "also serve the victim page at / (the browser is Alice, with this server's pin in the page; see docs/browser.md)")
	fs.Var(&f.origins, "origin", "a browser origin to allow, as a host pattern such as localhost:8000 or *.lab.example; repeat for several; '*' allows any, file:// pages included")
	fs.DurationVar(&f.handshakeTimeout, "handshake-timeout", victim.DefaultHandshakeTimeout, "close a client that has not finished the handshake after this long (1008)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", victim.DefaultIdleTimeout, "close a session quiet for this long (1001)")
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("server takes no arguments, got %q; did you mean --scheme %s?", pos, pos[0])
	}
	if f.handshakeTimeout <= 0 || f.idleTimeout <= 0 {
		return nil, usagef("server: --handshake-timeout and --idle-timeout must be more than 0, such as 10s")
	}
	return &f, nil
}

// readOutSAS is Bob's end of the out-of-band line as a process: it
// prints each session's short authentication string for Bob's user to
// read out to Alice's, and leaves the verdict to her (see
// kex.OutOfBand.Ask). With --json it prints a {"type":"sas"} line.
func readOutSAS(w io.Writer, asJSON bool) func(context.Context, kex.Side, string) error {
	var mu sync.Mutex
	return func(_ context.Context, _ kex.Side, code string) error {
		mu.Lock()
		defer mu.Unlock()
		if asJSON {
			return json.NewEncoder(w).Encode(struct {
				Type string `json:"type"`
				SAS  string `json:"sas"`
			}{"sas", code})
		}
		_, err := fmt.Fprintf(w, "short authentication string: %s (read it out to the client's user: a different code on her side means someone is in the middle)\n", code)
		return err
	}
}

// serverOptions are Bob's options in a long-running process: he reports
// each session as it ends and keeps no history of them.
func serverOptions(e *env, f *serverFlags, cfg *kex.ServerConfig) *victim.ServerOptions {
	return &victim.ServerOptions{
		Config:           cfg,
		OriginPatterns:   f.origins,
		HandshakeTimeout: f.handshakeTimeout,
		IdleTimeout:      f.idleTimeout,
		NoHistory:        true,
		OnSessionEnd:     sessionReporter(e.stdout, f.asJSON),
		Logf:             e.logf("mitmlab server"),
	}
}

func schemeList() string { return strings.Join(schemeNames(), ", ") }

// serverConfig builds the scheme's server configuration from the flags,
// loading or making its keys.
func serverConfig(sch *kex.Scheme, f *serverFlags) (*kex.ServerConfig, []string, error) {
	var cfg kex.ServerConfig
	var notes []string
	if !sch.Identity && (f.keyFile != "" || f.certFile != "" || f.fallback) {
		return nil, nil, usagef("--key, --cert and --fallback are for pinned-ecdh only")
	}
	if !sch.RSAIdentity && f.rsaKeyFile != "" {
		return nil, nil, usagef("--rsa-key is for static-rsa only")
	}
	if sch.Identity {
		id, note, err := loadIdentity(f.keyFile, f.certFile)
		if err != nil {
			return nil, nil, err
		}
		cfg.Identity = id
		notes = append(notes, note)
		if f.fallback {
			cfg.Schemes = []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
		}
	}
	if sch.RSAIdentity {
		k, note, err := loadRSAKey(f.rsaKeyFile)
		if err != nil {
			return nil, nil, err
		}
		cfg.RSAKey = k
		notes = append(notes, note)
	}
	return &cfg, notes, nil
}

func printServerStart(w io.Writer, sch *kex.Scheme, cfg *kex.ServerConfig, url string) {
	fmt.Fprintf(w, "mitmlab server: %s listening on %s\n", sch.Name, url)
	connect := fmt.Sprintf("mitmlab client --scheme %s --connect %s", sch.Name, url)
	if pin := serverPin(cfg); pin != "" {
		fmt.Fprintf(w, "pin: %s\n", pin)
		if sch.LearnsPin {
			connect += " --pin-store known_servers" // the client learns the pin on first contact
		} else {
			connect += " --pin " + pin
		}
	}
	fmt.Fprintf(w, "connect with: %s\n", connect)
}

// serverPin is the pin of the server's key, or "" for a scheme without
// one.
func serverPin(cfg *kex.ServerConfig) string {
	switch {
	case cfg.Identity != nil:
		return cfg.Identity.Pin()
	case cfg.RSAKey != nil:
		pin, _ := kex.RSAKeyPin(&cfg.RSAKey.PublicKey)
		return pin
	}
	return ""
}

// sessionEndJSON is the line `mitmlab server --json` writes per session.
type sessionEndJSON struct {
	Type             string `json:"type"` // "session_end"
	Session          int    `json:"session"`
	Name             string `json:"name"`
	Clean            bool   `json:"clean"`
	Ending           string `json:"ending"`
	Reason           string `json:"reason"`
	MessagesReceived int    `json:"messages_received"`
	MessagesAnswered int    `json:"messages_answered"`
}

// sessionReporter prints one line per session end, as text or JSON.
func sessionReporter(w io.Writer, asJSON bool) func(*victim.ServerSession) {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	return func(s *victim.ServerSession) {
		mu.Lock()
		defer mu.Unlock()
		if asJSON {
			enc.Encode(newSessionEndJSON(s))
			return
		}
		fmt.Fprintln(w, sessionLine(s))
	}
}

func newSessionEndJSON(s *victim.ServerSession) sessionEndJSON {
	reason := ""
	if s.Err != nil {
		reason = s.Err.Error()
	}
	return sessionEndJSON{Type: "session_end", Session: s.Conn, Name: s.Name, Clean: s.Err == nil, Ending: s.Ending,
		Reason: reason, MessagesReceived: s.MessagesReceived, MessagesAnswered: s.MessagesAnswered}
}

// sessionLine is a session's end as the server prints it, such as
// "session 3 (alice): truncated · 1 message received, 1 answered · ...".
func sessionLine(s *victim.ServerSession) string {
	who := ""
	if s.Name != "" {
		who = fmt.Sprintf(" (%s)", s.Name)
	}
	line := fmt.Sprintf("session %d%s: %s · %s received, %d answered", s.Conn, who, s.Ending, plural(s.MessagesReceived, "message"), s.MessagesAnswered)
	if s.Err != nil {
		line += " · " + s.Err.Error()
	}
	return line
}

// plural is n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// serveUntilInterrupted serves on l until ctx ends, then runs stopping,
// closes the sessions with closeSessions and shuts srv down.
func serveUntilInterrupted(ctx context.Context, srv *http.Server, l net.Listener, closeSessions func(), stopping func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		closeSessions()
		return err
	case <-ctx.Done():
	}
	stopping()
	closeSessions()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-errc
	return nil
}

// loadIdentity loads the pinned-ecdh identity from PEM files, creates them
// on first use, or makes a throwaway one when no files are named. It
// returns a note for stderr saying which.
func loadIdentity(keyFile, certFile string) (*kex.Identity, string, error) {
	if keyFile == "" && certFile == "" {
		id, err := kex.NewIdentity("bob")
		return id, "note: a fresh key and pin for this run only; pass --key and --cert to keep them across restarts", err
	}
	if keyFile == "" || certFile == "" {
		return nil, "", usagef("--key and --cert go together")
	}
	keyPEM, kerr := os.ReadFile(keyFile)
	certPEM, cerr := os.ReadFile(certFile)
	switch {
	case kerr == nil && cerr == nil:
		id, err := kex.ParseIdentityPEM(certPEM, keyPEM)
		if err != nil {
			return nil, "", fmt.Errorf("load %s and %s: %w", certFile, keyFile, err)
		}
		return id, fmt.Sprintf("note: loaded the key from %s and the certificate from %s", keyFile, certFile), nil
	case errors.Is(kerr, os.ErrNotExist) && errors.Is(cerr, os.ErrNotExist):
		id, err := kex.NewIdentity("bob")
		if err != nil {
			return nil, "", err
		}
		c, k, err := id.MarshalPEM()
		if err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(keyFile, k, 0o600); err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(certFile, c, 0o644); err != nil {
			return nil, "", err
		}
		return id, fmt.Sprintf("note: created %s and %s; the pin stays the same while they do", keyFile, certFile), nil
	case kerr != nil && !errors.Is(kerr, os.ErrNotExist):
		return nil, "", kerr
	case cerr != nil && !errors.Is(cerr, os.ErrNotExist):
		return nil, "", cerr
	}
	return nil, "", fmt.Errorf("only one of %s and %s exists; remove it to make a new pair, or restore the other", keyFile, certFile)
}

// loadRSAKey loads static-rsa's long-term key from a PEM file, creates it
// on first use, or makes a throwaway one when no file is named.
func loadRSAKey(file string) (*rsa.PrivateKey, string, error) {
	if file == "" {
		k, err := kex.NewRSAKey()
		return k, "note: a fresh RSA key for this run only; pass --rsa-key to keep it across restarts", err
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		k, err := kex.NewRSAKey()
		if err != nil {
			return nil, "", err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, "", err
		}
		return k, fmt.Sprintf("note: created %s; the key and its pin stay the same while it does", file), nil
	}
	if err != nil {
		return nil, "", err
	}
	rk, err := parseRSAKey(file, b)
	if err != nil {
		return nil, "", err
	}
	return rk, fmt.Sprintf("note: loaded the RSA key from %s", file), nil
}

// parseRSAKey parses static-rsa's key file, read from file.
func parseRSAKey(file string, b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("load %s: no PRIVATE KEY block", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", file, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() != kex.RSABits {
		return nil, fmt.Errorf("load %s: want an RSA-%d key", file, kex.RSABits)
	}
	return rk, nil
}
