package publish

import "encoding/binary"

// History keeps the most recent messages of one channel, by sequence, for
// retransmission. It is bounded twice: by message count and by bytes; the
// oldest messages are evicted when either bound would be exceeded.
//
// Storage is allocated once by NewHistory: a byte arena used as a ring, in
// which every message is stored contiguously (a message that would straddle
// the end of the arena starts again at offset 0, and the skipped tail counts
// as used until its neighbour is evicted), and an index ring of (position,
// length) entries addressed by sequence. Append, Lookup and eviction never
// allocate.
//
// A History is not safe for concurrent use: the worker that publishes the
// channel both appends and serves lookups, on its one thread.
type History struct {
	arena []byte      // message bytes; len = byte bound
	index []histEntry // by sequence & mask; len = power of two >= maxMsgs
	mask  uint64

	maxMsgs int    // message bound
	oldest  uint64 // sequence of the oldest retained message
	next    uint64 // sequence the next appended message gets
	head    uint64 // virtual arena position of the oldest message's bytes
	tail    uint64 // virtual arena position where the next message goes
	tailOff uint64 // tail % len(arena), kept to avoid a division per append
	bytes   int    // sum of retained message lengths (padding excluded)
	evicted uint64 // messages evicted since creation
}

// histEntry locates one message: its virtual position in the arena (physical
// offset = pos % len(arena)) and its length.
type histEntry struct {
	pos uint64
	n   uint32
}

// NewHistory returns an empty history holding at most maxMessages messages
// and maxBytes bytes, whose first message will have sequence 1. A message
// longer than maxBytes can never be stored (Append drops it); Config keeps
// maxBytes at least MaxPayload so that cannot happen.
func NewHistory(maxMessages, maxBytes int) (*History, error) {
	if maxMessages <= 0 || maxBytes <= 0 {
		return nil, errHistoryBounds
	}
	n := 1
	for n < maxMessages {
		n <<= 1
	}
	return &History{
		arena:   make([]byte, maxBytes),
		index:   make([]histEntry, n),
		mask:    uint64(n - 1),
		maxMsgs: maxMessages,
		oldest:  1,
		next:    1,
	}, nil
}

// Append stores msg as the message with sequence Next() and advances Next,
// evicting the oldest messages as needed. It copies msg. It returns false,
// storing nothing and leaving Next unchanged, only when msg is longer than
// the byte bound.
func (h *History) Append(msg []byte) bool {
	size := uint64(len(h.arena))
	n := uint64(len(msg))
	if n > size {
		return false
	}
	// tailOff tracks tail % size, so the hot path divides nothing.
	pos, off := h.tail, h.tailOff
	if off+n > size {
		pos += size - off // skip the tail of the arena: messages are contiguous
		off = 0
	}
	end := pos + n
	if h.oldest != h.next && (int(h.next-h.oldest) >= h.maxMsgs || end-h.head > size) {
		h.evict(end)
	}
	if h.oldest == h.next {
		// Empty: nothing constrains the position any more.
		h.head = pos
	}
	copy(h.arena[off:off+n], msg)
	h.index[h.next&h.mask] = histEntry{pos: pos, n: uint32(n)}
	h.next++
	h.tail = end
	h.tailOff = off + n
	h.bytes += int(n)
	return true
}

// appendFramed stores every message of a MoldUDP64 message area (the packet
// after its header: u16 length, bytes, ...), count messages in all. The
// caller built the area, so the framing is trusted.
func (h *History) appendFramed(body []byte, count int) {
	for i := 0; i < count && len(body) >= 2; i++ {
		n := int(binary.BigEndian.Uint16(body))
		if 2+n > len(body) {
			return
		}
		h.Append(body[2 : 2+n])
		body = body[2+n:]
	}
}

// evict drops the oldest messages until one more message fits the count
// bound and the retained span, up to end, fits the arena.
func (h *History) evict(end uint64) {
	size := uint64(len(h.arena))
	for h.oldest != h.next && (int(h.next-h.oldest) >= h.maxMsgs || end-h.head > size) {
		e := h.index[h.oldest&h.mask]
		h.oldest++
		h.bytes -= int(e.n)
		h.evicted++
		if h.oldest == h.next {
			h.head = h.tail
		} else {
			h.head = h.index[h.oldest&h.mask].pos
		}
	}
}

// Lookup returns the message with sequence seq, aliasing the arena: it is
// valid until the next Append. ok is false when seq was evicted or not yet
// appended.
func (h *History) Lookup(seq uint64) (msg []byte, ok bool) {
	if seq < h.oldest || seq >= h.next {
		return nil, false
	}
	e := h.index[seq&h.mask]
	off := e.pos % uint64(len(h.arena))
	return h.arena[off : off+uint64(e.n)], true
}

// Oldest returns the sequence of the oldest retained message (equal to Next
// when the history is empty).
func (h *History) Oldest() uint64 { return h.oldest }

// Next returns the sequence the next appended message will get.
func (h *History) Next() uint64 { return h.next }

// Len returns the number of retained messages.
func (h *History) Len() int { return int(h.next - h.oldest) }

// Bytes returns the total length of the retained messages.
func (h *History) Bytes() int { return h.bytes }

// Evicted returns the number of messages evicted since creation.
func (h *History) Evicted() uint64 { return h.evicted }
