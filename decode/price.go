package decode

import "strconv"

// Price4 is an ITCH 5.0 Price(4) field: an unsigned integer with 4 implied
// decimal places (215000 is 21.5000).
type Price4 uint32

// Price8 is an ITCH 5.0 Price(8) field (the MWCB levels): an unsigned integer
// with 8 implied decimal places.
type Price8 uint64

// Price4Scale and Price8Scale are the number of units per currency unit.
const (
	Price4Scale = 10_000
	Price8Scale = 100_000_000
)

// Float64 returns the price as a float (for display; do not compute with it).
func (p Price4) Float64() float64 { return float64(p) / Price4Scale }

// Append appends the price with 4 decimals ("21.3300") to dst.
func (p Price4) Append(dst []byte) []byte { return appendDecimal(dst, uint64(p), 4) }

// String returns the price with 4 decimals. It allocates.
func (p Price4) String() string { return string(p.Append(make([]byte, 0, 16))) }

// Float64 returns the price as a float (for display; do not compute with it).
func (p Price8) Float64() float64 { return float64(p) / Price8Scale }

// Append appends the price with 8 decimals to dst.
func (p Price8) Append(dst []byte) []byte { return appendDecimal(dst, uint64(p), 8) }

// String returns the price with 8 decimals. It allocates.
func (p Price8) String() string { return string(p.Append(make([]byte, 0, 32))) }

// appendDecimal appends u/10^dec with exactly dec fraction digits.
func appendDecimal(dst []byte, u uint64, dec int) []byte {
	var scale uint64 = 1
	for i := 0; i < dec; i++ {
		scale *= 10
	}
	dst = strconv.AppendUint(dst, u/scale, 10)
	if dec == 0 {
		return dst
	}
	dst = append(dst, '.')
	frac := u % scale
	for s := scale / 10; s > 0; s /= 10 {
		dst = append(dst, byte('0'+frac/s%10))
	}
	return dst
}
