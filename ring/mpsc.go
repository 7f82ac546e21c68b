package ring

import (
	"fmt"
	"sync/atomic"
)

// mpscSlot is one MPSC slot: the item and the sequence number that says
// whose turn it is. For the slot at index i, seq == p means "free for the
// producer that claims position p" and seq == p+1 means "holds the item of
// position p, published" (p ≡ i mod capacity), as in Dmitry Vyukov's
// bounded queue.
type mpscSlot[T any] struct {
	seq atomic.Int64
	v   T
}

// MPSC is a bounded, pre-allocated, lock-free ring for any number of
// producer goroutines and exactly one consumer goroutine.
//
// Offer and OfferBatch are safe from many goroutines at once; Poll may be
// called only by the consumer; Len and Cap are safe from any goroutine.
// Nothing allocates or blocks. Items of one producer come out in the order
// that producer offered them; items of different producers interleave in
// claim order.
//
// Producers claim positions by compare-and-swap on tail, so a claim is
// atomic for the whole batch; each then writes its slots and publishes each
// one by storing its seq. The consumer needs no CAS: it reads slots in
// position order and stops at the first one not yet published, so a slow
// producer holds back the items claimed after it (never reorders them).
type MPSC[T any] struct {
	_    pad
	buf  []mpscSlot[T] // 24 B, read-only after NewMPSC
	mask int64         // 8 B, read-only: capacity-1
	_    pad

	// producers' line: the only many-writer field.
	tail atomic.Int64 // 8 B, hot path: next position to claim (CAS)
	_    pad

	// consumer line
	head atomic.Int64 // 8 B, hot path: next position to read; single writer (the consumer)
	_    pad
}

// NewMPSC returns an empty ring with room for capacity items, all slots
// allocated now. capacity must be a power of two (ErrCapacity otherwise).
func NewMPSC[T any](capacity int) (*MPSC[T], error) {
	if err := checkCapacity(capacity); err != nil {
		return nil, fmt.Errorf("%w: got %d", err, capacity)
	}
	r := &MPSC[T]{buf: make([]mpscSlot[T], capacity), mask: int64(capacity - 1)}
	for i := range r.buf {
		r.buf[i].seq.Store(int64(i))
	}
	return r, nil
}

// Cap returns the ring's capacity.
func (r *MPSC[T]) Cap() int { return len(r.buf) }

// Len returns the number of claimed positions not yet consumed (including
// ones whose producer is still writing them). A snapshot under concurrency.
func (r *MPSC[T]) Len() int {
	h := r.head.Load()
	return int(r.tail.Load() - h)
}

// Offer appends v and reports whether there was room. Safe for concurrent
// producers; does not allocate.
func (r *MPSC[T]) Offer(v T) bool {
	for {
		t := r.tail.Load()
		s := &r.buf[t&r.mask]
		d := s.seq.Load() - t
		if d == 0 {
			// The slot is free for position t; the load of seq above
			// acquired the consumer's clear of it.
			if r.tail.CompareAndSwap(t, t+1) {
				s.v = v
				// Release store: publishes s.v to the consumer's seq.Load
				// in Poll. The CAS above was a full barrier, so the write
				// of s.v cannot move before the claim either.
				storeRelease(&s.seq, t+1)
				return true
			}
			continue // another producer claimed t first
		}
		if d < 0 {
			// The slot still holds position t-capacity: full.
			return false
		}
		// d > 0: tail moved on since we loaded it; retry.
	}
}

// OfferBatch appends as many leading items of vs as fit, claiming their
// positions with one compare-and-swap, and returns how many it appended
// (0 when full). The batch stays contiguous: no other producer's items land
// inside it. Safe for concurrent producers; does not allocate.
func (r *MPSC[T]) OfferBatch(vs []T) int {
	if len(vs) == 0 {
		return 0
	}
	for {
		t := r.tail.Load()
		n := min(int64(len(vs)), r.mask+1)
		// The consumer frees positions in order, so if the last slot of
		// the batch is free for this lap, every slot before it is too.
		if r.buf[(t+n-1)&r.mask].seq.Load() != t+n-1 {
			var ok bool
			if n, ok = r.claimable(t, n); !ok {
				if r.tail.Load() == t {
					return 0 // full
				}
				continue
			}
		}
		if !r.tail.CompareAndSwap(t, t+n) {
			continue
		}
		for i := int64(0); i < n; i++ {
			s := &r.buf[(t+i)&r.mask]
			s.v = vs[i]
			storeRelease(&s.seq, t+i+1) // publishes this slot; see Offer
		}
		return int(n)
	}
}

// claimable is OfferBatch's slow path: the batch of n at t does not fit, so
// find how many do, from the consumer's position. ok is false when none do
// (or tail moved and the caller should retry).
func (r *MPSC[T]) claimable(t, n int64) (int64, bool) {
	free := r.head.Load() + r.mask + 1 - t
	if free <= 0 {
		return 0, false
	}
	n = min(n, free)
	// The consumer stores head after freeing the slots below it (see
	// Poll), so free is never an over-estimate and the slot check below
	// only fails when tail moved under us.
	if r.buf[(t+n-1)&r.mask].seq.Load() != t+n-1 {
		return 0, false
	}
	return n, true
}

// Poll moves up to len(dst) published items, in position order, into dst
// and returns how many it moved (0 when none is ready). Consumer only; does
// not allocate. Like SPSC.Poll it zeroes the slots it empties.
func (r *MPSC[T]) Poll(dst []T) int {
	h := r.head.Load()
	var zero T
	n := 0
	for n < len(dst) {
		s := &r.buf[h&r.mask]
		// This load acquires the producer's write of s.v: it observes the
		// seq the producer stored after writing the item.
		if s.seq.Load() != h+1 {
			break // not yet published (or empty)
		}
		dst[n] = s.v
		s.v = zero
		// Release store: the read and clear of s.v above happen before
		// the producer of position h+capacity (whose seq.Load sees this
		// value) writes the slot again.
		storeRelease(&s.seq, h+r.mask+1)
		h++
		n++
	}
	if n > 0 {
		storeRelease(&r.head, h) // for Len and OfferBatch's slow path only
	}
	return n
}
