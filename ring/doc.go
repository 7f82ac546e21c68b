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
// Go's sync/atomic operations are sequentially consistent; the rings rely
// on nothing weaker. In SPSC the producer writes slots with plain stores,
// then stores tail; the consumer loads tail and only then reads the slots
// below it. In MPSC each slot carries a sequence: the producer stores it
// after writing the item and the consumer loads it before reading, and the
// consumer stores it again after clearing the slot to hand it back. Each
// side caches the other's position and rereads it only when the cache says
// full or empty, so in steady state a producer and a consumer touch each
// other's cache line once per batch, not once per item.
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
// defaults); Block parks in poll(2) on the agent's file descriptors and a
// Waker that producers signal, at no cost to them while the agent is awake.
// Composite runs several agents on one goroutine.
//
// # Allocation
//
// Offer, OfferBatch, Poll, Pool.Get (while the pool has packets),
// Packet.Retain and Release, Idle of every strategy and Waker.Wake do not
// allocate; TestAllocs proves it and the benchmarks report it. Hot fields
// written by different goroutines are kept CacheLineBytes apart.
package ring
