package main

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// refusedError means the client refused the server or noticed an attack:
// a security check failed. Exit code 3.
type refusedError struct{ err error }

func (e *refusedError) Error() string {
	var t *channel.TruncatedError
	if errors.As(e.err, &t) {
		return "client detected an attack: " + kex.Reason(e.err) + "; messages may be missing\n  (" + truncationCause(t) + ")"
	}
	return "client refused the server: " + kex.Reason(e.err) + "\n  (" + e.err.Error() + ")"
}

// truncationCause says how a conversation that was cut short ended.
func truncationCause(t *channel.TruncatedError) string {
	var ce *wire.CloseError
	if errors.As(t.Cause, &ce) {
		how := fmt.Sprintf("the connection was closed with %d %s", int(ce.Code), wire.CodeName(ce.Code))
		if ce.Reason != "" {
			how += fmt.Sprintf(" %q", ce.Reason)
		}
		return how + ", which anyone on the path can forge; an end record cannot be"
	}
	return fmt.Sprintf("the connection was dropped: %v", t.Cause)
}
func (e *refusedError) Unwrap() error { return e.err }

// interruptedError means the user stopped the command (Ctrl-C). Exit code
// 130, as a shell reports a process ended by SIGINT.
type interruptedError struct{ what string }

func (e *interruptedError) Error() string { return "interrupted; " + e.what }

// clientFlags are mitmlab client's flags.
type clientFlags struct {
	scheme, connect, pin, name                string
	pinStore, serverName                      string
	noPin, fallback, offerUnauth, allowRemote bool
	timeout, idleTimeout                      time.Duration
	messages                                  stringList
}

func runClient(ctx context.Context, e *env, args []string) error {
	f, err := parseClientFlags(e, args)
	if err != nil {
		return err
	}
	alice, u, err := f.client(e)
	if err != nil {
		return err
	}
	// Standard input is read once, by one goroutine: the chat's lines
	// and, first, the answer to a short authentication string.
	var stdin <-chan string
	if alice.Scheme.SAS || len(f.messages) == 0 {
		lines := make(chan string)
		// A goroutine blocked reading a terminal cannot be stopped: it is
		// the one goroutine that only the process's exit ends.
		go readLines(e.stdin, lines)
		stdin = lines
	}
	if alice.Scheme.SAS {
		alice.Config.OutOfBand = &kex.OutOfBand{Ask: askSAS(e.stdout, stdin)}
	}
	known := remembered(alice.Config.PinStore)
	s, err := alice.Dial(ctx, u.String())
	if err != nil {
		if ctx.Err() != nil {
			return &interruptedError{"the handshake had not finished, so nothing was sent"}
		}
		return clientError(err, alice.Scheme.Name, u, f.timeout)
	}
	fmt.Fprintf(e.stdout, "connected to %s (%s)\n", u, alice.Scheme.Name)
	if st := alice.Config.PinStore; st != nil {
		if known == "" {
			fmt.Fprintf(e.stdout, "first contact: remembered %s's key as %s in %s; whoever answered now is %s from here on\n", st.Name, remembered(st), st.Path, st.Name)
		} else {
			fmt.Fprintf(e.stdout, "%s's key matches the one remembered in %s (%s)\n", st.Name, st.Path, known)
		}
	}
	c := &chatSession{e: e, s: s, scheme: alice.Scheme.Name, u: u, timeout: f.timeout}
	return c.run(ctx, f.lines(stdin))
}

// remembered is the pin st holds for its server, or "" if none (or no
// store).
func remembered(st *kex.PinStore) string {
	if st == nil {
		return ""
	}
	pin, _, _ := st.Lookup()
	return pin
}

