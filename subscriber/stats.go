package subscriber

import (
	"sync/atomic"
	"time"
)

// channelCounters are written by the receive agent and read by Stats.
type channelCounters struct {
	packets          atomic.Uint64
	messages         atomic.Uint64
	heartbeats       atomic.Uint64
	gaps             atomic.Uint64
	recovered        atomic.Uint64
	lost             atomic.Uint64
	duplicates       atomic.Uint64
	requests         atomic.Uint64
	retransmits      atomic.Uint64
	sessionChanges   atomic.Uint64
	endOfSessions    atomic.Uint64
	injectedDrops    atomic.Uint64
	malformed        atomic.Uint64
	stale            atomic.Uint64
	farSequence      atomic.Uint64
	tooLarge         atomic.Uint64
	upstreamLosses   atomic.Uint64
	upstreamLost     atomic.Uint64
	malformedNotices atomic.Uint64
	holdFull         atomic.Uint64
	sendErrors       atomic.Uint64
	recvErrors       atomic.Uint64
	gapsMerged       atomic.Uint64 // mirrored from the GapDetector after each poll
	gapping          atomic.Int64  // holes open, mirrored likewise
	next             atomic.Uint64 // mirrored likewise
	highest          atomic.Uint64
	held             atomic.Int64
	rtt              atomic.Int64
}

// ChannelStats are one channel's counters (all cumulative).
type ChannelStats struct {
	Name             string
	Group            string
	Packets          uint64 // data packets accepted (channel and retransmissions)
	Messages         uint64 // messages delivered in order (to every consumer)
	Heartbeats       uint64
	Gaps             uint64 // holes detected
	Recovered        uint64 // sequences of holes filled (by retransmission or reordering)
	Lost             uint64 // sequences delivered as Loss events (any reason but SlowConsumer and Upstream)
	Duplicates       uint64 // messages received again and dropped
	Requests         uint64 // re-requests sent
	Retransmits      uint64 // packets received on the request socket
	SessionChanges   uint64
	EndOfSessions    uint64
	InjectedDrops    uint64 // packets dropped by Config.Loss
	Malformed        uint64 // datagrams that failed MoldUDP64 validation or were truncated
	Stale            uint64 // packets of a previous session, or answers before the first packet
	FarSequence      uint64 // packets more than 2^24 sequences beyond the highest seen, dropped (forged or junk)
	TooLarge         uint64 // messages longer than MaxMessageLen (delivered as Loss)
	UpstreamLosses   uint64 // upstream loss notices delivered as Loss events (reason Upstream)
	UpstreamLost     uint64 // upstream messages those notices report lost (at the daemon's feed, for every channel)
	MalformedNotices uint64 // messages of the notice type that failed validation (delivered as Data)
	HoldFull         uint64 // out-of-order packets not held for want of room (re-requested)
	GapsMerged       uint64 // holes merged for want of a gap record
	SendErrors       uint64
	RecvErrors       uint64
	Gapping          int           // holes being repaired now
	Held             int           // packets held ahead of a hole now
	Next             uint64        // next sequence to deliver
	Highest          uint64        // one past the highest sequence seen
	RTT              time.Duration // smoothed re-request round trip (0 until measured)
}

// Stats is a snapshot of a Subscriber's counters, as plain values.
type Stats struct {
	Channels  []ChannelStats
	Consumers []ConsumerStats
}

// Stats returns the counters of every channel and consumer. It is safe from
// any goroutine (GapsMerged, Gapping, Held, Next, Highest and RTT are mirrored by the receive agent
// after each poll, so they may lag slightly); it allocates the returned slices.
func (s *Subscriber) Stats() Stats {
	var st Stats
	for i, c := range s.chans {
		k := c.ctr
		st.Channels = append(st.Channels, ChannelStats{
			Name:             s.cfg.Channels[i].Name,
			Group:            s.cfg.Channels[i].Group,
			Packets:          k.packets.Load(),
			Messages:         k.messages.Load(),
			Heartbeats:       k.heartbeats.Load(),
			Gaps:             k.gaps.Load(),
			Recovered:        k.recovered.Load(),
			Lost:             k.lost.Load(),
			Duplicates:       k.duplicates.Load(),
			Requests:         k.requests.Load(),
			Retransmits:      k.retransmits.Load(),
			SessionChanges:   k.sessionChanges.Load(),
			EndOfSessions:    k.endOfSessions.Load(),
			InjectedDrops:    k.injectedDrops.Load(),
			Malformed:        k.malformed.Load(),
			Stale:            k.stale.Load(),
			FarSequence:      k.farSequence.Load(),
			TooLarge:         k.tooLarge.Load(),
			UpstreamLosses:   k.upstreamLosses.Load(),
			UpstreamLost:     k.upstreamLost.Load(),
			MalformedNotices: k.malformedNotices.Load(),
			HoldFull:         k.holdFull.Load(),
			SendErrors:       k.sendErrors.Load(),
			RecvErrors:       k.recvErrors.Load(),
			GapsMerged:       k.gapsMerged.Load(),
			Gapping:          int(k.gapping.Load()),
			Held:             int(k.held.Load()),
			Next:             k.next.Load(),
			Highest:          k.highest.Load(),
			RTT:              time.Duration(k.rtt.Load()),
		})
	}
	for _, c := range s.consumers.Load().all {
		st.Consumers = append(st.Consumers, c.Stats())
	}
	return st
}
