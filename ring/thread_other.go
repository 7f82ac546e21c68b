//go:build !linux

package ring

// pinCPU is not implemented outside Linux.
func pinCPU(cpu int) error { return ErrUnsupported }

// setThreadName does nothing outside Linux.
func setThreadName(name string) {}