func parseClientFlags(e *env, args []string) (*clientFlags, error) {
	fs := newFlagSet("client", `
Usage: mitmlab client --scheme NAME --connect URL [flags]

Runs Alice, the victim client, as its own process. It connects, runs the
handshake, sends each --message (or, with none, each line read from stdin)
and prints Bob's answer. At the end it seals its end record and waits for
Bob's, so a conversation cut short by someone on the path is noticed.

pinned-ecdh needs the server's pin, which 'mitmlab server' prints at start.
tofu-ecdh is given none: with --pin-store FILE it remembers the key that
answers first (under --server-name) and refuses any other one later, as
SSH's known_hosts does; whoever answers first is trusted. sas-ecdh and
sas-commit-ecdh print a short authentication string and read, as the
first line of standard input, the one the server's terminal shows: only
a match lets the chat start.
If the server's key does not match it, or its signature does not verify, the
client sends nothing, says why, and exits with status 3.

Example, the third of three terminals (see docs/localhost.md):
  mitmlab client --scheme pinned-ecdh --connect ws://127.0.0.1:9443/pinned-ecdh \
      --pin sha256/... --message "my card PIN is 4921"

Exit status: 0 the chat worked and ended cleanly; 1 it failed (connection
refused, protocol mismatch, timeout, ...); 2 a mistake on the command line;
3 the client refused the server or detected an attack (a security check
failed, or the conversation was cut short); 130 interrupted (Ctrl-C), after
sending its end record and closing with 1001.
`)
	var f clientFlags
	fs.StringVar(&f.scheme, "scheme", "", "the key exchange to speak: "+schemeList())
	fs.StringVar(&f.connect, "connect", "", "the server's (or the attacker's) WebSocket URL")
	fs.StringVar(&f.pin, "pin", "", "pinned-ecdh (or static-rsa): the server's pin, sha256/BASE64")
	fs.StringVar(&f.pinStore, "pin-store", "", "tofu-ecdh: the file where the client remembers servers' pins, as SSH's known_hosts; first contact writes it")
	fs.StringVar(&f.serverName, "server-name", "bob", "tofu-ecdh: the name a pin is kept under: the server you mean to reach, whichever address answers")
	fs.BoolVar(&f.noPin, "insecure-no-pin", false, "pinned-ecdh: accept any server key that signs the handshake (this lets any man in the middle in)")
	fs.BoolVar(&f.fallback, "insecure-fallback", false, "pinned-ecdh: offer unauth-ecdh too and accept it if chosen (the downgrade scenario)")
	fs.BoolVar(&f.offerUnauth, "offer-unauth", false, "pinned-ecdh: offer unauth-ecdh too, but refuse it if chosen (the downgrade-refused scenario)")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a --connect URL on another machine")
	fs.StringVar(&f.name, "name", "", "a name for this client, sent as ?name=, so a shared attacker can tell students apart")
	fs.DurationVar(&f.timeout, "timeout", victim.DefaultTimeout, "how long to wait for the connection and the handshake (then exit 1)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", victim.DefaultIdleTimeout, "close a session quiet for this long (1001)")
	fs.Var(&f.messages, "message", "a chat message to send; repeat for several (default: read lines from stdin)")
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("client takes no arguments, got %q (quote a message that has spaces: --message \"see you at 6\")", pos)
	}
	if f.timeout <= 0 || f.idleTimeout <= 0 {
		return nil, usagef("client: --timeout and --idle-timeout must be more than 0, such as 10s")
	}
	return &f, nil
}

// client builds Alice from the flags.
func (f *clientFlags) client(e *env) (*victim.Client, *url.URL, error) {
	sch, err := schemeFlag(f.scheme)
	if err != nil {
		return nil, nil, err
	}
	u, err := wsURL("connect", f.connect, f.allowRemote)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := f.config(e, sch)
	if err != nil {
		return nil, nil, err
	}
	return &victim.Client{Scheme: sch, Config: cfg, Name: f.name, Timeout: f.timeout, IdleTimeout: f.idleTimeout}, u, nil
}

