package decode

import (
	"encoding/binary"
	"iter"
)

// MoldUDP64 1.00 downstream packet layout (all integers big-endian).
const (
	// PacketHeaderLen is the size of the downstream packet header.
	PacketHeaderLen = 20
	// EndOfSessionCount is the header count that marks the end of a session.
	EndOfSessionCount = 0xFFFF
	// MaxMessageCount is the largest count a data packet may carry
	// (0xFFFF is reserved for end of session).
	MaxMessageCount = EndOfSessionCount - 1
	// MessageLenSize is the size of the length prefix of each message block.
	MessageLenSize = 2

	offSession  = 0
	offSequence = 10
	offCount    = 18
)

// packetIndexLen is how many message end offsets Packet.Wrap records, so
// that iterating needs no second walk through the length prefixes (each step
// of a walk waits for the previous load). 128 covers any 1400-byte packet of
// ITCH messages (the shortest take 14 bytes with their prefix); larger
// packets are walked.
const packetIndexLen = 128

// Packet is a view over one MoldUDP64 downstream datagram. Wrap validates the
// whole framing once; after a successful Wrap the accessors and the message
// iterators do no further checks that can fail.
//
// A Packet aliases the wrapped buffer: it is valid only while the buffer is
// unchanged and is not safe for concurrent use. Neither Wrap nor any accessor
// allocates. A Packet is about 300 bytes (it holds an index of message
// offsets); keep one per receive loop and Wrap each datagram into it.
type Packet struct {
	b   []byte                 // the validated datagram
	n   int                    // number of messages (0 for heartbeat and end of session)
	idx [packetIndexLen]uint16 // end offset of message i, when indexed (n <= packetIndexLen)
}

// Wrap points p at the datagram b and validates the header, every message
// length, the count against the messages present, and that nothing follows the
// last message. On error p is left empty (no messages).
func (p *Packet) Wrap(b []byte) error {
	count := 0
	if len(b) >= PacketHeaderLen {
		count = int(binary.BigEndian.Uint16(b[offCount:]))
	}
	if count == 0 || count > packetIndexLen || len(b) > 0xFFFF {
		return p.wrapSlow(b)
	}
	if binary.BigEndian.Uint64(b[offSequence:]) > ^uint64(0)-uint64(count) {
		p.b, p.n = nil, 0
		return ErrSequenceOverflow
	}
	// Fast path: one compare per message, and record where each ends. A
	// length that runs past the end shows up as off > len(b) at the next
	// check or after the loop; classify then finds which error it is.
	off := PacketHeaderLen
	for i := range p.idx[:count] {
		if off+MessageLenSize > len(b) {
			p.b, p.n = nil, 0
			return classify(b, count)
		}
		off += MessageLenSize + int(binary.BigEndian.Uint16(b[off:]))
		p.idx[i] = uint16(off) // off < 2*65536 here; checked against len(b) below
	}
	if off != len(b) {
		p.b, p.n = nil, 0
		if off > len(b) {
			return classify(b, count)
		}
		return ErrTrailingBytes
	}
	p.b, p.n = b, count
	return nil
}

// wrapSlow handles short packets, heartbeats, end of session and packets too
// large to index.
func (p *Packet) wrapSlow(b []byte) error {
	n, err := validate(b)
	if err == nil && n != len(b) {
		err = ErrTrailingBytes
	}
	if err != nil {
		p.b, p.n = nil, 0
		return err
	}
	p.b, p.n = b, int(binary.BigEndian.Uint16(b[offCount:]))
	if p.n == EndOfSessionCount {
		p.n = 0
	}
	return nil
}

// validate checks one packet at the start of b and returns its length. It
// does not reject bytes after the packet; Wrap and SplitPacket decide that.
func validate(b []byte) (int, error) {
	if len(b) < PacketHeaderLen {
		return 0, ErrShortPacket
	}
	count := int(binary.BigEndian.Uint16(b[offCount:]))
	if count == EndOfSessionCount || count == 0 {
		return PacketHeaderLen, nil
	}
	if binary.BigEndian.Uint64(b[offSequence:]) > ^uint64(0)-uint64(count) {
		return 0, ErrSequenceOverflow
	}
	// Fast path: one compare per message. A length that runs past the end
	// shows up as off > len(b) at the next check or after the loop; the slow
	// path then finds which error it is.
	off := PacketHeaderLen
	for i := 0; i < count; i++ {
		if off+MessageLenSize > len(b) {
			return 0, classify(b, count)
		}
		off += MessageLenSize + int(binary.BigEndian.Uint16(b[off:]))
	}
	if off > len(b) {
		return 0, classify(b, count)
	}
	return off, nil
}

// classify walks a packet that failed validation and returns the reason.
func classify(b []byte, count int) error {
	off := PacketHeaderLen
	for i := 0; i < count; i++ {
		rem := len(b) - off
		if rem == 0 {
			return ErrMissingMessages
		}
		if rem < MessageLenSize {
			return ErrTruncatedMessage
		}
		l := int(binary.BigEndian.Uint16(b[off:]))
		if l > rem-MessageLenSize {
			if i == count-1 {
				return ErrTruncatedMessage
			}
			return ErrLengthPastEnd
		}
		off += MessageLenSize + l
	}
	return ErrTruncatedMessage // not reached for a packet the fast path rejected
}

// Session returns the session of the packet.
func (p *Packet) Session() (s Session) {
	if len(p.b) >= PacketHeaderLen {
		copy(s[:], p.b[offSession:])
	}
	return s
}

