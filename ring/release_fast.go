//go:build amd64 && !race

package ring

import "sync/atomic"

// storeRelease stores v into *p as a release store: writes before it are
// visible to any goroutine whose atomic Load observes v. It is a plain MOV
// (amd64 is TSO: stores are not reordered with earlier loads or stores), in
// assembly so the compiler cannot move memory operations across it either.
// It replaces p.Store(v) (an XCHG, a full barrier costing ~10 ns here) on
// single-writer positions. Unlike Store it does not order the store before
// the writer's later loads; code that needs that (Waker.Wake's Dekker
// pattern) calls fence. Under -race, release_atomic.go uses p.Store so the
// detector sees the happens-before edges.
//
//go:noescape
func storeRelease(p *atomic.Int64, v int64)

// storeRelease32 is storeRelease for an atomic.Int32.
//
//go:noescape
func storeRelease32(p *atomic.Int32, v int32)

// fence is a full memory barrier: the caller's earlier stores become
// visible before its later loads execute.
func fence()
