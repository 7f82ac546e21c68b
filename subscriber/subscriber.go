package subscriber

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"mdcast/decode"
	"mdcast/internal/clock"
	"mdcast/internal/udpsock"
	"mdcast/ring"
)

// requestLinger is how long after its last request a channel keeps reading
// its request socket once no hole is open (answers that trail the repair).
const requestLinger = int64(5 * time.Millisecond)

// Subscriber joins the configured channels and runs the receive path: it
// reads each channel's socket in batches, repairs gaps by re-request, and
// offers every message in order to its consumers' rings.
//
// The receive path runs either on the Subscriber's own Runner (Start) or on
// the caller's thread (DoWork, or Agent composed into another runner); never
// both. New, NewConsumer, Start, Close, Stats and ChannelName are safe from
// any goroutine; DoWork belongs to one goroutine at a time.
type Subscriber struct {
	cfg       Config
	chans     []*channel
	consumers atomic.Pointer[consumerSet]
	formats   []decode.Format
	rb        *udpsock.RecvBatch
	bufs      [][]byte
	poller    *udpsock.Poller // which sockets are readable, one syscall per DoWork; nil: read them all
	closed    chan struct{}   // closed by Close: wakes every parked Run

	mu        sync.Mutex // guards below (setup path)
	runner    *ring.Runner
	started   bool
	isClosed  bool
	nConsumer int
}

// consumerSet is replaced, never modified, when a consumer is added: the
// receive agent loads it once per DoWork.
type consumerSet struct {
	all    []*Consumer
	byChan [][]*Consumer
}

// New validates cfg, opens and joins every channel socket and a unicast
// request socket per channel (on an ephemeral port of the interface's
// address), and returns a Subscriber that is not receiving yet. Each channel
// has its own request socket so that answers map to their channel even when
// several channels share a request address.
func New(cfg Config) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Subscriber{cfg: cfg, closed: make(chan struct{})}
	s.consumers.Store(&consumerSet{byChan: make([][]*Consumer, len(cfg.Channels))})
	s.rb = udpsock.NewRecvBatch(cfg.Batch)
	mem := make([]byte, cfg.Batch*cfg.PacketSize)
	for i := 0; i < cfg.Batch; i++ {
		b := mem[i*cfg.PacketSize : (i+1)*cfg.PacketSize : (i+1)*cfg.PacketSize]
		s.bufs = append(s.bufs, b)
		s.rb.SetBuf(i, b)
	}
	rc := &rngSource{seed: cfg.Seed}
	reqLocal := requestLocalAddr(cfg.Interface)
	for i, cc := range cfg.Channels {
		s.formats = append(s.formats, cc.Format)
		c := newChannel(i, cfg, rc)
		s.chans = append(s.chans, c)
		group, _ := netip.ParseAddrPort(cc.Group) // validated
		var err error
		c.conn, err = udpsock.ListenGroup(group, cfg.Interface, udpsock.Options{RcvBuf: cfg.RcvBuf, NonBlocking: true})
		if err != nil {
			s.closeSockets()
			return nil, fmt.Errorf("subscriber: channel %q: %w", cc.Name, err)
		}
		if cc.RequestAddr != "" {
			c.reqAddr, _ = netip.ParseAddrPort(cc.RequestAddr)
			c.reqConn, err = udpsock.ListenUnicast(reqLocal, udpsock.Options{RcvBuf: cfg.RcvBuf, NonBlocking: true})
			if err != nil {
				s.closeSockets()
				return nil, fmt.Errorf("subscriber: channel %q request socket: %w", cc.Name, err)
			}
			c.hasReq = true
		}
	}
	if cfg.Idle == "spin" {
		s.poller = s.newPoller()
	}
	slog.Debug("subscriber: joined", "channels", len(cfg.Channels), "interface", cfg.Interface)
	return s, nil
}

// Poller tokens: a channel's index times two, plus one for its request socket.
const (
	readyData = 1 << 0
	readyReq  = 1 << 1
)

// newPoller returns a Poller over every socket, or nil (DoWork then reads
// each socket every cycle: correct, only slower when spinning).
//
// Only a spinning receive path (Idle "spin") gets one. There it shortens the
// idle cycle from one recvmmsg per socket to one epoll_wait (measured with
// mdperf's low-latency profile: daemon-path p50 6.6-8.2 µs against
// 8.2-9.3 µs without, three runs each). A receive path that parks in poll(2)
// between datagrams does better without it: with the Poller the default
// profile's daemon-path p50 was 39-45 µs against 26-30 µs, four runs each,
// the baseline unchanged.
func (s *Subscriber) newPoller() *udpsock.Poller {
	p, err := udpsock.NewPoller()
	if err != nil {
		slog.Warn("subscriber: no socket poller, reading every socket each cycle", "err", err)
		return nil
	}
	for i, c := range s.chans {
		err = errors.Join(err, p.Add(c.conn, int32(2*i)))
		if c.reqConn != nil {
			err = errors.Join(err, p.Add(c.reqConn, int32(2*i+1)))
		}
	}
	if err != nil {
		p.Close()
		slog.Warn("subscriber: no socket poller, reading every socket each cycle", "err", err)
		return nil
	}
	return p
}

