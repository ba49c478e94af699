package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
)

// checkLoopback refuses a listen address that is not loopback unless the
// user said --allow-remote: a lab machine must never become an open relay
// by mistake.
func checkLoopback(flagName, addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--%s %q: want HOST:PORT, such as 127.0.0.1:8443", flagName, addr)
	}
	if isLoopbackHost(host) || allowRemote {
		return nil
	}
	if host == "" {
		host = "every interface"
	}
	return usagef("--%s %s would be reachable from other machines (%s); the lab binds to loopback unless you pass --allow-remote", flagName, addr, host)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// listen opens a TCP listener with errors a trainer can act on.
func listen(flagName, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err == nil {
		return l, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("cannot listen on %s: the port is already in use (another mitmlab still running?); pick another with --%s 127.0.0.1:PORT, or 127.0.0.1:0 for any free port", addr, flagName)
	}
	return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
}

// schemeFlag checks a --scheme value.
func schemeFlag(name string) (*kex.Scheme, error) {
	names := strings.Join(scenarios.SchemeNames(), ", ")
	if name == "" {
		return nil, usagef("--scheme is required; one of: %s", names)
	}
	if s, ok := scenarios.Scheme(name); ok {
		return s, nil
	}
	if sc, err := scenarios.Lookup(name); err == nil {
		return nil, usagef("%s is a scenario, not a scheme; the server, attacker and client processes speak a scheme (%s): this scenario's is %s, or run it in one process with: mitmlab run %s", name, names, sc.Scheme.Name, sc.Name)
	}
	return nil, usagef("unknown scheme %q%s (schemes: %s)", name, didYouMean(name, scenarios.SchemeNames()), names)
}

// wsURL checks a ws:// URL given on the command line.
func wsURL(flagName, raw string, allowRemote bool) (*url.URL, error) {
	if raw == "" {
		return nil, usagef("--%s is required, such as ws://127.0.0.1:8443/pinned-ecdh", flagName)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, usagef("--%s %q: want a WebSocket URL such as ws://127.0.0.1:8443/pinned-ecdh", flagName, raw)
	}
	if !isLoopbackHost(u.Hostname()) && !allowRemote {
		return nil, usagef("--%s %s is not on this machine; the lab only talks to loopback unless you pass --allow-remote", flagName, raw)
	}
	return u, nil
}

// transportFlag checks a --transport value.
func transportFlag(cmd, t string) (scenarios.Transport, error) {
	tr := scenarios.Transport(t)
	if tr == scenarios.Memory || tr == scenarios.Loopback {
		return tr, nil
	}
	return "", usagef("%s: unknown transport %q%s; want memory or loopback", cmd, t, didYouMean(t, []string{string(scenarios.Memory), string(scenarios.Loopback)}))
}

// logf returns a function that prints one line to stderr, prefixed.
func (e *env) logf(prefix string) func(format string, args ...any) {
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(e.stderr, "%s: %s\n", prefix, fmt.Sprintf(format, args...))
	}
}

// acceptLog is an http.Server's ErrorLog that turns net/http's repeated
// "too many open files" accept errors into one line with advice.
func acceptLog(w io.Writer, prefix string) *log.Logger {
	return log.New(&fdWriter{w: w, prefix: prefix}, "", 0)
}

type fdWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	warned bool
}

func (f *fdWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	line := strings.TrimSpace(string(p))
	switch {
	case strings.Contains(line, "too many open files"):
		if !f.warned {
			f.warned = true
			fmt.Fprintf(f.w, "%s: out of file descriptors: every open connection holds one, and the limit is reached; "+
				"new connections wait until old ones close. Raise the limit before starting (ulimit -n 4096), "+
				"or lower --idle-timeout so idle sessions let go sooner\n", f.prefix)
		}
	case strings.Contains(line, "TLS handshake error"):
		// A refused certificate is part of the lesson; the ledger shows it.
	default:
		fmt.Fprintf(f.w, "%s: %s\n", f.prefix, line)
	}
	return len(p), nil
}

func schemeNames() []string { return scenarios.SchemeNames() }
