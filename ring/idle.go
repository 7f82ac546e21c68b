package ring

import (
	"runtime"
	"time"
	_ "unsafe" // for go:linkname
)

// IdleStrategy decides how an agent waits when it finds no work, as in
// Agrona's IdleStrategy. The runner's duty cycle is
//
//	for running {
//		work, err := agent.DoWork(clock.Nanotime())
//		idle.Idle(work)
//	}
//
// A positive workCount means work was done: the strategy returns at once
// and resets any backoff. Zero means nothing was done: the strategy waits a
// little, longer the more consecutive idle calls it sees. Reset returns the
// strategy to its initial state. An IdleStrategy holds per-agent state and
// belongs to the one goroutine that runs the agent.
type IdleStrategy interface {
	Idle(workCount int)
	Reset()
}

// procyield executes the CPU's spin-wait hint (PAUSE on amd64, YIELD on
// arm64) cycles times. The runtime keeps this linkname available on purpose
// (go.dev/issue/67401), the same hint sync.Mutex spins with.
//
//go:linkname procyield runtime.procyield
func procyield(cycles uint32)

// BusySpin never gives up the CPU: each idle call executes one spin-wait
// hint, which saves power and frees pipeline resources for a hyperthread
// sibling without adding more than tens of nanoseconds of latency. Use it
// only for an agent pinned to a core of its own; on a shared core it starves
// everything else, and on an oversubscribed machine two spinning agents
// joined by a ring collapse to about one ring's worth of items per
// scheduler time slice (the ring benchmarks show microseconds per item
// here under load, where Backoff stays at tens of nanoseconds). BusySpin
// has no state and does not allocate.
type BusySpin struct{}

// Idle spins once if workCount is 0.
func (BusySpin) Idle(workCount int) {
	if workCount <= 0 {
		procyield(1)
	}
}

// Reset does nothing: BusySpin has no state.
func (BusySpin) Reset() {}

// SpinYield busy-spins like BusySpin, and on every Every-th consecutive
// idle call gives the CPU to any other runnable thread with sched_yield(2).
// It is the spin strategy for a machine whose cores are not isolated: a
// kernel thread woken on the agent's core (ksoftirqd, which finishes
// delivering the agent's own loopback packets when their processing is
// deferred, RCU, kworkers) or a Go runtime thread that must hand a
// preempted locked goroutine back to its thread otherwise waits behind the
// spinning agent until the scheduler's next tick, milliseconds later;
// with SpinYield it waits for at most Every idle polls. When nothing else
// is runnable the system call returns at once (237-253 ns here,
// BenchmarkSpinYield). Measured here with a scheduler trace over 5 s of
// mdperf's low-latency run (two runs each), the agents' stalls off their
// CPUs longer than 0.3 ms fell from 30-34 (30-41 ms in all) to 15-17 (11-14 ms), and those longer than
// 1 ms from 8-11 to 2-3: see docs/PERFORMANCE.md. Where the platform has no
// sched_yield it spins. It belongs to one agent.
type SpinYield struct {
	every, idle int
	yield       func() // osYield; a test counts the yields
}

// DefaultSpinYieldEvery is how many consecutive idle polls SpinYield spins
// between yields.
const DefaultSpinYieldEvery = 16

// NewSpinYield returns a SpinYield that yields every every idle calls
// (DefaultSpinYieldEvery when every <= 0).
func NewSpinYield(every int) *SpinYield {
	if every <= 0 {
		every = DefaultSpinYieldEvery
	}
	return &SpinYield{every: every, yield: osYield}
}

// Idle spins once, or yields the thread on every Every-th consecutive call,
// if workCount is 0.
func (s *SpinYield) Idle(workCount int) {
	if workCount > 0 {
		s.idle = 0
		return
	}
	s.idle++
	if s.idle >= s.every {
		s.idle = 0
		s.yield()
		return
	}
	procyield(1)
}

// Reset starts counting idle calls afresh.
func (s *SpinYield) Reset() { s.idle = 0 }

