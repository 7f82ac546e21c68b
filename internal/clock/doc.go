// Package clock reads the host's monotonic clock cheaply for hot paths.
//
// Nanotime returns CLOCK_MONOTONIC in nanoseconds through the Go runtime's
// own vDSO path (runtime.nanotime), so a read costs a few nanoseconds,
// never enters the kernel and never allocates. Unlike time.Now, which also
// reads the wall clock and builds a time.Time, it gives just the number
// hot code needs to stamp packets and compare deadlines.
//
// Because the value is CLOCK_MONOTONIC itself (not an offset from process
// start), stamps taken by different processes on one host are directly
// comparable: a publisher can stamp a send time and a subscriber in another
// process can subtract it from its own receive time. Stamps are not
// comparable across hosts or across reboots.
//
// Nanotime is safe for concurrent use. Compare deadlines by subtraction
// (now-deadline >= 0), which stays correct if a value ever wraps.
package clock
