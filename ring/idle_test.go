package ring

import (
	"testing"
	"time"
)

var (
	_ IdleStrategy = BusySpin{}
	_ IdleStrategy = Yield{}
	_ IdleStrategy = (*Backoff)(nil)
	_ IdleStrategy = (*Block)(nil)
	_ IdleStrategy = (*SpinYield)(nil)
)

// TestSpinYield checks that SpinYield yields the thread on every Every-th
// consecutive idle call and that work or Reset restarts the count.
func TestSpinYield(t *testing.T) {
	if s := NewSpinYield(0); s.every != DefaultSpinYieldEvery {
		t.Fatalf("every = %d, want the default %d", s.every, DefaultSpinYieldEvery)
	}
	s := NewSpinYield(3)
	yields := 0
	s.yield = func() { yields++ }
	for range 7 {
		s.Idle(0)
	}
	if yields != 2 {
		t.Fatalf("7 idle calls with every=3: %d yields, want 2", yields)
	}
	s.Idle(5) // work: the next yield is 3 idle calls away again
	s.Idle(0)
	s.Idle(0)
	if yields != 2 {
		t.Fatalf("work did not restart the count: %d yields", yields)
	}
	s.Reset()
	s.Idle(0)
	s.Idle(0)
	if yields != 2 {
		t.Fatalf("Reset did not restart the count: %d yields", yields)
	}
	s.Idle(0)
	if yields != 3 {
		t.Fatalf("third idle call after Reset: %d yields, want 3", yields)
	}
	NewSpinYield(1).Idle(0) // the real sched_yield(2) returns
}

func TestBusySpinYield(t *testing.T) {
	for _, s := range []IdleStrategy{BusySpin{}, Yield{}} {
		s.Idle(0)
		s.Idle(3)
		s.Reset()
	}
}

func TestNewBackoffDefaults(t *testing.T) {
	b := NewBackoff(0, -1, 0, 0)
	if b.maxSpins != DefaultBackoffMaxSpins || b.maxYields != DefaultBackoffMaxYields ||
		b.minPark != DefaultBackoffMinPark || b.maxPark != DefaultBackoffMaxPark {
		t.Fatalf("defaults: %+v", b)
	}
	if b := NewBackoff(1, 1, time.Millisecond, time.Microsecond); b.maxPark != time.Millisecond {
		t.Fatalf("maxPark below minPark not raised: %v", b.maxPark)
	}
}

// TestBackoffStates walks the state machine: spins, yields, then parks
// doubling up to the maximum, and work resets it.
func TestBackoffStates(t *testing.T) {
	b := NewBackoff(2, 2, time.Microsecond, 4*time.Microsecond)
	type step struct {
		state int
		park  time.Duration
	}
	want := []step{
		{backoffSpinning, time.Microsecond}, // spin 1
		{backoffSpinning, time.Microsecond}, // spin 2
		{backoffYielding, time.Microsecond}, // spin 3 > 2: yield next
		{backoffYielding, time.Microsecond}, // yield 1
		{backoffYielding, time.Microsecond}, // yield 2
		{backoffParking, 2 * time.Microsecond},
		{backoffParking, 4 * time.Microsecond},
		{backoffParking, 4 * time.Microsecond}, // capped
	}
	for round := range 2 {
		for i, w := range want {
			b.Idle(0)
			if s, p := b.snapshot(); s != w.state || p != w.park {
				t.Fatalf("round %d idle %d: state %d park %v, want %d %v", round, i+1, s, p, w.state, w.park)
			}
		}
		b.Idle(1)
		if s, p := b.snapshot(); s != backoffNotIdle || p != time.Microsecond {
			t.Fatalf("after work: state %d park %v", s, p)
		}
	}
	b.Idle(0)
	b.Reset()
	if s, _ := b.snapshot(); s != backoffNotIdle {
		t.Fatalf("after Reset: state %d", s)
	}
}
