package docs_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/scenarios"
	"github.com/mitmlab/mitmlab/trace"
	"github.com/mitmlab/mitmlab/wire"
)

// TestScenarioPagesShowRealOutcomes runs every scenario of the catalogue,
// with its own attack, and checks that its page shows the summary line
// the run really gives, in backquotes, and that its ledger keeps the
// verdict rules: every read of a record carries the bytes recovered, and
// no recovered message differs from what was sent.
func TestScenarioPagesShowRealOutcomes(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios.Catalogue() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			if a, err := attacker.Lookup(sc.Attack); raceEnabled && err == nil && a.Long {
				t.Skipf("%s computes for seconds, many times longer under -race; the run without -race checks this page", sc.Attack)
			}
			o, err := scenarios.Run(context.Background(), sc.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			page := readDoc(t, filepath.Join("scenarios", sc.Name+".md"))
			if !strings.Contains(page, "`"+o.Summary()+"`") {
				t.Errorf("scenarios/%s.md does not show the run's summary `%s`", sc.Name, o.Summary())
			}
			if n := o.Misread(); n != 0 {
				t.Errorf("%d messages misread", n)
			}
			for _, e := range o.Events {
				isRecord := e.Type == string(wire.TypeData) || e.Type == string(wire.TypeEnd)
				if (e.Verdict == trace.Read || e.Verdict == trace.Forged) && isRecord && e.Recovered == nil {
					t.Errorf("event %d: %s %s record with no recovered bytes", e.Index, e.Verdict, e.Type)
				}
				if e.Verdict == trace.Read && e.Type == "key_transport" && len(e.Recovered) != 32 {
					t.Errorf("event %d: read key_transport carries %d bytes, want the 32-byte secret", e.Index, len(e.Recovered))
				}
			}
		})
	}
}
