package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
)

// TestLoadThroughAttackerProcess sends 200 concurrent pinned-ecdh sessions
// through one attacker process running a passive relay. Every message must
// arrive, in order, none lost; every session must end clean on both sides,
// end records and all; and the attacker process ends every relayed
// connection when stopped. TestMain checks that the test process leaked
// no goroutine.
func TestLoadThroughAttackerProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	t.Parallel()
	const sessions, perSession = 200, 5

	srv, upstream, pin := startServer(t, "pinned-ecdh")
	att, target := startAttacker(t, "pinned-ecdh", upstream, "--attack", "passive")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := &victim.Client{Scheme: kex.PinnedECDH(), Config: &kex.ClientConfig{Pin: pin}}
	var wg sync.WaitGroup
	errs := make(chan error, 2*sessions)
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := alice.Dial(ctx, target)
			if err != nil {
				errs <- fmt.Errorf("session %d: dial: %w", i, err)
				return
			}
			defer func() {
				if err := s.Close(ctx); err != nil {
					errs <- fmt.Errorf("session %d: close: %w", i, err)
				}
			}()
			for j := range perSession {
				msg := fmt.Sprintf("session %d message %d", i, j)
				if err := s.Send(ctx, []byte(msg)); err != nil {
					errs <- fmt.Errorf("session %d: send %d: %w", i, j, err)
					return
				}
				reply, err := s.Receive(ctx)
				if err != nil {
					errs <- fmt.Errorf("session %d: receive %d: %w", i, j, err)
					return
				}
				if got, want := string(reply), "got it: "+msg; got != want {
					errs <- fmt.Errorf("session %d: reply %d = %q, want %q (lost or out of order)", i, j, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Bob saw every session end clean, end records and all, with every
	// message.
	srv.waitCount(t, srv.out, fmt.Sprintf(`session \d+: clean · %d messages received, %d answered\n`, perSession, perSession), sessions)
	// Mallory relayed them all and saw nothing but ciphertext.
	att.stop(t)
	summary := regexp.MustCompile(`stopped; (\d+) connections relayed; frames: (.*)`).FindStringSubmatch(att.out.String())
	if summary == nil || summary[1] != fmt.Sprint(sessions) {
		t.Fatalf("attacker summary %q, want %d connections", summary, sessions)
	}
	// Each session's records, both directions on both legs: the data and
	// the two end records.
	wantOpaque := fmt.Sprintf("%d opaque", sessions*(perSession+1)*2*2)
	if !strings.Contains(summary[2], wantOpaque) || strings.Contains(summary[2], "read") {
		t.Errorf("attacker frames %q, want %s and no read", summary[2], wantOpaque)
	}
	srv.stop(t)
}

// BenchmarkOpenSessions holds N pinned-ecdh sessions open at once, each
// having sent one message, through an in-process passive attacker node on
// loopback, next to the same sessions straight to the server. It reports
// live heap bytes (after a GC), goroutines and descriptors per open
// session (client, attacker and server sides together). Run:
//
//	go test -run '^$' -bench OpenSessions -benchtime 3x ./cmd/mitmlab
func BenchmarkOpenSessions(b *testing.B) {
	for _, n := range []int{200, 1000} {
		for _, via := range []string{"direct", "passive-relay"} {
			b.Run(fmt.Sprintf("%s/sessions=%d", via, n), func(b *testing.B) {
				benchOpenSessions(b, n, via == "passive-relay")
			})
		}
	}
}

func benchOpenSessions(b *testing.B, n int, relay bool) {
	id, err := kex.NewIdentity("bob")
	if err != nil {
		b.Fatal(err)
	}
	bob := victim.NewServer(kex.PinnedECDH(), &victim.ServerOptions{Config: &kex.ServerConfig{Identity: id}, NoHistory: true})
	defer bob.Close()
	target := serveLoopback(b, bob) + "/pinned-ecdh"
	if relay {
		passive, err := attacker.Lookup(attacker.Passive)
		if err != nil {
			b.Fatal(err)
		}
		node, err := attacker.New(attacker.Options{Scheme: kex.PinnedECDH(), Attack: passive, Upstream: target})
		if err != nil {
			b.Fatal(err)
		}
		defer node.Close()
		target = serveLoopback(b, node) + "/pinned-ecdh"
	}
	alice := &victim.Client{Scheme: kex.PinnedECDH(), Config: &kex.ClientConfig{Pin: id.Pin()}}
	ctx := context.Background()
	var bytesPer, goroutinesPer, fdsPer float64
	for b.Loop() {
		before, g0 := liveHeap(), runtime.NumGoroutine()
		fd0 := openFDs(b)
		open := make([]*victim.Session, n)
		var wg sync.WaitGroup
		var failed atomic.Int64
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := alice.Dial(ctx, target)
				if err != nil {
					failed.Add(1)
					return
				}
				if s.Send(ctx, []byte("hello")) != nil {
					failed.Add(1)
				} else if _, err := s.Receive(ctx); err != nil {
					failed.Add(1)
				}
				open[i] = s
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			b.Fatalf("%d of %d sessions failed", failed.Load(), n)
		}
		after, g1 := liveHeap(), runtime.NumGoroutine()
		bytesPer = (after - before) / float64(n)
		goroutinesPer = float64(g1-g0) / float64(n)
		fdsPer = (openFDs(b) - fd0) / float64(n)
		for _, s := range open {
			wg.Add(1)
			go func() { defer wg.Done(); s.Close(ctx) }()
		}
		wg.Wait()
	}
	b.ReportMetric(bytesPer, "heap-B/session")
	b.ReportMetric(goroutinesPer, "goroutines/session")
	b.ReportMetric(fdsPer, "fds/session")
}

func serveLoopback(b *testing.B, h http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return "ws://" + l.Addr().String()
}

// BenchmarkAttackerRounds is issue 8's resource check: "after three rounds
// of 1,000 sessions, the attacker's live heap and descriptor count return
// to within 20% of round one's". It runs the server and attacker commands
// in this process (runServer, and runAttacker with --attack passive, as
// `mitmlab server` and `mitmlab attacker` run them, their output thrown
// away), then three rounds of 1,000 pinned-ecdh sessions of 10 messages
// each through the attacker, 100 at a time, every reply checked. A
// subscriber that connects to /events and never reads is there from the
// start. After each round, once every session has ended everywhere
// (goroutines back to the count before the round), it reports the live
// heap after a GC and the open descriptors: client, server and attacker
// together, the clients' share being nothing by then. Run:
//
//	go test -run '^$' -bench AttackerRounds -benchtime 1x ./cmd/mitmlab
//
// ledger-max=100000 is the attacker's default; a smaller ledger shows the
// heap once the ledger is full.
func BenchmarkAttackerRounds(b *testing.B) {
	for _, max := range []int{100_000, 10_000} {
		b.Run(fmt.Sprintf("ledger-max=%d", max), func(b *testing.B) {
			benchAttackerRounds(b, max)
		})
	}
}

// The rounds of BenchmarkAttackerRounds.
const (
	rounds        = 3
	roundSessions = 1000
	roundMessages = 10
	roundParallel = 100 // sessions open at once
)

func benchAttackerRounds(b *testing.B, ledgerMax int) {
	var heap, fds [rounds + 1]float64
	var frames int
	var dropped bool
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		start := func(out, errOut *headTail, cmd func(context.Context, *env, []string) error, args ...string) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := cmd(ctx, &env{stdin: strings.NewReader(""), stdout: out, stderr: errOut}, args); err != nil {
					b.Errorf("%s: %v\n%s", args, err, errOut)
				}
			}()
		}
		srvOut, srvErr, attOut, attErr := &headTail{}, &headTail{}, &headTail{}, &headTail{}
		start(srvOut, srvErr, runServer, "--scheme", "pinned-ecdh", "--listen", "127.0.0.1:0")
		m := srvOut.wait(b, `listening on (ws://\S+)\npin: (sha256/\S+)\n`)
		upstream, pin := m[1], m[2]
		start(attOut, attErr, runAttacker, "--scheme", "pinned-ecdh", "--listen", "127.0.0.1:0", "--upstream", upstream,
			"--attack", "passive", "--ledger-max", fmt.Sprint(ledgerMax))
		target := attOut.wait(b, `listening on (ws://\S+),`)[1]

		// The viewer that never reads: the attacker must drop it.
		stalled, _, err := websocket.Dial(ctx, strings.TrimSuffix(target, "/pinned-ecdh")+eventsPath, nil)
		if err != nil {
			b.Fatal(err)
		}
		alice := &victim.Client{Scheme: kex.PinnedECDH(), Config: &kex.ClientConfig{Pin: pin}}
		g0 := runtime.NumGoroutine()
		heap[0], fds[0] = liveHeap(), openFDs(b)
		for r := 1; r <= rounds; r++ {
			if err := round(ctx, alice, target); err != nil {
				b.Fatalf("round %d: %v", r, err)
			}
			settle(b, g0)
			if r == 1 {
				dropped = droppedSlow(ctx, stalled)
				stalled.CloseNow()
			}
			heap[r], fds[r] = liveHeap(), openFDs(b)
		}
		cancel()
		wg.Wait()
		f := regexp.MustCompile(`frames: (.*)\n`).FindStringSubmatch(attOut.String())
		if f == nil {
			b.Fatalf("no attacker summary:\n%s", attOut)
		}
		frames = 0
		for _, n := range regexp.MustCompile(`(\d+) \w+`).FindAllStringSubmatch(f[1], -1) {
			v, _ := strconv.Atoi(n[1])
			frames += v
		}
	}
	const mb = 1 << 20
	b.ReportMetric(heap[0]/mb, "start-heap-MB")
	for r := 1; r <= rounds; r++ {
		b.ReportMetric(heap[r]/mb, fmt.Sprintf("round%d-heap-MB", r))
	}
	b.ReportMetric(100*(heap[rounds]-heap[1])/heap[1], "round3-vs-1-heap-%")
	b.ReportMetric(100*(heap[rounds]-heap[rounds-1])/heap[rounds-1], "round3-vs-2-heap-%")
	b.ReportMetric(fds[0], "start-fds")
	for r := 1; r <= rounds; r++ {
		b.ReportMetric(fds[r], fmt.Sprintf("round%d-fds", r))
	}
	b.ReportMetric(float64(frames)/rounds, "events/round")
	if !dropped {
		b.Errorf("the /events subscriber that never read was not dropped")
	}
}

