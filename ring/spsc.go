package ring

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// SPSC is a bounded, pre-allocated, lock-free ring for exactly one producer
// goroutine and one consumer goroutine.
//
// Offer and OfferBatch may be called only by the producer, Poll only by the
// consumer; Len and Cap are safe from any goroutine. None of the methods
// allocate or block: a full ring makes Offer return false and an empty ring
// makes Poll return 0, and the caller's IdleStrategy decides how to wait.
//
// Layout, each group a full pad apart so no two writers share a cache line
// (see pad):
//
//	read-only:          buf, mask, publishEvery   read by both, never written
//	producer, shared:   tail, headCache           written by the producer, tail read by the consumer
//	consumer, shared:   head                      written by the consumer, read by the producer
//	consumer, private:  headLocal, headPub, tailCache
//
// tail and head are single-writer positions that only grow; position i
// lives at buf[i&mask]. Each side caches the other's position and rereads
// it only when the cached view says full (producer) or empty (consumer):
// the go-disruptor fast path. The consumer also publishes head lazily, every
// publishEvery items or when it has caught up with the tail it knows, so a
// producer waiting on a full ring rereads a line that changes once per
// chunk rather than once per item. (Hence head lives apart from the
// consumer's private fields: writing those must not invalidate the
// producer's copy of head.)
//
// Memory ordering: the producer writes slots with plain stores and then
// publishes them with a release store of tail (storeRelease); the consumer
// loads tail (an acquire load; every sync/atomic load is) and only then
// reads the slots below it, so each slot write happens before its read.
// Symmetrically the consumer reads and clears slots and then release-stores
// head, and the producer loads head before overwriting those slots.
type SPSC[T any] struct {
	_            pad
	buf          []T   // 24 B, read-only after NewSPSC: the slots
	mask         int64 // 8 B, read-only: capacity-1
	publishEvery int64 // 8 B, read-only: max consumed items before head is published
	lineMask     int64 // 8 B, read-only: slots per cache-line unit, minus 1 (0: clear per item)
	_            pad

	// producer line
	tail      atomic.Int64 // 8 B, hot path: next position to write; its store publishes the slots below it
	headCache int64        // 8 B, hot path: producer's last view of head
	_         pad

	// consumer's published position
	head atomic.Int64 // 8 B, written every publishEvery items; read by the producer's slow path
	_    pad

	// consumer-private line
	headLocal int64 // 8 B, hot path: next position to read
	headPub   int64 // 8 B, hot path: last value stored to head
	tailCache int64 // 8 B, hot path: consumer's last view of tail
	_         pad
}

// NewSPSC returns an empty ring with room for capacity items, all slots
// allocated now. capacity must be a power of two (ErrCapacity otherwise).
func NewSPSC[T any](capacity int) (*SPSC[T], error) {
	if err := checkCapacity(capacity); err != nil {
		return nil, fmt.Errorf("%w: got %d", err, capacity)
	}
	return &SPSC[T]{
		buf:          make([]T, capacity),
		mask:         int64(capacity - 1),
		publishEvery: int64(max(capacity/8, 1)),
		lineMask:     lineSlots[T](capacity) - 1,
	}, nil
}

// Cap returns the ring's capacity.
func (r *SPSC[T]) Cap() int { return len(r.buf) }

// Len returns the number of items in the ring as the producer sees it: it
// may include up to Cap()/8 items the consumer has taken but not yet
// acknowledged, and never fewer than the consumed items of the cache-line
// unit the consumer is in (up to 15 for pointers; see Poll). Called
// concurrently it is a snapshot that may already be stale.
func (r *SPSC[T]) Len() int {
	// head first: tail only grows, so tail-head read in this order never
	// goes negative.
	h := r.head.Load()
	return int(r.tail.Load() - h)
}

// Offer appends v and reports whether there was room. Producer only; does
// not allocate. While the consumer is draining a full ring, up to Cap()/8
// slots it has consumed may not yet be acknowledged, so a producer racing
// it can see the ring full that much early.
func (r *SPSC[T]) Offer(v T) bool {
	t := r.tail.Load() // own variable: an uncontended plain MOV on amd64
	if t-r.headCache > r.mask && !r.refreshHead(t, 1) {
		return false
	}
	r.buf[t&r.mask] = v
	storeRelease(&r.tail, t+1) // publishes buf[t] to the consumer's tail.Load in Poll
	return true
}

