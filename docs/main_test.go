package docs_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// server and WebSocket these tests start must be closed by its owner.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
