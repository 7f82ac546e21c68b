package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"

	"mdcast/cmd/internal/daemon"
	"mdcast/decode"
	"mdcast/internal/lossinject"
	"mdcast/internal/udpsock"
	"mdcast/perf"
	"mdcast/publish"
	"mdcast/subscriber"
)

// Socket sizes: the bursts of a high-rate run must not overflow the
// kernel's queues between two polls.
const (
	senderSndBuf = 4 << 20
	shutdownWait = 3 * time.Second
)

// inProcessGrace is how long the in-process daemon keeps answering
// re-requests after its end of session: the run has drained by then.
const inProcessGrace = 100 * time.Millisecond

// loadSeed makes the injected loss reproducible from run to run.
const loadSeed = 7

// env is what both paths of a run share.
type env struct {
	o       *options
	replay  *perf.Replay
	format  decode.Format
	loadCPU int // the low-latency load agent's CPU (-1: unpinned)
	log     *slog.Logger
}

func (e *env) newSender() (*udpsock.Conn, error) {
	return udpsock.NewSender(netip.AddrPortFrom(loopbackAddr, 0), "lo",
		udpsock.Options{SndBuf: senderSndBuf, NonBlocking: e.o.Profile == profileLowLatency})
}

var loopbackAddr = netip.AddrFrom4([4]byte{127, 0, 0, 1})

func (e *env) genConfig(dst netip.AddrPort) perf.GeneratorConfig {
	return perf.GeneratorConfig{
		Rate:        e.o.Rate,
		Instruments: e.o.Instruments,
		MaxPayload:  e.o.MaxPayload,
		Dst:         dst,
		Replay:      e.replay,
	}
}

// subscriberProfile sets how the subscriber's receive path runs: on its own
// runner parked in poll(2) (default) or in mdperf's load agent (low-latency,
// where Start is never called).
func (e *env) subscriberProfile(c *subscriber.Config) {
	c.Idle = "block"
	if e.o.Profile == profileLowLatency {
		c.Idle = "spin" // the load agent spins DoWork: the subscriber polls with epoll
	}
	c.Pin = false
	c.Seed = loadSeed
}

// newPathSubscriber opens the subscriber and its consumer.
func newPathSubscriber(cfg subscriber.Config) (*subscriber.Subscriber, *subscriber.Consumer, error) {
	sub, err := subscriber.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	con, err := sub.NewConsumer(subscriber.ConsumerConfig{Name: "mdperf"})
	if err != nil {
		sub.Close()
		return nil, nil, err
	}
	return sub, con, nil
}

func recoveredFn(sub *subscriber.Subscriber) func() uint64 {
	return func() uint64 {
		var n uint64
		for _, c := range sub.Stats().Channels {
			n += c.Recovered
		}
		return n
	}
}

