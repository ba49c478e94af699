package wire_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// WebSocket these tests open must be closed by its owner.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
