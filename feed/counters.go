package feed

import (
	"sync/atomic"

	"mdcast/decode"
)

// Malformed reasons, one counter each. The decode sentinels a datagram can
// fail Packet.Wrap with map one to one; reasonOversize is a datagram larger
// than the packet buffer (the kernel truncated it) and reasonOther anything
// decode may add later.
const (
	reasonShort = iota
	reasonMissingMessages
	reasonLengthPastEnd
	reasonTruncated
	reasonTrailingBytes
	reasonSequenceOverflow
	reasonOversize
	reasonOther
	numReasons
)

// reasonOf maps a Packet.Wrap error to its counter. It compares sentinels
// and so never allocates.
func reasonOf(err error) int {
	switch err {
	case decode.ErrShortPacket:
		return reasonShort
	case decode.ErrMissingMessages:
		return reasonMissingMessages
	case decode.ErrLengthPastEnd:
		return reasonLengthPastEnd
	case decode.ErrTruncatedMessage:
		return reasonTruncated
	case decode.ErrTrailingBytes:
		return reasonTrailingBytes
	case decode.ErrSequenceOverflow:
		return reasonSequenceOverflow
	}
	return reasonOther
}

// LineCounters counts what one line received. They are written by the
// receiver's goroutine only and may be read from any goroutine; Snapshot
// returns them as plain values.
type LineCounters struct {
	Datagrams         atomic.Uint64             // datagrams read from the socket, valid or not
	Bytes             atomic.Uint64             // bytes of those datagrams
	Packets           atomic.Uint64             // valid MoldUDP64 packets passed on to arbitration (data, heartbeat, end of session)
	Messages          atomic.Uint64             // messages in those packets
	Heartbeats        atomic.Uint64             // heartbeats among Packets
	Malformed         [numReasons]atomic.Uint64 // datagrams that failed validation, by reason (see MalformedStats)
	WrongSession      atomic.Uint64             // valid packets of a session not followed, dropped
	FarSequence       atomic.Uint64             // valid packets whose sequence lay more than 2^24 from the next expected, dropped
	DuplicatePackets  atomic.Uint64             // packets whose every message was already delivered, dropped
	DuplicateMessages atomic.Uint64             // messages already delivered: whole duplicate packets plus skipped leading messages
	InjectedDrops     atomic.Uint64             // packets dropped by loss injection
	InjectedMessages  atomic.Uint64             // messages in those packets
	Strangers         atomic.Uint64             // datagrams from an unexpected source (recovery socket only), dropped
}

// MalformedStats is the number of malformed datagrams by reason. The
// field names follow the decode sentinels.
type MalformedStats struct {
	Short            uint64 `json:"short"`             // decode.ErrShortPacket
	MissingMessages  uint64 `json:"missing_messages"`  // decode.ErrMissingMessages
	LengthPastEnd    uint64 `json:"length_past_end"`   // decode.ErrLengthPastEnd
	Truncated        uint64 `json:"truncated"`         // decode.ErrTruncatedMessage
	TrailingBytes    uint64 `json:"trailing_bytes"`    // decode.ErrTrailingBytes
	SequenceOverflow uint64 `json:"sequence_overflow"` // decode.ErrSequenceOverflow
	Oversize         uint64 `json:"oversize"`          // larger than the packet buffer
	Other            uint64 `json:"other"`             // any other decode error
}

// Total returns the sum over all reasons.
func (m MalformedStats) Total() uint64 {
	return m.Short + m.MissingMessages + m.LengthPastEnd + m.Truncated +
		m.TrailingBytes + m.SequenceOverflow + m.Oversize + m.Other
}

// LineStats is a snapshot of one line's counters.
type LineStats struct {
	Name              string         `json:"name"`
	Addr              string         `json:"addr"`
	Datagrams         uint64         `json:"datagrams"`
	Bytes             uint64         `json:"bytes"`
	Packets           uint64         `json:"packets"`
	Messages          uint64         `json:"messages"`
	Heartbeats        uint64         `json:"heartbeats"`
	Malformed         MalformedStats `json:"malformed"`
	WrongSession      uint64         `json:"wrong_session"`
	FarSequence       uint64         `json:"far_sequence"`
	DuplicatePackets  uint64         `json:"duplicate_packets"`
	DuplicateMessages uint64         `json:"duplicate_messages"`
	InjectedDrops     uint64         `json:"injected_drops"`
	InjectedMessages  uint64         `json:"injected_messages"`
	Strangers         uint64         `json:"strangers"`
	KernelDrops       uint64         `json:"kernel_drops"` // datagrams the kernel dropped on this socket (receive buffer full), from /proc/net/udp
}

