package tlslab_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// server, attacker and connection a run starts, it must end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
