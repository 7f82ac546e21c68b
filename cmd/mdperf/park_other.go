//go:build !linux

package main

import "time"

// parker sleeps with the Go runtime's timers where ppoll is not available.
type parker struct{ maxPark int64 }

func newParker(fds []int, maxPark time.Duration) *parker { return &parker{maxPark: int64(maxPark)} }

func (k *parker) park(untilNs, nowNs int64) {
	time.Sleep(time.Duration(min(untilNs-nowNs, k.maxPark)))
}

func (k *parker) close() {}
