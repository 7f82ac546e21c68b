package publish

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"mdcast/decode"
	"mdcast/internal/udpsock"
	"mdcast/ring"
)

// maxDrainPerWork bounds the packets one DoWork takes from the input ring
// before it flushes, so a producer that never pauses cannot delay heartbeats
// and re-requests indefinitely.
const maxDrainPerWork = 256

// pollBatch is how many input packets one Poll of the input ring takes.
const pollBatch = 64

var _ ring.Agent = (*Worker)(nil)

// Worker is an agent (ring.Agent) publishing a set of channels: it routes
// every input message to its channel, frames it into the channel's MoldUDP64
// packet, sends finished packets with sendmmsg, keeps each channel's History,
// answers re-requests (RetransmitServer), sends heartbeats and finally the
// end of session.
//
// Input arrives in one of two ways. Inline: the producer (the feed, on the
// same thread, in a ring.Composite before the worker) calls Offer for each
// packet; DoWork then flushes. Pipeline: a producer on another thread offers
// packets to Input(), and DoWork drains it. Either way a packet is sent when
// it is full or when the input has run dry (smart batching): there is no
// timer on the data path.
//
// Concurrency: Offer, DoWork, OnStart and OnClose run on the agent's thread;
// Input's producer side, EndSession, Done, Stats and the counters are safe
// from any goroutine.
//
// Allocation: after NewWorker, neither Offer nor DoWork allocates.
type Worker struct {
	// Hot path.
	format  decode.Format
	router  *Router
	byIndex []*Channel // by channel index; nil for channels owned by another worker
	owned   []*Channel
	batch   *udpsock.SendBatch
	sender  *udpsock.Conn
	in      *ring.SPSC[*ring.Packet]
	polled  []*ring.Packet
	inline  int  // packets offered since the last DoWork
	ended   bool // end of session sent; input refused

	earlyNs, idleNs, graceNs int64
	started                  bool
	endReq                   atomic.Bool
	endNs                    atomic.Int64 // EndSession's nowNs
	done                     chan struct{}
	doneClosed               bool

	rt        *RetransmitServer
	role      string
	closeOnce sync.Once
	session   decode.Session

	// Counters are the worker's counters; read them from any goroutine.
	Counters WorkerCounters
}

// NewWorker builds a worker for cfg owning the channels at the given indexes
// of cfg.Channels (nil = all). It opens the sender socket on cfg.Interface and
// each owned channel's re-request socket, and allocates every buffer the
// worker will use. When cfg.Session is empty it makes a session with
// NewSessionName(time.Now()); workers of one daemon should share a session
// set in cfg.
func NewWorker(cfg Config, channels []int) (*Worker, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if channels == nil {
		channels = make([]int, len(r.Channels))
		for i := range channels {
			channels[i] = i
		}
	}
	if len(channels) == 0 {
		return nil, errNoChannels
	}
	session := r.session
	if r.Session == "" {
		session = NewSessionName(time.Now())
	}
	w := &Worker{
		format:  r.format,
		router:  r.router,
		byIndex: make([]*Channel, len(r.Channels)),
		polled:  make([]*ring.Packet, pollBatch),
		earlyNs: int64(r.Heartbeat.Early),
		idleNs:  int64(r.Heartbeat.Idle),
		graceNs: int64(r.Grace),
		done:    make(chan struct{}),
		session: session,
	}
	for _, i := range channels {
		if i < 0 || i >= len(r.Channels) {
			return nil, fmt.Errorf("%w: %d (have %d)", errChannelIndex, i, len(r.Channels))
		}
		if w.byIndex[i] != nil {
			return nil, fmt.Errorf("%w: %d listed twice", errChannelIndex, i)
		}
		h, err := NewHistory(r.History.Messages, r.History.Bytes)
		if err != nil {
			return nil, err
		}
		c := newChannel(i, r.Channels[i].Name, r.groups[i], r.reqs[i], session, r.MaxPayload, h)
		w.byIndex[i] = c
		w.owned = append(w.owned, c)
	}
	w.role = "publish"
	if len(w.owned) < len(r.Channels) {
		w.role = fmt.Sprintf("publish-%s", w.owned[0].name)
	}
	if w.in, err = ring.NewSPSC[*ring.Packet](r.InputRing); err != nil {
		return nil, fmt.Errorf("publish: input_ring: %w", err)
	}
	w.batch = udpsock.NewSendBatch(buffersPerChannel * len(w.owned))
	if err := w.open(r); err != nil {
		w.closeSockets()
		return nil, err
	}
	w.rt = newRetransmitServer(w.owned, r, &w.Counters)
	w.rt.watch()
	return w, nil
}

