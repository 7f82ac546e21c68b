package publish

import "sync/atomic"

// ChannelCounters count one channel's traffic, history and re-requests. The
// worker owning the channel is the only writer; any goroutine may read them
// (Snapshot). Counters are updated per packet or per request, never per
// message.
type ChannelCounters struct {
	Packets      atomic.Uint64 // data packets sent
	Messages     atomic.Uint64 // messages in data packets sent
	Bytes        atomic.Uint64 // UDP payload bytes of data packets sent
	Heartbeats   atomic.Uint64 // heartbeat packets sent
	EndOfSession atomic.Uint64 // end-of-session packets sent (first and repeats)
	Notices      atomic.Uint64 // control notices published (each also one of Messages)

	HistoryMessages atomic.Uint64 // gauge: messages retained
	HistoryBytes    atomic.Uint64 // gauge: bytes retained
	HistoryEvicted  atomic.Uint64 // messages evicted from history

	Requests          atomic.Uint64 // re-request datagrams received
	Served            atomic.Uint64 // re-requests answered
	ServedMessages    atomic.Uint64 // messages retransmitted
	ServedBytes       atomic.Uint64 // bytes retransmitted (UDP payload)
	RefusedACL        atomic.Uint64 // source outside the ACL; nothing sent
	RefusedSession    atomic.Uint64 // wrong session; nothing sent
	OutOfHistory      atomic.Uint64 // evicted or not yet sent; nothing sent
	PartlyEvicted     atomic.Uint64 // start evicted, rest retained: answered from the oldest retained
	Suppressed        atomic.Uint64 // repeat within the linger window
	RateLimited       atomic.Uint64 // requester over its byte rate
	Busy              atomic.Uint64 // response pool or requester table full
	RequesterInFlight atomic.Uint64 // requester already holds its share of the answers in flight
	MalformedRequests atomic.Uint64 // not a valid 20-byte re-request
	ResponseErrors    atomic.Uint64 // a response that failed to send
}

// ChannelStats is a plain copy of ChannelCounters plus the channel's identity.
type ChannelStats struct {
	Index       int
	Name        string
	Group       string
	RequestAddr string
	Session     string
	NextSeq     uint64 // sequence of the next message (1 before any)

	Packets, Messages, Bytes, Heartbeats, EndOfSession uint64
	Notices                                            uint64
	HistoryMessages, HistoryBytes, HistoryEvicted      uint64

	Requests, Served, ServedMessages, ServedBytes        uint64
	RefusedACL, RefusedSession, OutOfHistory, Suppressed uint64
	PartlyEvicted                                        uint64
	RateLimited, Busy, MalformedRequests, ResponseErrors uint64
	RequesterInFlight                                    uint64
}

// Snapshot copies the counters (each read atomically; the set is not one
// instant). Identity fields are left zero.
func (c *ChannelCounters) Snapshot() ChannelStats {
	return ChannelStats{
		Packets:           c.Packets.Load(),
		Messages:          c.Messages.Load(),
		Bytes:             c.Bytes.Load(),
		Heartbeats:        c.Heartbeats.Load(),
		EndOfSession:      c.EndOfSession.Load(),
		Notices:           c.Notices.Load(),
		HistoryMessages:   c.HistoryMessages.Load(),
		HistoryBytes:      c.HistoryBytes.Load(),
		HistoryEvicted:    c.HistoryEvicted.Load(),
		Requests:          c.Requests.Load(),
		Served:            c.Served.Load(),
		ServedMessages:    c.ServedMessages.Load(),
		ServedBytes:       c.ServedBytes.Load(),
		RefusedACL:        c.RefusedACL.Load(),
		RefusedSession:    c.RefusedSession.Load(),
		OutOfHistory:      c.OutOfHistory.Load(),
		PartlyEvicted:     c.PartlyEvicted.Load(),
		Suppressed:        c.Suppressed.Load(),
		RateLimited:       c.RateLimited.Load(),
		Busy:              c.Busy.Load(),
		RequesterInFlight: c.RequesterInFlight.Load(),
		MalformedRequests: c.MalformedRequests.Load(),
		ResponseErrors:    c.ResponseErrors.Load(),
	}
}

// WorkerCounters count one worker's input and sends. The worker's thread is
// the only writer; any goroutine may read them.
type WorkerCounters struct {
	PacketsIn      atomic.Uint64 // input packets processed (malformed included)
	MessagesIn     atomic.Uint64 // input messages looked at (after Skip)
	Skipped        atomic.Uint64 // leading duplicate messages skipped (ring.Packet.Skip)
	Malformed      atomic.Uint64 // input packets failing MoldUDP64 validation, and malformed notices; dropped
	NoKey          atomic.Uint64 // messages without a routing key (too short, or not a quote); dropped
	Unrouted       atomic.Uint64 // messages whose key is in no route range; dropped
	ReservedType   atomic.Uint64 // upstream messages of a reserved mdcast control type (decode.UpstreamLossType); dropped
	Notices        atomic.Uint64 // notices published on every owned channel (PublishNotice, LineNotice packets)
	Oversize       atomic.Uint64 // messages larger than one packet can hold; dropped
	AfterEnd       atomic.Uint64 // input packets refused after end of session
	SendErrors     atomic.Uint64 // sendmmsg calls that failed
	SendDropped    atomic.Uint64 // datagrams lost to failed sendmmsg calls
	SendCalls      atomic.Uint64 // sendmmsg calls
	RequestErrors  atomic.Uint64 // errors reading request sockets (other than would-block)
	InputHighWater atomic.Uint64 // most packets drained from the input ring in one DoWork
}

// WorkerStats is a plain copy of WorkerCounters.
type WorkerStats struct {
	PacketsIn, MessagesIn, Skipped, Malformed, NoKey, Unrouted, Oversize, AfterEnd uint64
	ReservedType, Notices                                                          uint64
	SendErrors, SendDropped, SendCalls, RequestErrors, InputHighWater              uint64
}

// Snapshot copies the counters.
func (c *WorkerCounters) Snapshot() WorkerStats {
	return WorkerStats{
		PacketsIn:      c.PacketsIn.Load(),
		MessagesIn:     c.MessagesIn.Load(),
		Skipped:        c.Skipped.Load(),
		Malformed:      c.Malformed.Load(),
		NoKey:          c.NoKey.Load(),
		Unrouted:       c.Unrouted.Load(),
		ReservedType:   c.ReservedType.Load(),
		Notices:        c.Notices.Load(),
		Oversize:       c.Oversize.Load(),
		AfterEnd:       c.AfterEnd.Load(),
		SendErrors:     c.SendErrors.Load(),
		SendDropped:    c.SendDropped.Load(),
		SendCalls:      c.SendCalls.Load(),
		RequestErrors:  c.RequestErrors.Load(),
		InputHighWater: c.InputHighWater.Load(),
	}
}

// Stats is a worker's counters and those of each channel it owns.
type Stats struct {
	Worker   WorkerStats
	Channels []ChannelStats
}
