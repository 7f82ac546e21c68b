package subscriber

import (
	"sync/atomic"

	"mdcast/decode"
)

// conflater holds what a Conflate consumer's full ring could not take: the
// latest message per instrument, and the events and keyless messages in
// arrival order, in one FIFO of fixed capacity. An index table maps
// (channel, instrument) to the FIFO position of its pending message, so a
// newer message replaces the pending one in place (counted as conflated),
// unless an event has been queued since: events are barriers. A quote that
// arrived after a loss event must not be delivered before it (a consumer
// that marks instruments stale on a loss would then mark a fresh quote
// stale), so it is queued after the event and the older quote stays.
// When the consumer frees slots, flush moves the FIFO into the ring in order.
//
// It belongs to the receive agent (the consumer's producer); only the
// counters are read by other goroutines. Nothing allocates after
// construction.
type conflater struct {
	fifo    []Message // pending messages; position p at fifo[p&mask]
	keys    []uint64  // key+1 of the message at the same index; 0 = keyless
	mask    uint64
	head    uint64 // next position to flush
	tail    uint64 // next position to fill
	barrier uint64 // position after the last event queued: no replacement before it
	table   []centry
	tmask   uint64
	gen     uint32 // table entries of other generations are empty
	used    int    // entries of this generation
	formats []decode.Format

	conflated atomic.Uint64 // messages replaced by a newer one for the same instrument
	dropped   atomic.Uint64 // messages dropped because the FIFO was full
}

type centry struct {
	key uint64 // (channel<<32 | instrument) + 1
	pos uint64
	gen uint32
}

func newConflater(slots int, formats []decode.Format) *conflater {
	n := 1
	for n < slots {
		n <<= 1
	}
	return &conflater{
		fifo:    make([]Message, n),
		keys:    make([]uint64, n),
		mask:    uint64(n - 1),
		table:   make([]centry, 2*n),
		tmask:   uint64(2*n - 1),
		gen:     1,
		formats: formats,
	}
}

func (c *conflater) pending() bool { return c.head != c.tail }

// add keeps m until the ring has room.
func (c *conflater) add(m *Message) {
	var key uint64
	if m.Kind == Data && m.Channel < len(c.formats) {
		if k, ok := decode.InstrumentKey(c.formats[m.Channel], m.data[:m.n]); ok {
			key = uint64(m.Channel)<<32 | uint64(k) + 1
			if e := c.lookup(key); e != nil && e.pos >= c.head && e.pos >= c.barrier {
				c.fifo[e.pos&c.mask] = *m
				c.conflated.Add(1)
				return
			}
		}
	}
	if c.tail-c.head > c.mask {
		c.dropped.Add(1)
		return
	}
	p := c.tail
	c.fifo[p&c.mask] = *m
	c.keys[p&c.mask] = key
	c.tail++
	if key != 0 {
		c.insert(key, p)
	}
	if m.Kind != Data {
		c.barrier = c.tail
	}
}

// flush moves pending messages into r while it has room and returns how
// many moved.
func (c *conflater) flush(r *msgRing) int {
	n := 0
	for c.head != c.tail && r.tryPut(&c.fifo[c.head&c.mask]) {
		c.head++
		n++
	}
	if c.head == c.tail && c.used > 0 {
		c.clearTable()
	}
	return n
}

func hashKey(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> 17 }

func (c *conflater) lookup(key uint64) *centry {
	for i, h := uint64(0), hashKey(key); i <= c.tmask; i++ {
		e := &c.table[(h+i)&c.tmask]
		if e.gen != c.gen {
			return nil
		}
		if e.key == key {
			return e
		}
	}
	return nil
}

func (c *conflater) insert(key, pos uint64) {
	if c.used >= len(c.table)/2 {
		c.rebuild()
	}
	for i, h := uint64(0), hashKey(key); i <= c.tmask; i++ {
		e := &c.table[(h+i)&c.tmask]
		if e.gen != c.gen {
			*e = centry{key: key, pos: pos, gen: c.gen}
			c.used++
			return
		}
		if e.key == key {
			e.pos = pos
			return
		}
	}
}

// rebuild drops entries of flushed messages: only pending keyed messages
// are indexed again (at most the FIFO capacity, half the table).
func (c *conflater) rebuild() {
	c.clearTable()
	for p := c.head; p != c.tail; p++ {
		if k := c.keys[p&c.mask]; k != 0 {
			c.insert(k, p)
		}
	}
}

func (c *conflater) clearTable() {
	c.gen++
	c.used = 0
	if c.gen == 0 { // wrapped: old entries could look current
		clear(c.table)
		c.gen = 1
	}
}
