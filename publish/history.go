package publish

import "encoding/binary"

// History keeps the most recent messages of one channel, by sequence, for
// retransmission. It is bounded twice: by message count and by bytes; the
// oldest messages are evicted when either bound would be exceeded.
//
// Storage is allocated once by NewHistory: a byte arena used as a ring and an
// index ring of (position, length) entries addressed by sequence. The arena
// holds MoldUDP64 message blocks (u16 length, then the message), so a
// finished packet's whole message area is stored with one copy; the byte
// bound therefore counts 2 bytes of framing per message. A block never
// straddles the end of the arena: one that would starts again at offset 0,
// and the skipped tail counts as used until the messages before it are
// evicted. Append, Lookup and eviction never allocate.
//
// A History is not safe for concurrent use: the worker that publishes the
// channel both appends and serves lookups, on its one thread.
type History struct {
	arena []byte      // message blocks; len = byte bound
	index []histEntry // by sequence & mask; len = power of two >= maxMsgs
	mask  uint64

	maxMsgs int    // message bound
	oldest  uint64 // sequence of the oldest retained message
	next    uint64 // sequence the next appended message gets
	head    uint64 // virtual arena position of the oldest message's block
	tail    uint64 // virtual arena position where the next block goes
	tailOff uint64 // tail % len(arena), kept to avoid a division per append
	bytes   int    // sum of retained message lengths (framing and padding excluded)
	evicted uint64 // messages evicted since creation
}

// histEntry locates one message block: its virtual position in the arena
// (physical offset = pos % len(arena)) and the message's length.
type histEntry struct {
	pos uint64
	n   uint32
}

// blockLen is the size of the u16 length before each stored message.
const blockLen = 2

// NewHistory returns an empty history holding at most maxMessages messages
// in a maxBytes arena, whose first message will have sequence 1. A message
// longer than maxBytes-2 can never be stored (Append refuses it); Config
// keeps maxBytes at least MaxPayload so that cannot happen to a message that
// fits in a packet.
func NewHistory(maxMessages, maxBytes int) (*History, error) {
	if maxMessages <= 0 || maxBytes <= blockLen {
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

// Append stores a copy of msg as the message with sequence Next() and
// advances Next, evicting the oldest messages as needed. It returns false,
// storing nothing and leaving Next unchanged, when msg is longer than 65535
// bytes or does not fit in the arena.
func (h *History) Append(msg []byte) bool {
	if len(msg) > 0xFFFF {
		return false
	}
	pos, off, ok := h.reserve(uint64(blockLen+len(msg)), 1)
	if !ok {
		return false
	}
	binary.BigEndian.PutUint16(h.arena[off:], uint16(len(msg)))
	copy(h.arena[off+blockLen:], msg)
	h.record(pos, len(msg))
	return true
}

// appendFramed stores the message area of a MoldUDP64 packet (the bytes
// after its header: count blocks of u16 length and message) with one copy
// and indexes its messages under the next sequences. The caller built the
// area, so its framing is trusted; a block cut short ends it.
func (h *History) appendFramed(body []byte, count int) {
	if count > h.maxMsgs {
		h.appendEach(body, count) // the block would not fit the count bound whole
		return
	}
	pos, off, ok := h.reserve(uint64(len(body)), count)
	if !ok {
		h.appendEach(body, count)
		return
	}
	copy(h.arena[off:], body)
	p := 0
	for i := 0; i < count && p+blockLen <= len(body); i++ {
		n := int(binary.BigEndian.Uint16(body[p:]))
		if p+blockLen+n > len(body) {
			return
		}
		h.record(pos+uint64(p), n)
		p += blockLen + n
	}
}

// appendEach stores the messages of a message area one at a time.
func (h *History) appendEach(body []byte, count int) {
	for i := 0; i < count && len(body) >= blockLen; i++ {
		n := int(binary.BigEndian.Uint16(body))
		if blockLen+n > len(body) {
			return
		}
		h.Append(body[blockLen : blockLen+n])
		body = body[blockLen+n:]
	}
}

// reserve makes room for n contiguous arena bytes that will hold k new
// messages, evicting as needed, and returns their virtual position and
// arena offset. It fails when n exceeds the arena.
func (h *History) reserve(n uint64, k int) (pos, off uint64, ok bool) {
	size := uint64(len(h.arena))
	if n > size {
		return 0, 0, false
	}
	pos, off = h.tail, h.tailOff
	if off+n > size {
		pos += size - off // skip the tail of the arena: blocks are contiguous
		off = 0
	}
	end := pos + n
	if h.oldest != h.next && (int(h.next-h.oldest)+k > h.maxMsgs || end-h.head > size) {
		h.evict(end, k)
	}
	if h.oldest == h.next {
		h.head = pos // empty: nothing constrains the position any more
	}
	h.tail, h.tailOff = end, off+n
	return pos, off, true
}

// record indexes a stored block of an n-byte message at pos under Next.
func (h *History) record(pos uint64, n int) {
	h.index[h.next&h.mask] = histEntry{pos: pos, n: uint32(n)}
	h.next++
	h.bytes += n
}

// evict drops the oldest messages until k more fit the count bound and the
// retained span, up to end, fits the arena.
func (h *History) evict(end uint64, k int) {
	size := uint64(len(h.arena))
	for h.oldest != h.next && (int(h.next-h.oldest)+k > h.maxMsgs || end-h.head > size) {
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
	off := e.pos%uint64(len(h.arena)) + blockLen
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
