package export

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mitmlab/mitmlab/scenarios"
)

// TestMain fails the package if an export or a run leaves a goroutine
// behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// labRun runs the named scenario in memory and returns it as an export
// sees it.
func labRun(t *testing.T, name string, opts *scenarios.Options) Run {
	t.Helper()
	sc, err := scenarios.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o, err := scenarios.RunScenario(ctx, sc, opts)
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	return Run{Scenario: sc, Outcome: o}
}

// exportFile writes r in format f to a file in a fresh directory.
func exportFile(t *testing.T, r Run, f Format) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), r.name()+string(f))
	if err := Write(path, r); err != nil {
		t.Fatalf("export %s: %v", f, err)
	}
	return path
}

// tool returns the path of an external program a test needs. Outside CI
// a missing one skips the test; with CI=true it fails it, since .ci/run
// installs them all.
func tool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing in CI: %s", name, install)
	}
	t.Skipf("%s is not installed (%s); CI installs it", name, install)
	return ""
}
