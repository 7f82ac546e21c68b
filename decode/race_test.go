//go:build race

package decode_test

// raceEnabled reports whether the race detector is on: it adds allocations
// and time, so allocation tests skip under it.
const raceEnabled = true
