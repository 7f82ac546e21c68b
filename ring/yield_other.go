//go:build !linux

package ring

// osYield spins where sched_yield(2) is not wired up.
func osYield() { procyield(1) }
