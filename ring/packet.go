package ring

import (
	"sync/atomic"
	"unsafe"
)

// Packet is one datagram buffer with its metadata, handed between agents by
// pointer and returned to its Pool when the last holder releases it.
//
// The goroutine holding a reference may read Buf and the metadata; only the
// producer that got it from the pool writes them, before handing it on
// (publishing it through a ring orders those writes before the consumer's
// reads). Retain and Release are safe from any goroutine.
type Packet struct {
	Buf    []byte // full buffer; cap = pool BufSize
	N      int    // valid bytes in Buf
	RecvNs int64  // receive time, clock.Nanotime()
	Seq    uint64 // producer metadata: the feed stores the first new sequence carried
	Skip   int32  // producer metadata: leading messages already delivered (duplicates)
	Line   uint8  // producer metadata: line index

	refs atomic.Int32 // references held; 0 = in the pool
	pool *Pool        // owner; nil for a packet made outside any pool

	// Packets of one pool sit side by side in one array and are written by
	// different goroutines at once (the feed fills one while a worker
	// releases the one before), so each is padded to a whole number of
	// cache lines. TestPacketSize checks the arithmetic.
	_ [CacheLineBytes - packetFieldBytes]byte
}

// packetFieldBytes is the size of Packet's fields before its padding.
const packetFieldBytes = unsafe.Sizeof(struct {
	Buf    []byte
	N      int
	RecvNs int64
	Seq    uint64
	Skip   int32
	Line   uint8
	refs   atomic.Int32
	pool   *Pool
}{})

// Bytes returns the valid bytes, Buf[:N].
func (p *Packet) Bytes() []byte { return p.Buf[:p.N] }

// Retain adds one reference; call it before handing the packet to another
// consumer, each of which then calls Release once. Retaining a packet that
// is back in its pool is a programmer error and panics.
func (p *Packet) Retain() {
	if p.refs.Add(1) <= 1 {
		panic("ring: Retain of a released Packet")
	}
}

// Release drops one reference; the last one returns the packet to its
// pool. After Release the caller must not touch the packet again.
//
// Releasing more times than the packet was retained is a programmer error
// (the packet may already belong to someone else) and panics with a clear
// message. The check catches a double release while the packet sits in the
// pool; once the pool has handed it out again the extra release is
// indistinguishable from the new owner's, so it cannot be caught then.
func (p *Packet) Release() {
	// Fast path: the only reference. Nobody else can Retain (only a holder
	// may), so a plain release store replaces the atomic decrement; the
	// free list's CAS in put then publishes the packet to the pool owner.
	if p.refs.Load() == 1 {
		storeRelease32(&p.refs, 0)
		if p.pool != nil {
			p.pool.put(p)
		}
		return
	}
	p.releaseShared()
}

// releaseShared is Release's slow path: other references exist, or a
// double release is being caught.
func (p *Packet) releaseShared() {
	switch r := p.refs.Add(-1); {
	case r > 0:
		return
	case r == 0:
		if p.pool != nil {
			p.pool.put(p)
		}
	default:
		p.refs.Add(1) // keep later diagnostics (and a recovered test) consistent
		panic("ring: Packet released more times than it was retained (double Release)")
	}
}

// Refs returns the number of references held, for tests and diagnostics.
func (p *Packet) Refs() int { return int(p.refs.Load()) }