// Sequence returns the sequence of the first message; in a heartbeat or end
// of session it is the next sequence the sender will use.
func (p *Packet) Sequence() uint64 {
	if len(p.b) < PacketHeaderLen {
		return 0
	}
	return binary.BigEndian.Uint64(p.b[offSequence:])
}

// Count returns the raw header count (EndOfSessionCount for end of session).
func (p *Packet) Count() uint16 {
	if len(p.b) < PacketHeaderLen {
		return 0
	}
	return binary.BigEndian.Uint16(p.b[offCount:])
}

// MessageCount returns the number of messages carried: 0 for a heartbeat and
// for end of session.
func (p *Packet) MessageCount() int { return p.n }

// IsHeartbeat reports whether the packet is a heartbeat (count 0).
func (p *Packet) IsHeartbeat() bool { return len(p.b) >= PacketHeaderLen && p.Count() == 0 }

// IsEndOfSession reports whether the packet marks the end of the session.
func (p *Packet) IsEndOfSession() bool { return p.Count() == EndOfSessionCount }

// NextSequence returns the sequence that follows the last message carried.
func (p *Packet) NextSequence() uint64 { return p.Sequence() + uint64(p.n) }

// Bytes returns the wrapped datagram.
func (p *Packet) Bytes() []byte { return p.b }

// indexed reports whether Wrap recorded the end offsets of the first
// min(n, packetIndexLen) messages.
func (p *Packet) indexed() bool { return p.n <= packetIndexLen && len(p.b) <= 0xFFFF }

// Messages returns an iterator over the packet's messages, positioned before
// the first one. The iterator refers to p: re-wrapping p invalidates it.
func (p *Packet) Messages() MessageIterator {
	return MessageIterator{p: p, n: p.n, end: PacketHeaderLen, indexed: p.indexed()}
}

// MessageIterator walks the messages of a wrapped Packet in order. It is a
// small value that refers to the Packet; Next does not allocate.
//
// Declare the iterator before the loop rather than in a for clause: since Go
// 1.22 a variable declared in a for clause is copied for each iteration,
// which costs a little per message, and when the Packet itself is declared
// inside an enclosing loop, the for-clause form makes the compiler move the
// Packet to the heap (one allocation per packet). Reusing one Packet, or
// ranging over Packet.All, avoids both.
//
//	it := p.Messages()
//	for it.Next() {
//		handle(it.Sequence(), it.Message())
//	}
type MessageIterator struct {
	// It holds the Packet by pointer rather than copying its buffer slice:
	// escape analysis then sees messages as the buffer's contents, not as
	// derived from the Packet, so a caller's Packet stays on its stack.
	p       *Packet
	i       int  // messages visited
	n       int  // messages in the packet
	off     int  // offset of the current message (after its length prefix)
	end     int  // offset just past the current message
	indexed bool // p.idx holds the end offsets of the first messages
}

// Next advances to the next message and reports whether there is one.
func (it *MessageIterator) Next() bool {
	i := it.i
	if i >= it.n {
		return false
	}
	b := it.p.b
	start := it.end + MessageLenSize
	var end int
	if it.indexed && i < packetIndexLen {
		end = int(it.p.idx[i])
	} else {
		if start > len(b) { // only if the buffer changed after Wrap
			return false
		}
		end = start + int(binary.BigEndian.Uint16(b[start-MessageLenSize:]))
	}
	it.off, it.end, it.i = start, end, i+1
	return true
}

// Message returns the current message without its length prefix. It aliases
// the packet buffer; its capacity is capped so appends cannot overwrite the
// next message.
func (it *MessageIterator) Message() []byte {
	if it.p == nil || it.off > it.end || it.end > len(it.p.b) {
		return nil // only before Next, or if the buffer changed after Wrap
	}
	return it.p.b[it.off:it.end:it.end]
}

// Sequence returns the sequence of the current message.
func (it *MessageIterator) Sequence() uint64 {
	if it.p == nil {
		return 0
	}
	return it.p.Sequence() + uint64(it.i) - 1
}

// SplitPacket splits the first MoldUDP64 packet off a stream of packets
// written back to back with no other framing (as some capture tools store
// them). It validates pkt as Wrap would, so Wrap(pkt) succeeds; rest is what
// follows. On error pkt and rest are nil.
func SplitPacket(b []byte) (pkt, rest []byte, err error) {
	n, err := validate(b)
	if err != nil {
		return nil, nil, err
	}
	return b[:n:n], b[n:], nil
}

// All returns an iterator over the packet's (sequence, message) pairs for use
// with range. The compiler inlines it into the loop, so its state stays in
// registers: it is the fastest way to visit every message.
//
//	for seq, msg := range p.All() {
//		handle(seq, msg)
//	}
func (p *Packet) All() iter.Seq2[uint64, []byte] {
	return func(yield func(uint64, []byte) bool) {
		if p.n == 0 {
			return
		}
		if !p.indexed() {
			p.walk(yield)
			return
		}
		b := p.b
		seq := binary.BigEndian.Uint64(b[offSequence:])
		start := PacketHeaderLen + MessageLenSize
		for _, e := range p.idx[:p.n] {
			end := int(e)
			if start > end || end > len(b) { // only if the buffer changed after Wrap
				return
			}
			if !yield(seq, b[start:end:end]) {
				return
			}
			seq++
			start = end + MessageLenSize
		}
	}
}

// walk is All for packets too large to index.
func (p *Packet) walk(yield func(uint64, []byte) bool) {
	it := p.Messages()
	for it.Next() {
		if !yield(it.Sequence(), it.Message()) {
			return
		}
	}
}
