package kex_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// handshake half, fake peer and relay a test starts must have ended, on
// success and on every failure path.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
