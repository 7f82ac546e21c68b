package subscriber

import (
	"context"
	"runtime"
	"sync/atomic"

	"mdcast/decode"
)

// DefaultConsumerBatch is the size of a Consumer's batch buffer: the most
// messages one Poll returns and one Run callback receives.
const DefaultConsumerBatch = 256

// runSpins is how many empty polls Run makes (yielding the processor
// between them) before it parks on its wake channel.
const runSpins = 64

// Consumer receives the messages of its channels through its own ring. The
// receive agent writes to the ring and never waits for it; the consumer
// reads with Poll or Run.
//
// Poll and Run are for one goroutine (the consumer's); they must not be
// called concurrently with each other. Stats may be read from anywhere.
// Neither Poll nor Run allocates.
type Consumer struct {
	r      *msgRing
	buf    []Message // Poll's result buffer, owned by the consumer goroutine
	exp    []uint64  // per channel: next sequence expected (0 = unknown); DropOldest only
	ep     []uint32  // per channel: session epoch of exp
	policy Policy
	wake   chan struct{}
	closed chan struct{} // the Subscriber's: closed by Close
	cf     *conflater    // Conflate only; owned by the receive agent
	seen   []bool        // per channel: an item was offered (receive agent)

	// Per channel, the first item ever offered (written once by the receive
	// agent before the tail store that publishes it), so a consumer lapped
	// before its first read still knows where its stream began.
	firstSeq []atomic.Uint64
	firstEp  []atomic.Uint32
	name     string
	chans    []bool // subscribed channels

	hwmLocal  uint64
	delivered atomic.Uint64 // messages and events returned by Poll
	dropped   atomic.Uint64 // ring positions overwritten before they were read (DropOldest)
	hwm       atomic.Uint64 // largest backlog seen by Poll
}

// newConsumer builds a consumer of n channels (all subscribed) for a
// validated cc with defaults filled in.
func newConsumer(cc ConsumerConfig, n int, formats []decode.Format, closed chan struct{}) *Consumer {
	c := &Consumer{
		r:        newMsgRing(cc.RingSize),
		buf:      make([]Message, min(DefaultConsumerBatch, cc.RingSize)),
		exp:      make([]uint64, n),
		ep:       make([]uint32, n),
		policy:   cc.Policy,
		wake:     make(chan struct{}, 1),
		closed:   closed,
		name:     cc.Name,
		chans:    make([]bool, n),
		seen:     make([]bool, n),
		firstSeq: make([]atomic.Uint64, n),
		firstEp:  make([]atomic.Uint32, n),
	}
	for i := range c.chans {
		c.chans[i] = true
	}
	if cc.Policy == Conflate {
		c.cf = newConflater(cc.ConflateSlots, formats)
	}
	return c
}

// Name returns the consumer's name.
func (c *Consumer) Name() string { return c.name }

// Poll returns up to max messages (at most DefaultConsumerBatch) that are
// ready, in order, without waiting; an empty slice when none is. The slice
// is the consumer's own buffer: it is valid until the next Poll or Run on
// this consumer. Poll does not allocate.
//
// A DropOldest consumer that was lapped gets, for each channel, a LossEvent
// with Reason SlowConsumer covering exactly the sequences its ring
// overwrote, placed before the next message of that channel.
func (c *Consumer) Poll(max int) []Message {
	if max > len(c.buf) {
		max = len(c.buf)
	}
	if max <= 0 {
		return c.buf[:0]
	}
	r := c.r
	size := r.mask + 1
	for {
		cur := r.cursor
		t := r.tail.Load()
		if t == cur {
			return c.buf[:0]
		}
		if back := t - cur; back > c.hwmLocal {
			c.hwmLocal = min(back, size)
			c.hwm.Store(c.hwmLocal)
		}
		if t-cur > size {
			// Lapped before we looked: skip to the oldest slots still
			// there, with some slack so the producer does not lap us
			// again while we copy.
			nc := t - size + size/8
			c.dropped.Add(nc - cur)
			cur = nc
		}
		n := min(t-cur, uint64(max))
		for i := uint64(0); i < n; i++ {
			loadSlot(&c.buf[i], &r.slots[(cur+i)&r.mask])
		}
		if c.policy != DropOldest {
			r.cursor = cur + n
			r.head.Store(r.cursor)
			c.delivered.Add(n)
			return c.buf[:n]
		}
		// Every slot below tailIntent-size may have been overwritten
		// while we copied it: discard those copies.
		if ti := r.tailIntent.Load(); ti > size && ti-size > cur {
			bad := ti - size - cur
			if bad >= n {
				c.dropped.Add(bad)
				r.cursor = cur + bad
				continue
			}
			copy(c.buf, c.buf[bad:n])
			n -= bad
			c.dropped.Add(bad)
			cur += bad
		}
		out, used := c.infer(int(n), max)
		r.cursor = cur + used
		r.head.Store(r.cursor)
		c.delivered.Add(uint64(out))
		return c.buf[:out]
	}
}

