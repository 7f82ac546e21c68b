package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"mdcast/decode"
	"mdcast/feed"
	"mdcast/internal/affinity"
	"mdcast/internal/clock"
	"mdcast/publish"
	"mdcast/ring"
)

// Daemon is one running mdcastd: a feed receiver, the publish workers, and
// the HTTP endpoint. Build it with New, then Start; Shutdown stops it in
// order. Its methods are safe for concurrent use.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	session string

	pool    *ring.Pool
	recv    *feed.Receiver
	workers []*publish.Worker
	wakers  []*ring.Waker
	fan     *fanout
	notices *noticer
	agents  []*lifecycle
	runners []*ring.Runner

	replayers []*replayer
	httpSrv   *http.Server
	httpLn    net.Listener
	httpAddr  string

	started  time.Time
	mu       sync.Mutex
	shutdown bool
}

// New validates cfg (after defaults) and builds the daemon: it opens every
// socket, so an address in use or a missing interface fails here, but no
// agent runs until Start.
func New(cfg Config, log *slog.Logger) (*Daemon, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", errConfig, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Publish.Session == "" {
		// Workers must share one session, and every start gets a new one
		// so subscribers see the restart.
		cfg.Publish.Session = publish.NewSessionName(time.Now()).String()
	}
	d := &Daemon{cfg: cfg, log: log, session: cfg.Publish.Session}
	ok := false
	defer func() {
		if !ok {
			d.closeAll()
		}
	}()

	var err error
	if d.pool, err = ring.NewPool(cfg.Feed.Pool); err != nil {
		return nil, fmt.Errorf("feed.pool: %w", err)
	}
	nw := cfg.Agents.Workers
	if nw == 0 {
		// Inline: one agent receives, routes, frames and sends on one
		// thread; the worker is the feed's output, called directly.
		w, err := publish.NewWorker(cfg.Publish, nil)
		if err != nil {
			return nil, err
		}
		d.workers = append(d.workers, w)
		if d.recv, err = feed.New(cfg.Feed, d.pool, w); err != nil {
			return nil, err
		}
		d.recv.SetLogger(log.With("feed", cfg.Feed.Name))
		d.noticeLosses(w)
		d.agents = append(d.agents, &lifecycle{name: "mdcast-inline", recv: d.recv, workers: d.workers})
		fds := append(append([]int(nil), d.recv.FDs()...), w.FDs()...)
		cpu, _ := cfg.cpu()
		r, err := d.runner(d.agents[0], fds, nil, cpu)
		if err != nil {
			return nil, err
		}
		d.runners = append(d.runners, r)
	} else {
		// Pipeline: the receiver fans every packet out to the workers'
		// input rings; each worker owns every nw-th channel.
		fan := &fanout{}
		d.fan = fan
		for i := 0; i < nw; i++ {
			var own []int
			for ch := i; ch < len(cfg.Publish.Channels); ch += nw {
				own = append(own, ch)
			}
			w, err := publish.NewWorker(cfg.Publish, own)
			if err != nil {
				return nil, err
			}
			wk, err := ring.NewWaker()
			if err != nil {
				return nil, err
			}
			d.workers = append(d.workers, w)
			d.wakers = append(d.wakers, wk)
			fan.rings = append(fan.rings, w.Input())
			fan.wakers = append(fan.wakers, wk)
		}
		if d.recv, err = feed.New(cfg.Feed, d.pool, fan); err != nil {
			return nil, err
		}
		d.recv.SetLogger(log.With("feed", cfg.Feed.Name))
		d.noticeLosses(fan)
		fan.pool, fan.session, fan.owed = d.pool, d.recv.Session, make([]owedRange, nw)
		cpu, _ := cfg.cpu()
		ra := &lifecycle{name: "mdcast-receiver", recv: d.recv}
		r, err := d.runner(ra, d.recv.FDs(), nil, cpu)
		if err != nil {
			return nil, err
		}
		d.agents = append(d.agents, ra)
		d.runners = append(d.runners, r)
		for i, w := range d.workers {
			wa := &lifecycle{name: fmt.Sprintf("mdcast-worker-%d", i), workers: []*publish.Worker{w}}
			wcpu := -1
			if len(cfg.Agents.WorkerCPUs) > 0 {
				wcpu = cfg.Agents.WorkerCPUs[i]
			}
			r, err := d.runner(wa, w.FDs(), d.wakers[i], wcpu)
			if err != nil {
				return nil, err
			}
			d.agents = append(d.agents, wa)
			d.runners = append(d.runners, r)
		}
	}
	for _, l := range cfg.Feed.Lines {
		if l.Replay.File != "" {
			rp, err := newReplayer(l, cfg.Publish.Interface)
			if err != nil {
				return nil, err
			}
			d.replayers = append(d.replayers, rp)
		}
	}
	if cfg.HTTP.Addr != "off" {
		if d.httpLn, err = net.Listen("tcp", cfg.HTTP.Addr); err != nil {
			return nil, fmt.Errorf("http.addr %q: %w", cfg.HTTP.Addr, err)
		}
		d.httpAddr = d.httpLn.Addr().String()
		d.httpSrv = &http.Server{Handler: d.handler(), ReadHeaderTimeout: 5 * time.Second}
	}
	ok = true
	return d, nil
}

