package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/internal/clock"
	"mdcast/internal/udpsock"
	"mdcast/subscriber"
)

// collector consumes one subscriber Consumer and checks, as messages
// arrive, what the reliability tests promise: per channel, every sequence
// is delivered exactly once in order or covered by a Loss at its place;
// every quote (identified by its ExchangeTime, 1..n as quotePackets
// numbers them) arrives at most once, in increasing order per channel.
type collector struct {
	name   string
	cancel context.CancelFunc
	done   chan error

	mu         sync.Mutex
	next       map[int]uint64 // channel -> next expected sequence (0: none seen)
	lastQuote  map[int]uint64
	seen       []bool // quote id -> delivered
	data       int
	dups       int
	losses     []subscriber.Loss
	sessions   int // SessionChange events
	eos        int
	violations []string
	latency    bool
	lat        []int64 // receive - send stamp, ns, when latency is on
	stallUntil time.Time
}

// newCollector runs c.Run on its own goroutine until the test ends (or
// stop). maxQuote bounds the quote ids it tracks.
func newCollector(t *testing.T, name string, c *subscriber.Consumer, maxQuote int) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	k := &collector{
		name: name, cancel: cancel, done: make(chan error, 1),
		next: map[int]uint64{}, lastQuote: map[int]uint64{},
		seen: make([]bool, maxQuote+1),
	}
	// Touch every page of seen now: the soak test compares RSS before and
	// after, and lazily touched test bookkeeping would look like growth.
	for i := range k.seen {
		k.seen[i] = true
	}
	clear(k.seen)
	go func() { k.done <- c.Run(ctx, k.onBatch) }()
	t.Cleanup(k.stop)
	return k
}

func (k *collector) stop() {
	k.cancel()
	select {
	case <-k.done:
	case <-time.After(10 * time.Second):
		panic("collector " + k.name + ": Run did not return 10s after cancel")
	}
}

// measureLatency turns latency recording on or off and returns what was
// recorded since the last call.
func (k *collector) measureLatency(on bool) []int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := k.lat
	k.lat = nil
	k.latency = on
	return out
}

// stall makes the consumer's callback block for d (a consumer that stops
// reading), starting at its next batch.
func (k *collector) stall(d time.Duration) {
	k.mu.Lock()
	k.stallUntil = time.Now().Add(d)
	k.mu.Unlock()
}

func (k *collector) violate(format string, args ...any) {
	if len(k.violations) < 10 {
		k.violations = append(k.violations, fmt.Sprintf(format, args...))
	}
}

func (k *collector) onBatch(batch []subscriber.Message) {
	now := clock.Nanotime()
	k.mu.Lock()
	if !k.stallUntil.IsZero() {
		d := time.Until(k.stallUntil)
		k.stallUntil = time.Time{}
		k.mu.Unlock()
		time.Sleep(d) // the stall itself is what is being tested
		k.mu.Lock()
	}
	defer k.mu.Unlock()
	for i := range batch {
		m := &batch[i]
		ch := m.Channel
		switch m.Kind {
		case subscriber.Data:
			if n := k.next[ch]; n != 0 && m.Sequence != n {
				k.violate("ch%d: data seq %d, want %d", ch, m.Sequence, n)
			}
			k.next[ch] = m.Sequence + 1
			k.data++
			q, err := m.Quote()
			if err != nil {
				k.violate("ch%d seq %d: %v", ch, m.Sequence, err)
				continue
			}
			id := q.ExchangeTime()
			if id >= uint64(len(k.seen)) {
				k.violate("ch%d seq %d: unknown quote %d", ch, m.Sequence, id)
				continue
			}
			if k.seen[id] {
				k.dups++
			}
			k.seen[id] = true
			if id <= k.lastQuote[ch] {
				k.violate("ch%d seq %d: quote %d after %d", ch, m.Sequence, id, k.lastQuote[ch])
			}
			k.lastQuote[ch] = id
			if k.latency && q.SendTime() != 0 {
				k.lat = append(k.lat, now-int64(q.SendTime()))
			}
		case subscriber.LossEvent:
			l := m.Loss()
			if n := k.next[ch]; n != 0 && l.From != n {
				k.violate("ch%d: loss from %d, want %d", ch, l.From, n)
			}
			k.next[ch] = l.To + 1
			k.losses = append(k.losses, l)
		case subscriber.SessionChange:
			k.sessions++
			k.next[ch] = m.Sequence
		case subscriber.EndOfSession:
			k.eos++
		}
	}
}