// requestLocalAddr is where request sockets bind: the interface's address
// when it is given as one, otherwise 0.0.0.0 (any), on an ephemeral port.
func requestLocalAddr(iface string) netip.AddrPort {
	if a, err := netip.ParseAddr(iface); err == nil && a.Is4() {
		return netip.AddrPortFrom(a, 0)
	}
	if iface == "lo" {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
	}
	return netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
}

// NewConsumer adds a consumer with its own ring. It may be called before or
// after Start; a consumer added later receives from the next message on.
func (s *Subscriber) NewConsumer(cc ConsumerConfig) (*Consumer, error) {
	if err := cc.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return nil, ErrClosed
	}
	if cc.Name == "" {
		cc.Name = fmt.Sprintf("consumer%d", s.nConsumer)
	}
	if cc.RingSize == 0 {
		cc.RingSize = DefaultRingSize
	}
	if cc.ConflateSlots == 0 {
		cc.ConflateSlots = DefaultConflateSlots
	}
	n := len(s.chans)
	c := newConsumer(cc, n, s.formats, s.closed)
	if cc.Channels != nil {
		clear(c.chans)
	}
	for _, name := range cc.Channels {
		i, ok := s.ChannelIndex(name)
		if !ok {
			return nil, fmt.Errorf("%w: consumer %q: %q", ErrUnknownChannel, cc.Name, name)
		}
		c.chans[i] = true
	}
	old := s.consumers.Load()
	set := &consumerSet{all: append(append([]*Consumer(nil), old.all...), c), byChan: make([][]*Consumer, n)}
	for i := range set.byChan {
		set.byChan[i] = append([]*Consumer(nil), old.byChan[i]...)
		if c.chans[i] {
			set.byChan[i] = append(set.byChan[i], c)
		}
	}
	s.consumers.Store(set)
	s.nConsumer++
	return c, nil
}

// ChannelIndex returns the index of the channel called name.
func (s *Subscriber) ChannelIndex(name string) (int, bool) {
	for i, c := range s.cfg.Channels {
		if c.Name == name {
			return i, true
		}
	}
	return 0, false
}

// ChannelName returns the name of channel i ("" if out of range).
func (s *Subscriber) ChannelName(i int) string {
	if i < 0 || i >= len(s.cfg.Channels) {
		return ""
	}
	return s.cfg.Channels[i].Name
}

// Config returns the effective configuration (defaults filled in).
func (s *Subscriber) Config() Config { return s.cfg }

// Start runs the receive path on the Subscriber's own ring.Runner with the
// configured idle strategy and pinning. Applications that own their thread
// do not call Start: they call DoWork in their loop, or compose Agent into
// their runner.
func (s *Subscriber) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return ErrClosed
	}
	if s.started {
		return ErrStarted
	}
	idle, err := s.idleStrategy()
	if err != nil {
		return err
	}
	cpu := -1
	if s.cfg.Pin {
		cpu = s.cfg.CPU
	}
	s.runner = ring.NewRunner(s.Agent(), ring.RunnerConfig{Idle: idle, CPU: cpu, LockOSThread: true})
	if err := s.runner.Start(); err != nil {
		return err
	}
	s.started = true
	return nil
}

// Close stops the runner (if started), closes the sockets, and ends every
// consumer's Run once its ring is drained. It is idempotent.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return nil
	}
	s.isClosed = true
	r := s.runner
	s.mu.Unlock()
	var err error
	if r != nil {
		err = r.Close()
	}
	err = errors.Join(err, s.closeSockets())
	close(s.closed)
	return err
}

func (s *Subscriber) closeSockets() error {
	var errs []error
	if s.poller != nil {
		errs = append(errs, s.poller.Close())
	}
	for _, c := range s.chans {
		if c.conn != nil {
			errs = append(errs, c.conn.Close())
		}
		if c.reqConn != nil {
			errs = append(errs, c.reqConn.Close())
		}
	}
	return errors.Join(errs...)
}

