package ring

import "sync/atomic"

// Sequence is an int64 counter with a cache line of padding on each side,
// so the goroutine that writes it never shares a line with other data.
//
// A Sequence is meant to have a single writer (the goroutine that owns the
// position it counts) and any number of readers; Add and CompareAndSwap are
// there for the rare many-writer case. Its methods are sequentially
// consistent, like all of sync/atomic: a Store publishes every write the
// storing goroutine made before it to any goroutine whose Load observes the
// stored value. The zero value is ready to use; a Sequence must not be
// copied after first use.
type Sequence struct {
	_ pad
	v atomic.Int64
	_ [CacheLineBytes - 8]byte
}

// Load returns the current value.
func (s *Sequence) Load() int64 { return s.v.Load() }

// Store sets the value, publishing the caller's earlier writes.
func (s *Sequence) Store(v int64) { s.v.Store(v) }

// Add adds delta and returns the new value.
func (s *Sequence) Add(delta int64) int64 { return s.v.Add(delta) }

// CompareAndSwap sets the value to new if it is old, and reports whether it did.
func (s *Sequence) CompareAndSwap(old, new int64) bool { return s.v.CompareAndSwap(old, new) }
