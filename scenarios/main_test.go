package scenarios_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any run leaves a goroutine behind: Run owns
// every node, listener and connection it starts and must end them all.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
