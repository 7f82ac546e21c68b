package decode

import "encoding/binary"

// PacketWriter builds one MoldUDP64 downstream packet in a buffer the caller
// owns, appending messages until a byte budget (the UDP payload size) is
// reached. It is not safe for concurrent use and never allocates.
type PacketWriter struct {
	buf   []byte // caller's buffer, len = budget
	n     int    // bytes written, header included
	count int    // messages appended
}

// NewPacketWriter returns a writer over buf that builds packets of at most
// maxPayload bytes, header included. maxPayload <= 0 or larger than cap(buf)
// means cap(buf). It panics if the budget cannot hold a header (a programmer
// error caught on first use). The writer starts Reset to a zero session and
// sequence 0.
func NewPacketWriter(buf []byte, maxPayload int) *PacketWriter {
	if maxPayload <= 0 || maxPayload > cap(buf) {
		maxPayload = cap(buf)
	}
	if maxPayload < PacketHeaderLen {
		panic("decode: PacketWriter budget smaller than the MoldUDP64 header")
	}
	w := &PacketWriter{buf: buf[:maxPayload]}
	w.Reset(Session{}, 0)
	return w
}

// Reset starts a new packet with session s whose first message will have
// sequence seq.
func (w *PacketWriter) Reset(s Session, seq uint64) {
	AppendPacketHeader(w.buf[:0], s, seq, 0)
	w.n, w.count = PacketHeaderLen, 0
}

// Append adds msg as the next message. It returns false, writing nothing,
// when the message would take the packet past its budget, when the packet
// already holds MaxMessageCount messages, or when msg is longer than 65535.
func (w *PacketWriter) Append(msg []byte) bool {
	end := w.n + MessageLenSize + len(msg)
	if end > len(w.buf) || len(msg) > 0xFFFF || w.count >= MaxMessageCount {
		return false
	}
	binary.BigEndian.PutUint16(w.buf[w.n:], uint16(len(msg)))
	copy(w.buf[w.n+MessageLenSize:end], msg)
	w.n = end
	w.count++
	return true
}

// Fits reports whether a message of n bytes would fit in the packet.
func (w *PacketWriter) Fits(n int) bool {
	return w.n+MessageLenSize+n <= len(w.buf) && n <= 0xFFFF && w.count < MaxMessageCount
}

// Count returns the number of messages appended since Reset.
func (w *PacketWriter) Count() int { return w.count }

// Len returns the packet length in bytes, header included.
func (w *PacketWriter) Len() int { return w.n }

// Sequence returns the sequence of the packet's first message.
func (w *PacketWriter) Sequence() uint64 { return binary.BigEndian.Uint64(w.buf[offSequence:]) }

// NextSequence returns the sequence the next appended message will have.
func (w *PacketWriter) NextSequence() uint64 { return w.Sequence() + uint64(w.count) }

// Bytes patches the header count and returns the packet. It aliases the
// caller's buffer and stays valid until the next Reset or Append.
func (w *PacketWriter) Bytes() []byte {
	PutCount(w.buf, uint16(w.count))
	return w.buf[:w.n]
}

// AppendPacketHeader appends a 20-byte downstream header to dst. For a
// heartbeat pass count 0 and the next sequence; for end of session pass
// EndOfSessionCount.
func AppendPacketHeader(dst []byte, s Session, seq uint64, count uint16) []byte {
	dst = append(dst, s[:]...)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	return binary.BigEndian.AppendUint16(dst, count)
}

// AppendMessage appends one message block (u16 length, then msg) to dst. The
// caller keeps len(msg) <= 65535; longer messages are not representable.
func AppendMessage(dst []byte, msg []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(msg)))
	return append(dst, msg...)
}

// PutCount patches the count of the packet header at the start of pkt. It
// does nothing if pkt is shorter than a header.
func PutCount(pkt []byte, count uint16) {
	if len(pkt) >= PacketHeaderLen {
		binary.BigEndian.PutUint16(pkt[offCount:], count)
	}
}
