package feed

import (
	"log/slog"
	"sync/atomic"

	"mdcast/decode"
	"mdcast/internal/farseq"
	"mdcast/ring"
)

// Output receives the packets a Receiver emits, in sequence order, each
// carrying at least one message not delivered before. It is declared here,
// on the consumer's side of the call: the daemon passes a publish worker
// (inline mode, same goroutine) or a ring fan-out.
//
// Offer is called from the receiver's goroutine only and must not block.
// It always takes over the caller's reference to p, whatever it returns:
// the consumer releases p when done with it, or at once when it cannot take
// it. False says the packet was dropped (the consumer is full); the
// receiver then counts the packet and its new messages as lost
// (Counters.OutputFullPackets, OutputFullMessages) and never touches p
// again.
//
// The receiver sets p.Seq to the first new sequence, p.Skip to the number
// of leading messages already delivered (skip them) and p.Line to the index
// of the line the packet came from (LineRecovery for re-request answers).
type Output interface {
	Offer(p *ring.Packet) bool
}

// held is one packet waiting in the reorder buffer for the hole before it.
type held struct {
	p       *ring.Packet
	seq     uint64        // first sequence carried
	end     uint64        // sequence after the last one carried
	arrival int64         // nowNs when it arrived
	lc      *LineCounters // its line, to count duplicates when drained
	line    uint8
}

// arbiter merges the packets of a feed's lines (and the answers of the
// upstream re-request server) into one gap-free sequence: message-level
// A/B arbitration, a bounded reorder buffer, and gap detection by distance
// and by age. It is pure logic: time comes in as nowNs and requests go out
// through send, so tests drive it by hand.
//
// It belongs to the receiver's goroutine and allocates nothing except on
// session changes and throttled logs.
type arbiter struct {
	// hot: touched for every packet.
	next    uint64         // next sequence to deliver
	highest uint64         // highest next-sequence any packet or heartbeat showed
	started bool           // next is set (first packet of the session seen)
	session decode.Session // session followed
	out     Output
	c       *Counters
	held    []held // reorder buffer sorted by seq; cap = max held packets

	// gap detection
	holeSince   int64  // nowNs at which the oldest evidence of the current hole arrived
	maxDistance uint64 // sequences past next that declare a gap
	maxWaitNs   int64  // age of a hole that declares a gap

	// recovery: send is nil when no upstream re-request server is set.
	send      func(s decode.Session, seq uint64, count uint16) error
	timeoutNs int64
	retries   int
	req       struct {
		active   bool
		from     uint64 // next when the last request went out
		attempts int    // requests sent without progress
		deadline int64  // nowNs after which the last request timed out
	}
	recoveryLine uint8 // line index of re-request answers

	// far counts packets in a row whose sequence was far from next
	// (internal/farseq).
	far farseq.Run

	// session tracking
	haveSession bool
	fixed       bool // Config.Session set: never follow another session
	havePrev    bool
	prev        decode.Session // session left on the last change; its stragglers are dropped
	ended       bool           // end of session seen for the current session
	sess        atomic.Pointer[decode.Session]

	onLoss     func(from, to uint64)
	lossLog    throttle
	sessionLog throttle
	fullLog    throttle
	log        *slog.Logger
}

// arbiterConfig holds what newArbiter needs, already defaulted.
type arbiterConfig struct {
	out          Output
	counters     *Counters
	session      decode.Session // expected session
	fixed        bool           // session is fixed
	maxDistance  uint64
	maxWaitNs    int64
	maxHeld      int
	send         func(s decode.Session, seq uint64, count uint16) error
	timeoutNs    int64
	retries      int
	recoveryLine uint8
	log          *slog.Logger
}

func newArbiter(cfg arbiterConfig) *arbiter {
	if cfg.log == nil {
		cfg.log = slog.Default()
	}
	a := &arbiter{
		out:          cfg.out,
		c:            cfg.counters,
		held:         make([]held, 0, max(cfg.maxHeld, 1)),
		maxDistance:  cfg.maxDistance,
		maxWaitNs:    cfg.maxWaitNs,
		send:         cfg.send,
		timeoutNs:    cfg.timeoutNs,
		retries:      cfg.retries,
		recoveryLine: cfg.recoveryLine,
		log:          cfg.log,
		lossLog:      newThrottle(logPeriod),
		sessionLog:   newThrottle(logPeriod),
		fullLog:      newThrottle(logPeriod),
	}
	if a.c == nil {
		a.c = new(Counters)
	}
	if cfg.fixed {
		a.session, a.haveSession, a.fixed = cfg.session, true, true
		s := cfg.session
		a.sess.Store(&s)
	}
	return a
}

