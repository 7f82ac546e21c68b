package decode

import (
	"encoding/binary"
	"strconv"
)

// mdcast quote message, version 1 (see docs/PROTOCOL.md). All integers are
// big-endian; every 8-byte field sits on an 8-byte offset.
const (
	// QuoteType is the message type byte of an mdcast quote (not an ITCH 5.0 type).
	QuoteType = 'q'
	// QuoteLen is the size of a version 1 quote. Later versions may be longer.
	QuoteLen = 48
	// QuoteVersion is the version this package writes.
	QuoteVersion = 1
	// QuotePriceScale is the number of price units per currency unit (prices are in 1e-8).
	QuotePriceScale = 100_000_000

	offQuoteType     = 0  // u8 'q'
	offQuoteVersion  = 1  // u8
	offQuoteFlags    = 2  // u16
	offQuoteInstr    = 4  // u32
	offQuoteExchTime = 8  // u64 ns
	offQuoteBidPx    = 16 // i64, 1e-8
	offQuoteAskPx    = 24 // i64, 1e-8
	offQuoteBidSize  = 32 // u32
	offQuoteAskSize  = 36 // u32
	offQuoteSendTime = 40 // u64 ns
)

// Quote is a view over an mdcast quote message. Wrap checks the message once;
// the accessors then read fields in place. It aliases the wrapped buffer, is
// not safe for concurrent use with a writer of that buffer, and never
// allocates (except String).
type Quote struct {
	b []byte
}

// Wrap points q at msg after checking that it is at least QuoteLen bytes,
// has type QuoteType and a version of 1 or more. Bytes after the version 1
// fields (added by later versions) are ignored.
func (q *Quote) Wrap(msg []byte) error {
	q.b = nil
	switch {
	case len(msg) < QuoteLen:
		return ErrShortQuote
	case msg[offQuoteType] != QuoteType:
		return ErrNotQuote
	case msg[offQuoteVersion] == 0:
		return ErrQuoteVersion
	}
	q.b = msg[:QuoteLen:QuoteLen]
	return nil
}

// ok reports whether q wraps a message; accessors of an unwrapped Quote return zero.
func (q *Quote) ok() bool { return len(q.b) == QuoteLen }

// Version returns the quote's version byte.
func (q *Quote) Version() uint8 {
	if !q.ok() {
		return 0
	}
	return q.b[offQuoteVersion]
}

// Flags returns the quote's flags (no flag is defined in version 1).
func (q *Quote) Flags() uint16 {
	if !q.ok() {
		return 0
	}
	return binary.BigEndian.Uint16(q.b[offQuoteFlags:])
}

// Instrument returns the instrument id.
func (q *Quote) Instrument() uint32 {
	if !q.ok() {
		return 0
	}
	return binary.BigEndian.Uint32(q.b[offQuoteInstr:])
}

// ExchangeTime returns the exchange timestamp in nanoseconds.
func (q *Quote) ExchangeTime() uint64 {
	if !q.ok() {
		return 0
	}
	return binary.BigEndian.Uint64(q.b[offQuoteExchTime:])
}

// BidPrice returns the bid price in units of 1e-8.
func (q *Quote) BidPrice() int64 {
	if !q.ok() {
		return 0
	}
	return int64(binary.BigEndian.Uint64(q.b[offQuoteBidPx:]))
}

// AskPrice returns the ask price in units of 1e-8.
func (q *Quote) AskPrice() int64 {
	if !q.ok() {
		return 0
	}
	return int64(binary.BigEndian.Uint64(q.b[offQuoteAskPx:]))
}

// BidSize returns the bid size.
func (q *Quote) BidSize() uint32 {
	if !q.ok() {
		return 0
	}
	return binary.BigEndian.Uint32(q.b[offQuoteBidSize:])
}

