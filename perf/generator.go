package perf

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"mdcast/decode"
	"mdcast/internal/clock"
	"mdcast/internal/udpsock"
)

// Generator defaults.
const (
	// DefaultInstruments is the number of instruments synthetic quotes cycle over.
	DefaultInstruments = 100
	// DefaultMaxPayload is the UDP payload budget per datagram, header included.
	DefaultMaxPayload = 1400
	// DefaultBatch is the number of datagrams per sendmmsg (and the most a
	// single DoWork sends before it returns).
	DefaultBatch = 32
	// DefaultSession is the MoldUDP64 session the generator sends.
	DefaultSession = "MDPERF"
	// MaxRate is the highest rate a Generator accepts (messages per second).
	MaxRate = 1e9

	// runMaxSleep bounds one sleep of Run so it notices cancellation.
	runMaxSleep = 20 * time.Millisecond
)

// GeneratorConfig configures a Generator. Zero values mean the defaults.
type GeneratorConfig struct {
	// Rate is the target rate in messages per second (required, > 0). Rates
	// are kept to 1/1000 message per second.
	Rate float64
	// Instruments is how many instrument ids (1..Instruments) synthetic
	// quotes cycle over (DefaultInstruments).
	Instruments int
	// MaxPayload is the UDP payload budget, MoldUDP64 header included
	// (DefaultMaxPayload).
	MaxPayload int
	// Batch is the number of datagrams per sendmmsg (DefaultBatch).
	Batch int
	// Session is the MoldUDP64 session name (DefaultSession).
	Session string
	// Dst receives every datagram (the daemon's feed line A, or a multicast
	// group for the direct baseline).
	Dst netip.AddrPort
	// DstB, when valid, receives a copy of every datagram (line B).
	DstB netip.AddrPort
	// Replay, when set, supplies ITCH messages instead of synthetic quotes.
	Replay *Replay
	// Limit stops the generator after this many messages (0 = no limit).
	Limit uint64
}

// Validate reports a config that cannot be used, naming the field.
func (c GeneratorConfig) Validate() error {
	switch {
	case !(c.Rate > 0) || c.Rate > MaxRate || math.Round(c.Rate*1000) < 1:
		return configError("rate", fmt.Sprint(c.Rate), "must be > 0.001 and <= 1e9 messages/s")
	case c.Instruments < 0:
		return configError("instruments", fmt.Sprint(c.Instruments), "negative")
	case c.MaxPayload != 0 && (c.MaxPayload < decode.PacketHeaderLen+2+decode.QuoteLen || c.MaxPayload > 65507):
		return configError("max_payload", fmt.Sprint(c.MaxPayload), "must hold a header and one quote and fit in a UDP datagram")
	case c.Batch < 0:
		return configError("batch", fmt.Sprint(c.Batch), "negative")
	case !c.Dst.IsValid() || !c.Dst.Addr().Is4():
		return configError("dst", c.Dst.String(), "not an IPv4 ip:port")
	case c.DstB.IsValid() && !c.DstB.Addr().Is4():
		return configError("dst_b", c.DstB.String(), "not an IPv4 ip:port")
	}
	if _, err := decode.MakeSession(c.session()); err != nil {
		return configError("session", c.Session, err.Error())
	}
	if c.Replay != nil && c.Replay.MaxLen()+decode.PacketHeaderLen+2 > c.maxPayload() {
		return fmt.Errorf("%w: longest message %d bytes, budget %d", ErrReplayTooLong, c.Replay.MaxLen(), c.maxPayload())
	}
	return nil
}

func (c GeneratorConfig) session() string {
	if c.Session == "" {
		return DefaultSession
	}
	return c.Session
}

func (c GeneratorConfig) maxPayload() int {
	if c.MaxPayload == 0 {
		return DefaultMaxPayload
	}
	return c.MaxPayload
}

