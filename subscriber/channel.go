package subscriber

import (
	"net/netip"

	"mdcast/decode"
	"mdcast/internal/clock"
	"mdcast/internal/farseq"
	"mdcast/internal/lossinject"
	"mdcast/internal/udpsock"
)

// heldPacket is a packet that arrived ahead of a hole, kept until the hole
// is repaired or given up.
type heldPacket struct {
	from, end uint64 // sequences from..end-1
	recvNs    int64
	n         int
	buf       []byte // PacketSize bytes, allocated once
}

// channel is the receive state of one channel: session, next sequence to
// deliver, packets held ahead of holes and the holes' GapDetector. It turns
// datagrams into an in-order stream of Data and events, which it offers to
// its consumers. It belongs to the receive agent.
type channel struct {
	// hot path
	next    uint64 // 8 B: next sequence to deliver
	highest uint64 // 8 B: one past the highest sequence seen (>= next)
	idx     int
	epoch   uint32 // counts sessions, carried in every Message
	session decode.Session
	joined  bool
	cons    []*Consumer // this channel's consumers, refreshed every DoWork
	msg     Message     // scratch Message offered to the consumers
	ctr     *channelCounters

	held []*heldPacket // sorted by from, disjoint starts
	free []*heldPacket
	gaps *GapDetector
	inj  *lossinject.Injector

	prevSession decode.Session
	hasPrev     bool
	eos         uint64
	eosPending  bool
	far         farseq.Run // far-ahead packets in a row (farOff)
	ended       bool       // EndOfSession delivered: later ones of this session are repeats
	history     uint64

	conn    *udpsock.Conn // multicast group socket
	reqConn *udpsock.Conn // unicast socket requests go out of and answers come back to
	reqAddr netip.AddrPort
	hasReq  bool
	ready   uint8 // readyData|readyReq, set by markReady for this DoWork
	reqBuf  [decode.RequestLen]byte
	sendFn  func(from uint64, count uint16) // c.sendRequest, bound once
	nowNs   int64
	lastReq int64 // when the last request went out (answers may trail the hole's repair)
}

func newChannel(idx int, cfg Config, rc *rngSource) *channel {
	c := &channel{
		idx:     idx,
		ctr:     &channelCounters{},
		gaps:    NewGapDetector(cfg.Reorder, cfg.Retransmit, rc.rand(uint64(idx))),
		history: uint64(cfg.LateJoin.History),
		held:    make([]*heldPacket, 0, cfg.Reorder.HoldPackets),
		free:    make([]*heldPacket, 0, cfg.Reorder.HoldPackets),
	}
	bufs := make([]byte, cfg.Reorder.HoldPackets*cfg.PacketSize)
	for i := 0; i < cfg.Reorder.HoldPackets; i++ {
		c.free = append(c.free, &heldPacket{buf: bufs[i*cfg.PacketSize : (i+1)*cfg.PacketSize : (i+1)*cfg.PacketSize]})
	}
	if cfg.Loss.Enabled() {
		lc := cfg.Loss
		if lc.Seed == 0 {
			lc.Seed = cfg.Seed
		}
		lc.Seed += uint64(idx)
		c.inj = lossinject.New(lc)
	}
	c.sendFn = c.sendRequest
	return c
}

// onDatagram handles one received datagram (retrans: it came back on the
// request socket). It never panics on any input.
func (c *channel) onDatagram(b []byte, recvNs int64, retrans bool) {
	var p decode.Packet
	if err := p.Wrap(b); err != nil {
		c.ctr.malformed.Add(1)
		return
	}
	if p.MessageCount() > 0 && c.inj != nil && c.inj.Drop(p.Sequence()) {
		c.ctr.injectedDrops.Add(1)
		return
	}
	s := p.Session()
	if !c.joined {
		if retrans {
			c.ctr.stale.Add(1)
			return
		}
		c.join(s, p.Sequence())
	} else if s != c.session {
		// Only the channel itself can announce a new session: a late
		// answer from the old one must not flip it back.
		if retrans || (c.hasPrev && s == c.prevSession) {
			c.ctr.stale.Add(1)
			return
		}
		c.changeSession(s, recvNs)
	}
	if c.farOff(p.Sequence()) {
		return
	}
	switch {
	case p.IsEndOfSession():
		c.tail(p.Sequence())
		if !c.ended {
			c.eos, c.eosPending = p.Sequence(), true
		}
	case p.IsHeartbeat():
		c.ctr.heartbeats.Add(1)
		c.tail(p.Sequence())
	default:
		c.ctr.packets.Add(1)
		if retrans {
			c.ctr.retransmits.Add(1)
		}
		c.onData(&p, b, recvNs)
	}
	if c.eosPending && c.next >= c.eos {
		c.eosPending, c.ended = false, true
		c.ctr.endOfSessions.Add(1)
		c.emitEvent(EndOfSession, c.eos, recvNs)
	}
}

