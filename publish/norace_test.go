//go:build !race

package publish

// raceEnabled: allocation counts are not meaningful under the race detector.
const raceEnabled = false