// GeneratorStats counts what a Generator sent.
type GeneratorStats struct {
	Messages   uint64 // messages framed and handed to sendmmsg
	Packets    uint64 // datagrams the kernel accepted (line A and B)
	SendErrors uint64 // datagrams refused or dropped (full send buffer on a non-blocking socket)
	MaxLagNs   int64  // furthest the generator ever fell behind its schedule

	// The same two counts for the datagrams whose first message lies in
	// the window set by SetWindow, whenever they were sent.
	WindowPackets    uint64
	WindowSendErrors uint64
}

// Generator sends messages at a fixed rate, open loop: message i (from 0)
// is due at start + i/rate whatever happened to the ones before, and carries
// that intended send time, so a stall anywhere (sender, kernel, daemon,
// subscriber) shows up in the latency instead of silently slowing the load
// (no coordinated omission). DoWork sends every message that has come due,
// packed into MoldUDP64 datagrams of at most MaxPayload bytes: at high rates
// many messages share a datagram, at low rates each goes alone. Sequences
// start at 1 in one session.
//
// A Generator is driven by one goroutine (DoWork, Run); Stats may be read
// from any goroutine. DoWork does not allocate.
type Generator struct {
	// hot: every DoWork
	next      uint64 // messages framed so far; message i has sequence i+1
	startNs   int64
	rateMilli uint64 // rate in messages per 1000 s
	limit     uint64
	started   bool
	hasB      bool
	conn      *udpsock.Conn
	sb        *udpsock.SendBatch
	writers   []*decode.PacketWriter
	scratch   []byte // one message
	replay    *Replay
	session   decode.Session
	dst, dstB netip.AddrPort
	instr     uint32
	maxLag    int64
	firsts    []uint64 // first message index of each queued datagram
	winFrom   uint64   // SetWindow: [winFrom, winTo) by message index
	winTo     uint64

	messages   atomic.Uint64
	packets    atomic.Uint64
	sendErrors atomic.Uint64
	winPackets atomic.Uint64
	winErrors  atomic.Uint64
	maxLagPub  atomic.Int64
}

// NewGenerator returns a Generator sending through conn (a udpsock sender;
// the caller owns and closes it). Call Start before DoWork.
func NewGenerator(cfg GeneratorConfig, conn *udpsock.Conn) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Replay != nil && cfg.Replay.Len() == 0 {
		return nil, ErrNoMessages
	}
	sess, _ := decode.MakeSession(cfg.session())
	batch := cfg.Batch
	if batch == 0 {
		batch = DefaultBatch
	}
	instr := cfg.Instruments
	if instr == 0 {
		instr = DefaultInstruments
	}
	g := &Generator{
		rateMilli: uint64(math.Round(cfg.Rate * 1000)),
		limit:     cfg.Limit,
		conn:      conn,
		replay:    cfg.Replay,
		session:   sess,
		dst:       cfg.Dst,
		dstB:      cfg.DstB,
		hasB:      cfg.DstB.IsValid(),
		instr:     uint32(instr),
		writers:   make([]*decode.PacketWriter, batch),
	}
	size := cfg.maxPayload()
	for i := range g.writers {
		g.writers[i] = decode.NewPacketWriter(make([]byte, size), size)
	}
	perPacket := 1
	if g.hasB {
		perPacket = 2
	}
	g.sb = udpsock.NewSendBatch(batch * perPacket)
	g.firsts = make([]uint64, batch*perPacket)
	scratch := decode.QuoteLen
	if cfg.Replay != nil {
		scratch = cfg.Replay.MaxLen()
	}
	g.scratch = make([]byte, 0, scratch)
	return g, nil
}

// RoleName names the generator's agent.
func (g *Generator) RoleName() string { return "perf-generator" }

// OnStart starts the schedule now unless Start already has.
func (g *Generator) OnStart() error {
	if !g.started {
		g.Start(clock.Nanotime())
	}
	return nil
}

// OnClose does nothing: the caller owns the socket.
func (g *Generator) OnClose() {}

