package subscriber

import (
	"sync/atomic"

	"mdcast/ring"
)

type pad [ring.CacheLineBytes]byte

// msgRing is one consumer's ring of Message slots: one producer (the
// receive agent) and one consumer. The producer never waits:
//
//   - DropOldest: when the ring is full the producer overwrites the oldest
//     slots. Before it overwrites position p-cap it raises tailIntent above
//     p, so a consumer that copied a slot below tailIntent-cap knows the copy
//     may be torn and discards it (Agrona's BroadcastTransmitter and
//     BroadcastReceiver use the same pair of tail counters).
//   - Conflate: the producer writes only into free slots (tryPut) and the
//     consumer's Conflater keeps the rest.
//
// Layout: the slots (read-only slice header), then the producer's line, the
// consumer's line and the wake-up flag, each padded to its own cache line.
type msgRing struct {
	_     pad
	slots []Message // 24 B, read-only after construction
	mask  uint64    // 8 B, read-only
	_     pad

	// producer line
	tailIntent atomic.Uint64 // 8 B, slow path: raised before overwriting unread slots
	tail       atomic.Uint64 // 8 B, hot path: publishes slots below it
	pos        uint64        // 8 B, hot path: next position to write (not yet published)
	headCache  uint64        // 8 B, hot path: producer's last view of head
	_          pad

	// consumer line
	head   atomic.Uint64 // 8 B, hot path: consumer has read everything below
	cursor uint64        // 8 B, hot path: consumer's next position
	_      pad

	parked atomic.Uint32 // 4 B: the consumer is (about to be) parked on its wake channel
	_      pad
}

func newMsgRing(size int) *msgRing {
	return &msgRing{slots: make([]Message, size), mask: uint64(size - 1)}
}

// put writes m at the producer position, overwriting the oldest unread slot
// when the ring is full (DropOldest). Producer only; not yet published.
func (r *msgRing) put(m *Message) {
	p := r.pos
	size := r.mask + 1
	if p-r.headCache >= size {
		r.headCache = r.head.Load()
		if p-r.headCache >= size {
			// Overwriting position p-size, which the consumer has not
			// read: announce it first.
			r.tailIntent.Store(p + 1)
		}
	}
	storeSlot(&r.slots[p&r.mask], m)
	r.pos = p + 1
}

// tryPut writes m if a slot is free (Conflate). Producer only.
func (r *msgRing) tryPut(m *Message) bool {
	p := r.pos
	if p-r.headCache > r.mask {
		r.headCache = r.head.Load()
		if p-r.headCache > r.mask {
			return false
		}
	}
	storeSlot(&r.slots[p&r.mask], m)
	r.pos = p + 1
	return true
}

// publish makes the written slots visible and reports whether the consumer
// was parked and must be woken. Producer only.
func (r *msgRing) publish() (wake bool) {
	if r.tail.Load() == r.pos { // own variable: plain load on amd64
		return false
	}
	r.tail.Store(r.pos)
	// Dekker pairing with park: tail is stored before parked is loaded,
	// and the consumer stores parked before loading tail.
	return r.parked.Load() != 0 && r.parked.CompareAndSwap(1, 0)
}

// available reports whether unread slots are published. Consumer (or any).
func (r *msgRing) available() bool { return r.tail.Load() != r.cursor }