// Snapshot returns the counters as plain values (Name and Addr left empty).
func (c *LineCounters) Snapshot() LineStats {
	m := &c.Malformed
	return LineStats{
		Datagrams:  c.Datagrams.Load(),
		Bytes:      c.Bytes.Load(),
		Packets:    c.Packets.Load(),
		Messages:   c.Messages.Load(),
		Heartbeats: c.Heartbeats.Load(),
		Malformed: MalformedStats{
			Short:            m[reasonShort].Load(),
			MissingMessages:  m[reasonMissingMessages].Load(),
			LengthPastEnd:    m[reasonLengthPastEnd].Load(),
			Truncated:        m[reasonTruncated].Load(),
			TrailingBytes:    m[reasonTrailingBytes].Load(),
			SequenceOverflow: m[reasonSequenceOverflow].Load(),
			Oversize:         m[reasonOversize].Load(),
			Other:            m[reasonOther].Load(),
		},
		WrongSession:      c.WrongSession.Load(),
		FarSequence:       c.FarSequence.Load(),
		DuplicatePackets:  c.DuplicatePackets.Load(),
		DuplicateMessages: c.DuplicateMessages.Load(),
		InjectedDrops:     c.InjectedDrops.Load(),
		InjectedMessages:  c.InjectedMessages.Load(),
		Strangers:         c.Strangers.Load(),
	}
}

// Counters counts what the arbiter did with the lines' packets. Written by
// the receiver's goroutine only; readable from any goroutine.
type Counters struct {
	EmittedPackets     atomic.Uint64 // packets handed to the Output
	EmittedMessages    atomic.Uint64 // new messages in them (duplicates skipped excluded)
	OutputFullPackets  atomic.Uint64 // packets the Output refused (consumer full): a loss
	OutputFullMessages atomic.Uint64 // new messages in those packets
	Gaps               atomic.Uint64 // holes declared gaps (by distance, by time, or reorder buffer full)
	ReorderFull        atomic.Uint64 // gaps declared because the reorder buffer was full
	RecoveredMessages  atomic.Uint64 // messages delivered from answers of the upstream re-request server
	Losses             atomic.Uint64 // gaps given up as upstream loss (events)
	UpstreamLost       atomic.Uint64 // messages in those losses
	RequestsSent       atomic.Uint64 // re-requests sent upstream
	RequestErrors      atomic.Uint64 // re-requests the socket failed to send
	SessionChanges     atomic.Uint64 // switches to a new upstream session
	EndOfSessions      atomic.Uint64 // sessions ended by an end-of-session packet
	ReorderHighWater   atomic.Uint64 // most packets ever held in the reorder buffer
	Held               atomic.Uint64 // packets held in the reorder buffer now
	NextSequence       atomic.Uint64 // next sequence expected, updated once per DoWork
}

// Stats is a snapshot of a Receiver's counters, for the daemon's /metrics
// and /stats.
type Stats struct {
	Name               string      `json:"name"`
	Session            string      `json:"session"`
	NextSequence       uint64      `json:"next_sequence"`
	Lines              []LineStats `json:"lines"`
	Recovery           *LineStats  `json:"recovery,omitempty"` // the re-request socket, when Recovery.Addr is set
	EmittedPackets     uint64      `json:"emitted_packets"`
	EmittedMessages    uint64      `json:"emitted_messages"`
	OutputFullPackets  uint64      `json:"output_full_packets"`
	OutputFullMessages uint64      `json:"output_full_messages"`
	Gaps               uint64      `json:"gaps"`
	ReorderFull        uint64      `json:"reorder_full"`
	RecoveredMessages  uint64      `json:"recovered_messages"`
	Losses             uint64      `json:"losses"`
	UpstreamLost       uint64      `json:"upstream_lost"`
	RequestsSent       uint64      `json:"requests_sent"`
	RequestErrors      uint64      `json:"request_errors"`
	SessionChanges     uint64      `json:"session_changes"`
	EndOfSessions      uint64      `json:"end_of_sessions"`
	ReorderHighWater   uint64      `json:"reorder_high_water"`
	Held               uint64      `json:"held"`
}

// snapshot fills the arbiter part of Stats.
func (c *Counters) snapshot(s *Stats) {
	s.NextSequence = c.NextSequence.Load()
	s.EmittedPackets = c.EmittedPackets.Load()
	s.EmittedMessages = c.EmittedMessages.Load()
	s.OutputFullPackets = c.OutputFullPackets.Load()
	s.OutputFullMessages = c.OutputFullMessages.Load()
	s.Gaps = c.Gaps.Load()
	s.ReorderFull = c.ReorderFull.Load()
	s.RecoveredMessages = c.RecoveredMessages.Load()
	s.Losses = c.Losses.Load()
	s.UpstreamLost = c.UpstreamLost.Load()
	s.RequestsSent = c.RequestsSent.Load()
	s.RequestErrors = c.RequestErrors.Load()
	s.SessionChanges = c.SessionChanges.Load()
	s.EndOfSessions = c.EndOfSessions.Load()
	s.ReorderHighWater = c.ReorderHighWater.Load()
	s.Held = c.Held.Load()
}
