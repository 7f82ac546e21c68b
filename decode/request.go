package decode

import "encoding/binary"

// RequestLen is the size of a MoldUDP64 re-request packet.
const RequestLen = 20

// Request is a view over a MoldUDP64 1.00 re-request packet: session (10
// bytes), first sequence wanted (u64), message count wanted (u16). It aliases
// the wrapped buffer, is not safe for concurrent use and never allocates.
type Request struct {
	b []byte
}

// Wrap points r at b after checking that b is exactly RequestLen bytes, asks
// for at least one message, starts at sequence 1 or later and does not run
// past the largest sequence.
func (r *Request) Wrap(b []byte) error {
	r.b = nil
	if len(b) != RequestLen {
		return ErrRequestLength
	}
	seq := binary.BigEndian.Uint64(b[offSequence:])
	count := binary.BigEndian.Uint16(b[offCount:])
	switch {
	case count == 0:
		return ErrRequestCount
	case seq == 0:
		return ErrRequestSequence
	case seq > ^uint64(0)-uint64(count):
		return ErrSequenceOverflow
	}
	r.b = b
	return nil
}

// Session returns the session the request is for.
func (r *Request) Session() (s Session) {
	if len(r.b) == RequestLen {
		copy(s[:], r.b)
	}
	return s
}

// Sequence returns the first sequence requested.
func (r *Request) Sequence() uint64 {
	if len(r.b) != RequestLen {
		return 0
	}
	return binary.BigEndian.Uint64(r.b[offSequence:])
}

// Count returns the number of messages requested.
func (r *Request) Count() uint16 {
	if len(r.b) != RequestLen {
		return 0
	}
	return binary.BigEndian.Uint16(r.b[offCount:])
}

// AppendRequest appends a 20-byte re-request to dst.
func AppendRequest(dst []byte, s Session, seq uint64, count uint16) []byte {
	return AppendPacketHeader(dst, s, seq, count)
}