// accept arbitrates one validated packet p (wrapped in pk) that arrived on
// line at nowNs. It takes over the caller's reference to p: the packet is
// emitted, held or released.
func (a *arbiter) accept(p *ring.Packet, pk *decode.Packet, line uint8, lc *LineCounters, nowNs int64) {
	if !a.haveSession || pk.Session() != a.session {
		// Only the lines may start or change the session: an answer of the
		// re-request server is for the session that was asked about.
		if line == a.recoveryLine || !a.followSession(pk.Session(), nowNs) {
			lc.WrongSession.Add(1)
			p.Release()
			return
		}
	}
	seq, n := pk.Sequence(), pk.MessageCount()
	if a.started && farseq.Far(seq, a.next) {
		if !a.farOff(seq, lc, nowNs) {
			p.Release()
			return
		}
	} else {
		a.far.Reset()
	}
	if !a.started {
		a.started, a.next, a.highest = true, seq, seq // late start: no gap before the first packet
	}
	if n == 0 {
		a.control(pk, seq, lc, nowNs)
		p.Release()
		return
	}
	a.place(p, seq, seq+uint64(n), line, lc, nowNs)
}

// farOff is accept's slow path for a packet far from next (more than
// farseq.Jump either way). Alone, it is dropped and counted: believing it
// would declare everything up to it lost (far ahead) or drop the real
// stream as duplicates (far behind). A farseq.Run of them with nothing near
// next between them means the sender really moved: the arbiter then
// follows it, through the ordinary gap path when ahead, or from this
// packet as a late start when behind.
func (a *arbiter) farOff(seq uint64, lc *LineCounters, nowNs int64) bool {
	if !a.far.Follow(seq) {
		lc.FarSequence.Add(1)
		return false
	}
	a.log.Warn("feed: following a far sequence", "session", a.session.String(), "next", a.next, "sequence", seq)
	if seq < a.next {
		for a.highest > a.next {
			a.lose(a.holeEnd(), nowNs)
		}
		a.started = false
		a.req.active = false
	}
	return true
}

// place emits, holds or drops a data packet covering [seq, end).
func (a *arbiter) place(p *ring.Packet, seq, end uint64, line uint8, lc *LineCounters, nowNs int64) {
	switch {
	case seq <= a.next && end > a.next: // fast path: in order, or overlapping what was delivered
		a.emit(p, seq, end, line, lc)
		if a.highest < a.next {
			a.highest = a.next
		}
		if len(a.held) > 0 || a.highest > a.next {
			a.drain()
			a.advanced()
		}
	case end <= a.next:
		lc.DuplicatePackets.Add(1)
		lc.DuplicateMessages.Add(end - seq)
		p.Release()
	default:
		a.hold(p, seq, end, line, lc, nowNs)
	}
}

// emit hands p to the output with its first new sequence and the number of
// leading duplicates, and moves next past it.
func (a *arbiter) emit(p *ring.Packet, seq, end uint64, line uint8, lc *LineCounters) {
	skip := a.next - seq
	fresh := end - a.next
	p.Seq, p.Skip, p.Line = a.next, int32(skip), line
	a.next = end
	if skip > 0 {
		lc.DuplicateMessages.Add(skip)
	}
	if line == a.recoveryLine {
		a.c.RecoveredMessages.Add(fresh)
	}
	recvNs := p.RecvNs // p belongs to the consumer once offered
	if a.out.Offer(p) {
		a.c.EmittedPackets.Add(1)
		a.c.EmittedMessages.Add(fresh)
		return
	}
	a.outputFull(end-fresh, fresh, recvNs)
}

// outputFull is emit's slow path: the consumer dropped the packet of fresh
// new messages from sequence from.
func (a *arbiter) outputFull(from, fresh uint64, nowNs int64) {
	a.c.OutputFullPackets.Add(1)
	a.c.OutputFullMessages.Add(fresh)
	if a.fullLog.allow(nowNs) {
		a.log.Warn("feed: output full, packet dropped",
			"from", from, "messages", fresh, "suppressed", a.fullLog.takeSuppressed())
	}
}