// FDs returns the file descriptors the receive path reads (channel and
// request sockets), for callers that park in poll(2) between DoWork calls.
func (s *Subscriber) FDs() []int {
	var fds []int
	for _, c := range s.chans {
		if c.conn != nil {
			fds = append(fds, c.conn.FD())
		}
		if c.reqConn != nil {
			fds = append(fds, c.reqConn.FD())
		}
	}
	return fds
}

// DoWork runs one duty cycle of the receive path at time nowNs
// (internal/clock): one batch read per channel socket (with Idle "spin",
// one epoll_wait(2) first and reads of the readable sockets only; the
// request socket while answers can be expected), gap timers, and
// publication to the consumers. It returns the work done (datagrams, requests,
// conflated flushes). It never blocks and does not allocate. One goroutine
// at a time.
func (s *Subscriber) DoWork(nowNs int64) (int, error) {
	s.markReady()
	set := s.consumers.Load()
	work := 0
	for _, c := range s.chans {
		c.cons = set.byChan[c.idx]
		c.nowNs = nowNs
		work += s.pollChannel(c)
	}
	for _, con := range set.all {
		if con.cf != nil && con.cf.pending() {
			work += con.cf.flush(con.r)
			con.publish()
		}
	}
	return work, nil
}

// markReady sets each channel's ready bits from one Poller.Poll, or all of
// them when there is no Poller or it failed.
func (s *Subscriber) markReady() {
	if s.poller != nil {
		if n, err := s.poller.Poll(); err == nil {
			for i := 0; i < n; i++ {
				tok := s.poller.Token(i)
				s.chans[tok>>1].ready |= 1 << (tok & 1)
			}
			return
		}
	}
	for _, c := range s.chans {
		c.ready = readyData | readyReq
	}
}

func (s *Subscriber) pollChannel(c *channel) int {
	work := 0
	if c.ready&readyData != 0 {
		work += s.read(c, c.conn, false)
	}
	// Without a Poller the request socket costs a system call per cycle,
	// so it is read only while answers can be expected; a Poller reports
	// it only when something arrived, late answers included.
	if c.hasReq && c.ready&readyReq != 0 && (s.poller != nil || c.gaps.Len() > 0 || c.nowNs-c.lastReq < requestLinger) {
		work += s.read(c, c.reqConn, true)
	}
	c.ready = 0
	hadGaps := c.gaps.Len() > 0
	if hadGaps {
		work += c.expire()
		work += c.gaps.Poll(c.nowNs, c.highest, c.sendFn)
		c.ctr.gapsMerged.Store(c.gaps.Merged())
		c.ctr.rtt.Store(c.gaps.RTT())
	}
	if work > 0 || hadGaps {
		// These change only with datagrams and gap work: an idle cycle
		// skips the four stores (each a locked instruction on amd64).
		c.ctr.gapping.Store(int64(c.gaps.Len()))
		c.ctr.held.Store(int64(len(c.held)))
		c.ctr.next.Store(c.next)
		c.ctr.highest.Store(c.highest)
	}
	for _, con := range c.cons {
		con.publish() // cheap when nothing was offered
	}
	return work
}

// read takes one batch from conn into the channel.
func (s *Subscriber) read(c *channel, conn *udpsock.Conn, retrans bool) int {
	n, err := conn.RecvBatch(s.rb, len(s.bufs))
	if err != nil {
		c.ctr.recvErrors.Add(1)
		return 0
	}
	if n == 0 {
		return 0
	}
	recvNs := clock.Nanotime()
	for i := 0; i < n; i++ {
		if s.rb.Truncated(i) {
			c.ctr.malformed.Add(1)
			continue
		}
		c.onDatagram(s.bufs[i][:s.rb.Len(i)], recvNs, retrans)
	}
	return n
}

// pending reports whether a timer or a conflation flush is due soon, so an
// idle strategy should not park long.
func (s *Subscriber) pending() bool {
	for _, c := range s.chans {
		if c.gaps.Len() > 0 {
			return true
		}
	}
	for _, con := range s.consumers.Load().all {
		if con.cf != nil && con.cf.pending() {
			return true
		}
	}
	return false
}

// Agent returns the receive path as a ring.Agent (DoWork of this
// Subscriber; OnStart and OnClose do nothing: Close releases the sockets).
func (s *Subscriber) Agent() ring.Agent { return agent{s} }

type agent struct{ s *Subscriber }

func (a agent) RoleName() string                { return "subscriber" }
func (a agent) OnStart() error                  { return nil }
func (a agent) DoWork(nowNs int64) (int, error) { return a.s.DoWork(nowNs) }
func (a agent) OnClose()                        {}

// rngSource derives one seeded random source per channel.
type rngSource struct{ seed uint64 }

func (r *rngSource) rand(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(r.seed, stream))
}
