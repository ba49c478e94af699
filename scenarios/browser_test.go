package scenarios_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/internal/chromium"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
)

// browserCase is one browser scenario run, and what must come of it.
type browserCase struct {
	scenario, attack string
	read             bool   // the attacker reads every message
	refused          string // else the client refuses, saying this
}

var browserCases = []browserCase{
	{"browser-rsa-in-clear", "", true, ""},
	{"browser-pin-over-http", "", true, ""},
	{"browser-pin-over-http", attacker.Impersonate, false, "key does not match pin"},
	{"browser-pin-over-https", "", false, "certificate"},
	{"browser-pin-over-https", attacker.Passive, false, ""},
}

func (c browserCase) name() string {
	if c.attack == "" {
		return c.scenario
	}
	return c.scenario + "/" + c.attack
}

// check holds one outcome to its case; the page's pin is rewritten in the
// ledger exactly when rewrite-pin ran.
func (c browserCase) check(t *testing.T, o *scenarios.Outcome, msgs []string) {
	t.Helper()
	switch {
	case c.read:
		readEverything(t, o, msgs)
	case c.refused != "":
		if !o.Detected || o.DetectedBy != "client" || !strings.Contains(o.Reason, c.refused) || o.AttackerRead() != 0 || o.MessagesSent() != 0 {
			t.Errorf("%s: want the client to refuse (%s) before sending, and nothing read", o.Summary(), c.refused)
		}
	default:
		if o.Detected || o.AttackerRead() != 0 || o.MessagesDelivered() != 2*len(msgs) {
			t.Errorf("%s: want the chat delivered and nothing read", o.Summary())
		}
	}
	rewritten := false
	for _, e := range o.Events {
		if e.Type == attacker.TypeHTTPResponse && e.Verdict == trace.Substituted && strings.Contains(e.Note, "pin rewritten") {
			rewritten = true
		}
		if (e.Type == attacker.TypeHTTPRequest || e.Type == attacker.TypeHTTPResponse) && e.Verdict == trace.Read {
			t.Errorf("event %d: a page marked read; a page is public", e.Index)
		}
	}
	if want := o.Attack == attacker.RewritePin; rewritten != want {
		t.Errorf("the ledger shows the page's pin rewritten: %v, want %v", rewritten, want)
	}
}

// TestBrowserScenariosWithoutABrowser:
//
// ATTACK SCENARIO: the browser lessons, with the victim page's steps run
// in Go (no browser given): fetch the page through Mallory, take its pin,
// chat.
//
// THIS TEST VERIFIES: the page over plain HTTP hands Mallory the chat
// (its pin rewritten by rewrite-pin, or no pin at all for plaintext-rsa);
// with impersonate alone, Bob's pin in the page refuses him; over verified
// HTTPS the client refuses his certificate, and with a passive Mallory
// the chat works and he reads nothing.
func TestBrowserScenariosWithoutABrowser(t *testing.T) {
	t.Parallel()
	for _, c := range browserCases {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			o := run(t, c.scenario, &scenarios.Options{Attack: c.attack})
			c.check(t, o, scenarios.DefaultScript())
		})
	}
}

// TestBrowserScenariosInChromium:
//
// ATTACK SCENARIO: the same lessons with the system's headless Chromium
// as Alice, as `mitmlab run` runs them.
//
// THIS TEST VERIFIES: the browser gets the same outcome as the page's
// steps in Go, from the page's own #outcome and the attacker's ledger.
// Outside CI a machine with no Chromium skips it; with CI=true it fails.
func TestBrowserScenariosInChromium(t *testing.T) {
	t.Parallel()
	path, err := chromium.Find()
	if errors.Is(err, chromium.ErrNotFound) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("package scenarios: %v", err)
		}
		t.Skipf("package scenarios: skipped: %v", err)
	}
	browser := func(ctx context.Context, v scenarios.PageVisit) (*scenarios.PageResult, error) {
		b, err := chromium.Start(ctx, chromium.Options{Path: path, HostRules: v.HostRules, TrustSPKI: v.TrustSPKI})
		if err != nil {
			return nil, err
		}
		defer b.Close()
		visit, err := b.Visit(ctx, v.URL, nil)
		if err != nil {
			return nil, err
		}
		res := &scenarios.PageResult{LoadError: visit.LoadError}
		if o := visit.Outcome; o != nil {
			res.Sent, res.Received, res.Refused, res.Reason = o.Sent, o.Received, o.Refused, o.Reason
		}
		return res, nil
	}
	msgs := []string{"hi Bob, it's the page", "my card PIN is 4921"}
	for _, c := range browserCases {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			o, err := scenarios.Run(ctx, c.scenario, &scenarios.Options{Attack: c.attack, Browser: browser, Messages: msgs, Timeout: 60 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if o.Transport != scenarios.Loopback {
				t.Errorf("transport %s: a browser reaches the lab over loopback only", o.Transport)
			}
			c.check(t, o, msgs)
		})
	}
}