// noticeLosses makes every upstream loss of the feed an upstream loss
// notice on every channel, sent through out, the feed's Output.
func (d *Daemon) noticeLosses(out feed.Output) {
	d.notices = &noticer{recv: d.recv, pool: d.pool, out: out}
	d.recv.SetLossHandler(d.notices.lost)
}

// runner builds the runner of one agent with the configured idle strategy.
func (d *Daemon) runner(a ring.Agent, fds []int, wk *ring.Waker, cpu int) (*ring.Runner, error) {
	var idle ring.IdleStrategy
	switch d.cfg.Agents.Idle {
	case IdleSpin:
		idle = ring.NewSpinYield(0)
	case IdleYield:
		idle = ring.Yield{}
	case IdleBackoff:
		idle = ring.NewBackoff(0, 0, 0, d.cfg.Agents.MaxPark)
	default:
		b, err := ring.NewBlock(fds, wk, d.cfg.Agents.MaxPark)
		if err != nil {
			return nil, err
		}
		if d.cfg.Agents.Spin > 0 {
			b.SetSpin(d.cfg.Agents.Spin)
		}
		idle = b
	}
	log := d.log
	return ring.NewRunner(a, ring.RunnerConfig{
		Idle:         idle,
		CPU:          cpu,
		LockOSThread: true,
		OnError: func(err error) {
			// Errors here are per duty cycle (a failed send); the counter
			// in the runner records each, the log is throttled by slog's
			// caller... keep it at debug to stay off the hot path's cost.
			log.Debug("agent error", "agent", a.RoleName(), "err", err)
		},
	}), nil
}

// Start runs the agents, the replayers and the HTTP endpoint.
func (d *Daemon) Start() error {
	topo := affinity.Detect()
	d.started = time.Now()
	for _, r := range d.runners {
		if err := r.Start(); err != nil {
			d.closeAll()
			return fmt.Errorf("start %s: %w", r.Role(), err)
		}
	}
	if d.httpSrv != nil {
		go func() {
			if err := d.httpSrv.Serve(d.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("http server stopped", "err", err)
			}
		}()
	}
	for _, rp := range d.replayers {
		rp.start(d.log)
	}
	cpu, _ := d.cfg.cpu()
	chans := make([]string, len(d.cfg.Publish.Channels))
	for i, c := range d.cfg.Publish.Channels {
		chans[i] = c.Name + "=" + c.Group
	}
	d.log.Info("mdcastd started",
		"session", d.session, "profile", d.cfg.Profile, "idle", d.cfg.Agents.Idle,
		"workers", d.cfg.Agents.Workers, "cpu", cpu,
		"cpus", topo.LogicalCPUs, "cores", topo.PhysicalCores, "cache_line", topo.CacheLine, "brand", topo.Brand,
		"feed_format", d.cfg.Feed.Format, "lines", lineAddrs(d.cfg.Feed), "channels", chans,
		"http", d.httpAddr)
	return nil
}

