package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
)

// The tests in this file check that long-running processes stay bounded:
// the attacker's ledger, and the sockets of victims that vanish.

// TestAttackerLedgerBounded runs two chats through an attacker that keeps
// only its newest 3 events.
//
// THIS TEST VERIFIES: the transcript still prints every frame, and the
// last line's counts are of every frame, not of the 3 kept; a viewer that
// attaches late is sent only the kept events; with --json every frame is
// still streamed, numbered without a gap.
func TestAttackerLedgerBounded(t *testing.T) {
	t.Parallel()
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			t.Parallel()
			_, upstream, _ := startServer(t, "unauth-ecdh")
			flags := []string{"--attack", "passive", "--ledger-max", "3"}
			if asJSON {
				flags = append(flags, "--json")
			}
			att, target := startAttacker(t, "unauth-ecdh", upstream, flags...)
			for i := range 2 {
				if _, stderr, code := runClientProc(t, "--scheme", "unauth-ecdh", "--connect", target, "--message", fmt.Sprint("chat ", i)); code != 0 {
					t.Fatalf("client %d: exit %d: %s", i, code, stderr)
				}
			}
			// The attacker's close toward Bob is the last frame of a chat.
			closeToBob := `B +Mallory → Bob +close `
			if asJSON {
				closeToBob = `"leg":"B","direction":"c2s","message_type":"close"`
			}
			att.waitCount(t, att.out, closeToBob, 2)
			printed := frameLines(att.out.String(), asJSON)
			checkLateViewer(t, strings.TrimSuffix(target, "/unauth-ecdh")+eventsPath, len(printed))
			att.stop(t)

			summary := att.out.String()
			if asJSON {
				summary = att.errOut.String()
				for i, l := range frameLines(att.out.String(), true) {
					var f trace.FrameJSON
					if err := json.Unmarshal([]byte(l), &f); err != nil || f.Index != i {
						t.Fatalf("--json line %d is not frame %d: %v: %s", i, i, err, l)
					}
				}
			}
			m := regexp.MustCompile(`stopped; 2 connections relayed; frames: (\d+) opaque, (\d+) public\n`).FindStringSubmatch(summary)
			if m == nil {
				t.Fatalf("no summary of 2 connections with opaque and public frames:\n%s", summary)
			}
			opaque, public := count(printed, "opaque"), count(printed, "public")
			if m[1] != strconv.Itoa(opaque) || m[2] != strconv.Itoa(public) || opaque+public != len(printed) {
				t.Errorf("summary %q; the attacker printed %d opaque and %d public frames of %d", m[0], opaque, public, len(printed))
			}
		})
	}
}

var textFrame = regexp.MustCompile(`^conn \d+ `)

// frameLines returns the transcript's frame lines.
func frameLines(out string, asJSON bool) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if asJSON && strings.HasPrefix(sc.Text(), `{"type":"frame"`) || !asJSON && textFrame.MatchString(sc.Text()) {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

func count(lines []string, verdict string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, `"verdict":"`+verdict+`"`) || strings.Contains(l, " "+strings.ToUpper(verdict)+" ") {
			n++
		}
	}
	return n
}

// checkLateViewer attaches to /events after total frames and checks that
// the backlog is the newest 3, not the whole ledger.
func checkLateViewer(t *testing.T, url string, total int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	var got []int
	for range 3 {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f trace.FrameJSON
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Index)
	}
	if got[0] < total-3 || got[1] != got[0]+1 || got[2] != got[1]+1 {
		t.Errorf("a late viewer's backlog starts %v; want the newest 3 of %d frames", got, total)
	}
}

// TestAttackerClosesBothLegs kills the server under a chat relayed by an
// attacker process: the attacker must close the victim's leg too, with
// 1001, not leave her waiting.
func TestAttackerClosesBothLegs(t *testing.T) {
	t.Parallel()
	srv, upstream, _ := startServer(t, "unauth-ecdh")
	_, target := startAttacker(t, "unauth-ecdh", upstream, "--attack", "passive")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var w closeWatch
	alice := &victim.Client{Scheme: kex.UnauthECDH(), CloseTap: w.tap}
	s, err := alice.Dial(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Drop()
	if err := s.Send(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Process.Kill() // kill -9: no close frame, no end record
	if _, err := s.Receive(ctx); !errors.Is(err, channel.ErrTruncated) {
		t.Errorf("after the server died, Alice got %v; want a conversation cut short", err)
	}
	if code, reason := w.got(); code != websocket.StatusGoingAway || reason != "peer connection lost" {
		t.Errorf("Alice's leg was closed with %d %q; want 1001 \"peer connection lost\"", code, reason)
	}
}

// TestAttackerReleasesVanishedVictims opens 50 chats through an attacker
// process and drops every victim's socket without a close frame, as a
// client killed with kill -9 does. The attacker must notice, close the
// server's leg of each, and give every descriptor back.
func TestAttackerReleasesVanishedVictims(t *testing.T) {
	t.Parallel()
	const victims = 50
	srv, upstream, _ := startServer(t, "unauth-ecdh")
	att, target := startAttacker(t, "unauth-ecdh", upstream, "--attack", "passive")
	fdDir := fmt.Sprintf("/proc/%d/fd", att.cmd.Process.Pid)
	if _, err := os.ReadDir(fdDir); err != nil {
		t.Skipf("cannot count the attacker's descriptors: %v", err)
	}
	fds := func() int {
		ents, err := os.ReadDir(fdDir)
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	backToBaseline := func(baseline int, after string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); fds() > baseline; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the attacker holds %d descriptors %s; baseline %d", fds(), after, baseline)
			}
		}
	}
	baseline := fds()
	alice := &victim.Client{Scheme: kex.UnauthECDH()}
	// One whole chat first: its sockets go back too.
	if res := alice.Chat(ctx, target, [][]byte{[]byte("warm-up")}); res.Err != nil {
		t.Fatal(res.Err)
	}
	backToBaseline(baseline, "after a chat that ended cleanly")

	sessions := make([]*victim.Session, victims)
	var wg sync.WaitGroup
	errs := make(chan error, victims)
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := alice.Dial(ctx, target)
			if err != nil {
				errs <- err
				return
			}
			sessions[i] = s
			if err := s.Send(ctx, []byte("still here")); err != nil {
				errs <- err
				return
			}
			if _, err := s.Receive(ctx); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := fds(); n < baseline+victims {
		t.Fatalf("with %d chats open the attacker holds %d descriptors, baseline %d: the count does not see them", victims, n, baseline)
	}
	for _, s := range sessions {
		s.Drop() // no close frame, no end record: the socket just goes
	}
	backToBaseline(baseline, "after every victim vanished")
	// And it closed the server's leg of each: Bob saw every one cut short.
	srv.waitCount(t, srv.out, `session \d+: truncated · 1 message received`, victims)
}