// farOff reports whether the packet starting at seq is to be dropped as
// too far ahead: more than farseq.Jump beyond the highest seen, unless a
// farseq.Run of such packets says the sender really moved (then the gap
// path follows it). Without it one forged multicast packet far ahead
// opened a gap of up to 2^64 sequences that ended as a Loss, after which
// every real packet was a duplicate.
func (c *channel) farOff(seq uint64) bool {
	if seq <= c.highest || seq-c.highest <= farseq.Jump {
		c.far.Reset()
		return false
	}
	if c.far.Follow(seq) {
		return false
	}
	c.ctr.farSequence.Add(1)
	return true
}

// join starts the stream at the first packet seen (seq: its first sequence,
// or the next one for a heartbeat), optionally asking for history first.
func (c *channel) join(s decode.Session, seq uint64) {
	c.session, c.joined = s, true
	c.epoch++
	c.next, c.highest = seq, seq
	if c.history > 0 && seq > 1 {
		from := uint64(1)
		if seq-1 > c.history {
			from = seq - c.history
		}
		c.next = from
		c.gaps.AddUrgent(from, seq-1, c.nowNs)
		c.ctr.gaps.Add(1)
	}
}

// changeSession reports what was outstanding as lost, then starts the new
// session at sequence 1 (every session starts there: anything before the
// first packet seen is a hole to repair, not something to skip).
func (c *channel) changeSession(s decode.Session, recvNs int64) {
	if c.highest > c.next {
		c.lossThrough(c.highest-1, SessionChanged, recvNs)
	}
	c.gaps.Reset()
	for len(c.held) > 0 {
		c.release(0)
	}
	c.prevSession, c.hasPrev = c.session, true
	c.session = s
	c.epoch++
	c.next, c.highest = 1, 1
	c.eosPending, c.ended = false, false
	c.ctr.sessionChanges.Add(1)
	c.emitEvent(SessionChange, 1, recvNs)
}

// tail handles the next-sequence announcement of a heartbeat or end of
// session: sequences below it that never arrived are a hole (tail loss).
func (c *channel) tail(seq uint64) {
	if seq > c.highest {
		c.gaps.Add(c.highest, seq-1, c.nowNs)
		c.ctr.gaps.Add(1)
		c.highest = seq
	}
}

// onData delivers an in-order packet (and what it unblocks), holds one that
// arrived ahead of a hole, and drops what was already delivered.
func (c *channel) onData(p *decode.Packet, b []byte, recvNs int64) {
	s, e := p.Sequence(), p.NextSequence()
	if e <= c.next {
		c.ctr.duplicates.Add(e - s)
		return
	}
	if s > c.highest {
		c.gaps.Add(c.highest, s-1, c.nowNs)
		c.ctr.gaps.Add(1)
	}
	if s <= c.next { // fast path: in order
		from := c.next
		if s < from {
			c.ctr.duplicates.Add(from - s)
		}
		c.deliver(p, from, recvNs)
		if c.gaps.Len() > 0 {
			c.ctr.recovered.Add(c.gaps.Fill(from, e-1, c.nowNs))
		}
		c.next = e
		if e > c.highest {
			c.highest = e
		}
		if len(c.held) > 0 {
			c.drainHeld()
		}
		return
	}
	c.onAhead(b, s, e, recvNs)
}

// onAhead holds a packet that starts beyond the next sequence.
func (c *channel) onAhead(b []byte, s, e uint64, recvNs int64) {
	if c.hold(b, s, e, recvNs) {
		c.ctr.recovered.Add(c.gaps.Fill(s, e-1, c.nowNs))
	} else if e > c.highest {
		// No room: the packet's range stays a hole, re-requested later.
		c.ctr.holdFull.Add(1)
		c.gaps.Add(max(s, c.highest), e-1, c.nowNs)
	} else {
		c.ctr.holdFull.Add(1)
	}
	if e > c.highest {
		c.highest = e
	}
}

// hold keeps a copy of the packet b (sequences s..e-1) in sequence order;
// false when no buffer is free.
func (c *channel) hold(b []byte, s, e uint64, recvNs int64) bool {
	i := len(c.held)
	for i > 0 && c.held[i-1].from > s {
		i--
	}
	if i > 0 && c.held[i-1].from <= s && c.held[i-1].end >= e {
		c.ctr.duplicates.Add(e - s)
		return true
	}
	if len(c.free) == 0 || len(b) > len(c.free[len(c.free)-1].buf) {
		return false
	}
	h := c.free[len(c.free)-1]
	c.free = c.free[:len(c.free)-1]
	h.n = copy(h.buf, b)
	h.from, h.end, h.recvNs = s, e, recvNs
	c.held = append(c.held, nil)
	copy(c.held[i+1:], c.held[i:])
	c.held[i] = h
	return true
}

// release frees held packet i.
func (c *channel) release(i int) {
	c.free = append(c.free, c.held[i])
	c.held = append(c.held[:i], c.held[i+1:]...)
}

// drainHeld delivers held packets that the next sequence has reached.
func (c *channel) drainHeld() {
	for len(c.held) > 0 && c.held[0].from <= c.next {
		c.deliverHeld()
	}
}