// Start sets the schedule's origin: message 0 is due at startNs
// (clock.Nanotime). Call it once, before the first DoWork.
func (g *Generator) Start(startNs int64) {
	g.startNs = startNs
	g.started = true
}

// StartNs returns the schedule's origin.
func (g *Generator) StartNs() int64 { return g.startNs }

// Intended returns the intended send time of message i (from 0):
// start + floor(i*1e9/rate), in exact integer arithmetic so that the
// schedule never drifts.
func (g *Generator) Intended(i uint64) int64 {
	hi, lo := bits.Mul64(i, 1e12)
	if hi >= g.rateMilli {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, g.rateMilli)
	return g.startNs + int64(q)
}

// DueBefore returns how many messages are due strictly before tNs: the
// index of the first message whose intended time is at or after tNs. The
// messages of a measured interval [a, b) are DueBefore(b) - DueBefore(a).
func (g *Generator) DueBefore(tNs int64) uint64 {
	if tNs <= g.startNs {
		return 0
	}
	// i is due before t  <=>  floor(i*1e12/rm) < t-start  <=>  i*1e12 < (t-start)*rm.
	hi, lo := bits.Mul64(uint64(tNs-g.startNs), g.rateMilli)
	if hi >= 1e12 {
		return math.MaxUint64
	}
	q, r := bits.Div64(hi, lo, 1e12)
	if r != 0 {
		q++
	}
	if g.limit > 0 && q > g.limit {
		q = g.limit
	}
	return q
}

// StopBefore makes the generator stop before the first message intended at
// or after tNs (it sets the Limit to DueBefore(tNs)); call it after Start,
// from the driving goroutine, before the generator gets there.
func (g *Generator) StopBefore(tNs int64) {
	g.limit = 0
	g.limit = g.DueBefore(tNs)
}

// NextDue returns the intended time of the next message to send, or
// math.MaxInt64 when the generator has sent its Limit.
func (g *Generator) NextDue() int64 {
	if g.exhausted() {
		return math.MaxInt64
	}
	return g.Intended(g.next)
}

// Sent returns the number of messages framed so far (read it from the
// driving goroutine; other goroutines use Stats).
func (g *Generator) Sent() uint64 { return g.next }

// Done reports whether the generator has sent its Limit.
func (g *Generator) Done() bool { return g.exhausted() }

func (g *Generator) exhausted() bool { return g.limit > 0 && g.next >= g.limit }

// Stamp returns how to read the intended send time back from the messages
// this generator sends.
func (g *Generator) Stamp() Stamp {
	if g.replay != nil {
		return Stamp{Format: decode.FormatITCH, EpochNs: g.startNs}
	}
	return Stamp{Format: decode.FormatQuote}
}

// DoWork sends every message due by nowNs, up to Batch datagrams per call
// (a generator that fell behind catches up over the following calls, each
// message still carrying its intended time). It returns the number of
// messages sent. A datagram the kernel refuses is counted in SendErrors;
// the first such error other than a full non-blocking send buffer is
// returned. DoWork does not allocate.
func (g *Generator) DoWork(nowNs int64) (int, error) {
	if !g.started || g.exhausted() {
		return 0, nil
	}
	due := g.Intended(g.next)
	if nowNs-due < 0 {
		return 0, nil // fast path: nothing due yet
	}
	return g.send(nowNs, due)
}

func (g *Generator) send(nowNs, due int64) (int, error) {
	if lag := nowNs - due; lag > g.maxLag {
		g.maxLag = lag
		g.maxLagPub.Store(lag)
	}
	msgs, queued := 0, 0
	for _, w := range g.writers {
		if nowNs-due < 0 || g.exhausted() {
			break
		}
		w.Reset(g.session, g.next+1)
		first := g.next
		for nowNs-due >= 0 && !g.exhausted() {
			if !w.Append(g.message(g.next, due)) {
				break // datagram full: the message goes first in the next one
			}
			g.next++
			due = g.Intended(g.next)
		}
		pkt := w.Bytes()
		msgs += w.Count()
		g.sb.Add(pkt, g.dst)
		g.firsts[queued] = first
		queued++
		if g.hasB {
			g.sb.Add(pkt, g.dstB)
			g.firsts[queued] = first
			queued++
		}
	}
	n, err := g.conn.SendBatch(g.sb)
	g.messages.Add(uint64(msgs))
	g.packets.Add(uint64(n))
	if n < queued {
		g.sendErrors.Add(uint64(queued - n))
	}
	if g.winTo > 0 {
		g.countWindow(queued, n)
	}
	if errors.Is(err, udpsock.ErrWouldBlock) {
		err = nil
	}
	return msgs, err
}

