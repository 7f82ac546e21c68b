package clock

import (
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's CLOCK_MONOTONIC reader (vDSO on Linux).
// runtime.nanotime is marked for push linkname in the runtime because widely
// used modules depend on it, so pulling it here is allowed by the Go 1.23+
// linker restrictions.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Nanotime returns the current CLOCK_MONOTONIC time in nanoseconds. It does
// not allocate and is comparable across processes on the same host.
func Nanotime() int64 {
	return nanotime()
}