// snapshot returns the counts so far.
func (k *collector) counts() (data int, lost uint64, losses []subscriber.Loss) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, l := range k.losses {
		lost += l.Count()
	}
	return k.data, lost, slices.Clone(k.losses)
}

// missing returns how many quote ids in [from, to] were never delivered.
func (k *collector) missing(from, to int) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for i := from; i <= to; i++ {
		if !k.seen[i] {
			n++
		}
	}
	return n
}

// check fails t if any ordering rule was broken or a quote came twice.
func (k *collector) check(t *testing.T) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.violations) > 0 {
		t.Errorf("%s: %d+ violations, first: %v", k.name, len(k.violations), k.violations)
	}
	if k.dups > 0 {
		t.Errorf("%s: %d quotes delivered twice", k.name, k.dups)
	}
}

// stampedPackets builds quote packets like quotePackets, with quote ids
// from firstID and sequences from firstSeq.
func stampedPackets(s decode.Session, firstSeq uint64, firstID, n, perPacket, instruments int) [][]byte {
	var pkts [][]byte
	seq := firstSeq
	for i := 0; i < n; {
		k := min(perPacket, n-i)
		buf := decode.AppendPacketHeader(make([]byte, 0, 1500), s, seq, uint16(k))
		for j := 0; j < k; j++ {
			id := firstID + i + j
			var q [decode.QuoteLen]byte
			buf = decode.AppendMessage(buf, decode.AppendQuote(q[:0], decode.QuoteFields{
				Instrument:   uint32(id % instruments),
				ExchangeTime: uint64(id),
				BidPrice:     100_00000000 + int64(id),
				AskPrice:     100_01000000 + int64(id),
				BidSize:      100,
				AskSize:      200,
			}))
		}
		pkts = append(pkts, buf)
		seq += uint64(k)
		i += k
	}
	return pkts
}

// stamp writes ns as the send time of every quote in pkt.
func stamp(pkt []byte, ns int64) {
	var p decode.Packet
	if p.Wrap(pkt) != nil {
		return
	}
	it := p.Messages()
	for it.Next() {
		decode.PutQuoteSendTime(it.Message(), uint64(ns))
	}
}

// sendRate sends pkts to every destination at about perMs packets per
// millisecond, stamping each packet's quotes with the send time. It
// returns the first send error.
func sendRate(c *udpsock.Conn, pkts [][]byte, perMs int, dsts ...netip.AddrPort) error {
	start := time.Now()
	for i, p := range pkts {
		stamp(p, clock.Nanotime())
		for _, d := range dsts {
			if err := c.WriteTo(p, d); err != nil {
				return fmt.Errorf("packet %d to %v: %w", i, d, err)
			}
		}
		if (i+1)%perMs == 0 {
			// Sleep until this packet's slot on the schedule: a late
			// wake-up is caught up, not accumulated.
			if d := time.Until(start.Add(time.Duration((i+1)/perMs) * time.Millisecond)); d > 0 {
				time.Sleep(d)
			}
		}
	}
	return nil
}

// percentile returns the p-th percentile (0-100) of xs (sorted in place).
func percentile(xs []int64, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(float64(len(xs)-1) * p / 100)
	return time.Duration(xs[i])
}

// heartbeater sends, every 5 ms until the test ends, the MoldUDP64
// heartbeat an exchange sends after its last packet (the session, the next
// sequence) to the feed lines, from a socket of its own. Without it a feed
// packet the kernel drops at the end of a test phase (on a busy machine)
// would be a tail loss the daemon cannot see. Nothing is sent until
// the next sequence is set.
type heartbeater struct {
	next atomic.Uint64
}

func startHeartbeats(t *testing.T, c *udpsock.Conn, s decode.Session, dsts ...netip.AddrPort) *heartbeater {
	t.Helper()
	h := &heartbeater{}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var hb []byte
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if next := h.next.Load(); next != 0 {
				hb = decode.AppendPacketHeader(hb[:0], s, next, 0)
				for _, d := range dsts {
					_ = c.WriteTo(hb, d) // best effort, as a heartbeat is
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return h
}

// sent records that every packet up to and including the last of pkts was sent.
func (h *heartbeater) sent(pkts [][]byte) {
	var p decode.Packet
	if len(pkts) > 0 && p.Wrap(pkts[len(pkts)-1]) == nil {
		h.next.Store(p.NextSequence())
	}
}

// loopbackHeartbeats starts a heartbeater on loopback.
func loopbackHeartbeats(t *testing.T, dsts ...netip.AddrPort) *heartbeater {
	t.Helper()
	return startHeartbeats(t, newSender(t), feedSession, dsts...)
}
