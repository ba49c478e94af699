package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
// heap bytes and goroutines per open session (client, attacker and server
// sides together). Run:
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
	var bytesPer, goroutinesPer float64
	for b.Loop() {
		before, g0 := heapInUse()
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
		after, g1 := heapInUse()
		bytesPer = float64(after-before) / float64(n)
		goroutinesPer = float64(g1-g0) / float64(n)
		for _, s := range open {
			wg.Add(1)
			go func() { defer wg.Done(); s.Close(ctx) }()
		}
		wg.Wait()
	}
	b.ReportMetric(bytesPer, "heap-B/session")
	b.ReportMetric(goroutinesPer, "goroutines/session")
}

func heapInUse() (uint64, int) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, runtime.NumGoroutine()
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
