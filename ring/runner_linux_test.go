//go:build linux

package ring

import (
	"testing"
	"time"
)

// TestRunnerCloseWakesBlock checks that Close unparks an agent waiting in a
// Block with a one-minute maxPark at once.
func TestRunnerCloseWakesBlock(t *testing.T) {
	w := newWaker(t)
	b, err := NewBlock(nil, w, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		// The idle call after the arming one parks.
		a := newTestAgent("blocked", blockSpins+blockYields+2)
		r := NewRunner(a, RunnerConfig{Idle: b, CPU: -1, LockOSThread: true})
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, a.reached, "the calls before a park")
		start := time.Now()
		r.Close()
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("Close took %v with a parked Block", d)
		}
	}
}
