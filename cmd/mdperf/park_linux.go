//go:build linux

package main

import (
	"time"

	"golang.org/x/sys/unix"
)

// parker is the default profile's idle step of the load agent: it parks
// the agent's thread in ppoll(2) on the subscriber's sockets until a
// datagram arrives or the next message is due, whichever is first, with a
// 1 ns timer slack so the wake-up is on time (the Go runtime's timers can
// oversleep by a millisecond on an idle process). Nothing spins. It
// belongs to the locked thread that made it.
type parker struct {
	pfds     []unix.PollFd
	ts       unix.Timespec
	maxPark  int64
	oldSlack int
}

// newParker must run on the agent's locked thread: the timer slack is a
// per-thread setting.
func newParker(fds []int, maxPark time.Duration) *parker {
	k := &parker{maxPark: int64(maxPark), oldSlack: -1}
	for _, fd := range fds {
		k.pfds = append(k.pfds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	if old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err == nil {
		k.oldSlack = old
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	}
	return k
}

// park waits until untilNs (clock.Nanotime), at most maxPark, or until a
// socket is readable. EINTR (the runtime's preemption signal) ends it early.
func (k *parker) park(untilNs, nowNs int64) {
	d := min(untilNs-nowNs, k.maxPark)
	if d <= 0 {
		return
	}
	k.ts = unix.NsecToTimespec(d)
	for i := range k.pfds {
		k.pfds[i].Revents = 0
	}
	_, _ = unix.Ppoll(k.pfds, &k.ts, nil)
}

// close restores the thread's timer slack.
func (k *parker) close() {
	if k.oldSlack > 0 {
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(k.oldSlack), 0, 0, 0)
	}
}
