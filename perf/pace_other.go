//go:build !linux

package perf

import (
	"time"

	"mdcast/internal/clock"
)

// pacer sleeps with the Go runtime's timers (millisecond resolution when
// the process is idle) where clock_nanosleep is not available.
type pacer struct{}

func newPacer() *pacer { return &pacer{} }

func (p *pacer) sleepUntil(deadlineNs int64) {
	time.Sleep(time.Duration(deadlineNs - clock.Nanotime()))
}

func (p *pacer) done() {}