// infer walks the n copied messages and inserts, before a message, the
// SlowConsumer loss (and, if a session change was overwritten, the
// SessionChange) that its channel's sequence implies: the receive agent
// writes every channel's sequences contiguously (data or Loss), so a jump
// is exactly what this ring dropped. It returns the messages in buf and the
// ring positions consumed (an insertion into a full buffer pushes the last
// message back to the next Poll).
func (c *Consumer) infer(n, max int) (int, uint64) {
	used := uint64(n)
	buf := c.buf
	for i := 0; i < n; i++ {
		m := &buf[i]
		ch := m.Channel
		if uint(ch) >= uint(len(c.exp)) {
			continue
		}
		var ev Message
		need := false
		if m.epoch != c.ep[ch] {
			if c.ep[ch] != 0 && m.Kind != SessionChange {
				ev = Message{Kind: SessionChange, Channel: ch, Sequence: 1, RecvNs: m.RecvNs, epoch: m.epoch}
				need = true
			} else {
				c.ep[ch], c.exp[ch] = m.epoch, 0
				if c.firstEp[ch].Load() == m.epoch {
					c.exp[ch] = c.firstSeq[ch].Load()
				}
			}
		}
		if !need && m.Kind != SessionChange {
			if e := c.exp[ch]; e != 0 && m.Sequence > e {
				ev = Message{Kind: LossEvent, Channel: ch, Sequence: e, to: m.Sequence - 1,
					reason: SlowConsumer, RecvNs: m.RecvNs, epoch: m.epoch}
				need = true
			}
		}
		if !need {
			c.track(m)
			continue
		}
		if n < max {
			copy(buf[i+1:n+1], buf[i:n])
			n++
		} else {
			copy(buf[i+1:n], buf[i:n-1]) // the last message waits for the next Poll
			used--
		}
		buf[i] = ev
		c.track(&buf[i])
		// the loop's i++ re-examines the message, now at i+1
	}
	return n, used
}

// track advances the channel's expected sequence past m.
func (c *Consumer) track(m *Message) {
	ch := m.Channel
	switch m.Kind {
	case Data:
		c.exp[ch] = m.Sequence + 1
	case LossEvent:
		c.exp[ch] = m.to + 1
	case SessionChange:
		c.ep[ch], c.exp[ch] = m.epoch, m.Sequence
	case EndOfSession:
		c.exp[ch] = m.Sequence
	}
}

// Run calls fn with each batch of messages as they arrive, until ctx is done
// (it returns ctx.Err()) or the Subscriber is closed and the ring drained (it
// returns ErrClosed). The batch is valid only during the call; fn runs on
// Run's goroutine and should not block for long: while it does, only this
// consumer's ring fills. When nothing is ready Run yields briefly, then parks
// until the receive agent publishes more; it does not allocate per message.
func (c *Consumer) Run(ctx context.Context, fn func(batch []Message)) error {
	done := ctx.Done()
	closed := c.closed
	idle := 0
	for {
		if b := c.Poll(len(c.buf)); len(b) > 0 {
			fn(b)
			idle = 0
			select {
			case <-done:
				return ctx.Err()
			default:
			}
			continue
		}
		if idle < runSpins {
			idle++
			runtime.Gosched()
			continue
		}
		idle = 0
		c.r.parked.Store(1)
		if c.r.available() { // Dekker pairing with msgRing.publish
			c.r.parked.Store(0)
			continue
		}
		select {
		case <-c.wake:
		case <-done:
			c.r.parked.Store(0)
			return ctx.Err()
		case <-closed:
			c.r.parked.Store(0)
			if !c.r.available() {
				return ErrClosed
			}
		}
	}
}

// offer hands m to the consumer's ring by its policy. Receive agent only.
func (c *Consumer) offer(m *Message) {
	if !c.seen[m.Channel] {
		c.seen[m.Channel] = true
		c.firstSeq[m.Channel].Store(m.Sequence)
		c.firstEp[m.Channel].Store(m.epoch)
	}
	if c.cf == nil {
		c.r.put(m)
		return
	}
	if c.cf.pending() {
		c.cf.flush(c.r)
		if c.cf.pending() {
			c.cf.add(m)
			return
		}
	}
	if !c.r.tryPut(m) {
		c.cf.add(m)
	}
}

// publish makes offered messages visible and wakes a parked Run. Receive
// agent only.
func (c *Consumer) publish() {
	if c.r.publish() {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// ConsumerStats are one consumer's counters.
type ConsumerStats struct {
	Name      string
	Policy    string
	Delivered uint64 // messages and events returned by Poll/Run
	Dropped   uint64 // messages overwritten unread (DropOldest) or refused by a full conflation buffer (Conflate)
	Conflated uint64 // messages replaced by a newer one for the same instrument (Conflate)
	HighWater uint64 // largest backlog seen, in messages (at most the ring size)
	Backlog   uint64 // messages published and not yet read
}

// Stats returns the consumer's counters. Safe from any goroutine.
func (c *Consumer) Stats() ConsumerStats {
	s := ConsumerStats{
		Name:      c.name,
		Policy:    c.policy.String(),
		Delivered: c.delivered.Load(),
		Dropped:   c.dropped.Load(),
		HighWater: c.hwm.Load(),
	}
	h := c.r.head.Load()
	if t := c.r.tail.Load(); t > h {
		s.Backlog = min(t-h, c.r.mask+1)
	}
	if c.cf != nil {
		s.Dropped += c.cf.dropped.Load()
		s.Conflated = c.cf.conflated.Load()
	}
	return s
}