func (w *Worker) open(r *resolved) error {
	var err error
	w.sender, err = udpsock.NewSender(netip.AddrPort{}, r.Interface, udpsock.Options{
		SndBuf: r.SndBuf, Loop: *r.Loop, TTL: r.TTL,
	})
	if err != nil {
		return fmt.Errorf("publish: sender on %q: %w", r.Interface, err)
	}
	for _, c := range w.owned {
		if c.req, err = udpsock.ListenUnicast(c.reqAddr, udpsock.Options{NonBlocking: true}); err != nil {
			return fmt.Errorf("publish: channel %q request_addr %s: %w", c.name, c.reqAddr, err)
		}
	}
	return nil
}

// RoleName names the worker: "publish", or "publish-<first channel>" when it
// owns only some channels.
func (w *Worker) RoleName() string { return w.role }

// OnStart logs the worker's channels and session.
func (w *Worker) OnStart() error {
	for _, c := range w.owned {
		slog.Info("publish: channel", "role", w.role, "channel", c.name, "group", c.group.String(),
			"request_addr", c.RequestAddr().String(), "session", c.session.String())
	}
	return nil
}

// OnClose closes the worker's sockets. The worker must not be used afterwards.
func (w *Worker) OnClose() { w.closeSockets() }

// Close closes the worker's sockets; use it for a worker that was never run
// by a ring.Runner (the runner calls OnClose). It is idempotent.
func (w *Worker) Close() error {
	var err error
	w.closeOnce.Do(func() { err = w.closeAll() })
	return err
}

func (w *Worker) closeSockets() { _ = w.Close() }

func (w *Worker) closeAll() error {
	var errs []error
	if w.rt != nil {
		errs = append(errs, w.rt.close())
	}
	if w.sender != nil {
		errs = append(errs, w.sender.Close())
	}
	for _, c := range w.owned {
		if c.req != nil {
			errs = append(errs, c.req.Close())
		}
	}
	return errors.Join(errs...)
}

// Input returns the worker's input ring for pipeline mode: one producer
// goroutine offers packets (transferring its reference), DoWork drains them.
// A packet arriving after the end of session is released and counted.
func (w *Worker) Input() *ring.SPSC[*ring.Packet] { return w.in }

// Offer publishes the messages of p (inline mode: call it on the worker's
// thread, then DoWork). It takes the caller's reference to p and releases it,
// returning true; after the end of session it releases p unpublished,
// counts it in AfterEnd and returns false (feed.Output's contract: Offer
// always takes the reference). It does not allocate.
func (w *Worker) Offer(p *ring.Packet) bool {
	if w.ended {
		w.Counters.AfterEnd.Add(1)
		p.Release()
		return false
	}
	w.process(p)
	p.Release()
	w.inline++
	return true
}

// Session returns the session every channel of the worker carries.
func (w *Worker) Session() decode.Session { return w.session }

// Channels returns the channels the worker owns, in the order given to NewWorker.
func (w *Worker) Channels() []*Channel { return w.owned }

// Retransmit returns the worker's re-request server.
func (w *Worker) Retransmit() *RetransmitServer { return w.rt }

// FDs returns the re-request sockets' descriptors, for a ring.Block idle
// strategy to wait on.
func (w *Worker) FDs() []int { return w.rt.FDs() }

// Stats returns a copy of the worker's and its channels' counters. It
// allocates and may be called from any goroutine.
func (w *Worker) Stats() Stats {
	s := Stats{Worker: w.Counters.Snapshot(), Channels: make([]ChannelStats, len(w.owned))}
	for i, c := range w.owned {
		s.Channels[i] = c.Stats()
	}
	return s
}

