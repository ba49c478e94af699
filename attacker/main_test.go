package attacker_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a node
// owns every session it relays and must end them all, with both legs'
// sockets.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
