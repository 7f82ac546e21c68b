//go:build !race

package feed

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
