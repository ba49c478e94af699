package kex_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// lessonCases are the schemes of the lessons on SAS, trust on first use,
// tampering and replay, each with an honest pair's configuration.
func lessonCases(t *testing.T) []schemeCase {
	bob := identity(t, "bob")
	line := &kex.OutOfBand{}
	commitLine := &kex.OutOfBand{}
	store := &kex.PinStore{Path: filepath.Join(t.TempDir(), "known_pins"), Name: "bob"}
	pinnedFlow := []string{"c2s client_hello", "s2c server_hello", "s2c server_verify", "c2s client_finished"}
	return []schemeCase{
		{"sas-ecdh/both users read the same string", kex.SASECDH(),
			&kex.ClientConfig{OutOfBand: line}, &kex.ServerConfig{OutOfBand: line},
			[]string{"c2s client_hello", "s2c server_hello"}},
		{"sas-commit-ecdh/the client commits, then reveals", kex.SASCommitECDH(),
			&kex.ClientConfig{OutOfBand: commitLine}, &kex.ServerConfig{OutOfBand: commitLine},
			[]string{"c2s commit", "s2c server_hello", "c2s client_hello"}},
		{"tofu-ecdh/first contact", kex.TOFUECDH(),
			&kex.ClientConfig{PinStore: store}, &kex.ServerConfig{Identity: bob}, pinnedFlow},
		{"pinned-ecdh-ctr/client pinned to the server's key", kex.PinnedECDHCTR(),
			&kex.ClientConfig{Pin: bob.Pin()}, &kex.ServerConfig{Identity: bob}, pinnedFlow},
		{"pinned-ecdh-noseq/client pinned to the server's key", kex.PinnedECDHNoSeq(),
			&kex.ClientConfig{Pin: bob.Pin()}, &kex.ServerConfig{Identity: bob}, pinnedFlow},
	}
}

// TestLessonSchemes runs each lesson scheme's two real halves against each
// other: they derive the same keys, send the scheme's messages in the
// order it lists them, and the keys carry chat both ways in the scheme's
// record suite.
func TestLessonSchemes(t *testing.T) {
	t.Parallel()
	for _, sc := range lessonCases(t) {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			if err := sc.scheme.Check(); err != nil {
				t.Fatal(err)
			}
			h := handshake(t, sc)
			if *h.client != *h.server {
				t.Fatal("client and server secrets differ")
			}
			if !slices.Equal(h.flow, sc.flow) {
				t.Errorf("messages on the wire: %q, want %q", h.flow, sc.flow)
			}
			var listed []string
			for _, m := range sc.scheme.Messages {
				listed = append(listed, string(m.MessageType()))
			}
			var sent []string
			for _, f := range h.flow {
				if _, typ, _ := strings.Cut(f, " "); !slices.Contains(sent, typ) {
					sent = append(sent, typ)
				}
			}
			if !slices.Equal(listed, sent) {
				t.Errorf("Scheme.Messages lists %q, the handshake sent %q", listed, sent)
			}
			chatBothWays(t, sc.scheme, h)
			if line := sc.client.OutOfBand; line != nil {
				c := line.Comparisons()
				if len(c) != 1 || !c[0].Match() || !regexp.MustCompile(`^[0-9A-F]{4}$`).MatchString(c[0].Client) {
					t.Errorf("comparisons on the line: %+v, want one match of four hex digits", c)
				}
			}
		})
	}
	for name, want := range map[*kex.Scheme]channel.Suite{
		kex.PinnedECDHCTR(): channel.AES256CTR, kex.PinnedECDHNoSeq(): channel.RandomNonce,
		kex.SASECDH(): "", kex.SASCommitECDH(): "", kex.TOFUECDH(): "",
	} {
		if name.Suite != want {
			t.Errorf("%s uses suite %q, want %q", name.Name, name.Suite, want)
		}
	}
	if !kex.SASECDH().SAS || !kex.SASCommitECDH().SAS || kex.UnauthECDH().SAS || !kex.TOFUECDH().Identity {
		t.Error("SAS and Identity do not say what the schemes check")
	}
}

