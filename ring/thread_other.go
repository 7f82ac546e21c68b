//go:build !linux

package ring

// setThreadName does nothing outside Linux.
func setThreadName(name string) {}
