package clock

import (
	"testing"

	"golang.org/x/sys/unix"
)

func monotonicSyscall(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatalf("clock_gettime: %v", err)
	}
	return ts.Nano()
}

// TestMatchesClockMonotonic checks that Nanotime reads CLOCK_MONOTONIC itself
// (not an offset from process start): each reading must fall between two
// clock_gettime(CLOCK_MONOTONIC) readings taken around it.
func TestMatchesClockMonotonic(t *testing.T) {
	const slack = 1_000 // ns; the two paths read the same clocksource
	for i := 0; i < 1000; i++ {
		before := monotonicSyscall(t)
		n := Nanotime()
		after := monotonicSyscall(t)
		if n < before-slack || n > after+slack {
			t.Fatalf("Nanotime %d outside [%d, %d] (clock_gettime bracket)", n, before, after)
		}
	}
}

func TestMonotonic(t *testing.T) {
	prev := Nanotime()
	for i := 0; i < 100_000; i++ {
		now := Nanotime()
		if now < prev {
			t.Fatalf("Nanotime went backwards: %d then %d", prev, now)
		}
		prev = now
	}
}

func TestAllocs(t *testing.T) {
	var sink int64
	allocs := testing.AllocsPerRun(1000, func() { sink += Nanotime() })
	if allocs != 0 {
		t.Fatalf("Nanotime allocates %v times per call, want 0", allocs)
	}
	_ = sink
}