// TestSASCatchesTheManInTheMiddle:
//
// ATTACK SCENARIO: Mallory runs one SAS exchange with each side: a server
// half toward Alice and a client half toward Bob, with his own shares and
// no line of his own. Alice and Bob compare strings on their line.
//
// THIS TEST VERIFIES: the strings come from different secrets and differ,
// and both users refuse with ErrSASMismatch and a 1008 close, in both
// schemes; each handshake with no one in the middle matches.
func TestSASCatchesTheManInTheMiddle(t *testing.T) {
	t.Parallel()
	for _, scheme := range []*kex.Scheme{kex.SASECDH(), kex.SASCommitECDH()} {
		t.Run(scheme.Name, func(t *testing.T) {
			t.Parallel()
			line := &kex.OutOfBand{}
			ctx := testContext(t)
			aliceEnd, malloryA := wsPair(t, scheme)
			malloryB, bobEnd := wsPair(t, scheme)
			alice := runClient(ctx, scheme, aliceEnd, &kex.ClientConfig{OutOfBand: line})
			mA := runServer(ctx, scheme, malloryA, nil)
			mB := runClient(ctx, scheme, malloryB, nil)
			bob := runServer(ctx, scheme, bobEnd, &kex.ServerConfig{OutOfBand: line})
			<-mA
			<-mB
			// Mallory reads on after his halves, so each victim's close
			// frame is answered at once.
			drained := make(chan struct{}, 2)
			for _, ws := range []*websocket.Conn{malloryA, malloryB} {
				go func() {
					defer func() { drained <- struct{}{} }()
					for {
						if _, _, err := ws.Read(ctx); err != nil {
							return
						}
					}
				}()
			}
			ra, rb := <-alice, <-bob
			<-drained
			<-drained
			wantHandshakeError(t, ra.err, kex.ErrSASMismatch, scheme.Name, kex.ClientSide, "compare short authentication strings")
			wantHandshakeError(t, rb.err, kex.ErrSASMismatch, scheme.Name, kex.ServerSide, "compare short authentication strings")
			if wire.CloseCode(ra.err) != policy || wire.CloseCode(rb.err) != policy {
				t.Errorf("close codes %d and %d, want 1008", wire.CloseCode(ra.err), wire.CloseCode(rb.err))
			}
			c := line.Comparisons()
			if len(c) != 1 || c[0].Match() {
				t.Errorf("comparisons %+v, want one that differs", c)
			}
		})
	}
}

// TestOutOfBand: the line pairs the n-th client with the n-th server, and
// a user left waiting gives up with ErrNoComparison.
func TestOutOfBand(t *testing.T) {
	t.Parallel()
	t.Run("each conversation compares in turn", func(t *testing.T) {
		t.Parallel()
		line := &kex.OutOfBand{}
		ctx := testContext(t)
		for _, p := range []struct{ client, server string }{{"AAAA", "AAAA"}, {"BBBB", "CCCC"}} {
			client := make(chan error, 1)
			go func() { client <- line.Compare(ctx, kex.ClientSide, p.client) }()
			serr, cerr := line.Compare(ctx, kex.ServerSide, p.server), <-client
			if want := p.client != p.server; errors.Is(serr, kex.ErrSASMismatch) != want || errors.Is(cerr, kex.ErrSASMismatch) != want {
				t.Errorf("%s against %s: server %v, client %v", p.client, p.server, serr, cerr)
			}
		}
		want := []kex.Comparison{{Client: "AAAA", Server: "AAAA"}, {Client: "BBBB", Server: "CCCC"}}
		if got := line.Comparisons(); !slices.Equal(got, want) {
			t.Errorf("comparisons %+v, want %+v", got, want)
		}
	})
	t.Run("a user alone on the line gives up", func(t *testing.T) {
		t.Parallel()
		line := &kex.OutOfBand{Patience: time.Millisecond}
		if err := line.Compare(testContext(t), kex.ClientSide, "AAAA"); !errors.Is(err, kex.ErrNoComparison) {
			t.Errorf("Compare alone = %v, want ErrNoComparison", err)
		}
		ctx, cancel := context.WithCancel(testContext(t))
		cancel()
		if err := (&kex.OutOfBand{}).Compare(ctx, kex.ServerSide, "AAAA"); !errors.Is(err, kex.ErrNoComparison) {
			t.Errorf("Compare with an ended context = %v, want ErrNoComparison", err)
		}
		if len(line.Comparisons()) != 0 {
			t.Errorf("a comparison with nobody was recorded")
		}
	})
}

