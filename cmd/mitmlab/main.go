// Command mitmlab is a man-in-the-middle lab for WebSocket key exchanges.
//
// On a terminal, plain mitmlab opens the interactive lab (mitmlab tui):
// pick a scenario and watch, frame by frame, what the attacker can read.
// With no terminal it prints help. The subcommands run the lab's scenarios
// from a terminal or a script:
//
//	mitmlab tui [NAME] [--no-attacker] [--transport memory|loopback]
//	mitmlab list [--json]
//	mitmlab run NAME [--json] [--no-attacker] [--attack A] [--transport memory|loopback] [--message TEXT]... [--export FILE]... [--expect OUTCOME]
//	mitmlab server --scheme NAME [--listen 127.0.0.1:8443] [--key FILE --cert FILE] [--json] [--handshake-timeout D] [--idle-timeout D]
//	mitmlab attacker --scheme NAME --upstream URL [--listen 127.0.0.1:9443] [--attack A] [--json] [--ledger-max N] [--timeout D]
//	mitmlab client --scheme NAME --connect URL [--pin sha256/...] [--message TEXT]... [--name NAME] [--timeout D]
//	mitmlab completion bash|zsh|fish
//	mitmlab --version
//
// Every command takes --help. Exit status: 0 success, 1 failure, 2 a
// mistake on the command line, 3 the client refused the server or
// detected an attack (such as a conversation cut short), 130 interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// errHelp means --help was asked for and printed: exit code 0.
var errHelp = errors.New("help printed")

// env is what a command needs from the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	color          bool // stdout takes ANSI colour
	tty            bool // stdin and stdout are a terminal
}

// run is main without os.Exit, so tests can call it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first Ctrl-C asks for an orderly end (end records, 1001 closes);
	// a second one, during it, kills the process as usual.
	context.AfterFunc(ctx, stop)
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	e.tty = isTerminal(stdout) && isTerminal(stdin)
	e.color = isTerminal(stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"

	err := dispatch(ctx, e, args)
	var ue *usageError
	var re *refusedError
	var ie *interruptedError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mitmlab: %s\n", ue.msg)
		return 2
	case errors.As(err, &re):
		fmt.Fprintf(stderr, "mitmlab: %s\n", re)
		return 3
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "mitmlab: %s\n", ie)
		return 130
	default:
		fmt.Fprintf(stderr, "mitmlab: %v\n", err)
		return 1
	}
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"tui", "open the interactive lab (the default on a terminal)", runTUI},
		{"list", "list the scenarios", runList},
		{"run", "run a scenario and print every frame with the attacker's verdict", runRun},
		{"server", "run Bob, the victim server, as its own process", runServer},
		{"attacker", "run Mallory, the man in the middle, as its own process", runAttacker},
		{"client", "run Alice, the victim client, as its own process", runClient},
		{"exam", "put a client in any language under every attack, one per connection, and score it", runExam},
		{"exercise", "the course: fix broken clients until Mallory reads nothing (list, check, hint, watch, solve, reset)", runExercise},
		{"completion", "print a shell completion script: bash, zsh or fish", runCompletion},
		{"help", "show help for a command", runHelp},
	}
}

func dispatch(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		if e.tty {
			return runTUI(ctx, e, nil)
		}
		printUsage(e.stdout)
		fmt.Fprintln(e.stdout, "\nstdout is not a terminal, so the interactive lab did not start; try: mitmlab run unauth-ecdh")
		return nil
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		printUsage(e.stdout)
		return errHelp
	case "-version", "--version":
		return runVersion(ctx, e, args[1:])
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return usagef("unknown command %q%s; run 'mitmlab --help'", name, didYouMean(name, names))
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `mitmlab shows, frame by frame, how a man in the middle breaks a WebSocket
key exchange, and how an authenticated one stops it.

Usage:
  mitmlab                 open the interactive lab (on a terminal; otherwise print this help)
  mitmlab <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Examples:
  mitmlab list
  mitmlab run plaintext-rsa
  mitmlab run pinned-ecdh --attack passive
  mitmlab run unauth-ecdh --json --message "my card PIN is 4921"

Run 'mitmlab <command> --help' for a command's flags, 'mitmlab --version'
for the version.
`)
}

func runHelp(_ context.Context, e *env, args []string) error {
	if len(args) == 0 {
		printUsage(e.stdout)
		return nil
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprintln(e.stdout, "Usage: mitmlab help [COMMAND]\n\nShows the help of a command, the same as 'mitmlab COMMAND --help'; with no COMMAND, the overview.")
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] && c.name != "help" {
			return c.run(context.Background(), e, []string{"--help"})
		}
	}
	return usagef("no help for %q; run 'mitmlab --help'", args[0])
}
