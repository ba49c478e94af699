package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
)

// refusedError means the client refused the server: a security check
// failed. Exit code 3.
type refusedError struct{ err error }

func (e *refusedError) Error() string {
	return "client refused the server: " + kex.Reason(e.err) + "\n  (" + e.err.Error() + ")"
}
func (e *refusedError) Unwrap() error { return e.err }

func runClient(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("client", `
Usage: mitmlab client --scheme NAME --connect URL [flags]

Runs Alice, the victim client, as its own process. It connects, runs the
handshake, sends each --message (or, with none, each line read from stdin)
and prints Bob's answer.

pinned-ecdh needs the server's pin, which 'mitmlab server' prints at start.
If the server's key does not match it, or its signature does not verify, the
client sends nothing, says why, and exits with status 3.

Example, the third of three terminals (see docs/localhost.md):
  mitmlab client --scheme pinned-ecdh --connect ws://127.0.0.1:9443/pinned-ecdh \
      --pin sha256/... --message "my card PIN is 4921"

Exit status: 0 the chat worked; 1 it failed (connection refused, protocol
mismatch, ...); 2 a mistake on the command line; 3 the client refused the
server because a security check failed.
`)
	scheme := fs.String("scheme", "", "the key exchange to speak: plaintext-rsa, unauth-ecdh or pinned-ecdh")
	connect := fs.String("connect", "", "the server's (or the attacker's) WebSocket URL")
	pin := fs.String("pin", "", "pinned-ecdh: the server's pin, sha256/BASE64")
	noPin := fs.Bool("insecure-no-pin", false, "pinned-ecdh: accept any server key that signs the handshake (this lets any man in the middle in)")
	fallback := fs.Bool("insecure-fallback", false, "pinned-ecdh: offer unauth-ecdh too and accept it if chosen (the downgrade scenario)")
	offerUnauth := fs.Bool("offer-unauth", false, "pinned-ecdh: offer unauth-ecdh too, but refuse it if chosen (the downgrade-refused scenario)")
	allowRemote := fs.Bool("allow-remote", false, "allow a --connect URL on another machine")
	var messages stringList
	fs.Var(&messages, "message", "a chat message to send; repeat for several (default: read lines from stdin)")
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("client takes no arguments, got %q (quote a message that has spaces: --message \"see you at 6\")", pos)
	}
	sch, err := schemeFlag(*scheme)
	if err != nil {
		return err
	}
	u, err := wsURL("connect", *connect, *allowRemote)
	if err != nil {
		return err
	}
	var cfg kex.ClientConfig
	if sch.Name() == kex.NamePinnedECDH {
		switch {
		case *pin != "" && *noPin:
			return usagef("--pin and --insecure-no-pin contradict each other")
		case *pin != "":
			if _, err := kex.ParsePin(*pin); err != nil {
				return usagef("--pin %q is not sha256/ followed by the base64 of 32 bytes", *pin)
			}
			cfg.Pin = *pin
		case *noPin:
			fmt.Fprintln(e.stderr, "WARNING: --insecure-no-pin: any key that signs the handshake is accepted as the server's.\nA man in the middle signs with his own key and reads everything. This is the signed-unpinned lesson, not a fix.")
			cfg.SkipPinCheck = true
		default:
			return usagef("pinned-ecdh needs --pin sha256/... (mitmlab server prints it at start), or --insecure-no-pin to see why it does")
		}
		switch {
		case *fallback && *offerUnauth:
			return usagef("--insecure-fallback and --offer-unauth contradict each other: the first accepts unauth-ecdh, the second refuses it")
		case *fallback:
			fmt.Fprintln(e.stderr, "WARNING: --insecure-fallback: an attacker who strips pinned-ecdh from the offer gets an unauthenticated exchange.")
			cfg.Offer = []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
			cfg.AcceptFallback = true
		case *offerUnauth:
			cfg.Offer = []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
		}
	} else if *pin != "" || *noPin || *fallback || *offerUnauth {
		return usagef("--pin, --insecure-no-pin, --insecure-fallback and --offer-unauth are for pinned-ecdh only")
	}

	alice := &victim.Client{Scheme: sch, Config: &cfg}
	s, err := alice.Dial(ctx, u.String())
	if err != nil {
		return clientError(err, sch.Name(), u.Host)
	}
	fmt.Fprintf(e.stdout, "connected to %s (%s)\n", u, sch.Name())

	// One goroutine reads the connection the whole time, so a server or
	// attacker that goes away is noticed at once, even while the client
	// waits for the next line of stdin.
	received := make(chan receipt, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			msg, err := s.Receive(ctx)
			select {
			case received <- receipt{msg, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	chat := func(msg string) error {
		if err := s.Send(ctx, []byte(msg)); err != nil {
			return clientError(err, sch.Name(), u.Host)
		}
		fmt.Fprintf(e.stdout, "Alice: %s\n", msg)
		r := <-received
		if r.err != nil {
			return clientError(r.err, sch.Name(), u.Host)
		}
		fmt.Fprintf(e.stdout, "Bob:   %s\n", r.msg)
		return nil
	}
	lines := make(chan string)
	if len(messages) > 0 {
		go func() {
			defer close(lines)
			for _, m := range messages {
				select {
				case lines <- m:
				case <-stop:
					return
				}
			}
		}()
	} else {
		go readLines(e.stdin, lines, stop)
	}
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				if err := s.Close(); err != nil && !errors.Is(err, context.Canceled) {
					return fmt.Errorf("close: %w", err)
				}
				return nil
			}
			if err := chat(line); err != nil {
				return err
			}
		case r := <-received:
			if r.err != nil {
				return clientError(r.err, sch.Name(), u.Host)
			}
			fmt.Fprintf(e.stdout, "Bob (unasked): %s\n", r.msg)
		}
	}
}

// receipt is one message read from the server, or why there was none.
type receipt struct {
	msg []byte
	err error
}

// readLines sends each non-empty line of r to lines and closes it at the
// end of input. A goroutine blocked reading a terminal cannot be stopped;
// the process exit ends it.
func readLines(r io.Reader, lines chan<- string, stop <-chan struct{}) {
	defer close(lines)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if sc.Text() == "" {
			continue
		}
		select {
		case lines <- sc.Text():
		case <-stop:
			return
		}
	}
}

// clientError explains a client failure in terms a trainer can act on.
func clientError(err error, scheme, host string) error {
	var mismatch *victim.SchemeMismatchError
	switch {
	case kex.Detected(err):
		return &refusedError{err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot connect to %s: connection refused; is the server running? Start it with:\n  mitmlab server --scheme %s --listen %s", host, scheme, host)
	case errors.As(err, &mismatch):
		return err
	}
	return err
}