// AskSize returns the ask size.
func (q *Quote) AskSize() uint32 {
	if !q.ok() {
		return 0
	}
	return binary.BigEndian.Uint32(q.b[offQuoteAskSize:])
}

// SendTime returns the send timestamp in nanoseconds (the generator's
// intended send time, used for latency measurement).
func (q *Quote) SendTime() uint64 {
	if !q.ok() {
		return 0
	}
	return binary.BigEndian.Uint64(q.b[offQuoteSendTime:])
}

// Fields returns a copy of the quote's fields.
func (q *Quote) Fields() QuoteFields {
	return QuoteFields{
		Instrument:   q.Instrument(),
		ExchangeTime: q.ExchangeTime(),
		BidPrice:     q.BidPrice(),
		AskPrice:     q.AskPrice(),
		BidSize:      q.BidSize(),
		AskSize:      q.AskSize(),
		Flags:        q.Flags(),
		SendTime:     q.SendTime(),
	}
}

// String formats the quote for debugging and mdtail. It allocates.
func (q *Quote) String() string {
	if !q.ok() {
		return "q <invalid>"
	}
	b := make([]byte, 0, 128)
	b = append(b, "q v"...)
	b = strconv.AppendUint(b, uint64(q.Version()), 10)
	b = append(b, " inst="...)
	b = strconv.AppendUint(b, uint64(q.Instrument()), 10)
	b = append(b, " xt="...)
	b = strconv.AppendUint(b, q.ExchangeTime(), 10)
	b = append(b, " bid="...)
	b = strconv.AppendUint(b, uint64(q.BidSize()), 10)
	b = append(b, '@')
	b = appendFixed(b, q.BidPrice(), 8)
	b = append(b, " ask="...)
	b = strconv.AppendUint(b, uint64(q.AskSize()), 10)
	b = append(b, '@')
	b = appendFixed(b, q.AskPrice(), 8)
	b = append(b, " flags="...)
	b = strconv.AppendUint(b, uint64(q.Flags()), 16)
	b = append(b, " st="...)
	b = strconv.AppendUint(b, q.SendTime(), 10)
	return string(b)
}

// QuoteFields holds the fields of a quote for AppendQuote.
type QuoteFields struct {
	Instrument   uint32
	ExchangeTime uint64 // ns
	BidPrice     int64  // 1e-8 units
	AskPrice     int64  // 1e-8 units
	BidSize      uint32
	AskSize      uint32
	Flags        uint16
	SendTime     uint64 // ns
}

// AppendQuote appends a version 1 quote (QuoteLen bytes) to dst. It does not
// allocate when dst has room.
func AppendQuote(dst []byte, f QuoteFields) []byte {
	dst = append(dst, QuoteType, QuoteVersion)
	dst = binary.BigEndian.AppendUint16(dst, f.Flags)
	dst = binary.BigEndian.AppendUint32(dst, f.Instrument)
	dst = binary.BigEndian.AppendUint64(dst, f.ExchangeTime)
	dst = binary.BigEndian.AppendUint64(dst, uint64(f.BidPrice))
	dst = binary.BigEndian.AppendUint64(dst, uint64(f.AskPrice))
	dst = binary.BigEndian.AppendUint32(dst, f.BidSize)
	dst = binary.BigEndian.AppendUint32(dst, f.AskSize)
	return binary.BigEndian.AppendUint64(dst, f.SendTime)
}

// PutQuoteSendTime stamps the send time into an encoded quote in place (the
// generator stamps each quote as it sends it). It does nothing when msg is
// shorter than QuoteLen.
func PutQuoteSendTime(msg []byte, ns uint64) {
	if len(msg) >= QuoteLen {
		binary.BigEndian.PutUint64(msg[offQuoteSendTime:], ns)
	}
}

// appendFixed appends a signed v/10^dec with dec fraction digits.
func appendFixed(b []byte, v int64, dec int) []byte {
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = -u
	}
	return appendDecimal(b, u, dec)
}
