package publish

import (
	"mdcast/decode"
	"mdcast/ring"
)

// LineNotice is the ring.Packet.Line that marks a packet carrying a notice
// made by the daemon itself rather than upstream data: its bytes are one
// encoded control message (decode.AppendUpstreamLoss), not a MoldUDP64
// packet. A notice travels through Offer or the Input ring like data, so it
// keeps its place among the packets around it. The feed's lines are 0 and
// 1 and its recovery answers feed.LineRecovery (0xFF), so the value is free.
const LineNotice uint8 = 0xFE

// NoticePacket fills p (fresh from a pool: refs 1) with the upstream loss
// notice f and marks it LineNotice, ready for Offer or the Input ring. It
// returns false, leaving p unmarked, when p's buffer cannot hold a notice.
// It does not allocate.
func NoticePacket(p *ring.Packet, f decode.UpstreamLossFields, nowNs int64) bool {
	if cap(p.Buf) < decode.UpstreamLossLen {
		return false
	}
	p.N = len(decode.AppendUpstreamLoss(p.Buf[:0], f))
	p.RecvNs, p.Seq, p.Skip, p.Line = nowNs, 0, 0, LineNotice
	return true
}

// PublishNotice appends the control message msg (an upstream loss notice)
// to every channel the worker owns, after whatever each channel already
// holds, as one message with its own sequence: it is framed, kept in the
// History, re-requestable and counted (ChannelCounters.Messages and
// Notices) like data. Call it on the worker's thread, like Offer; a notice
// from another thread goes through the Input ring (NoticePacket). It
// returns false, publishing nothing, for a malformed notice (counted in
// Malformed) or after the end of session (AfterEnd). It does not allocate.
func (w *Worker) PublishNotice(msg []byte) bool {
	if w.ended {
		w.Counters.AfterEnd.Add(1)
		return false
	}
	ok := w.notice(msg)
	w.inline++
	return ok
}

// notice is PublishNotice, and process's path for a LineNotice packet.
func (w *Worker) notice(msg []byte) bool {
	var u decode.UpstreamLoss
	if u.Wrap(msg) != nil {
		w.Counters.Malformed.Add(1)
		return false
	}
	for _, c := range w.owned {
		if !c.w.Append(msg) {
			w.appendSlow(c, msg)
		}
		c.Counters.Notices.Add(1)
	}
	w.Counters.Notices.Add(1)
	return true
}