// daemonPath builds the path through mdcastd: in-process with its defaults
// on free loopback ports, or a running daemon described by -daemon.
func (e *env) daemonPath() (*path, error) {
	o := e.o
	var (
		d       *daemon.Daemon
		feedDst netip.AddrPort
		subCfg  subscriber.Config
		scope   string
		notes   []string
	)
	if o.DaemonCfg == "" {
		// The feed needs a concrete port: take a free one, as for the
		// channels' groups, so a running mdcastd on the defaults is untouched.
		port, err := freeUDPPort()
		if err != nil {
			return nil, err
		}
		feedDst = netip.AddrPortFrom(loopbackAddr, port)
		// The profile decides the daemon's idle strategy and pinning when
		// defaults are filled in, so it goes in first.
		cfg := daemon.Config{Profile: o.Profile}.WithDefaults()
		cfg.HTTP.Addr = "off"
		cfg.Feed.Lines = cfg.Feed.Lines[:1]
		cfg.Feed.Lines[0].Addr = feedDst.String()
		if e.format == decode.FormatITCH {
			cfg.Feed.Format, cfg.Publish.Format = "itch", "itch"
		}
		if cfg.Publish.Channels, err = freshChannels(o.Channels); err != nil {
			return nil, err
		}
		cfg.Publish.Grace = inProcessGrace
		cfg.Log.Level = "warn"
		if d, err = daemon.New(cfg, e.log); err != nil {
			return nil, fmt.Errorf("in-process daemon: %w", err)
		}
		if err := d.Start(); err != nil {
			return nil, fmt.Errorf("in-process daemon: %w", err)
		}
		subCfg = d.SubscriberConfig()
		scope = "the whole mdperf process: in-process daemon, subscriber, generator and recorder"
		dc := d.Config()
		notes = append(notes, fmt.Sprintf("in-process mdcastd: profile %s, agents.idle %s, agents.cpu %s, %d channels on fresh loopback groups",
			dc.Profile, dc.Agents.Idle, dc.Agents.CPU, len(dc.Publish.Channels)))
	} else {
		cfg, err := daemon.Load(o.DaemonCfg)
		if err != nil {
			return nil, fmt.Errorf("-daemon: %w", err)
		}
		cfg = cfg.WithDefaults()
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", o.DaemonCfg, err)
		}
		if want := formatName(e.format); cfg.Feed.Format != want {
			return nil, fmt.Errorf("%s: feed.format is %q but this run sends %q", o.DaemonCfg, cfg.Feed.Format, want)
		}
		if feedDst, err = netip.ParseAddrPort(cfg.Feed.Lines[0].Addr); err != nil {
			return nil, fmt.Errorf("%s: feed line %s addr %q: %w", o.DaemonCfg, cfg.Feed.Lines[0].Name, cfg.Feed.Lines[0].Addr, err)
		}
		if feedDst.Addr().IsUnspecified() {
			feedDst = netip.AddrPortFrom(loopbackAddr, feedDst.Port())
		}
		subCfg = cfg.SubscriberConfig()
		scope = "the mdperf process only (subscriber, generator, recorder); the daemon runs in its own process"
		notes = append(notes, "daemon path measured against the running mdcastd configured in "+o.DaemonCfg)
	}
	e.subscriberProfile(&subCfg)
	if o.Loss > 0 {
		subCfg.Loss = lossinject.Config{Rate: o.Loss, Seed: loadSeed}
	}
	p := &path{name: "daemon path", scope: scope, notes: notes}
	closers := []func() error{}
	p.close = func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	if d != nil {
		p.explain = func() []string {
			return append(daemonNotes(d.Stats()), subscriberNotes(p.name, p.sub.Stats())...)
		}
		closers = append(closers, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
			defer cancel()
			return d.Shutdown(ctx)
		})
	}
	sub, con, err := newPathSubscriber(subCfg)
	if err != nil {
		p.close()
		return nil, fmt.Errorf("daemon path subscriber: %w", err)
	}
	closers = append(closers, sub.Close)
	sender, err := e.newSender()
	if err != nil {
		p.close()
		return nil, fmt.Errorf("daemon path sender: %w", err)
	}
	closers = append(closers, sender.Close)
	gen, err := perf.NewGenerator(e.genConfig(feedDst), sender)
	if err != nil {
		p.close()
		return nil, err
	}
	p.gen, p.sub, p.con, p.stats = gen, sub, con, recoveredFn(sub)
	if d == nil {
		p.explain = func() []string { return subscriberNotes(p.name, sub.Stats()) }
	}
	return p, nil
}

// baselinePath builds the direct path: the same generator settings sending
// straight to a fresh multicast group on lo that the same subscriber
// library joins, with no daemon and no recovery (nothing to ask).
func (e *env) baselinePath() (*path, error) {
	group, err := freshGroup()
	if err != nil {
		return nil, err
	}
	cfg := subscriber.Config{
		Interface: "lo",
		Channels:  []subscriber.ChannelConfig{{Name: "direct", Group: group.String(), Format: e.format}},
	}
	e.subscriberProfile(&cfg)
	p := &path{name: "baseline (direct)", scope: "the whole mdperf process: subscriber, generator and recorder (the daemon is stopped)"}
	sub, con, err := newPathSubscriber(cfg)
	if err != nil {
		return nil, fmt.Errorf("baseline subscriber: %w", err)
	}
	sender, err := e.newSender()
	if err != nil {
		sub.Close()
		return nil, fmt.Errorf("baseline sender: %w", err)
	}
	p.close = func() error { return errors.Join(sender.Close(), sub.Close()) }
	gen, err := perf.NewGenerator(e.genConfig(group), sender)
	if err != nil {
		p.close()
		return nil, err
	}
	p.gen, p.sub, p.con, p.stats = gen, sub, con, recoveredFn(sub)
	p.explain = func() []string { return subscriberNotes(p.name, sub.Stats()) }
	return p, nil
}

// freshGroup picks a multicast group on 239.255.0.0/16 (not 239.255.0.x,
// which mdcastd's defaults use) and a port that is free on loopback, so runs
// never collide with each other or with a running daemon.
func freshGroup() (netip.AddrPort, error) {
	port, err := freeUDPPort()
	if err != nil {
		return netip.AddrPort{}, err
	}
	a := netip.AddrFrom4([4]byte{239, 255, byte(1 + rand.IntN(254)), byte(1 + rand.IntN(254))})
	return netip.AddrPortFrom(a, port), nil
}