// config checks the pin and the downgrade flags against the scheme.
func (f *clientFlags) config(e *env, sch *kex.Scheme) (*kex.ClientConfig, error) {
	var cfg kex.ClientConfig
	if !sch.Identity && !sch.RSAIdentity && f.pin != "" {
		return nil, usagef("--pin is for schemes whose server has a key to pin (pinned-ecdh, static-rsa)")
	}
	if !sch.Identity && f.noPin {
		return nil, usagef("--insecure-no-pin is for schemes whose server signs with a certificate (pinned-ecdh); %s has no pin check to skip", sch.Name)
	}
	if !sch.Has("client_hello", "offered") && (f.fallback || f.offerUnauth) {
		return nil, usagef("--insecure-fallback and --offer-unauth are for pinned-ecdh only")
	}
	if !sch.LearnsPin && f.pinStore != "" {
		return nil, usagef("--pin-store is for tofu-ecdh, whose client learns the pin on first contact; %s is given one (--pin)", sch.Name)
	}
	if sch.LearnsPin {
		switch {
		case f.pin != "":
			return nil, usagef("%s learns the server's pin on first contact and keeps it in --pin-store; a pin given in advance is pinned-ecdh", sch.Name)
		case f.pinStore == "" && !f.noPin:
			return nil, usagef("%s needs --pin-store FILE: the client remembers the server's pin there on first contact and checks it on every later one", sch.Name)
		case f.pinStore != "":
			cfg.PinStore = &kex.PinStore{Path: f.pinStore, Name: f.serverName}
		}
	}
	switch {
	case sch.LearnsPin && !f.noPin:
	case f.pin != "" && f.noPin:
		return nil, usagef("--pin and --insecure-no-pin contradict each other")
	case f.pin != "":
		if _, err := kex.ParsePin(f.pin); err != nil {
			return nil, usagef("--pin %q is not sha256/ followed by the base64 of 32 bytes", f.pin)
		}
		cfg.Pin = f.pin
	case f.noPin:
		fmt.Fprintln(e.stderr, "WARNING: --insecure-no-pin: any key that signs the handshake is accepted as the server's.\nA man in the middle signs with his own key and reads everything. This is the signed-unpinned lesson, not a fix.")
		cfg.SkipPinCheck = true
	case sch.Identity:
		return nil, usagef("%s needs --pin sha256/... (mitmlab server prints it at start), or --insecure-no-pin to see why it does", sch.Name)
	}
	switch {
	case f.fallback && f.offerUnauth:
		return nil, usagef("--insecure-fallback and --offer-unauth contradict each other: the first accepts unauth-ecdh, the second refuses it")
	case f.fallback:
		fmt.Fprintln(e.stderr, "WARNING: --insecure-fallback: an attacker who strips pinned-ecdh from the offer gets an unauthenticated exchange.")
		cfg.Offer = []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
		cfg.AcceptFallback = true
	case f.offerUnauth:
		cfg.Offer = []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
	}
	return &cfg, nil
}

// lines returns the messages to send: the --message flags, or stdin's
// lines.
func (f *clientFlags) lines(stdin <-chan string) <-chan string {
	if len(f.messages) == 0 {
		return stdin
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		for _, m := range f.messages {
			lines <- m
		}
	}()
	return lines
}

// askSAS is Alice's end of the out-of-band line as a process: it shows
// her short authentication string and takes, from standard input, the one
// Bob's user read out from his terminal. Only a match lets the chat
// start; she answers within --timeout.
func askSAS(w io.Writer, answers <-chan string) func(context.Context, kex.Side, string) error {
	return func(ctx context.Context, _ kex.Side, code string) error {
		fmt.Fprintf(w, "short authentication string: %s\ntype the one Bob's terminal shows for this session (a different one means someone is in the middle): ", code)
		select {
		case a, ok := <-answers:
			fmt.Fprintln(w)
			if !ok {
				return fmt.Errorf("%w: standard input ended before an answer", kex.ErrNoComparison)
			}
			a = strings.ToUpper(strings.TrimSpace(a))
			if subtle.ConstantTimeCompare([]byte(a), []byte(code)) != 1 {
				return fmt.Errorf("%w: this side shows %s, Bob's user read out %q", kex.ErrSASMismatch, code, a)
			}
			return nil
		case <-ctx.Done():
			fmt.Fprintln(w)
			return fmt.Errorf("%w: %w", kex.ErrNoComparison, ctx.Err())
		}
	}
}

// readLines sends each non-empty line of r to lines and closes it at the
// end of input.
func readLines(r io.Reader, lines chan<- string) {
	defer close(lines)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if sc.Text() != "" {
			lines <- sc.Text()
		}
	}
}