func lineAddrs(c feed.Config) []string {
	s := make([]string, len(c.Lines))
	for i, l := range c.Lines {
		s[i] = l.Name + "=" + l.Addr
	}
	return s
}

// Shutdown stops input, flushes, sends end of session on every channel,
// answers re-requests for the grace period (cut short when ctx ends), then
// stops every agent and the HTTP endpoint. It is idempotent.
func (d *Daemon) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	if d.shutdown {
		d.mu.Unlock()
		return nil
	}
	d.shutdown = true
	d.mu.Unlock()

	for _, rp := range d.replayers {
		rp.stop()
	}
	for _, a := range d.agents {
		a.endReq.Store(true)
	}
	for _, wk := range d.wakers {
		wk.Wake()
	}
	d.log.Info("input stopped; end of session sent, answering re-requests during grace",
		"session", d.session, "grace", d.cfg.Publish.Grace)
	// Each worker closes Done once its grace period after the end of
	// session is over.
	for _, w := range d.workers {
		select {
		case <-w.Done():
		case <-ctx.Done():
		}
	}
	d.closeAll()
	d.log.Info("mdcastd stopped", "session", d.session)
	return nil
}

// closeAll stops runners and closes sockets; safe on a partly built daemon.
func (d *Daemon) closeAll() {
	for _, r := range d.runners {
		_ = r.Close()
	}
	d.runners = nil
	if d.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = d.httpSrv.Shutdown(ctx)
		cancel()
		d.httpSrv = nil
	} else if d.httpLn != nil {
		_ = d.httpLn.Close()
	}
	for _, w := range d.wakers {
		_ = w.Close()
	}
	d.wakers = nil
}

// Config returns the effective configuration (defaults filled in, the
// session set).
func (d *Daemon) Config() Config { return d.cfg }

// Session returns the MoldUDP64 session name of this run.
func (d *Daemon) Session() string { return d.session }

// HTTPAddr returns the address the HTTP endpoint listens on ("" if off).
func (d *Daemon) HTTPAddr() string { return d.httpAddr }

// lifecycle wraps the daemon's agents with the shutdown sequence: while
// running it calls the receiver, then the workers; once the end is requested
// it stops reading input and asks each worker to end its session (the worker
// flushes, sends end of session, and keeps answering re-requests until its
// grace period is over and its Done channel closes).
type lifecycle struct {
	name    string
	recv    *feed.Receiver
	workers []*publish.Worker

	endReq  atomic.Bool // set by Shutdown, read by the agent's thread
	endSeen bool        // agent thread only
}

func (l *lifecycle) RoleName() string { return l.name }

func (l *lifecycle) OnStart() error {
	if l.recv != nil {
		if err := l.recv.OnStart(); err != nil {
			return err
		}
	}
	for i, w := range l.workers {
		if err := w.OnStart(); err != nil {
			for _, s := range l.workers[:i] {
				s.OnClose()
			}
			if l.recv != nil {
				l.recv.OnClose()
			}
			return err
		}
	}
	return nil
}

func (l *lifecycle) DoWork(nowNs int64) (int, error) {
	work := 0
	var first error
	if !l.endSeen && l.endReq.Load() {
		l.endSeen = true
		for _, w := range l.workers {
			w.EndSession(nowNs)
		}
	}
	if l.recv != nil && !l.endSeen {
		n, err := l.recv.DoWork(nowNs)
		work, first = n, err
	}
	for _, w := range l.workers {
		n, err := w.DoWork(nowNs)
		work += n
		if err != nil && first == nil {
			first = err
		}
	}
	return work, first
}

