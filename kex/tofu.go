package kex

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/wire"
)

// PinStore is a client's memory of the servers it has met, in the manner
// of SSH's known_hosts: a text file with one "NAME PIN" line per server,
// the pin being "sha256/BASE64" of the key's SubjectPublicKeyInfo. Lines
// that are empty or start with "#" are ignored.
type PinStore struct {
	// Path is the file. It need not exist before the first contact.
	Path string
	// Name is the server the client means to reach: the name under which
	// its pin is kept, as SSH keeps a host's key under the host's name. It
	// is not where the connection goes: whoever answers there is the
	// question.
	Name string
}

// Lookup returns the pin remembered for Name, and whether there is one.
func (p *PinStore) Lookup() (pin string, ok bool, err error) {
	f, err := os.Open(p.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("kex: pin store: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, pin, found := strings.Cut(line, " ")
		if _, err := ParsePin(pin); !found || err != nil {
			return "", false, fmt.Errorf("kex: pin store %s line %d: %q is not NAME sha256/BASE64", p.Path, n, line)
		}
		if name == p.Name {
			return pin, true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", false, fmt.Errorf("kex: pin store %s: %w", p.Path, err)
	}
	return "", false, nil
}

// Remember appends Name's pin to the file, creating it (mode 0600) if it
// does not exist.
func (p *PinStore) Remember(pin string) error {
	if _, err := ParsePin(pin); err != nil {
		return err
	}
	if strings.ContainsAny(p.Name, " \t\r\n") || p.Name == "" || strings.HasPrefix(p.Name, "#") {
		return fmt.Errorf("kex: pin store: server name %q: want one word", p.Name)
	}
	f, err := os.OpenFile(p.Path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("kex: pin store: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%s %s\n", p.Name, pin); err != nil {
		f.Close()
		return fmt.Errorf("kex: pin store: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("kex: pin store: %w", err)
	}
	return nil
}

// NameTOFUECDH is tofu-ecdh's name.
const NameTOFUECDH = "tofu-ecdh"

// TOFUECDH is the "tofu-ecdh" scheme: pinned-ecdh's messages, signature
// and finished MACs exactly, but the client takes its pin from a
// [PinStore] (ClientConfig.PinStore) instead of being given one:
//
//   - first contact, no pin remembered for the server: the client accepts
//     the key that signed the handshake and, once the signature and the
//     server's finished MAC verify, writes its pin down;
//   - every later contact: the key must match what was written, or the
//     client refuses with [ErrPinMismatch], as SSH does with "REMOTE HOST
//     IDENTIFICATION HAS CHANGED".
//
// The server is pinned-ecdh's.
func TOFUECDH() *Scheme {
	return &Scheme{
		Name:      NameTOFUECDH,
		Summary:   "pinned-ecdh with the pin learnt on first contact and kept in a file, as SSH known_hosts",
		Messages:  []wire.Message{&ClientHello{}, &ServerHello{}, &ServerVerify{}, &ClientFinished{}},
		Identity:  true,
		LearnsPin: true,
		Client:    tofuClient,
		Server:    renameServer(NameTOFUECDH, pinnedServer),
	}
}

// tofuClientState is pinned-ecdh's client with a pin store in place of a
// pin: the same steps but the one that decides which key may speak.
type tofuClientState struct {
	pinnedClientState
	first bool // no pin was remembered: this is the first contact
}

func tofuClient(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
	c := &tofuClientState{pinnedClientState: pinnedClientState{hs: hs{ctx, conn, NameTOFUECDH, ClientSide}, cfg: orZero(cfg)}}
	c.ecdhClient = newECDHClient(&c.hs, c.cfg)
	c.offered = c.offer()
	switch {
	case c.cfg.Pin != "":
		return nil, c.refuse("check configuration", errors.New("kex: tofu-ecdh learns the server's pin on first contact (PinStore); a Pin given in advance is pinned-ecdh"))
	case c.cfg.PinStore == nil && !c.cfg.SkipPinCheck:
		return nil, c.refuse("check configuration", ErrNoPin)
	}
	err := c.run(
		step{"generate key share", c.generateKeyShare},
		step{"send client hello", c.sendClientHello},
		step{"read server hello", c.readServerHello},
		step{"check chosen scheme", c.checkChosen},
		step{"parse certificate", c.parseCertificate},
		step{"check remembered key", c.checkRemembered},
		step{"check key type", c.checkKeyType},
		step{"read server verify", c.readServerVerify},
		step{"verify signature", c.verifySignature},
		step{"compute shared secret", c.computeShared},
		step{"verify server finished", c.verifyFinished},
		step{"remember server key", c.remember},
		step{"send client finished", c.sendClientFinished},
	)
	return c.secrets, err
}

// checkRemembered stands where pinned-ecdh checks its pin: against the pin
// remembered for the server, if there is one.
func (c *tofuClientState) checkRemembered() error {
	if c.cfg.SkipPinCheck {
		return c.checkPin() // the attacker's own client, which trusts anyone
	}
	pin, ok, err := c.cfg.PinStore.Lookup()
	if err != nil {
		return err
	}
	if !ok {
		// INSECURE(tofu-first-contact): on first contact the client trusts
		// whoever answers; an attacker on the path then is remembered as
		// the server, and trusted ever after.
		c.first = true
		return nil
	}
	if c.pin, err = ParsePin(pin); err != nil {
		return err
	}
	if !matchPin(c.cert, c.pin) {
		return fmt.Errorf("%w: server sent %s; the pin store remembers another", ErrPinMismatch, spkiPin(c.cert))
	}
	return nil
}

// remember writes the new server's pin down, only once its signature and
// finished MAC have proved it holds the key.
func (c *tofuClientState) remember() error {
	if !c.first {
		return nil
	}
	return c.cfg.PinStore.Remember(spkiPin(c.cert))
}

// renameServer and renameClient run another scheme's half under name: the
// same messages and checks, with errors that name the scheme the victim
// speaks.
func renameServer(name string, half ServerHalf) ServerHalf {
	return func(ctx context.Context, conn *wire.Conn, cfg *ServerConfig) (*channel.Secrets, error) {
		s, err := half(ctx, conn, cfg)
		return s, renamed(err, name)
	}
}

func renameClient(name string, half ClientHalf) ClientHalf {
	return func(ctx context.Context, conn *wire.Conn, cfg *ClientConfig) (*channel.Secrets, error) {
		s, err := half(ctx, conn, cfg)
		return s, renamed(err, name)
	}
}

func renamed(err error, name string) error {
	if he, ok := err.(*HandshakeError); ok {
		c := *he
		c.Scheme = name
		return &c
	}
	return err
}