// receipt is one message read from the server, or why there was none.
type receipt struct {
	msg []byte
	err error
}

// chatSession is the client's conversation after the handshake. One
// goroutine reads the connection the whole time, so a server or attacker
// that goes away is noticed at once, even while the client waits for the
// next line of stdin; run waits for it before it returns.
type chatSession struct {
	e        *env
	s        *victim.Session
	scheme   string
	u        *url.URL
	timeout  time.Duration
	received chan receipt
	done     chan struct{}
	wg       sync.WaitGroup
}

// errBobEnded stops the chat: Bob ended the conversation first, and Alice
// has answered with her own end record. It is no failure.
var errBobEnded = errors.New("the server ended the conversation")

func (c *chatSession) run(ctx context.Context, lines <-chan string) error {
	c.received = make(chan receipt)
	c.done = make(chan struct{})
	c.wg.Add(1)
	go c.read()
	defer func() {
		c.s.Drop() // a no-op after a close; it ends the reader's read otherwise
		close(c.done)
		c.wg.Wait()
	}()
	if err := c.chat(ctx, lines); !errors.Is(err, errBobEnded) {
		return err
	}
	return nil
}

// chat sends each line and prints each answer until the lines run out,
// the conversation ends or ctx is cancelled (Ctrl-C).
func (c *chatSession) chat(ctx context.Context, lines <-chan string) error {
	for {
		select {
		case <-ctx.Done():
			return c.leave()
		case line, ok := <-lines:
			if !ok {
				return c.finish(ctx)
			}
			if err := c.say(ctx, line); err != nil {
				return err
			}
		case r := <-c.received:
			if err := c.unasked(ctx, r); err != nil {
				return err
			}
		}
	}
}