// EndSession asks the worker to end the session: at its next DoWork it
// publishes whatever it holds, sends an end-of-session packet (count 0xFFFF,
// sequence = next) on every channel, and from then on refuses input and
// repeats the end of session on the heartbeat schedule, while it keeps
// answering re-requests. Done is closed once Config.Grace has passed since
// nowNs (by DoWork's clock). Safe from any goroutine; repeated calls are
// ignored.
func (w *Worker) EndSession(nowNs int64) {
	if w.endReq.Load() {
		return
	}
	w.endNs.Store(nowNs)
	w.endReq.Store(true)
}

// Done is closed when the grace period after EndSession is over; the owner
// then closes the runner.
func (w *Worker) Done() <-chan struct{} { return w.done }

// DoWork drains the input ring, sends every partial packet (the input has run
// dry), performs a requested end of session, sends due heartbeats and
// answers re-requests. It returns the number of input packets, heartbeats
// and requests handled. It does not allocate and never returns an error:
// failures are counted.
func (w *Worker) DoWork(nowNs int64) (int, error) {
	if !w.started {
		w.start(nowNs)
	}
	work := w.inline
	w.inline = 0
	work += w.drain()
	w.flush(nowNs)
	if !w.ended && w.endReq.Load() {
		w.endSession(nowNs)
	}
	work += w.heartbeats(nowNs)
	work += w.rt.poll(nowNs)
	if w.ended && !w.doneClosed && nowNs-w.endNs.Load() >= w.graceNs {
		w.doneClosed = true
		close(w.done)
	}
	return work, nil
}

// start schedules the first idle heartbeat of every channel.
func (w *Worker) start(nowNs int64) {
	w.started = true
	for _, c := range w.owned {
		c.hbInterval = w.idleNs
		c.hbNextNs = nowNs + w.idleNs
	}
}

// drain processes what the input ring holds, up to maxDrainPerWork packets.
func (w *Worker) drain() int {
	total := 0
	for total < maxDrainPerWork {
		n := w.in.Poll(w.polled)
		if n == 0 {
			break
		}
		for i, p := range w.polled[:n] {
			if w.ended {
				w.Counters.AfterEnd.Add(1)
			} else {
				w.process(p)
			}
			p.Release()
			w.polled[i] = nil
		}
		total += n
	}
	if uint64(total) > w.Counters.InputHighWater.Load() {
		w.Counters.InputHighWater.Store(uint64(total))
	}
	return total
}

// process routes and frames every new message of one upstream packet.
func (w *Worker) process(p *ring.Packet) {
	if p.Line == LineNotice {
		w.notice(p.Bytes())
		return
	}
	var pk decode.Packet
	if pk.Wrap(p.Bytes()) != nil {
		w.Counters.PacketsIn.Add(1)
		w.Counters.Malformed.Add(1)
		return
	}
	skip := int(p.Skip)
	var msgs, noKey, unrouted, reserved uint64
	it := pk.Messages()
	for it.Next() {
		if skip > 0 {
			skip--
			continue
		}
		msgs++
		msg := it.Message()
		if len(msg) > 0 && msg[0] == decode.UpstreamLossType {
			// Subscribers take this type for the daemon's own notice on
			// any channel: upstream may not forge one.
			reserved++
			continue
		}
		key, ok := decode.InstrumentKey(w.format, msg)
		if !ok {
			noKey++
			continue
		}
		ci := w.router.Route(key)
		if ci < 0 {
			unrouted++
			continue
		}
		c := w.byIndex[ci]
		if c == nil {
			continue // another worker's channel
		}
		if !c.w.Append(msg) {
			w.appendSlow(c, msg)
		}
	}
	w.Counters.PacketsIn.Add(1)
	w.Counters.MessagesIn.Add(msgs)
	if s := int(p.Skip) - skip; s > 0 {
		w.Counters.Skipped.Add(uint64(s))
	}
	if noKey != 0 {
		w.Counters.NoKey.Add(noKey)
	}
	if unrouted != 0 {
		w.Counters.Unrouted.Add(unrouted)
	}
	if reserved != 0 {
		w.Counters.ReservedType.Add(reserved)
	}
}

