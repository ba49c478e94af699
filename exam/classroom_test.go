package exam_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/exam"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/victim"
)

// TestClassroomTally:
//
// ATTACK SCENARIO: a room of 30 students on one attacker, which runs the
// exam's attacks on each student's connections in turn. Ten students'
// clients check the pin, ten skip it, ten take an ordinary close at its
// word.
//
// THIS TEST VERIFIES: the tally, computed from the ledger alone, names
// each student and what got through: the pin-skippers are read by
// impersonation (but still refuse substituted shares, since they check
// the signature against the certificate they were sent), the
// close-trusters fail the withheld end record, and the careful ones pass
// everything.
func TestClassroomTally(t *testing.T) {
	t.Parallel()
	scheme := kex.PinnedECDH()
	id, err := kex.NewIdentity("bob")
	if err != nil {
		t.Fatal(err)
	}
	bob := victim.NewServer(scheme, &victim.ServerOptions{Config: &kex.ServerConfig{Identity: id}, NoHistory: true})
	bs := httptest.NewServer(bob)
	defer func() { bob.Close(); bs.Close() }()
	hold := 300 * time.Millisecond
	log := trace.NewLog(nil)
	node, err := attacker.New(attacker.Options{
		Scheme:   scheme,
		Choose:   exam.Classroom(scheme, hold),
		Upstream: "ws" + strings.TrimPrefix(bs.URL, "http") + victim.Path(scheme.Name),
		Log:      log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns := httptest.NewServer(node)
	defer func() { node.Close(); ns.Close() }()
	url := "ws" + strings.TrimPrefix(ns.URL, "http") + victim.Path(scheme.Name)

	kinds := map[string]func(*victim.Client){
		"careful": func(c *victim.Client) { c.Config = &kex.ClientConfig{Pin: id.Pin()} },
		"skipper": func(c *victim.Client) { c.Config = &kex.ClientConfig{SkipPinCheck: true} },
		"truster": func(c *victim.Client) {
			c.Config = &kex.ClientConfig{Pin: id.Pin()}
			c.Records = &channel.Options{NoEnd: true}
		},
	}
	plan := len(exam.Plan(scheme, hold))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for kind, setup := range kinds {
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range plan {
					c := &victim.Client{Scheme: scheme, Name: fmt.Sprintf("%s-%02d", kind, i), Timeout: 5 * time.Second, IdleTimeout: 5 * time.Second}
					setup(c)
					c.Chat(ctx, url, [][]byte{[]byte("hi"), []byte("bye")})
				}
			}()
		}
	}
	wg.Wait()
	node.Close()
	tally := exam.Tally(log.Events())
	if len(tally) != 30 {
		t.Fatalf("the tally has %d students, want 30", len(tally))
	}
	for _, s := range tally {
		if s.Connections != plan {
			t.Errorf("%s: %d connections graded, want %d", s.Name, s.Connections, plan)
		}
		switch {
		case strings.HasPrefix(s.Name, "careful"):
			if !s.Passed() {
				t.Errorf("%s should pass: %+v", s.Name, s)
			}
		case strings.HasPrefix(s.Name, "skipper"):
			if s.Read == 0 || strings.Join(s.Failed, ",") != "impersonate" {
				t.Errorf("%s should be read by impersonate, and by nothing else: %+v", s.Name, s)
			}
		case strings.HasPrefix(s.Name, "truster"):
			if s.Read != 0 || !contains(s.Failed, "withhold-end") {
				t.Errorf("%s should fail withhold-end and nothing read: %+v", s.Name, s)
			}
		}
	}
}
