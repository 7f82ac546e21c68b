package main

import (
	"fmt"
	"strconv"
)

// group formats an integer with thousands separators.
func group(v uint64) string { return string(appendGrouped(nil, v)) }

// micros formats nanoseconds as microseconds.
func micros(ns int64) string {
	if ns == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fµs", float64(ns)/1000)
}

// progressLine formats the once-a-second progress line into a reused
// buffer: it is printed inside the measured interval, whose allocations the
// report counts, so it must not allocate.
type progressLine struct {
	buf []byte
}

func (p *progressLine) line(name string, elapsedNs int64, phase string, sent, received, rate uint64, p99Ns int64) []byte {
	b := p.buf[:0]
	b = pad(append(b, name...), 19)
	b = strconv.AppendFloat(b, float64(elapsedNs)/1e9, 'f', 1, 64)
	b = append(b, "s "...)
	col := len(b)
	b = pad(append(b, phase...), col+10)
	b = appendGrouped(append(b, "sent "...), sent)
	b = appendGrouped(append(b, "  received "...), received)
	b = appendGrouped(append(b, "  "...), rate)
	b = append(b, " msg/s  p99 so far "...)
	if p99Ns == 0 {
		b = append(b, '-')
	} else {
		b = strconv.AppendFloat(b, float64(p99Ns)/1000, 'f', 2, 64)
		b = append(b, "µs"...)
	}
	return append(b, '\n')
}

// pad appends spaces until b is n bytes long.
func pad(b []byte, n int) []byte {
	for len(b) < n {
		b = append(b, ' ')
	}
	return b
}

// appendGrouped appends v with thousands separators.
func appendGrouped(b []byte, v uint64) []byte {
	var tmp [20]byte
	d := strconv.AppendUint(tmp[:0], v, 10)
	for i := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, d[i])
	}
	return b
}
