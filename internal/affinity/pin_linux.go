package affinity

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotAllowed is wrapped by Pin's error when the CPU is outside the set
// the process may run on (offline, out of range, or excluded by a cpuset or
// taskset).
var ErrNotAllowed = errors.New("affinity: cpu not allowed")

// Pin restricts the calling OS thread to cpu. The caller must have called
// runtime.LockOSThread, or the goroutine may move to another thread at once
// and leave the pinned one to unrelated goroutines.
func Pin(cpu int) error {
	allowed, err := allowedSet()
	if err != nil {
		return err
	}
	if cpu < 0 || cpu >= cpuSetSize || !allowed.IsSet(cpu) {
		return fmt.Errorf("affinity: pin to cpu %d: %w (allowed: %v)", cpu, ErrNotAllowed, members(&allowed))
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("affinity: pin to cpu %d: %w", cpu, os.NewSyscallError("sched_setaffinity", err))
	}
	return nil
}

// Unpin lets the calling OS thread run on every CPU the process was allowed
// at start, undoing Pin.
func Unpin() error {
	allowed, err := allowedSet()
	if err != nil {
		return err
	}
	if err := unix.SchedSetaffinity(0, &allowed); err != nil {
		return fmt.Errorf("affinity: unpin: %w", os.NewSyscallError("sched_setaffinity", err))
	}
	return nil
}

// CPUs returns the CPUs the process may run on, ascending: the affinity mask
// it started with, as runtime.NumCPU counts it. Pinning threads does not
// change it.
func CPUs() ([]int, error) {
	allowed, err := allowedSet()
	if err != nil {
		return nil, err
	}
	return members(&allowed), nil
}

// Current returns the CPUs the calling thread may run on now.
func Current() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("affinity: %w", os.NewSyscallError("sched_getaffinity", err))
	}
	return members(&set), nil
}

const cpuSetSize = len(unix.CPUSet{}) * 64

// startSet is the calling thread's mask while package initialisation runs
// on the main thread, before any code can pin a thread. It is written only
// here and read-only afterwards. Reading a thread's mask later would not do:
// any thread, the main one included, may be running a pinned goroutine, and
// Linux has no process-wide mask.
var startSet, startErr = func() (unix.CPUSet, error) {
	var set unix.CPUSet
	err := unix.SchedGetaffinity(0, &set)
	return set, err
}()

func allowedSet() (unix.CPUSet, error) {
	if startErr != nil {
		return startSet, fmt.Errorf("affinity: %w", os.NewSyscallError("sched_getaffinity", startErr))
	}
	return startSet, nil
}

func members(set *unix.CPUSet) []int {
	var cpus []int
	for i := 0; i < cpuSetSize; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus
}
