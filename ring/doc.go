// Package ring provides pre-allocated lock-free rings for handing packets
// between agents, the idle strategies agents wait with, and a
// reference-counted packet pool.
//
// # Rings
//
// SPSC is for exactly one producer goroutine and one consumer goroutine.
// MPSC is for many producers (Offer and OfferBatch are safe from any number
// of goroutines) and one consumer. Both are bounded, allocate all their
// slots in the constructor (the capacity is a power of two) and hold typed
// items, usually *Packet. Producers claim and publish one item (Offer) or a
// batch with one claim (OfferBatch); the consumer drains everything ready,
// up to len(dst), in one step (Poll). Nothing blocks: a full ring refuses
// (the caller counts the drop or retries) and an empty ring returns 0 (the
// caller's IdleStrategy decides how to wait).
//
// # Memory ordering
//
// Every position and slot sequence has one writer, except MPSC's claim
// cursor (tail), which producers advance by compare-and-swap. Writers
// publish with a release store and readers observe with an atomic load
// (sync/atomic loads are acquire loads): in SPSC the producer writes slots
// with plain stores and then release-stores tail, and the consumer loads
// tail before reading the slots below it; in MPSC each slot carries a
// sequence that its producer release-stores after writing the item and the
// consumer loads before reading it, then release-stores again after
// clearing the slot to hand it back. Going the other way, the consumer's
// release store of its position (or of the slot sequence) orders its reads
// and clears before the producer's next writes to those slots.
//
// On amd64 the release store is a plain MOV in assembly (x86 is TSO), not
// sync/atomic's Store, which is an XCHG and a full barrier; everywhere else
// and under the race detector it is sync/atomic's sequentially consistent
// Store, so -race sees every happens-before edge. The one place that needs
// more than release ordering, Waker.Wake (a producer's publish must precede
// its check of the consumer's "armed" flag), issues a full fence first.
//
// Each side caches the other's position and rereads it only when the cache
// says full or empty, and SPSC's consumer acknowledges consumed slots every
// Cap()/8 items or whenever it catches up, so in steady state producer and
// consumer touch each other's cache lines about once per batch, not once
// per item.
//
// # Packets and the pool
//
// A Pool pre-allocates its packets and their buffers at construction. Get
// belongs to the pool's owner goroutine; Release may run on any goroutine,
// and the last release puts the packet on a lock-free free list (an MPSC
// ring). To give one packet to several consumers, Retain once per extra
// consumer before handing it on; each consumer then calls Release once.
// Releasing a packet twice is a programmer error and panics. An empty pool
// makes Get allocate (counted in PoolStats.Allocs) rather than fail or wait.
//
// # Agents and idle strategies
//
// An Agent does bounded rounds of work; a Runner owns its goroutine, locks
// and pins the OS thread if asked, and runs the duty cycle
// work := DoWork(now); idle.Idle(work). BusySpin and Yield never sleep;
// Backoff spins, yields and then parks with a growing period (Agrona's
// defaults); Block spins and yields the same way and then parks in poll(2)
// on the agent's file descriptors and a Waker that producers signal, which
// costs them a fence and a load (no system call) while the agent is awake.
// Composite runs several agents on one goroutine.
//
// # Allocation
//
// Offer, OfferBatch, Poll, Pool.Get (while the pool has packets),
// Packet.Retain and Release, Idle of every strategy and Waker.Wake do not
// allocate; TestAllocs proves it and the benchmarks report it. Hot fields
// written by different goroutines are kept CacheLineBytes apart.
package ring
