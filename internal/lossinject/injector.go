package lossinject

import (
	"math"
	"slices"
	"sync/atomic"
)

// Injector decides which packets a receive path drops. See the package
// documentation for its determinism, concurrency and allocation contracts.
type Injector struct {
	// Touched on every Drop call.
	state     uint64 // splitmix64 state
	threshold uint64 // drop when the 53-bit draw is below it; 1<<53 = always
	pending   int    // listed sequences not yet seen; 0 skips the search
	seqs      []uint64
	seen      []bool // seen[i]: seqs[i] was dropped already

	calls  atomic.Uint64
	random atomic.Uint64
	listed atomic.Uint64
}

// Stats counts an Injector's decisions.
type Stats struct {
	Calls  uint64 // Drop calls
	Random uint64 // drops by the random rate
	Listed uint64 // drops of listed sequences (each at most once)
}

// New builds an Injector, or returns nil (which never drops) when c drops
// nothing. c should have passed Validate; a Rate outside [0, 1] is clamped
// and NaN counts as 0. Duplicate sequences are merged.
func New(c Config) *Injector {
	if !c.Enabled() {
		return nil
	}
	in := &Injector{state: c.Seed}
	switch {
	case c.Rate >= 1:
		in.threshold = 1 << 53
	case c.Rate > 0: // false for NaN
		in.threshold = uint64(math.Round(c.Rate * (1 << 53)))
	}
	in.seqs = slices.Clone(c.Sequences)
	slices.Sort(in.seqs)
	in.seqs = slices.Compact(in.seqs)
	in.seen = make([]bool, len(in.seqs))
	in.pending = len(in.seqs)
	return in
}

// Drop reports whether the packet carrying seq should be dropped: always
// the first time a listed sequence is seen, otherwise with probability Rate.
// Each call draws one number from the generator whatever the outcome. It
// does not allocate.
func (in *Injector) Drop(seq uint64) bool {
	if in == nil {
		return false
	}
	in.calls.Store(in.calls.Load() + 1) // single writer: no locked add
	draw := in.next() >> 11             // 53 uniform bits
	if in.pending > 0 && in.dropListed(seq) {
		in.listed.Store(in.listed.Load() + 1)
		return true
	}
	if draw < in.threshold {
		in.random.Store(in.random.Load() + 1)
		return true
	}
	return false
}

func (in *Injector) dropListed(seq uint64) bool {
	i, found := slices.BinarySearch(in.seqs, seq)
	if !found || in.seen[i] {
		return false
	}
	in.seen[i] = true
	in.pending--
	return true
}

// next is splitmix64 (Steele, Lea, Flood 2014): a full-period 64-bit
// generator whose every seed, 0 included, gives a good stream.
func (in *Injector) next() uint64 {
	in.state += 0x9e3779b97f4a7c15
	z := in.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Dropped returns how many Drop calls returned true. Safe from any
// goroutine; 0 for a nil Injector.
func (in *Injector) Dropped() uint64 {
	if in == nil {
		return 0
	}
	return in.random.Load() + in.listed.Load()
}

// Stats returns the counters. Safe from any goroutine.
func (in *Injector) Stats() Stats {
	if in == nil {
		return Stats{}
	}
	return Stats{Calls: in.calls.Load(), Random: in.random.Load(), Listed: in.listed.Load()}
}