// countWindow counts the datagrams of the last batch whose first message is
// in the window: sendmmsg sends in order, so the first n succeeded.
func (g *Generator) countWindow(queued, n int) {
	var ok, bad uint64
	for k, first := range g.firsts[:queued] {
		if first < g.winFrom || first >= g.winTo {
			continue
		}
		if k < n {
			ok++
		} else {
			bad++
		}
	}
	if ok > 0 {
		g.winPackets.Add(ok)
	}
	if bad > 0 {
		g.winErrors.Add(bad)
	}
}

// SetWindow makes Stats count, in WindowPackets and WindowSendErrors, the
// datagrams whose first message index is in [fromIdx, toIdx) (use
// DueBefore to turn times into indexes). Call it from the driving
// goroutine before those messages are sent.
func (g *Generator) SetWindow(fromIdx, toIdx uint64) {
	g.winFrom, g.winTo = fromIdx, toIdx
}

// message builds message i, intended at intendedNs, in the scratch buffer.
func (g *Generator) message(i uint64, intendedNs int64) []byte {
	if g.replay == nil {
		// Prices and sizes vary with i only so that consumers see changing
		// quotes; nothing measures them.
		bid := int64(100*decode.QuotePriceScale) + int64(i%1000)*1_000_000
		g.scratch = decode.AppendQuote(g.scratch[:0], decode.QuoteFields{
			Instrument:   uint32(i%uint64(g.instr)) + 1,
			ExchangeTime: uint64(intendedNs),
			BidPrice:     bid,
			AskPrice:     bid + 1_000_000,
			BidSize:      100 + uint32(i%10)*100,
			AskSize:      200 + uint32(i%7)*100,
			SendTime:     uint64(intendedNs),
		})
		return g.scratch
	}
	m := g.replay.Message(int(i % uint64(g.replay.Len())))
	s := g.scratch[:len(m)]
	copy(s, m)
	putITCHTimestamp(s, uint64(intendedNs-g.startNs))
	return s
}

// Stats returns the generator's counters. Safe from any goroutine.
func (g *Generator) Stats() GeneratorStats {
	return GeneratorStats{
		Messages:   g.messages.Load(),
		Packets:    g.packets.Load(),
		SendErrors: g.sendErrors.Load(),
		MaxLagNs:   g.maxLagPub.Load(),

		WindowPackets:    g.winPackets.Load(),
		WindowSendErrors: g.winErrors.Load(),
	}
}

// Run drives the generator on the calling goroutine until ctx is done or
// the Limit is sent, sleeping between due times in clock_nanosleep on a
// locked thread (nothing spins; see pacer). It starts the schedule now unless Start was called. Send errors
// are counted and do not stop it; a closed socket does.
func (g *Generator) Run(ctx context.Context) error {
	if !g.started {
		g.Start(clock.Nanotime())
	}
	p := newPacer()
	defer p.done()
	for ctx.Err() == nil && !g.exhausted() {
		if _, err := g.DoWork(clock.Nanotime()); errors.Is(err, net.ErrClosed) {
			return err
		}
		next := g.NextDue()
		if limit := clock.Nanotime() + int64(runMaxSleep); next-limit > 0 {
			next = limit // wake now and then to notice ctx
		}
		p.sleepUntil(next)
	}
	return nil
}