// freshChannels returns n channels on fresh groups, with re-request sockets
// on free loopback ports (concrete ports: the subscriber configuration is
// derived from the daemon's configuration).
func freshChannels(n int) ([]publish.ChannelConfig, error) {
	base := byte(1 + rand.IntN(254))
	var chans []publish.ChannelConfig
	for i := 0; i < n; i++ {
		port, err := freeUDPPort()
		if err != nil {
			return nil, err
		}
		reqPort, err := freeUDPPort()
		if err != nil {
			return nil, err
		}
		chans = append(chans, publish.ChannelConfig{
			Name:        fmt.Sprintf("ch%d", i),
			Group:       netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 255, base, byte(i + 1)}), port).String(),
			RequestAddr: netip.AddrPortFrom(loopbackAddr, reqPort).String(),
		})
	}
	return chans, nil
}

// freeUDPPort asks the kernel for an ephemeral UDP port on loopback.
func freeUDPPort() (uint16, error) {
	c, err := udpsock.ListenUnicast(netip.AddrPortFrom(loopbackAddr, 0), udpsock.Options{})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().Port(), nil
}

func formatName(f decode.Format) string {
	if f == decode.FormatITCH {
		return "itch"
	}
	return "quote"
}

func newLogger(verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	var w io.Writer = os.Stderr
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// daemonNotes reports the in-process daemon's own drops, so a loss on the
// daemon path can be placed: upstream of the daemon (its feed socket) or in it.
func daemonNotes(st daemon.Stats) []string {
	var notes []string
	f := st.Feed
	if f.UpstreamLost > 0 {
		notes = append(notes, fmt.Sprintf("daemon: the feed declared %d messages lost upstream in %d gaps (datagrams that never reached it, e.g. its socket queue overflowed while its agent was descheduled)",
			f.UpstreamLost, f.Losses))
	}
	if f.OutputFullMessages > 0 {
		notes = append(notes, fmt.Sprintf("daemon: %d messages dropped because the publish stage was full", f.OutputFullMessages))
	}
	var malformed uint64
	for _, l := range f.Lines {
		malformed += l.Malformed.Total()
	}
	if malformed > 0 {
		notes = append(notes, fmt.Sprintf("daemon: %d malformed datagrams on the feed", malformed))
	}
	if st.FanoutDrops > 0 {
		notes = append(notes, fmt.Sprintf("daemon: %d packets dropped by full worker rings", st.FanoutDrops))
	}
	return notes
}

// subscriberNotes reports where the subscriber lost or dropped messages
// (whole run, warm-up included).
func subscriberNotes(name string, st subscriber.Stats) []string {
	var gaps, lost, injected, malformed, holdFull, recvErr, upNotices, upLost uint64
	for _, c := range st.Channels {
		upNotices += c.UpstreamLosses
		upLost += c.UpstreamLost
		gaps += c.Gaps
		lost += c.Lost
		injected += c.InjectedDrops
		malformed += c.Malformed
		holdFull += c.HoldFull
		recvErr += c.RecvErrors
	}
	var notes []string
	if lost > 0 {
		notes = append(notes, fmt.Sprintf("%s: the subscriber saw %d gaps and reported %d sequences lost (holes it could not repair in time; the direct path has no retransmission)",
			name, gaps, lost))
	}
	if upNotices > 0 {
		notes = append(notes, fmt.Sprintf("%s: the daemon sent %d upstream loss notices (summed over channels: %d upstream messages it lost, e.g. its feed socket overflowed, or a worker's input ring was full)",
			name, upNotices, upLost))
	}
	if injected > 0 {
		notes = append(notes, fmt.Sprintf("%s: the subscriber's loss injection dropped %d packets", name, injected))
	}
	if malformed+recvErr > 0 {
		notes = append(notes, fmt.Sprintf("%s: %d malformed datagrams, %d receive errors", name, malformed, recvErr))
	}
	if holdFull > 0 {
		notes = append(notes, fmt.Sprintf("%s: %d out-of-order packets found the reorder buffer full", name, holdFull))
	}
	for _, c := range st.Consumers {
		if c.Dropped > 0 {
			notes = append(notes, fmt.Sprintf("%s: consumer %q fell a whole ring behind: %d messages overwritten unread", name, c.Name, c.Dropped))
		}
	}
	return notes
}
