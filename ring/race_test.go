//go:build race

package ring

// raceEnabled reports whether the race detector is on; allocation tests
// skip under it and concurrency tests shrink.
const raceEnabled = true