// TestSASString: four hex digits, the same for the same handshake, and
// another for another secret or another transcript.
func TestSASString(t *testing.T) {
	t.Parallel()
	shared := []byte("0123456789abcdef0123456789abcdef")
	ch, sh := []byte(`{"type":"client_hello"}`), []byte(`{"type":"server_hello"}`)
	a := kex.SAS(shared, ch, sh)
	if !regexp.MustCompile(`^[0-9A-F]{4}$`).MatchString(a) || a != kex.SAS(shared, ch, sh) {
		t.Fatalf("SAS = %q", a)
	}
	other := []byte("0123456789abcdef0123456789abcdeF")
	if kex.SAS(other, ch, sh) == a || kex.SAS(shared, ch, []byte(`{"type":"server_hello" }`)) == a || kex.SAS(shared, sh, ch) == a {
		t.Errorf("another secret or transcript gives the same string %s", a)
	}
	if *kex.SASSecrets(shared, ch, sh) == *kex.SASSecrets(shared, ch, []byte("x")) {
		t.Error("the traffic keys do not depend on the transcript")
	}
}

// TestCommitment:
//
// ATTACK SCENARIO: a client commits to one client_hello, sees the
// server's share, and then reveals another (the one a grinder would want
// to send).
//
// THIS TEST VERIFIES: the server refuses at "check commitment" with
// ErrCommitMismatch and 1008, before any comparison.
func TestCommitment(t *testing.T) {
	t.Parallel()
	scheme := kex.SASCommitECDH()
	c, s := wsPair(t, scheme)
	ctx := testContext(t)
	line := &kex.OutOfBand{Patience: time.Millisecond}
	srv := runServer(ctx, scheme, s, &kex.ServerConfig{OutOfBand: line})
	f := newFake(t, ctx, scheme, c)
	first, second := newKeyShare(t), newKeyShare(t)
	committed, err := wire.Encode(&kex.ClientHello{Nonce: first.Nonce, KeyShare: first.Public()})
	if err != nil {
		t.Fatal(err)
	}
	f.send(&kex.Commit{Hash: kex.CommitTo(committed)})
	receive[*kex.ServerHello](f)
	f.send(&kex.ClientHello{Nonce: second.Nonce, KeyShare: second.Public()})
	msgs, code, reason := f.closing()
	r := <-srv
	wantHandshakeError(t, r.err, kex.ErrCommitMismatch, kex.NameSASCommitECDH, kex.ServerSide, "check commitment")
	if len(msgs) != 0 || code != policy || !strings.HasPrefix(reason, kex.ErrCommitMismatch.Error()) {
		t.Errorf("peer got %d messages and close %d %q", len(msgs), code, reason)
	}
	if len(line.Comparisons()) != 0 {
		t.Error("the server compared strings after a broken commitment")
	}
}

