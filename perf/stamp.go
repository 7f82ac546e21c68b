package perf

import (
	"encoding/binary"

	"mdcast/decode"
)

// itchTimestampOff is the offset of the 6-byte timestamp in every ITCH 5.0
// message (after type, stock locate and tracking number).
const itchTimestampOff = 5

// itchHeaderLen is the common ITCH 5.0 header: type, locate, tracking, timestamp.
const itchHeaderLen = 11

// Stamp reads back the intended send time a Generator put in a message.
//
// Synthetic quotes carry it in the quote's SendTime field, as an absolute
// CLOCK_MONOTONIC time, so any process on the host can measure against it.
//
// Replayed ITCH messages have no such field, and the daemon re-sequences
// messages per channel, so a message's downstream sequence cannot be mapped
// back to the generator's upstream sequence once there is more than one
// channel. The generator therefore overwrites each replayed message's 6-byte
// ITCH timestamp (nanoseconds since midnight in the file) with its intended
// send time in nanoseconds since the generator's start (EpochNs); 48 bits
// last 78 hours. The replay keeps its message mix, sizes and instrument
// routing; only the exchange timestamps are replaced, and they are not what
// the replay measures.
//
// A Stamp is a small value; SentAt does not allocate.
type Stamp struct {
	Format  decode.Format
	EpochNs int64 // ITCH: the generator's start (Generator.StartNs)
}

// SentAt returns the intended send time of msg, or false when msg is not a
// message the generator could have stamped (too short, not a quote).
func (s Stamp) SentAt(msg []byte) (int64, bool) {
	if s.Format == decode.FormatITCH {
		if len(msg) < itchHeaderLen {
			return 0, false
		}
		b := msg[itchTimestampOff:itchHeaderLen]
		ts := uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(binary.BigEndian.Uint32(b[2:]))
		return s.EpochNs + int64(ts), true
	}
	var q decode.Quote
	if q.Wrap(msg) != nil {
		return 0, false
	}
	return int64(q.SendTime()), true
}

// putITCHTimestamp writes the low 48 bits of ns as msg's ITCH timestamp.
func putITCHTimestamp(msg []byte, ns uint64) {
	if len(msg) < itchHeaderLen {
		return
	}
	b := msg[itchTimestampOff:itchHeaderLen]
	b[0] = byte(ns >> 40)
	b[1] = byte(ns >> 32)
	binary.BigEndian.PutUint32(b[2:], uint32(ns))
}
