package ring

import "errors"

var (
	// ErrCapacity is returned by NewSPSC and NewMPSC when the capacity is
	// not a power of two between 2 and 1<<30.
	ErrCapacity = errors.New("ring: capacity must be a power of two between 2 and 1<<30")

	// ErrRunnerStarted is returned by Runner.Start when it is called twice
	// or after Close.
	ErrRunnerStarted = errors.New("ring: runner already started or closed")

	// ErrTerminate may be returned (or wrapped) by Agent.DoWork to stop the
	// runner's loop cleanly; it is not counted as an error.
	ErrTerminate = errors.New("ring: agent terminated")

	// ErrNoWakeSource is returned by NewBlock when it is given neither a
	// file descriptor nor a Waker, so nothing could ever end a park early.
	ErrNoWakeSource = errors.New("ring: block needs at least one fd or a waker")

	// ErrUnsupported is returned by NewWaker and NewBlock on platforms
	// without eventfd and poll(2).
	ErrUnsupported = errors.New("ring: not supported on this platform")
)

// maxCapacity bounds ring sizes so that positions and capacities fit an int
// on every platform with room to spare.
const maxCapacity = 1 << 30

// checkCapacity validates a ring capacity.
func checkCapacity(capacity int) error {
	if capacity < 2 || capacity > maxCapacity || capacity&(capacity-1) != 0 {
		return ErrCapacity
	}
	return nil
}
