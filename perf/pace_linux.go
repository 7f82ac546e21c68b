//go:build linux

package perf

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// pacer sleeps the calling OS thread until an absolute CLOCK_MONOTONIC time
// (the clock internal/clock reads) with clock_nanosleep and a 1 ns timer
// slack. The Go runtime's own timers wake goroutines through the network
// poller with millisecond resolution when the process is otherwise idle,
// which would add up to a millisecond of the generator's own lateness to
// every latency; a thread sleeping in the kernel wakes within microseconds.
// Nothing spins. A pacer locks the goroutine to its thread until done.
type pacer struct {
	oldSlack int
	ts       unix.Timespec
}

func newPacer() *pacer {
	runtime.LockOSThread()
	p := &pacer{oldSlack: -1}
	if old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err == nil {
		p.oldSlack = old
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	}
	return p
}

// sleepUntil returns at or after deadlineNs (or early on a signal).
func (p *pacer) sleepUntil(deadlineNs int64) {
	p.ts = unix.NsecToTimespec(deadlineNs)
	_ = unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &p.ts, nil)
}

func (p *pacer) done() {
	if p.oldSlack > 0 {
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(p.oldSlack), 0, 0, 0)
	}
	runtime.UnlockOSThread()
}