// Yield calls runtime.Gosched when idle, letting other goroutines on the
// same P run; the OS thread itself keeps spinning when nothing else is
// runnable. It has no state and does not allocate.
type Yield struct{}

// Idle yields the processor if workCount is 0.
func (Yield) Idle(workCount int) {
	if workCount <= 0 {
		runtime.Gosched()
	}
}

// Reset does nothing: Yield has no state.
func (Yield) Reset() {}

// Backoff defaults, Agrona's BackoffIdleStrategy values.
const (
	DefaultBackoffMaxSpins  = 10
	DefaultBackoffMaxYields = 5
	DefaultBackoffMinPark   = time.Microsecond
	DefaultBackoffMaxPark   = time.Millisecond
)

// Backoff states.
const (
	backoffNotIdle = iota
	backoffSpinning
	backoffYielding
	backoffParking
)

// Backoff is Agrona's BackoffIdleStrategy: after work it is "not idle";
// consecutive idle calls then spin maxSpins times, yield maxYields times,
// and finally park (sleep), the park doubling from minPark up to maxPark.
// Any call with work resets it.
//
// Linux timer slack (50 µs by default for normal threads) makes a short
// park last up to that much longer than asked: a 1 µs park is in practice
// 50+ µs. Latency-sensitive agents should use spins and yields generously,
// or Block, which wakes as soon as a producer signals.
//
// A Backoff belongs to one agent's goroutine; its mutable state is padded on
// both sides so two agents' strategies never share a cache line. Idle does
// not allocate (time.Sleep reuses the goroutine's timer).
type Backoff struct {
	_ pad

	state  int           // 8 B: backoffNotIdle ... backoffParking
	spins  int           // 8 B: spins so far in this idle spell
	yields int           // 8 B: yields so far in this idle spell
	park   time.Duration // 8 B: next park period

	maxSpins  int           // read-only after NewBackoff
	maxYields int           // read-only
	minPark   time.Duration // read-only
	maxPark   time.Duration // read-only

	_ pad
}

// NewBackoff returns a Backoff. Zero or negative arguments take the
// defaults (DefaultBackoffMaxSpins and so on); maxPark below minPark is
// raised to minPark.
func NewBackoff(maxSpins, maxYields int, minPark, maxPark time.Duration) *Backoff {
	if maxSpins <= 0 {
		maxSpins = DefaultBackoffMaxSpins
	}
	if maxYields <= 0 {
		maxYields = DefaultBackoffMaxYields
	}
	if minPark <= 0 {
		minPark = DefaultBackoffMinPark
	}
	if maxPark <= 0 {
		maxPark = DefaultBackoffMaxPark
	}
	maxPark = max(maxPark, minPark)
	return &Backoff{maxSpins: maxSpins, maxYields: maxYields, minPark: minPark, maxPark: maxPark, park: minPark}
}

// Idle resets on work, otherwise spins, yields or parks according to the
// current state.
func (b *Backoff) Idle(workCount int) {
	if workCount > 0 {
		b.Reset()
		return
	}
	switch b.state {
	case backoffNotIdle:
		b.state = backoffSpinning
		b.spins++
		procyield(1)
	case backoffSpinning:
		procyield(1)
		if b.spins++; b.spins > b.maxSpins {
			b.state = backoffYielding
			b.yields = 0
		}
	case backoffYielding:
		if b.yields++; b.yields <= b.maxYields {
			runtime.Gosched()
			return
		}
		b.state = backoffParking
		b.park = b.minPark
		fallthrough
	default: // backoffParking
		time.Sleep(b.park)
		b.park = min(b.park*2, b.maxPark)
	}
}

// Reset returns to the not-idle state.
func (b *Backoff) Reset() {
	b.state = backoffNotIdle
	b.spins = 0
	b.yields = 0
	b.park = b.minPark
}

// snapshot returns the state and the next park period, for tests.
func (b *Backoff) snapshot() (state int, park time.Duration) { return b.state, b.park }
