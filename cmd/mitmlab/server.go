package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
)

func runServer(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("server", `
Usage: mitmlab server --scheme NAME [flags]

Runs Bob, the victim server, as its own process. It serves the scheme's
WebSocket endpoint at ws://ADDRESS/NAME and answers every chat message with
"got it: " and the message.

For pinned-ecdh it prints the certificate pin (sha256/...) that the client
needs. Pass --key and --cert to keep the same key, and so the same pin,
across restarts: the files are created on first use and loaded after that.

Stop it with Ctrl-C: every open connection is closed with 1001 (going away).

Example, the first of three terminals (see docs/localhost.md):
  mitmlab server --scheme pinned-ecdh --listen 127.0.0.1:8443 --key bob.key --cert bob.crt
`)
	scheme := fs.String("scheme", "", "the key exchange to speak: plaintext-rsa, unauth-ecdh or pinned-ecdh")
	addr := fs.String("listen", "127.0.0.1:8443", "address to listen on; 127.0.0.1:0 picks a free port")
	keyFile := fs.String("key", "", "pinned-ecdh: PEM file with the Ed25519 private key (created if missing)")
	certFile := fs.String("cert", "", "pinned-ecdh: PEM file with the certificate (created if missing)")
	fallback := fs.Bool("fallback", false, "pinned-ecdh: also accept unauth-ecdh from clients that offer it (see the downgrade scenario)")
	allowRemote := fs.Bool("allow-remote", false, "allow a --listen address other machines can reach")
	pos, err := fs.parse(e.stdout, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("server takes no arguments, got %q; did you mean --scheme %s?", pos, pos[0])
	}
	sch, err := schemeFlag(*scheme)
	if err != nil {
		return err
	}
	if err := checkLoopback("listen", *addr, *allowRemote); err != nil {
		return err
	}
	var cfg kex.ServerConfig
	identityNote := ""
	if sch.Name() == kex.NamePinnedECDH {
		id, note, err := loadIdentity(*keyFile, *certFile)
		if err != nil {
			return err
		}
		cfg.Identity = id
		if *fallback {
			cfg.Schemes = []string{kex.NamePinnedECDH, kex.NameUnauthECDH}
		}
		identityNote = note
	} else if *keyFile != "" || *certFile != "" || *fallback {
		return usagef("--key, --cert and --fallback are for pinned-ecdh only")
	}

	l, err := listen("listen", *addr)
	if err != nil {
		return err
	}
	var sessions atomic.Int64
	bob := victim.NewServer(sch, &victim.ServerOptions{
		Config: &cfg,
		OnSessionEnd: func(s *victim.ServerSession) {
			n := sessions.Add(1)
			status := "closed normally"
			if s.Err != nil {
				status = s.Err.Error()
			}
			fmt.Fprintf(e.stdout, "session %d: %d messages received, %d answered; %s\n", n, len(s.Received), len(s.Replies), status)
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/", bob)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	url := fmt.Sprintf("ws://%s%s", l.Addr(), victim.Path(sch.Name()))
	fmt.Fprintf(e.stdout, "mitmlab server: %s listening on %s\n", sch.Name(), url)
	connect := fmt.Sprintf("mitmlab client --scheme %s --connect %s", sch.Name(), url)
	if cfg.Identity != nil {
		fmt.Fprintf(e.stdout, "pin: %s\n", cfg.Identity.Pin())
		connect += " --pin " + cfg.Identity.Pin()
	}
	fmt.Fprintf(e.stdout, "connect with: %s\n", connect)
	if identityNote != "" {
		fmt.Fprintln(e.stderr, identityNote)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		bob.Close()
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(e.stdout, "mitmlab server: shutting down; closing every connection with 1001")
	bob.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
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
