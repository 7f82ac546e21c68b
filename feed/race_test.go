//go:build race

package feed

// raceEnabled reports whether the race detector is on; allocation tests
// skip under it.
const raceEnabled = true
