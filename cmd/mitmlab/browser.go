package main

import (
	"context"
	"fmt"
	"io"

	"github.com/mitmlab/mitmlab/internal/chromium"
	"github.com/mitmlab/mitmlab/scenarios"
)

// browserFor returns what runs a browser scenario's victim page: the
// system's Chromium, headless, a fresh one per run. It is nil for every
// other scenario, and an error naming the missing browser, and how to
// install it, when there is none.
func browserFor(w io.Writer, sc scenarios.Scenario) (scenarios.Browser, error) {
	if !sc.Browser {
		return nil, nil
	}
	path, err := chromium.Find()
	if err != nil {
		return nil, fmt.Errorf("%s runs its victim page in a real browser: %w", sc.Name, err)
	}
	return func(ctx context.Context, v scenarios.PageVisit) (*scenarios.PageResult, error) {
		b, err := chromium.Start(ctx, chromium.Options{Path: path, HostRules: v.HostRules, TrustSPKI: v.TrustSPKI})
		if err != nil {
			return nil, err
		}
		defer b.Close()
		version, _ := b.Version(ctx)
		fmt.Fprintf(w, "browser: %s (%s), headless, opening %s\n", version, path, v.URL)
		visit, err := b.Visit(ctx, v.URL, nil)
		if err != nil {
			return nil, err
		}
		res := &scenarios.PageResult{LoadError: visit.LoadError}
		switch o := visit.Outcome; {
		case o != nil:
			res.Sent, res.Received, res.Refused, res.Reason = o.Sent, o.Received, o.Refused, o.Reason
		case visit.LoadError == "":
			res.Reason = "the page did not finish its run"
		}
		return res, nil
	}, nil
}
