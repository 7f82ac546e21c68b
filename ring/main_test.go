package ring

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: runners
// must end their goroutine on Close, and test producers must finish.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
