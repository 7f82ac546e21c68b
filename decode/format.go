package decode

import "encoding/binary"

// Format names the message format a feed carries inside MoldUDP64. A feed's
// format is set in its config, never sniffed from the bytes.
type Format uint8

// Message formats.
const (
	FormatITCH  Format = iota + 1 // NASDAQ TotalView-ITCH 5.0
	FormatQuote                   // mdcast quote
)

// ParseFormat parses "itch" or "quote".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "itch":
		return FormatITCH, nil
	case "quote":
		return FormatQuote, nil
	}
	return 0, ErrUnknownFormat
}

// String returns "itch", "quote" or "unknown".
func (f Format) String() string {
	switch f {
	case FormatITCH:
		return "itch"
	case FormatQuote:
		return "quote"
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler (so TOML configs print the name).
func (f Format) MarshalText() ([]byte, error) {
	if f != FormatITCH && f != FormatQuote {
		return nil, ErrUnknownFormat
	}
	return []byte(f.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseFormat.
func (f *Format) UnmarshalText(b []byte) error {
	v, err := ParseFormat(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// InstrumentKey returns the routing key of msg: the stock locate (u16 at
// offset 1) of an ITCH message, or the instrument id of a quote. It returns
// false when msg is too short to hold the key, when a quote message does not
// have type QuoteType, or for an unknown format. It does not allocate.
func InstrumentKey(f Format, msg []byte) (uint32, bool) {
	switch f {
	case FormatITCH:
		if len(msg) < 3 {
			return 0, false
		}
		return uint32(binary.BigEndian.Uint16(msg[1:])), true
	case FormatQuote:
		if len(msg) < offQuoteInstr+4 || msg[0] != QuoteType {
			return 0, false
		}
		return binary.BigEndian.Uint32(msg[offQuoteInstr:]), true
	}
	return 0, false
}
