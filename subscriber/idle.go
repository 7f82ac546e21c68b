package subscriber

import (
	"time"

	"mdcast/ring"
)

// Park limits of the "block" idle strategy.
const (
	// idleMaxPark bounds a park with no hole open (it also bounds how long
	// Close waits for the runner).
	idleMaxPark = time.Millisecond
	// idleTimerPark bounds a park while a hole is open or a conflated
	// flush is pending, so re-request timers fire on time.
	idleTimerPark = 20 * time.Microsecond
)

func (s *Subscriber) idleStrategy() (ring.IdleStrategy, error) {
	switch s.cfg.Idle {
	case "spin":
		return ring.NewSpinYield(0), nil
	case "backoff":
		return ring.NewBackoff(0, 0, 0, 0), nil
	}
	long, err := ring.NewBlock(s.FDs(), nil, idleMaxPark)
	if err != nil {
		return nil, err
	}
	short, err := ring.NewBlock(s.FDs(), nil, idleTimerPark)
	if err != nil {
		return nil, err
	}
	return &blockIdle{s: s, long: long, short: short}, nil
}

// blockIdle parks in poll(2) on the subscriber's sockets: up to
// idleMaxPark normally, up to idleTimerPark while the receive path has a
// timer or a conflated flush pending.
type blockIdle struct {
	s           *Subscriber
	long, short *ring.Block
}

func (b *blockIdle) Idle(work int) {
	if work > 0 {
		return
	}
	if b.s.pending() {
		b.short.Idle(0)
		return
	}
	b.long.Idle(0)
}

func (b *blockIdle) Reset() {
	b.long.Reset()
	b.short.Reset()
}
