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

// Packet is a view over one MoldUDP64 downstream datagram. Wrap validates the
// whole framing once; after a successful Wrap the accessors and the message
// iterator do no further checks that can fail.
//
// A Packet is a small value that aliases the wrapped buffer: it is valid only
// while the buffer is unchanged and is not safe for concurrent use with a
// writer of that buffer. Neither Wrap nor any accessor allocates.
type Packet struct {
	b []byte // the validated datagram
	n int    // number of messages (0 for heartbeat and end of session)
}

// Wrap points p at the datagram b and validates the header, every message
// length, the count against the messages present, and that nothing follows the
// last message. On error p is left empty (no messages).
func (p *Packet) Wrap(b []byte) error {
	n, err := validate(b)
	if err == nil && n != len(b) {
		err = ErrTrailingBytes
	}
	if err != nil {
		p.b, p.n = nil, 0
		return err
	}
	p.b, p.n = b[:n], int(binary.BigEndian.Uint16(b[offCount:]))
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
	return nil // not reached for a packet validate rejected
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

// Messages returns an iterator over the packet's messages, positioned before
// the first one.
func (p *Packet) Messages() MessageIterator {
	if p.n == 0 {
		return MessageIterator{}
	}
	return MessageIterator{b: p.b, end: PacketHeaderLen, seq: p.Sequence() - 1}
}

// MessageIterator walks the messages of a wrapped Packet in order. It is a
// small value that aliases the packet buffer; Next does not allocate. It
// relies on Wrap's validation: the packet ends exactly after its last message.
//
// Declare the iterator before the loop rather than in a for clause: since Go
// 1.22 a variable declared in a for clause is copied for each iteration, which
// costs a few nanoseconds per message here.
//
//	it := p.Messages()
//	for it.Next() {
//		handle(it.Sequence(), it.Message())
//	}
type MessageIterator struct {
	b   []byte // the validated packet
	off int    // offset of the current message (after its length prefix)
	end int    // offset just past the current message
	seq uint64 // sequence of the current message
}

// Next advances to the next message and reports whether there is one.
func (it *MessageIterator) Next() bool {
	end := it.end
	if end+MessageLenSize > len(it.b) {
		return false
	}
	next := end + MessageLenSize + int(binary.BigEndian.Uint16(it.b[end:]))
	if next > len(it.b) { // only if the buffer changed after Wrap
		it.end = len(it.b)
		return false
	}
	it.off, it.end = end+MessageLenSize, next
	it.seq++
	return true
}

// Message returns the current message without its length prefix. It aliases
// the packet buffer; its capacity is capped so appends cannot overwrite the
// next message.
func (it *MessageIterator) Message() []byte { return it.b[it.off:it.end:it.end] }

// Sequence returns the sequence of the current message.
func (it *MessageIterator) Sequence() uint64 { return it.seq }

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
// with range. The compiler inlines it into the loop, keeping the walk in
// registers; it is the fastest way to visit every message.
//
//	for seq, msg := range p.All() {
//		handle(seq, msg)
//	}
func (p *Packet) All() iter.Seq2[uint64, []byte] {
	b, n := p.b, p.n
	var seq uint64
	if n != 0 {
		seq = binary.BigEndian.Uint64(b[offSequence:])
	}
	return func(yield func(uint64, []byte) bool) {
		if n == 0 {
			return
		}
		off := PacketHeaderLen
		for off+MessageLenSize <= len(b) {
			start := off + MessageLenSize
			end := start + int(binary.BigEndian.Uint16(b[off:]))
			if end > len(b) { // only if the buffer changed after Wrap
				return
			}
			if !yield(seq, b[start:end:end]) {
				return
			}
			seq++
			off = end
		}
	}
}
