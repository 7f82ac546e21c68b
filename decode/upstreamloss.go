package decode

import (
	"encoding/binary"
	"strconv"
)

// mdcast upstream loss notice, version 1 (see docs/PROTOCOL.md section 3.3).
// The daemon sends one on every channel when its feed gives up on a range of
// upstream sequences, as an ordinary message block: it takes a channel
// sequence, so it is ordered, gap-detected and retransmitted like data. All
// integers are big-endian; the two sequences sit on 8-byte offsets.
const (
	// UpstreamLossType is the message type byte of an upstream loss notice:
	// neither an ITCH 5.0 type nor QuoteType. The daemon drops upstream
	// messages of this type, so on a channel it only ever marks a notice.
	UpstreamLossType = 'u'
	// UpstreamLossLen is the size of a version 1 notice. Later versions may
	// be longer.
	UpstreamLossLen = 32
	// UpstreamLossVersion is the version this package writes.
	UpstreamLossVersion = 1
	// UpstreamLossDaemonDrop is the flag bit saying the messages reached
	// the daemon but not this channel: its publish worker's input ring was
	// full (pipeline mode). Without it the feed gave up on them upstream.
	UpstreamLossDaemonDrop uint16 = 1 << 0

	offLossType    = 0  // u8 'u'
	offLossVersion = 1  // u8
	offLossFlags   = 2  // u16
	offLossSession = 6  // 10 bytes ASCII (after 2 reserved bytes at 4)
	offLossFrom    = 16 // u64
	offLossTo      = 24 // u64
)

// UpstreamLoss is a view over an mdcast upstream loss notice: the daemon's
// feed gave up on upstream sequences From..To (inclusive) of upstream
// Session. Wrap checks the message once; the accessors then read fields in
// place. It aliases the wrapped buffer, is not safe for concurrent use with
// a writer of that buffer, and never allocates (except String).
type UpstreamLoss struct {
	b []byte
}

// Wrap points u at msg after checking that it is at least UpstreamLossLen
// bytes, has type UpstreamLossType, a version of 1 or more, and From <= To.
// Bytes after the version 1 fields (added by later versions) are ignored.
func (u *UpstreamLoss) Wrap(msg []byte) error {
	u.b = nil
	switch {
	case len(msg) < UpstreamLossLen:
		return ErrShortUpstreamLoss
	case msg[offLossType] != UpstreamLossType:
		return ErrNotUpstreamLoss
	case msg[offLossVersion] == 0:
		return ErrUpstreamLossVersion
	case binary.BigEndian.Uint64(msg[offLossFrom:]) > binary.BigEndian.Uint64(msg[offLossTo:]):
		return ErrUpstreamLossRange
	}
	u.b = msg[:UpstreamLossLen:UpstreamLossLen]
	return nil
}

// ok reports whether u wraps a notice; accessors of an unwrapped view return zero.
func (u *UpstreamLoss) ok() bool { return len(u.b) == UpstreamLossLen }

// Version returns the notice's version byte.
func (u *UpstreamLoss) Version() uint8 {
	if !u.ok() {
		return 0
	}
	return u.b[offLossVersion]
}

// Flags returns the notice's flags (UpstreamLossDaemonDrop; readers ignore
// bits they do not know).
func (u *UpstreamLoss) Flags() uint16 {
	if !u.ok() {
		return 0
	}
	return binary.BigEndian.Uint16(u.b[offLossFlags:])
}

// Session returns the upstream session the lost sequences belong to (not
// the channel's session).
func (u *UpstreamLoss) Session() Session {
	var s Session
	if u.ok() {
		copy(s[:], u.b[offLossSession:offLossFrom])
	}
	return s
}

// From returns the first lost upstream sequence.
func (u *UpstreamLoss) From() uint64 {
	if !u.ok() {
		return 0
	}
	return binary.BigEndian.Uint64(u.b[offLossFrom:])
}

// To returns the last lost upstream sequence (inclusive).
func (u *UpstreamLoss) To() uint64 {
	if !u.ok() {
		return 0
	}
	return binary.BigEndian.Uint64(u.b[offLossTo:])
}

// Fields returns a copy of the notice's fields.
func (u *UpstreamLoss) Fields() UpstreamLossFields {
	return UpstreamLossFields{Session: u.Session(), From: u.From(), To: u.To(), Flags: u.Flags()}
}

// String formats the notice for debugging and mdtail. It allocates.
func (u *UpstreamLoss) String() string {
	if !u.ok() {
		return "u <invalid>"
	}
	return string(u.Fields().AppendText(make([]byte, 0, 96)))
}

// UpstreamLossFields holds the fields of an upstream loss notice for
// AppendUpstreamLoss; subscribers report them with a Loss.
type UpstreamLossFields struct {
	Session  Session // upstream session
	From, To uint64  // lost upstream sequences, inclusive
	Flags    uint16
}

// Count returns the number of upstream messages lost (0 for a zero value).
func (f UpstreamLossFields) Count() uint64 {
	if f.To < f.From || f == (UpstreamLossFields{}) {
		return 0
	}
	return f.To - f.From + 1
}

// AppendText appends "upstream-loss session=S from=F to=T count=N" to b.
func (f UpstreamLossFields) AppendText(b []byte) []byte {
	b = append(b, "upstream-loss session="...)
	b = append(b, f.Session.String()...)
	b = append(b, " from="...)
	b = strconv.AppendUint(b, f.From, 10)
	b = append(b, " to="...)
	b = strconv.AppendUint(b, f.To, 10)
	b = append(b, " count="...)
	b = strconv.AppendUint(b, f.Count(), 10)
	if f.Flags&UpstreamLossDaemonDrop != 0 {
		b = append(b, " daemon-drop"...)
	}
	return b
}

// AppendUpstreamLoss appends a version 1 notice (UpstreamLossLen bytes) to
// dst. It does not allocate when dst has room.
func AppendUpstreamLoss(dst []byte, f UpstreamLossFields) []byte {
	dst = append(dst, UpstreamLossType, UpstreamLossVersion)
	dst = binary.BigEndian.AppendUint16(dst, f.Flags)
	dst = append(dst, 0, 0) // reserved
	dst = append(dst, f.Session[:]...)
	dst = binary.BigEndian.AppendUint64(dst, f.From)
	return binary.BigEndian.AppendUint64(dst, f.To)
}
