package feed

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync/atomic"

	"mdcast/decode"
	"mdcast/ring"
)

// Receiver is the ring.Agent that receives one feed: it owns the sockets of
// the feed's lines (and of upstream recovery), reads them in batches
// straight into pooled packets, validates the MoldUDP64 framing, arbitrates
// the lines by sequence and offers every packet that carries new messages
// to its Output, in sequence order.
//
// DoWork, OnStart and OnClose run on one goroutine (the runner's); Stats,
// Counters and FDs may be called from any goroutine. SetLossHandler and
// SetLogger must be called before the receiver starts. In steady state
// (no gaps, no session changes) DoWork allocates nothing.
type Receiver struct {
	// hot
	lines []*line // A, then B, then the recovery socket if any
	arb   *arbiter
	pool  *ring.Pool
	pk    decode.Packet // view reused for every datagram

	cfg      Config
	counters Counters
	req      *requestWriter // nil without recovery
	log      *slog.Logger
	filled   bool
	closed   bool

	// closedFlag is closed for Stats on other goroutines: once the sockets
	// are closed their descriptor numbers may belong to someone else.
	closedFlag atomic.Bool
}

// New opens the sockets of cfg's lines (and of recovery when configured)
// and returns a receiver that emits to out. cfg is validated and defaulted;
// its lines' injected loss may be overridden by the environment (see
// EnvLossPrefix). pool, when nil, is created from cfg.Pool; either way the
// receiver's goroutine must be the pool's only caller of Get. Sockets are
// non-blocking: the runner's idle strategy decides whether to spin or park
// (ring.NewBlock over FDs()).
func New(cfg Config, pool *ring.Pool, out Output) (*Receiver, error) {
	if out == nil {
		return nil, errors.New("feed: nil Output")
	}
	if err := cfg.ApplyEnv(os.LookupEnv); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if pool == nil {
		var err error
		if pool, err = ring.NewPool(cfg.Pool); err != nil {
			return nil, fmt.Errorf("feed: %w", err)
		}
	}
	r := &Receiver{pool: pool, cfg: cfg, log: slog.Default().With("feed", cfg.Name)}
	ac := arbiterConfig{
		out:          out,
		counters:     &r.counters,
		maxDistance:  cfg.Gap.MaxDistance,
		maxWaitNs:    int64(cfg.Gap.MaxWait),
		maxHeld:      cfg.Gap.MaxHeld,
		timeoutNs:    int64(cfg.Recovery.Timeout),
		retries:      cfg.Recovery.Retries,
		recoveryLine: LineRecovery,
		log:          r.log,
	}
	if cfg.Session != "" {
		s, _ := decode.MakeSession(cfg.Session) // validated
		ac.session, ac.fixed = s, true
	}
	for i, lc := range cfg.Lines {
		l, err := openLine(i, lc, cfg.Batch)
		if err != nil {
			r.closeLines()
			return nil, err
		}
		r.lines = append(r.lines, l)
	}
	if cfg.Recovery.Addr != "" {
		server := netip.MustParseAddrPort(cfg.Recovery.Addr) // validated
		l, err := openRecovery(server, cfg.Lines[0].RcvBuf, cfg.Batch)
		if err != nil {
			r.closeLines()
			return nil, err
		}
		r.lines = append(r.lines, l)
		r.req = &requestWriter{conn: l.conn, server: server}
		ac.send = r.req.send
	}
	r.arb = newArbiter(ac)
	return r, nil
}

// RoleName names the agent (and the runner's thread) after the feed.
func (r *Receiver) RoleName() string { return "feed-" + r.cfg.Name }

// OnStart fills the receive batches from the pool on the runner's
// goroutine, which from then on owns the pool's Get side.
func (r *Receiver) OnStart() error {
	if r.closed {
		return ErrClosed
	}
	r.fill()
	for i, lc := range r.cfg.Lines {
		if r.lines[i].inj != nil {
			r.log.Warn("feed: loss injection on", "line", lc.Name, "loss", lc.Loss.String())
		}
	}
	r.log.Info("feed: started", "lines", len(r.cfg.Lines), "format", r.cfg.Format,
		"recovery", r.cfg.Recovery.Addr)
	return nil
}

func (r *Receiver) fill() {
	for _, l := range r.lines {
		l.fill(r.pool)
	}
	r.filled = true
}