// OfferBatch appends as many leading items of vs as fit, publishing them
// with one store, and returns how many it appended (0 when full). Producer
// only; does not allocate.
func (r *SPSC[T]) OfferBatch(vs []T) int {
	t := r.tail.Load()
	n := int64(len(vs))
	if n == 0 {
		return 0
	}
	if free := r.headCache + r.mask + 1 - t; free < n {
		if !r.refreshHead(t, n) {
			free = r.headCache + r.mask + 1 - t
			if free <= 0 {
				return 0
			}
			n = free
		}
	}
	// Copy in at most two contiguous runs (before and after the wrap).
	i := int(t & r.mask)
	c := copy(r.buf[i:], vs[:n])
	copy(r.buf, vs[c:n])
	storeRelease(&r.tail, t+n) // publishes all n slots at once
	return int(n)
}

// refreshHead is the producer's slow path: the cached head says there is no
// room for n items at t, so reload the consumer's published position. It
// reports whether n items now fit; headCache is updated either way.
func (r *SPSC[T]) refreshHead(t, n int64) bool {
	r.headCache = r.head.Load() // acquires the consumer's reads and clears of the freed slots
	return r.headCache+r.mask+1-t >= n
}

// Poll moves up to len(dst) items, oldest first, into dst and returns how
// many it moved (0 when empty). Everything available up to len(dst) is
// taken in one step. Consumer only; does not allocate.
//
// Poll zeroes the slots it has emptied, so a ring of pointers does not keep
// consumed items reachable for the garbage collector (a pooled packet
// parked in a stale slot would otherwise be invisible as a leak). It zeroes
// and hands back (publishes head for) whole cache-line units of slots only:
// the unit the producer is still filling stays untouched by the consumer,
// so a consumer that keeps up item by item never takes that line from the
// producer with a write, and the producer's next slot write finds its line
// still its own (BenchmarkSPSC/BusySpin, three runs each on this 2-vCPU
// machine: 23.4-27.3 ns per item clearing per item, 18.0-23.2 ns this way;
// SPSCBatch 6.1 and 5.7-6.1 ns). The cost is
// that up to one unit of consumed items (16 pointers) stays unacknowledged
// and referenced until the unit completes; the producer can use the rest of
// the ring, so with a capacity of at least four units it never waits on them.
func (r *SPSC[T]) Poll(dst []T) int {
	h := r.headLocal
	n := int64(len(dst))
	if n == 0 {
		return 0
	}
	if avail := r.tailCache - h; avail < n {
		r.tailCache = r.tail.Load() // acquires the producer's slot writes below tail
		avail = r.tailCache - h
		if avail <= 0 {
			return 0 // everything handed back that can be: see below
		}
		n = min(n, avail)
	}
	r.take(dst[:n], h)
	h += n
	r.headLocal = h
	// Hand back when a chunk is done, and always on catching up with the
	// known tail: the consumer never finds the ring empty (and so never
	// idles) holding more than one unfinished line unit of slots.
	if h == r.tailCache || h-r.headPub >= r.publishEvery {
		if pub := h &^ r.lineMask; pub > r.headPub {
			r.clearSlots(r.headPub, pub)
			r.headPub = pub
			storeRelease(&r.head, pub) // frees the consumed, cleared slots for the producer
		}
	}
	return int(n)
}

// take copies len(dst) items starting at position h into dst. A few items
// go by an element loop: copy is a runtime call (typedslicecopy) that costs
// more than the loop for them; larger batches go by copy in at most two
// runs around the wrap.
func (r *SPSC[T]) take(dst []T, h int64) {
	buf := r.buf
	if len(dst) <= 4 {
		m := len(buf) - 1 // j & m < len(buf): no bounds check
		for k := range dst {
			dst[k] = buf[(int(h)+k)&m]
		}
		return
	}
	i := int(h & r.mask)
	c := copy(dst, buf[i:])
	if c < len(dst) {
		copy(dst[c:], buf)
	}
}

// clearSlots zeroes the slots of positions [from, to), which the consumer
// has read and not yet handed back, so the producer cannot be writing them.
func (r *SPSC[T]) clearSlots(from, to int64) {
	i, j := int(from&r.mask), int(to&r.mask)
	if to-from > r.mask { // the whole ring
		clear(r.buf)
		return
	}
	if i < j {
		clear(r.buf[i:j])
		return
	}
	clear(r.buf[i:])
	clear(r.buf[:j])
}

// lineSlots returns how many slots of T fill one cache-line unit (a power
// of two, at least 1), or 1 when the ring is too small for the consumer to
// leave a unit unacknowledged without ever stalling the producer.
func lineSlots[T any](capacity int) int64 {
	var zero T
	size := int64(unsafe.Sizeof(zero))
	k := int64(1)
	for size > 0 && k*2*size <= CacheLineBytes {
		k *= 2
	}
	if int64(capacity) < 4*k {
		return 1
	}
	return k
}