// appendSlow finishes c's full packet and appends msg to a fresh one.
func (w *Worker) appendSlow(c *Channel, msg []byte) {
	if c.w.Count() == 0 {
		w.Counters.Oversize.Add(1) // does not fit even an empty packet
		return
	}
	w.finishData(c)
	if !c.w.Append(msg) {
		w.Counters.Oversize.Add(1)
	}
}

// flush finishes every channel's partial packet and sends the batch, then
// restarts the heartbeat back-off of channels that sent data.
func (w *Worker) flush(nowNs int64) {
	for _, c := range w.owned {
		if c.w.Count() > 0 {
			w.finishData(c)
		}
	}
	w.send()
	for _, c := range w.owned {
		if c.sentData {
			c.sentData = false
			c.hbInterval = w.earlyNs
			c.hbNextNs = nowNs + w.earlyNs
			h := c.hist
			c.Counters.HistoryMessages.Store(uint64(h.Len()))
			c.Counters.HistoryBytes.Store(uint64(h.Bytes()))
			c.Counters.HistoryEvicted.Store(h.Evicted())
		}
	}
}

// finishData records c's current data packet in its history and counters
// and queues it.
func (w *Worker) finishData(c *Channel) {
	pkt := c.w.Bytes()
	n := c.w.Count()
	c.hist.appendFramed(pkt[decode.PacketHeaderLen:], n)
	c.Counters.Packets.Add(1)
	c.Counters.Messages.Add(uint64(n))
	c.Counters.Bytes.Add(uint64(len(pkt)))
	c.sentData = true
	w.enqueue(c, pkt)
}

// enqueue adds pkt (built in c's current buffer) to the send batch and moves
// c to its next buffer, sending first if that buffer is still queued.
func (w *Worker) enqueue(c *Channel, pkt []byte) {
	if !w.batch.Add(pkt, c.group) {
		w.send()
		w.batch.Add(pkt, c.group)
	}
	c.queued++
	if c.queued >= buffersPerChannel {
		w.send()
	}
	c.cur++
	if c.cur == buffersPerChannel {
		c.cur = 0
	}
	c.w = c.writers[c.cur]
	c.w.Reset(c.session, c.hist.Next())
}

// send hands the batch to sendmmsg; every buffer is free again afterwards.
func (w *Worker) send() {
	n := w.batch.Len()
	if n == 0 {
		return
	}
	sent, err := w.sender.SendBatch(w.batch)
	w.Counters.SendCalls.Add(1)
	if err != nil {
		w.Counters.SendErrors.Add(1)
		w.Counters.SendDropped.Add(uint64(n - sent))
	}
	for _, c := range w.owned {
		c.queued = 0
	}
}

// heartbeats sends a heartbeat (or, after the end of session, a repeated end
// of session) on every channel whose deadline has come, and backs its
// interval off by doubling up to the idle interval.
func (w *Worker) heartbeats(nowNs int64) int {
	n := 0
	for _, c := range w.owned {
		if nowNs-c.hbNextNs < 0 {
			continue
		}
		w.control(c)
		n++
		c.hbInterval = min(2*c.hbInterval, w.idleNs)
		c.hbNextNs = nowNs + c.hbInterval
	}
	if n > 0 {
		w.send()
	}
	return n
}

// control queues c's empty current packet as a heartbeat (count 0, the next
// sequence) or, after the end of session, as an end of session (count 0xFFFF).
func (w *Worker) control(c *Channel) {
	pkt := c.w.Bytes()
	if w.ended {
		decode.PutCount(pkt, decode.EndOfSessionCount)
		c.Counters.EndOfSession.Add(1)
	} else {
		c.Counters.Heartbeats.Add(1)
	}
	w.enqueue(c, pkt)
}

// endSession sends the end of session on every channel and refuses input
// from now on. The caller flushed the partial packets.
func (w *Worker) endSession(nowNs int64) {
	w.ended = true
	for _, c := range w.owned {
		w.control(c)
		c.hbInterval = w.earlyNs
		c.hbNextNs = nowNs + w.earlyNs
	}
	w.send()
	slog.Info("publish: end of session sent", "role", w.role, "session", w.session.String())
}