// DoWork reads one batch from every line, arbitrates it, then runs gap
// detection and recovery at nowNs. It returns the number of datagrams read
// plus recovery actions taken, so an idle strategy backs off only when
// nothing arrived. A socket error is returned after the other lines were
// read; the receiver stays usable.
func (r *Receiver) DoWork(nowNs int64) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	if !r.filled {
		r.fill()
	}
	work := 0
	var firstErr error
	for _, l := range r.lines {
		n, err := l.read(r)
		work += n
		if err != nil {
			if l.idx == LineRecovery {
				// An ICMP "port unreachable" for an earlier request shows up
				// here as ECONNREFUSED: the request failed, the socket is fine.
				r.counters.RequestErrors.Add(1)
			} else if firstErr == nil {
				firstErr = err
			}
		}
	}
	work += r.arb.poll(nowNs)
	r.arb.publish()
	return work, firstErr
}

// OnClose closes the sockets and returns every packet the receiver holds to
// the pool. It runs on the runner's goroutine after the last DoWork.
func (r *Receiver) OnClose() {
	if r.closed {
		return
	}
	r.closed = true
	r.closedFlag.Store(true)
	r.arb.release()
	r.arb.publish()
	if err := r.closeLines(); err != nil {
		r.log.Warn("feed: close", "err", err)
	}
	st := r.Stats()
	r.log.Info("feed: closed", "emitted_messages", st.EmittedMessages, "gaps", st.Gaps,
		"upstream_lost", st.UpstreamLost, "session", st.Session)
}

// Close is OnClose for a receiver that was never run by a ring.Runner (or
// whose runner has stopped). It must not be called while DoWork may run.
func (r *Receiver) Close() error {
	r.OnClose()
	return nil
}

func (r *Receiver) closeLines() error {
	var first error
	for _, l := range r.lines {
		if err := l.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// FDs returns the receiver's socket descriptors (lines, then recovery), for
// an idle strategy that parks in poll(2), e.g. ring.NewBlock.
func (r *Receiver) FDs() []int {
	fds := make([]int, len(r.lines))
	for i, l := range r.lines {
		fds[i] = l.conn.FD()
	}
	return fds
}

// LocalAddrs returns the bound address of every socket, in FDs order: the
// lines' addresses, then the recovery socket's ephemeral one.
func (r *Receiver) LocalAddrs() []netip.AddrPort {
	as := make([]netip.AddrPort, len(r.lines))
	for i, l := range r.lines {
		as[i] = l.conn.LocalAddr()
	}
	return as
}

// Config returns the receiver's effective configuration.
func (r *Receiver) Config() Config { return r.cfg }

// SetLossHandler installs fn, called on the receiver's goroutine each time
// upstream messages from..to (inclusive) are given up as lost (after
// recovery failed or when none is configured), and on session changes for
// the old session's holes (Session names the session). It runs before the
// packets held behind the hole are emitted, so whatever fn hands to the
// receiver's Output lands between the data before the hole and the data
// after it (the daemon sends its upstream loss notice this way). It is
// never called in steady state. Call it before the receiver starts.
func (r *Receiver) SetLossHandler(fn func(from, to uint64)) { r.arb.onLoss = fn }

// Session returns the upstream session the receiver follows (zero before
// the first packet). Inside the loss handler it is the session the lost
// messages belong to, also on a session change (the old one's holes are
// reported before the new session is taken). Safe from any goroutine.
func (r *Receiver) Session() decode.Session {
	if s := r.arb.sess.Load(); s != nil {
		return *s
	}
	return decode.Session{}
}

// SetLogger replaces the logger (slog.Default with a "feed" attribute).
// Call it before the receiver starts.
func (r *Receiver) SetLogger(l *slog.Logger) {
	if l == nil {
		return
	}
	r.log = l.With("feed", r.cfg.Name)
	r.arb.log = r.log
}

// Counters returns the arbiter's live counters (for tests and embedders that
// read single values); Stats returns a consistent-enough plain copy.
func (r *Receiver) Counters() *Counters { return &r.counters }

// Stats returns a snapshot of every counter. It allocates (names, the lines
// slice) and is meant for /stats and /metrics, not the hot path.
func (r *Receiver) Stats() Stats {
	st := Stats{Name: r.cfg.Name, Session: r.arb.sessionName()}
	r.counters.snapshot(&st)
	var drops []uint64
	if !r.closedFlag.Load() {
		drops = kernelDrops(r.FDs())
	}
	for i, l := range r.lines {
		ls := l.stats()
		if drops != nil {
			ls.KernelDrops = drops[i]
		}
		if l.idx == LineRecovery {
			st.Recovery = &ls
			continue
		}
		st.Lines = append(st.Lines, ls)
	}
	return st
}

var _ ring.Agent = (*Receiver)(nil)