// control handles a heartbeat or an end of session: neither is emitted, but
// both show the sequence the sender will use next, so a hole before it is
// detected even when no more data follows.
func (a *arbiter) control(pk *decode.Packet, seq uint64, lc *LineCounters, nowNs int64) {
	if pk.IsEndOfSession() {
		if !a.ended {
			a.ended = true
			a.c.EndOfSessions.Add(1)
			a.log.Info("feed: end of session", "session", a.session.String(), "next", seq)
		}
	} else {
		lc.Heartbeats.Add(1)
	}
	if seq > a.next {
		a.evidence(seq, nowNs)
	}
}

// evidence records that sequences up to end exist; if that opens a hole,
// its age starts now.
func (a *arbiter) evidence(end uint64, nowNs int64) {
	if end > a.highest {
		if a.highest <= a.next {
			a.holeSince = nowNs
		}
		a.highest = end
	}
}

// hold puts a packet that lies past a hole into the reorder buffer.
func (a *arbiter) hold(p *ring.Packet, seq, end uint64, line uint8, lc *LineCounters, nowNs int64) {
	i := a.search(seq)
	if i < len(a.held) && a.held[i].seq == seq && a.held[i].end >= end ||
		i > 0 && a.held[i-1].end >= end {
		lc.DuplicatePackets.Add(1) // the other line's copy is already held
		lc.DuplicateMessages.Add(end - seq)
		p.Release()
		return
	}
	if len(a.held) == cap(a.held) {
		a.holdFull(p, seq, end, line, lc, nowNs)
		return
	}
	a.held = a.held[:len(a.held)+1]
	copy(a.held[i+1:], a.held[i:])
	a.held[i] = held{p: p, seq: seq, end: end, arrival: nowNs, lc: lc, line: line}
	if n := uint64(len(a.held)); n > a.c.ReorderHighWater.Load() {
		a.c.ReorderHighWater.Store(n)
	}
	a.evidence(end, nowNs)
}

// holdFull is hold's slow path: the reorder buffer is full, so the first
// hole is declared lost to make room, and the packet is placed again.
func (a *arbiter) holdFull(p *ring.Packet, seq, end uint64, line uint8, lc *LineCounters, nowNs int64) {
	if !a.req.active { // else this gap was counted when its recovery began
		a.c.Gaps.Add(1)
	}
	a.c.ReorderFull.Add(1)
	a.lose(min(seq, a.held[0].seq), nowNs)
	a.place(p, seq, end, line, lc, nowNs)
}