// deliverHeld delivers (what is new in) held packet 0 and frees it.
func (c *channel) deliverHeld() {
	h := c.held[0]
	if h.end > c.next {
		var p decode.Packet
		if p.Wrap(h.buf[:h.n]) == nil { // validated when it arrived
			c.ctr.duplicates.Add(c.next - h.from)
			c.deliver(&p, c.next, h.recvNs)
			c.next = h.end
		}
	} else {
		c.ctr.duplicates.Add(h.end - h.from)
	}
	c.release(0)
}

// lossThrough gives up on everything up to to: held data is delivered, the
// rest is reported as Loss ranges with reason.
func (c *channel) lossThrough(to uint64, reason LossReason, recvNs int64) {
	for c.next <= to {
		if len(c.held) > 0 && c.held[0].from <= c.next {
			c.deliverHeld()
			continue
		}
		end := to + 1
		if len(c.held) > 0 && c.held[0].from <= to {
			end = c.held[0].from
		}
		c.ctr.lost.Add(end - c.next)
		c.emitLoss(c.next, end-1, reason, recvNs)
		c.next = end
	}
	c.gaps.Fill(0, c.next-1, c.nowNs)
	c.drainHeld()
}

// expire turns holes past their deadline into Loss events.
func (c *channel) expire() int {
	n := 0
	for {
		_, to, ok := c.gaps.Expire(c.nowNs)
		if !ok {
			return n
		}
		if to >= c.next {
			c.lossThrough(to, Unrecoverable, clock.Nanotime())
			n++
		}
	}
}

// deliver offers the packet's messages from sequence from on.
func (c *channel) deliver(p *decode.Packet, from uint64, recvNs int64) {
	it := p.Messages()
	n := uint64(0)
	for it.Next() {
		if seq := it.Sequence(); seq >= from && c.emitData(seq, it.Message(), recvNs) {
			n++
		}
	}
	c.ctr.messages.Add(n)
}

// emitData offers the message b at seq and reports whether it counts as a
// message (false for an upstream loss notice, delivered as an event).
func (c *channel) emitData(seq uint64, b []byte, recvNs int64) bool {
	if len(b) > 0 && b[0] == decode.UpstreamLossType && c.emitNotice(seq, b, recvNs) {
		return false
	}
	if len(b) > MaxMessageLen {
		c.ctr.tooLarge.Add(1)
		c.emitLoss(seq, seq, TooLarge, recvNs)
		return true
	}
	m := &c.msg
	m.Kind, m.Sequence, m.RecvNs, m.Channel, m.epoch = Data, seq, recvNs, c.idx, c.epoch
	m.n = uint8(copy(m.data[:], b))
	for _, con := range c.cons {
		con.offer(m)
	}
	return true
}

// emitNotice delivers the daemon's upstream loss notice b, which occupies
// channel sequence seq, as a LossEvent of reason Upstream at seq: the
// sequence is accounted for (not a gap), and the consumer learns what was
// lost upstream. The notice's version 1 fields are copied into the
// Message's data bytes, where Message.Loss reads them. A malformed notice
// is counted and left to be delivered as Data (false), so its sequence is
// accounted for all the same.
func (c *channel) emitNotice(seq uint64, b []byte, recvNs int64) bool {
	var u decode.UpstreamLoss
	if u.Wrap(b) != nil {
		c.ctr.malformedNotices.Add(1)
		return false
	}
	c.ctr.upstreamLosses.Add(1)
	c.ctr.upstreamLost.Add(u.Fields().Count())
	m := &c.msg
	m.Kind, m.Sequence, m.to, m.reason, m.RecvNs, m.Channel, m.epoch, m.n = LossEvent, seq, seq, Upstream, recvNs, c.idx, c.epoch, 0
	copy(m.data[:], b[:decode.UpstreamLossLen])
	for _, con := range c.cons {
		con.offer(m)
	}
	return true
}

func (c *channel) emitLoss(from, to uint64, reason LossReason, recvNs int64) {
	m := &c.msg
	m.Kind, m.Sequence, m.to, m.reason, m.RecvNs, m.Channel, m.epoch, m.n = LossEvent, from, to, reason, recvNs, c.idx, c.epoch, 0
	for _, con := range c.cons {
		con.offer(m)
	}
}

func (c *channel) emitEvent(k Kind, seq uint64, recvNs int64) {
	m := &c.msg
	m.Kind, m.Sequence, m.RecvNs, m.Channel, m.epoch, m.n = k, seq, recvNs, c.idx, c.epoch, 0
	for _, con := range c.cons {
		con.offer(m)
	}
}

// sendRequest sends one re-request (the GapDetector's send callback).
func (c *channel) sendRequest(from uint64, count uint16) {
	if !c.hasReq {
		return
	}
	b := decode.AppendRequest(c.reqBuf[:0], c.session, from, count)
	if err := c.reqConn.WriteTo(b, c.reqAddr); err != nil {
		c.ctr.sendErrors.Add(1)
		return
	}
	c.lastReq = c.nowNs
	c.ctr.requests.Add(1)
}