// round runs roundSessions sessions of roundMessages messages against
// target, roundParallel at a time, and checks every reply.
func round(ctx context.Context, alice *victim.Client, target string) error {
	sem := make(chan struct{}, roundParallel)
	errs := make(chan error, roundSessions)
	var wg sync.WaitGroup
	for i := range roundSessions {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs <- session(ctx, alice, target, i)
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		if err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

func session(ctx context.Context, alice *victim.Client, target string, i int) error {
	s, err := alice.Dial(ctx, target)
	if err != nil {
		return fmt.Errorf("session %d: dial: %w", i, err)
	}
	for j := range roundMessages {
		msg := fmt.Sprintf("session %d message %d", i, j)
		if err := s.Send(ctx, []byte(msg)); err != nil {
			return fmt.Errorf("session %d: send: %w", i, err)
		}
		reply, err := s.Receive(ctx)
		if err != nil {
			return fmt.Errorf("session %d: receive: %w", i, err)
		}
		if string(reply) != "got it: "+msg {
			return fmt.Errorf("session %d: reply %q to %q", i, reply, msg)
		}
	}
	if err := s.Close(ctx); err != nil {
		return fmt.Errorf("session %d: close: %w", i, err)
	}
	return nil
}

// settle waits until the goroutines are back to n: every session's
// handlers and relays, on every side, have returned.
func settle(b *testing.B, n int) {
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			b.Fatalf("%d goroutines still running, %d before the round", runtime.NumGoroutine(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// droppedSlow reads what the socket still holds for the stalled /events
// subscriber, and reports whether the attacker has ended the stream: with
// its close for falling behind, or, when the close frame found no room in
// a socket nobody read, by dropping the connection.
func droppedSlow(ctx context.Context, ws *websocket.Conn) bool {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			return ctx.Err() == nil
		}
	}
}

// liveHeap is the heap in use by live objects, right after a collection.
func liveHeap() float64 {
	// Twice: the first collection moves sync.Pool contents to the pools'
	// victim caches, the second frees them, so what is left is live.
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}

// openFDs counts this process's open descriptors.
func openFDs(b *testing.B) float64 {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		b.Skipf("no /proc/self/fd: %v", err)
	}
	return float64(len(ents) - 1) // less ReadDir's own
}

// headTail is a command's output, kept in part: its first 16 KiB (the
// banner) and its last 4 KiB (the summary line). The attacker prints a
// line per frame, which a whole copy would add to the heap measured.
type headTail struct {
	mu         sync.Mutex
	head, tail []byte
}

func (h *headTail) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(p)
	if room := 16<<10 - len(h.head); room > 0 {
		k := min(room, len(p))
		h.head = append(h.head, p[:k]...)
		p = p[k:]
	}
	h.tail = append(h.tail, p...)
	if len(h.tail) > 8<<10 {
		h.tail = append(h.tail[:0], h.tail[len(h.tail)-4<<10:]...)
	}
	return n, nil
}

func (h *headTail) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.head) + string(h.tail)
}

// wait polls the output until re matches, and returns the submatches.
func (h *headTail) wait(b *testing.B, re string) []string {
	b.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := rx.FindStringSubmatch(h.String()); m != nil {
			return m
		}
	}
	b.Fatalf("no %q in:\n%s", re, h)
	return nil
}
