package victim_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a server session, a client, a watchdog's
// close or a raw peer of a test outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
