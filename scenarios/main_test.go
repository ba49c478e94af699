package scenarios_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a run leaves a goroutine behind: every
// node, connection and timer a run starts must be gone when it returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
