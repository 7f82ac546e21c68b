package decode

import (
	"encoding/binary"
	"strconv"
)

//go:generate go run gen_itch.go

// ITCHHeaderLen is the size of the header every ITCH 5.0 message starts with:
// type (1), stock locate (2), tracking number (2), timestamp (6).
const ITCHHeaderLen = 11

// Stock is an ITCH 5.0 security symbol: 8 bytes of ASCII, space padded on the
// right. Returning it by value copies 8 bytes and never allocates.
type Stock [8]byte

// MakeStock returns s as a space-padded Stock. It fails with
// ErrStockLength when s is longer than 8 bytes.
func MakeStock(s string) (Stock, error) {
	var st Stock
	if len(s) > len(st) {
		return st, ErrStockLength
	}
	n := copy(st[:], s)
	for ; n < len(st); n++ {
		st[n] = ' '
	}
	return st, nil
}

// Trim returns the symbol without its padding. It aliases st and has a
// pointer receiver so that it does not allocate: assign the Stock to a
// variable first (st := a.Stock(); st.Trim()).
func (st *Stock) Trim() []byte {
	n := len(st)
	for n > 0 && st[n-1] == ' ' {
		n--
	}
	return st[:n]
}

// String returns the symbol without its padding. It allocates.
func (st Stock) String() string { return string(st.Trim()) }

// MPID is a 4-byte market participant identifier, space padded.
type MPID [4]byte

// String returns the identifier without its padding. It allocates.
func (id MPID) String() string { return string(trimRight(id[:])) }

// ITCHLength returns the spec length of ITCH 5.0 messages of type t, type
// byte included, or 0 if t is not an ITCH 5.0 type.
func ITCHLength(t byte) int { return int(itchLengths[t]) }

// ValidateITCH checks that msg is a known ITCH 5.0 message of its spec length
// and returns its type byte. Errors: ErrEmptyMessage, ErrUnknownType (skip the
// message by its framed length and count it), ErrITCHLength. It does not
// allocate.
//
//	t, err := decode.ValidateITCH(msg)
//	switch {
//	case err != nil:
//		// count by reason
//	case t == 'A':
//		var a decode.AddOrder
//		_ = a.Wrap(msg) // cannot fail after ValidateITCH
//	}
func ValidateITCH(msg []byte) (byte, error) {
	if len(msg) == 0 {
		return 0, ErrEmptyMessage
	}
	n := int(itchLengths[msg[0]])
	if n == 0 {
		return msg[0], ErrUnknownType
	}
	if len(msg) != n {
		return msg[0], ErrITCHLength
	}
	return msg[0], nil
}

// checkITCH is the check every view's Wrap makes.
func checkITCH(msg []byte, t byte, n int) error {
	switch {
	case len(msg) == 0:
		return ErrEmptyMessage
	case msg[0] != t:
		return ErrWrongType
	case len(msg) != n:
		return ErrITCHLength
	}
	return nil
}

// StockLocate returns the stock locate of any ITCH 5.0 message (u16 at
// offset 1), or 0 when msg is shorter than 3 bytes.
func StockLocate(msg []byte) uint16 {
	if len(msg) < 3 {
		return 0
	}
	return binary.BigEndian.Uint16(msg[1:])
}

// TrackingNumber returns the tracking number of any ITCH 5.0 message, or 0
// when msg is shorter than 5 bytes.
func TrackingNumber(msg []byte) uint16 {
	if len(msg) < 5 {
		return 0
	}
	return binary.BigEndian.Uint16(msg[3:])
}

// Timestamp returns the timestamp (ns since midnight) of any ITCH 5.0
// message, or 0 when msg is shorter than the 11-byte header.
func Timestamp(msg []byte) uint64 {
	if len(msg) < ITCHHeaderLen {
		return 0
	}
	return timestamp(msg[3:11])
}

// AppendITCHText appends a one-line text form of msg to dst (for mdtail and
// debugging). Invalid messages are shown with their type, length and error.
func AppendITCHText(dst, msg []byte) []byte {
	t, err := ValidateITCH(msg)
	if err != nil {
		dst = append(dst, "invalid "...)
		if len(msg) > 0 {
			dst = appendAlpha(dst, t)
			dst = append(dst, ' ')
		}
		dst = append(dst, "len="...)
		dst = strconv.AppendInt(dst, int64(len(msg)), 10)
		dst = append(dst, ": "...)
		return append(dst, err.Error()...)
	}
	return appendITCH(dst, t, msg)
}

// ITCHString returns AppendITCHText(nil, msg) as a string. It allocates.
func ITCHString(msg []byte) string { return string(AppendITCHText(nil, msg)) }

// timestamp reads the 6-byte timestamp at offset 5 of a message, given
// bytes 3 to 11: one 8-byte load, masked, instead of six byte loads.
func timestamp(b []byte) uint64 {
	return binary.BigEndian.Uint64(b) & (1<<48 - 1)
}

// appendHeader appends the common ITCH header; ts keeps its low 48 bits.
func appendHeader(dst []byte, t byte, locate, tracking uint16, ts uint64) []byte {
	dst = append(dst, t)
	dst = binary.BigEndian.AppendUint16(dst, locate)
	dst = binary.BigEndian.AppendUint16(dst, tracking)
	return append(dst, byte(ts>>40), byte(ts>>32), byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts))
}

func appendTextHeader(dst []byte, t byte, locate, tracking uint16, ts uint64) []byte {
	dst = append(dst, t)
	dst = append(dst, " loc="...)
	dst = strconv.AppendUint(dst, uint64(locate), 10)
	dst = append(dst, " trk="...)
	dst = strconv.AppendUint(dst, uint64(tracking), 10)
	dst = append(dst, " ts="...)
	return strconv.AppendUint(dst, ts, 10)
}

// appendAlpha appends a one-byte code, escaping it when not printable.
func appendAlpha(dst []byte, c byte) []byte {
	if c >= 0x20 && c < 0x7f {
		return append(dst, c)
	}
	const hex = "0123456789abcdef"
	return append(dst, '\\', 'x', hex[c>>4], hex[c&15])
}

// appendText appends a space-padded text field without its padding.
func appendText(dst, b []byte) []byte {
	for _, c := range trimRight(b) {
		dst = appendAlpha(dst, c)
	}
	return dst
}

func trimRight(b []byte) []byte {
	n := len(b)
	for n > 0 && b[n-1] == ' ' {
		n--
	}
	return b[:n]
}
