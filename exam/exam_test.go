package exam_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/exam"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// examine runs the lab's own client against an exam, once per planned
// attack, and returns the scorecard.
func examine(t *testing.T, scheme *kex.Scheme, client func(pin string) *victim.Client) (exam.Scorecard, []exam.Attempt) {
	t.Helper()
	var scfg kex.ServerConfig
	pin := ""
	if scheme.Identity {
		id, err := kex.NewIdentity("bob")
		if err != nil {
			t.Fatal(err)
		}
		scfg.Identity, pin = id, id.Pin()
	}
	bob := victim.NewServer(scheme, &victim.ServerOptions{Config: &scfg, HandshakeTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second})
	bs := httptest.NewServer(bob)
	t.Cleanup(func() { bob.Close(); bs.Close() })
	e, err := exam.New(exam.Options{Scheme: scheme, Upstream: "ws" + strings.TrimPrefix(bs.URL, "http") + victim.Path(scheme.Name), Hold: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	es := httptest.NewServer(e)
	t.Cleanup(func() { e.Close(); es.Close() })
	url := "ws" + strings.TrimPrefix(es.URL, "http") + victim.Path(scheme.Name)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for range e.Expected() {
		c := client(pin)
		c.Timeout, c.IdleTimeout = 2*time.Second, 2*time.Second
		c.Chat(ctx, url, [][]byte{[]byte("hi"), []byte("bye")})
	}
	select {
	case <-e.Done():
	case <-ctx.Done():
		t.Fatalf("the exam did not finish: %d of %d graded", len(e.Attempts()), e.Expected())
	}
	return e.Scorecard(), e.Attempts()
}

// TestLabClientUnderExam:
//
// ATTACK SCENARIO: the lab's own client connects to mitmlab exam, which
// runs a different attack on each connection.
//
// THIS TEST VERIFIES: with the right pin, the pinned-ecdh client passes
// every attack; with no pin it fails impersonation; on unauth-ecdh it fails
// double-ecdh; a client that takes a close at its word fails the withheld
// end record.
func TestLabClientUnderExam(t *testing.T) {
	t.Parallel()
	t.Run("pinned-ecdh with the pin passes", func(t *testing.T) {
		t.Parallel()
		sc, attempts := examine(t, kex.PinnedECDH(), func(pin string) *victim.Client {
			return &victim.Client{Scheme: kex.PinnedECDH(), Config: &kex.ClientConfig{Pin: pin}}
		})
		if !sc.Passed {
			t.Errorf("failed %v: %+v", sc.FailedAttacks, attempts)
		}
	})
	t.Run("pinned-ecdh without a pin fails impersonation", func(t *testing.T) {
		t.Parallel()
		sc, _ := examine(t, kex.PinnedECDH(), func(string) *victim.Client {
			return &victim.Client{Scheme: kex.PinnedECDH(), Config: &kex.ClientConfig{SkipPinCheck: true}}
		})
		if sc.Passed || !contains(sc.FailedAttacks, "impersonate") {
			t.Errorf("scorecard %+v, want impersonate failed", sc)
		}
	})
	t.Run("unauth-ecdh fails double-ecdh", func(t *testing.T) {
		t.Parallel()
		sc, _ := examine(t, kex.UnauthECDH(), func(string) *victim.Client {
			return &victim.Client{Scheme: kex.UnauthECDH()}
		})
		if sc.Passed || !contains(sc.FailedAttacks, "double-ecdh") {
			t.Errorf("scorecard %+v, want double-ecdh failed", sc)
		}
	})
	t.Run("a client with no end records fails withhold-end", func(t *testing.T) {
		t.Parallel()
		sc, _ := examine(t, kex.PinnedECDH(), func(pin string) *victim.Client {
			return &victim.Client{Scheme: kex.PinnedECDH(), Config: &kex.ClientConfig{Pin: pin}, Records: &channel.Options{NoEnd: true}}
		})
		if sc.Passed || !contains(sc.FailedAttacks, "withhold-end") {
			t.Errorf("scorecard %+v, want withhold-end failed", sc)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
