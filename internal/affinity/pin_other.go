//go:build !linux

package affinity

import (
	"errors"
	"runtime"
)

// ErrNotAllowed is wrapped by Pin's error when the CPU cannot be used.
var ErrNotAllowed = errors.New("affinity: cpu not allowed")

var errUnsupported = errors.New("affinity: thread pinning not supported on this platform")

// Pin is not supported on this platform.
func Pin(cpu int) error { return errUnsupported }

// Unpin does nothing on this platform.
func Unpin() error { return nil }

// CPUs returns 0..runtime.NumCPU()-1.
func CPUs() ([]int, error) {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus, nil
}

// Current returns CPUs().
func Current() ([]int, error) { return CPUs() }