// read reads the connection until it ends. Its reads are never cancelled
// by ctx, which would drop the connection without a close frame.
func (c *chatSession) read() {
	defer c.wg.Done()
	for {
		msg, err := c.s.Receive(context.Background())
		select {
		case c.received <- receipt{msg, err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// say sends one line and waits for Bob's answer.
func (c *chatSession) say(ctx context.Context, line string) error {
	if err := c.s.Send(ctx, []byte(line)); err != nil {
		return clientError(err, c.scheme, c.u, c.timeout)
	}
	fmt.Fprintf(c.e.stdout, "Alice: %s\n", line)
	select {
	case <-ctx.Done():
		return c.leave()
	case r := <-c.received:
		switch {
		case errors.Is(r.err, io.EOF):
			return c.bobEnded(ctx, "Bob ended the conversation (his end record arrived) before answering")
		case r.err != nil:
			return clientError(r.err, c.scheme, c.u, c.timeout)
		}
		fmt.Fprintf(c.e.stdout, "Bob:   %s\n", r.msg)
		return nil
	}
}

// unasked handles a message or an end that arrived while Alice was not
// waiting for one.
func (c *chatSession) unasked(ctx context.Context, r receipt) error {
	switch {
	case errors.Is(r.err, io.EOF):
		return c.bobEnded(ctx, "Bob ended the conversation (his end record arrived)")
	case r.err != nil:
		return clientError(r.err, c.scheme, c.u, c.timeout)
	}
	fmt.Fprintf(c.e.stdout, "Bob (unasked): %s\n", r.msg)
	return nil
}

// bobEnded answers Bob's end record with Alice's, so his side ends clean
// too, closes with 1000 and stops the chat: the reader has read its last.
func (c *chatSession) bobEnded(ctx context.Context, note string) error {
	fmt.Fprintln(c.e.stdout, note)
	c.s.End(ctx)
	c.s.Hangup(websocket.StatusNormalClosure, "bye")
	return errBobEnded
}

// finish ends the conversation in order: Alice's end record, then Bob's,
// then close 1000.
func (c *chatSession) finish(ctx context.Context) error {
	if err := c.s.End(ctx); err != nil {
		return clientError(err, c.scheme, c.u, c.timeout)
	}
	for {
		select {
		case <-ctx.Done():
			return c.leave()
		case r := <-c.received:
			switch {
			case errors.Is(r.err, io.EOF):
				c.s.Hangup(websocket.StatusNormalClosure, "bye")
				return nil
			case r.err != nil:
				return clientError(r.err, c.scheme, c.u, c.timeout)
			}
			fmt.Fprintf(c.e.stdout, "Bob (late): %s\n", r.msg)
		}
	}
}

// leave is Ctrl-C: the end record, so Bob knows nothing was cut, and 1001.
func (c *chatSession) leave() error {
	c.s.Leave(context.Background(), "client interrupted")
	return &interruptedError{"the client sent its end record and closed with 1001"}
}

// clientError explains a client failure in terms a trainer can act on.
func clientError(err error, scheme string, u *url.URL, timeout time.Duration) error {
	var mismatch *victim.SchemeMismatchError
	var dial *victim.DialError
	var closed *wire.CloseError
	host := u.Host
	switch {
	case kex.Detected(err):
		return &refusedError{err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot connect to %s: connection refused; is the server running? Start it with:\n  mitmlab server --scheme %s --listen %s", host, scheme, host)
	case errors.As(err, &mismatch):
		return err
	case errors.Is(err, wire.ErrDialTimeout):
		return fmt.Errorf("no answer from %s within %s: is a WebSocket server listening there? (a firewall that drops packets looks like this too)", host, timeout)
	case errors.Is(err, wire.ErrHandshakeTimeout):
		return fmt.Errorf("%s accepted the WebSocket but did not finish the %s handshake within %s: is it a mitmlab server for %s, or is something on the path holding messages?", host, scheme, timeout, scheme)
	case errors.Is(err, wire.ErrIdleTimeout):
		return fmt.Errorf("no answer from %s for too long (idle timeout); is something on the path holding messages?", host)
	case errors.As(err, &dial):
		return dialAdvice(dial, scheme, u)
	case errors.As(err, &closed):
		return closeAdvice(closed, host)
	}
	return err
}

// closeAdvice explains a close from the other side that was not a refusal
// by the client's own checks.
func closeAdvice(ce *wire.CloseError, host string) error {
	msg := fmt.Sprintf("%s closed the connection with %d %s", host, int(ce.Code), wire.CodeName(ce.Code))
	if ce.Reason != "" {
		msg += fmt.Sprintf(": %q", ce.Reason)
	}
	switch wire.Canonical(ce.Code) {
	case websocket.StatusInternalError:
		msg += "; the server failed (an attacker process says so when its upstream is down)"
	case websocket.StatusPolicyViolation, websocket.StatusProtocolError:
		msg += "; the server refused to go on"
	}
	return errors.New(msg)
}

// dialAdvice says what a failed WebSocket upgrade most likely means.
func dialAdvice(d *victim.DialError, scheme string, u *url.URL) error {
	msg := d.Error()
	switch {
	case d.Status == 404:
		return fmt.Errorf("%s answered HTTP 404: is it a mitmlab endpoint? The path is /%s, as in %s://%s/%s", u.Host, scheme, u.Scheme, u.Host, scheme)
	case d.Status == 400 && strings.Contains(d.Body, "HTTPS server"):
		return fmt.Errorf("%s speaks TLS: use wss://%s%s", u.Host, u.Host, u.Path)
	case d.Status == 403:
		return fmt.Errorf("%s refused the upgrade with HTTP 403: a lab server refuses browser Origins it was not told to allow (--origin)", u.Host)
	case d.Status != 0:
		return fmt.Errorf("%s answered HTTP %d instead of a WebSocket upgrade: is it a mitmlab server?", u.Host, d.Status)
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Errorf("%s does not speak TLS: use ws://%s%s (a browser reports this as ERR_SSL_PROTOCOL_ERROR)", u.Host, u.Host, u.Path)
	case errors.Is(d.Err, io.EOF) || errors.Is(d.Err, io.ErrUnexpectedEOF) || strings.Contains(msg, "malformed HTTP"):
		if u.Scheme == "ws" {
			return fmt.Errorf("%s hung up on the WebSocket upgrade without an answer; if the port speaks TLS, use wss://%s%s", u.Host, u.Host, u.Path)
		}
		return fmt.Errorf("%s hung up on the WebSocket upgrade without an answer", u.Host)
	}
	return d
}
