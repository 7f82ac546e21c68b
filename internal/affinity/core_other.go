//go:build !linux

package affinity

// coreOf knows nothing about cores here: every CPU counts as its own.
func coreOf(cpus []int) map[int]int { return nil }