// TestTrustOnFirstUse:
//
// ATTACK SCENARIO: Alice's client keeps a pin store. Either Bob or Mallory
// answers her first contact; either answers later.
//
// THIS TEST VERIFIES: the first key that completes a handshake is written
// down, once; a later handshake with the same key passes without writing
// again; a later one with another key is refused at "check remembered
// key" with ErrPinMismatch, whichever of the two came first.
func TestTrustOnFirstUse(t *testing.T) {
	t.Parallel()
	bob, mallory := identity(t, "bob"), identity(t, "mallory")
	scheme := kex.TOFUECDH()
	contact := func(t *testing.T, store *kex.PinStore, id *kex.Identity) error {
		c, s := wsPair(t, scheme)
		ctx := testContext(t)
		srv := runServer(ctx, scheme, s, &kex.ServerConfig{Identity: id})
		cli := runClient(ctx, scheme, c, &kex.ClientConfig{PinStore: store})
		rc := <-cli
		<-srv
		return rc.err
	}
	for _, tt := range []struct {
		name          string
		first, later  *kex.Identity
		laterRefused  bool
		rememberedPin string
	}{
		{"the same server again", bob, bob, false, bob.Pin()},
		{"the attacker later, after a clean first contact", bob, mallory, true, bob.Pin()},
		{"the real server later, after the attacker's first contact", mallory, bob, true, mallory.Pin()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &kex.PinStore{Path: filepath.Join(t.TempDir(), "known_pins"), Name: "bob"}
			if err := contact(t, store, tt.first); err != nil {
				t.Fatalf("first contact: %v", err)
			}
			err := contact(t, store, tt.later)
			if tt.laterRefused {
				wantHandshakeError(t, err, kex.ErrPinMismatch, kex.NameTOFUECDH, kex.ClientSide, "check remembered key")
			} else if err != nil {
				t.Fatalf("later contact: %v", err)
			}
			b, err := os.ReadFile(store.Path)
			if err != nil {
				t.Fatal(err)
			}
			if want := "bob " + tt.rememberedPin + "\n"; string(b) != want {
				t.Errorf("pin store holds %q, want %q", b, want)
			}
		})
	}
	t.Run("a client given a pin in advance, or no store, is misconfigured", func(t *testing.T) {
		t.Parallel()
		for _, cfg := range []*kex.ClientConfig{{Pin: bob.Pin()}, {}} {
			c, s := wsPair(t, scheme)
			ctx := testContext(t)
			srv := runServer(ctx, scheme, s, &kex.ServerConfig{Identity: bob})
			r := <-runClient(ctx, scheme, c, cfg)
			<-srv
			var he *kex.HandshakeError
			if !errors.As(r.err, &he) || he.Step != "check configuration" {
				t.Errorf("config %+v: %v, want a refusal at check configuration", cfg, r.err)
			}
		}
	})
}

// TestPinStore: the file format, as known_hosts is read.
func TestPinStore(t *testing.T) {
	t.Parallel()
	bob, carol := identity(t, "bob"), identity(t, "carol")
	dir := t.TempDir()
	path := filepath.Join(dir, "known_pins")
	if err := os.WriteFile(path, []byte("# servers met\n\ncarol "+carol.Pin()+"\nbob "+bob.Pin()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"bob": bob.Pin(), "carol": carol.Pin(), "dave": ""} {
		pin, ok, err := (&kex.PinStore{Path: path, Name: name}).Lookup()
		if err != nil || pin != want || ok != (want != "") {
			t.Errorf("Lookup(%s) = %q, %v, %v; want %q", name, pin, ok, err, want)
		}
	}
	if _, ok, err := (&kex.PinStore{Path: filepath.Join(dir, "none"), Name: "bob"}).Lookup(); ok || err != nil {
		t.Errorf("a store not yet written: %v, %v", ok, err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("bob sha256/not-a-pin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := (&kex.PinStore{Path: bad, Name: "bob"}).Lookup(); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a malformed line: %v", err)
	}
	for _, name := range []string{"", "two words", "#bob"} {
		if err := (&kex.PinStore{Path: filepath.Join(dir, "new"), Name: name}).Remember(bob.Pin()); err == nil {
			t.Errorf("Remember for name %q: no error", name)
		}
	}
}

// TestVariantsNameThemselves: the schemes built on pinned-ecdh's halves
// report their own name when a check fails.
func TestVariantsNameThemselves(t *testing.T) {
	t.Parallel()
	bob, mallory := identity(t, "bob"), identity(t, "mallory")
	for _, scheme := range []*kex.Scheme{kex.PinnedECDHCTR(), kex.PinnedECDHNoSeq()} {
		t.Run(scheme.Name, func(t *testing.T) {
			t.Parallel()
			c, s := wsPair(t, scheme)
			ctx := testContext(t)
			srv := runServer(ctx, scheme, s, &kex.ServerConfig{Identity: mallory})
			r := <-runClient(ctx, scheme, c, &kex.ClientConfig{Pin: bob.Pin()})
			<-srv
			wantHandshakeError(t, r.err, kex.ErrPinMismatch, scheme.Name, kex.ClientSide, "check pin")
		})
	}
}