func (l *lifecycle) OnClose() {
	if l.recv != nil {
		l.recv.OnClose()
	}
	for _, w := range l.workers {
		w.OnClose()
	}
}

// fanout hands each packet to every worker's input ring (pipeline mode).
// Offer takes one reference, as feed.Output requires. A full ring drops
// that worker's copy (counted in dropped); the worker's channels would then
// skip those messages with contiguous sequences, a silent loss to their
// subscribers. So the fan-out remembers the upstream range each worker
// missed and, before the next packet that worker accepts, sends it an
// upstream loss notice for that range with the DaemonDrop flag (on every
// channel the worker owns, in place: docs/PROTOCOL.md 3.3). A refused
// upstream loss notice joins that range too: its messages are reported,
// under the later reason.
type fanout struct {
	rings   []*ring.SPSC[*ring.Packet]
	wakers  []*ring.Waker
	dropped atomic.Uint64

	// Set once the receiver exists (noticeFanoutDrops); Offer runs on the
	// receiver's goroutine, the feed pool's only Get caller.
	pool    *ring.Pool
	session func() decode.Session
	owed    []owedRange   // per worker: upstream sequences it missed, not yet noticed
	notices atomic.Uint64 // drop notices a worker took
}

// owedRange is an upstream range a worker missed.
type owedRange struct {
	from, to uint64
	set      bool
}

func (f *fanout) Offer(p *ring.Packet) bool {
	for range len(f.rings) - 1 {
		p.Retain()
	}
	all := true
	for i, r := range f.rings {
		// A notice owed goes first; while it cannot, the data cannot
		// either (it would overtake the notice).
		if (f.owed != nil && f.owed[i].set && !f.payOwed(i)) || !r.Offer(p) {
			f.owe(i, p)
			p.Release()
			f.dropped.Add(1)
			all = false
			continue
		}
		f.wakers[i].Wake()
	}
	return all
}

// owe adds the upstream messages p carries for worker i to what i missed.
func (f *fanout) owe(i int, p *ring.Packet) {
	if f.owed == nil {
		return
	}
	from, to, ok := upstreamRange(p)
	if !ok {
		return
	}
	o := &f.owed[i]
	if !o.set {
		o.from, o.to, o.set = from, to, true
		return
	}
	o.from, o.to = min(o.from, from), max(o.to, to)
}

// payOwed offers worker i the notice of the range it missed and reports
// whether the worker took it.
func (f *fanout) payOwed(i int) bool {
	o := &f.owed[i]
	p := f.pool.Get()
	fl := decode.UpstreamLossFields{Session: f.session(), From: o.from, To: o.to, Flags: decode.UpstreamLossDaemonDrop}
	if !publish.NoticePacket(p, fl, clock.Nanotime()) {
		p.Release()
		return false
	}
	if !f.rings[i].Offer(p) {
		p.Release()
		return false
	}
	f.wakers[i].Wake()
	*o = owedRange{}
	f.notices.Add(1)
	return true
}

// upstreamRange returns the upstream sequences a packet on its way to the
// workers carries: the new messages of a data packet (from Packet.Seq, the
// first not delivered before, to its last), or a notice's own range.
func upstreamRange(p *ring.Packet) (from, to uint64, ok bool) {
	if p.Line == publish.LineNotice {
		var u decode.UpstreamLoss
		if u.Wrap(p.Bytes()) != nil {
			return 0, 0, false
		}
		return u.From(), u.To(), true
	}
	var pk decode.Packet
	if pk.Wrap(p.Bytes()) != nil {
		return 0, 0, false
	}
	n := uint64(pk.Count())
	if n == 0 || n > decode.MaxMessageCount {
		return 0, 0, false
	}
	last := pk.Sequence() + n - 1
	if p.Seq < pk.Sequence() || p.Seq > last {
		return 0, 0, false
	}
	return p.Seq, last, true
}