// search returns the index of the first held packet with seq >= s.
func (a *arbiter) search(s uint64) int {
	lo, hi := 0, len(a.held)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a.held[m].seq < s {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// drain emits the held packets the hole no longer separates from next.
func (a *arbiter) drain() {
	i := 0
	for ; i < len(a.held) && a.held[i].seq <= a.next; i++ {
		h := &a.held[i]
		if h.end <= a.next {
			h.lc.DuplicatePackets.Add(1)
			h.lc.DuplicateMessages.Add(h.end - h.seq)
			h.p.Release()
		} else {
			a.emit(h.p, h.seq, h.end, h.line, h.lc)
		}
	}
	if i == 0 {
		return
	}
	n := copy(a.held, a.held[i:])
	clear(a.held[n:])
	a.held = a.held[:n]
}

// advanced updates the hole state after next moved: the hole is closed, or
// the remaining one's age is that of the oldest packet still held (a hole
// shown only by a heartbeat keeps its age).
func (a *arbiter) advanced() {
	if a.highest <= a.next {
		a.req.active = false
		return
	}
	if len(a.held) > 0 {
		oldest := a.held[0].arrival
		for i := 1; i < len(a.held); i++ {
			if a.held[i].arrival-oldest < 0 {
				oldest = a.held[i].arrival
			}
		}
		a.holeSince = oldest
	}
}

// holeEnd returns the sequence after the first hole: the first held packet,
// or the highest sequence shown when nothing is held.
func (a *arbiter) holeEnd() uint64 {
	if len(a.held) > 0 {
		return a.held[0].seq
	}
	return a.highest
}

// poll runs the time-driven part: it declares gaps by distance and by age,
// sends and retries re-requests, and gives up on gaps that could not be
// recovered. It returns the number of actions taken (work done).
func (a *arbiter) poll(nowNs int64) int {
	work := 0
	for a.highest > a.next {
		if a.req.active {
			switch {
			case a.next != a.req.from: // progress: ask for what is still missing
				a.req.attempts = 0
				a.request(nowNs)
			case nowNs-a.req.deadline < 0:
				return work
			case a.req.attempts > a.retries:
				a.lose(a.holeEnd(), nowNs)
				work++
				continue
			default:
				a.request(nowNs)
			}
			return work + 1
		}
		if a.highest-a.next <= a.maxDistance && nowNs-a.holeSince <= a.maxWaitNs {
			return work
		}
		a.c.Gaps.Add(1)
		work++
		if a.send != nil {
			a.req.active = true
			a.req.attempts = 0
			a.request(nowNs)
			return work
		}
		a.lose(a.holeEnd(), nowNs)
	}
	return work
}

// request asks the upstream server for the first hole.
func (a *arbiter) request(nowNs int64) {
	from := a.next
	count := min(a.holeEnd()-from, decode.MaxMessageCount)
	a.req.from = from
	a.req.attempts++
	a.req.deadline = nowNs + a.timeoutNs
	if err := a.send(a.session, from, uint16(count)); err != nil {
		a.c.RequestErrors.Add(1)
		if a.lossLog.allow(nowNs) {
			a.log.Warn("feed: re-request not sent", "from", from, "count", count, "err", err,
				"suppressed", a.lossLog.takeSuppressed())
		}
		return
	}
	a.c.RequestsSent.Add(1)
}

// lose gives up on the messages from next up to to (exclusive): they are
// counted and reported as upstream loss, and what was held behind them is
// emitted. Nothing is skipped without passing here.
func (a *arbiter) lose(to uint64, nowNs int64) {
	from := a.next
	if to > from {
		lost := to - from
		a.c.Losses.Add(1)
		a.c.UpstreamLost.Add(lost)
		if a.lossLog.allow(nowNs) {
			a.log.Warn("feed: upstream loss", "session", a.session.String(),
				"from", from, "to", to-1, "messages", lost, "suppressed", a.lossLog.takeSuppressed())
		}
		if a.onLoss != nil {
			a.onLoss(from, to-1)
		}
		a.next = to
	}
	a.req.active = false
	a.drain()
	a.advanced()
}

// followSession decides about a packet of session s, which is not the one
// followed: it becomes the followed one (first packet, or an upstream
// restart) or the packet is dropped (fixed session, or a straggler of the
// session just left).
func (a *arbiter) followSession(s decode.Session, nowNs int64) bool {
	if !a.haveSession {
		a.session, a.haveSession = s, true
		a.sess.Store(&s)
		a.log.Info("feed: session", "session", s.String())
		return true
	}
	if a.fixed || a.havePrev && s == a.prev {
		return false
	}
	// Upstream restarted: what the old session still owes can never come,
	// so its holes are lost and what is held is delivered first.
	for a.highest > a.next {
		a.lose(a.holeEnd(), nowNs)
	}
	old := a.session
	a.prev, a.havePrev = old, true
	a.session = s
	a.sess.Store(&s)
	a.started, a.ended, a.next, a.highest = false, false, 0, 0
	a.req.active = false
	a.c.SessionChanges.Add(1)
	if a.sessionLog.allow(nowNs) {
		a.log.Warn("feed: session changed", "from", old.String(), "to", s.String(),
			"suppressed", a.sessionLog.takeSuppressed())
	}
	return true
}

// publish stores the state other goroutines read through Stats.
func (a *arbiter) publish() {
	a.c.NextSequence.Store(a.next)
	a.c.Held.Store(uint64(len(a.held)))
}

// release drops every held packet (on close).
func (a *arbiter) release() {
	for i := range a.held {
		a.held[i].p.Release()
	}
	clear(a.held)
	a.held = a.held[:0]
}

// sessionName returns the followed session, "" before the first packet.
func (a *arbiter) sessionName() string {
	if s := a.sess.Load(); s != nil {
		return s.String()
	}
	return ""
}
