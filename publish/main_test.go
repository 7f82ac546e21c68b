package publish_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them (a runner
// or a helper left running).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
