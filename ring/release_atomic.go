//go:build !amd64 || race

package ring

import "sync/atomic"

// storeRelease stores v into *p with at least release ordering; here a
// sequentially consistent atomic store (see release_fast.go for amd64).
func storeRelease(p *atomic.Int64, v int64) { p.Store(v) }

// storeRelease32 is storeRelease for an atomic.Int32.
func storeRelease32(p *atomic.Int32, v int32) { p.Store(v) }

// fence is a no-op where storeRelease is sequentially consistent.
func fence() {}
