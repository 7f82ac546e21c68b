//go:build race

package perf_test

// raceEnabled skips allocation tests: the race detector allocates.
const raceEnabled = true
