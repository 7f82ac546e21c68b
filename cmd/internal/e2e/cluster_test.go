package e2e

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mdcast/cmd/internal/daemon"
	"mdcast/feed"
	"mdcast/internal/mcasttest"
	"mdcast/internal/udpsock"
	"mdcast/publish"
	"mdcast/subscriber"
)

// cluster is mdcast spread over network namespaces: a feed host (the
// test's quote sender), a daemon host and subscriber hosts, on one bridge.
type cluster struct {
	net      *mcasttest.Network
	feedHost *mcasttest.Host
	dHost    *mcasttest.Host
	subHosts []*mcasttest.Host

	cfg      daemon.Config
	d        *daemon.Daemon
	sender   *udpsock.Conn    // in the feed host
	lines    []netip.AddrPort // the daemon's feed lines
	chanPort uint16           // every channel's group port
	upstream netip.AddrPort   // the feed's re-request server (serveUpstream)
	hb       *heartbeater     // upstream heartbeats from the feed host

	subs []*subscriber.Subscriber
	cols []*collector
}

// clusterOptions shape a cluster.
type clusterOptions struct {
	subscribers int
	lines       int
	maxQuote    int
	history     int           // messages per channel (0: default)
	deadline    time.Duration // subscriber retransmit deadline (0: 3s)
	noDaemon    bool          // the test runs the daemon itself (c.cfg is ready)
}

// newCluster builds the network, starts a daemon in the daemon host and a
// subscriber with one collecting consumer in each subscriber host. Sockets
// are created inside Host.Do, so they belong to their host; the agents'
// threads then run wherever the scheduler puts them. Everything is torn
// down by t.Cleanup.
func newCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("multi-host tests need the ip tool (iproute2)")
	}
	names := []string{"feed", "daemon"}
	for i := 0; i < o.subscribers; i++ {
		names = append(names, fmt.Sprintf("sub%d", i+1))
	}
	n := mcasttest.NewNetwork(t, names...) // skips when not root
	c := &cluster{net: n, feedHost: n.Host("feed"), dHost: n.Host("daemon")}
	for i := 0; i < o.subscribers; i++ {
		c.subHosts = append(c.subHosts, n.Host(names[2+i]))
	}
	dAddr := c.dHost.Addr()

	// Inside fresh namespaces every port is free.
	c.chanPort = 32100
	var cfg daemon.Config
	cfg.HTTP.Addr = "off"
	cfg.Log.Level = "warn"
	for i := 0; i < max(o.lines, 1); i++ {
		ap := netip.AddrPortFrom(dAddr, uint16(32000+i))
		c.lines = append(c.lines, ap)
		cfg.Feed.Lines = append(cfg.Feed.Lines, feed.LineConfig{Addr: ap.String()})
	}
	// The upstream re-request server lives in the feed host (serveUpstream):
	// datagrams the daemon's kernel drops under load are recovered, as
	// from an exchange.
	c.upstream = netip.AddrPortFrom(c.feedHost.Addr(), 32300)
	cfg.Feed.Recovery.Addr = c.upstream.String()
	cfg.Publish.Interface = dAddr.String()
	for i := 0; i < 4; i++ {
		cfg.Publish.Channels = append(cfg.Publish.Channels, publish.ChannelConfig{
			Name:        fmt.Sprintf("ch%d", i),
			Group:       fmt.Sprintf("239.255.77.%d:%d", i+1, c.chanPort),
			RequestAddr: netip.AddrPortFrom(dAddr, uint16(32200+i)).String(),
		})
	}
	cfg.Publish.Retransmit.ACL = []string{"10.77.0.0/16"}
	cfg.Publish.History.Messages = o.history
	cfg.Publish.Grace = 100 * time.Millisecond
	c.cfg = cfg
	if !o.noDaemon {
		c.startDaemon(t)
	}

	if err := c.feedHost.Do(func() error {
		var err error
		c.sender, err = udpsock.ListenUnicast(netip.AddrPortFrom(c.feedHost.Addr(), 0), udpsock.Options{SndBuf: 4 << 20})
		return err
	}); err != nil {
		t.Fatalf("feed host sender: %v", err)
	}
	t.Cleanup(func() { _ = c.sender.Close() })
	var hbConn *udpsock.Conn
	if err := c.feedHost.Do(func() error {
		var err error
		hbConn, err = udpsock.ListenUnicast(netip.AddrPortFrom(c.feedHost.Addr(), 0), udpsock.Options{})
		return err
	}); err != nil {
		t.Fatalf("feed host heartbeat socket: %v", err)
	}
	t.Cleanup(func() { _ = hbConn.Close() })
	c.hb = startHeartbeats(t, hbConn, feedSession, c.lines...)

	deadline := o.deadline
	if deadline == 0 {
		deadline = 3 * time.Second
	}
	for i, h := range c.subHosts {
		sc := cfg.SubscriberConfig()
		sc.Interface = h.Addr().String()
		// Generous: on a busy 2-core machine a re-request round trip
		// can take milliseconds; a Loss here must mean unrecoverable.
		sc.Retransmit.Deadline = deadline
		sc.Seed = uint64(i + 1)
		var s *subscriber.Subscriber
		if err := h.Do(func() error {
			var err error
			s, err = subscriber.New(sc)
			return err
		}); err != nil {
			t.Fatalf("subscriber on %s: %v", h.Name(), err)
		}
		t.Cleanup(func() { _ = s.Close() })
		// A deep ring: a consumer lapped by a busy 2-core machine would
		// report SlowConsumer loss, which is not what these tests study.
		cons, err := s.NewConsumer(subscriber.ConsumerConfig{Name: h.Name(), RingSize: 1 << 17})
		if err != nil {
			t.Fatal(err)
		}
		c.cols = append(c.cols, newCollector(t, h.Name(), cons, o.maxQuote))
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		c.subs = append(c.subs, s)
	}
	return c
}

// startDaemon builds the daemon inside the daemon host and starts it.
func (c *cluster) startDaemon(t *testing.T) {
	t.Helper()
	var d *daemon.Daemon
	if err := c.dHost.Do(func() error {
		var err error
		d, err = daemon.New(c.cfg, nil)
		return err
	}); err != nil {
		t.Fatalf("daemon in its host: %v", err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		_ = d.Shutdown(ctx)
	})
	c.d = d
}

// serveUpstream answers the daemon's upstream re-requests from pkts, from
// the feed host, until the test ends.
func (c *cluster) serveUpstream(t *testing.T, pkts [][]byte) {
	t.Helper()
	var conn *udpsock.Conn
	if err := c.feedHost.Do(func() error {
		var err error
		conn, err = udpsock.ListenUnicast(c.upstream, udpsock.Options{})
		return err
	}); err != nil {
		t.Fatalf("upstream server in the feed host: %v", err)
	}
	serveExchange(t, conn, clonePackets(pkts))
}

// sentMessages is the number of messages the daemon published on its channels.
func (c *cluster) sentMessages() uint64 {
	var n uint64
	if c.d == nil {
		return 0
	}
	for _, w := range c.d.Stats().Workers {
		for _, ch := range w.Channels {
			n += ch.Messages
		}
	}
	return n
}

// waitJoined waits until every subscriber has joined every channel on a
// heartbeat (the daemon's idle heartbeats carry sequence 1 before any data).
// A subscriber joins at the first packet it sees (the late-join rule), so
// data sent before that could lose a channel's first packet without a hole
// to report.
func (c *cluster) waitJoined(t *testing.T) {
	t.Helper()
	waitFor(t, 15*time.Second, "a heartbeat on every channel of every subscriber", func() bool {
		for _, sub := range c.subs {
			for _, ch := range sub.Stats().Channels {
				if ch.Heartbeats == 0 {
					return false
				}
			}
		}
		return true
	}, c.state)
}

// hostCounts sums one subscriber's channel counters.
type hostCounts struct {
	received, recovered, lost, gaps, requests, retransmits uint64
}

func (c *cluster) counts(i int) hostCounts {
	var h hostCounts
	for _, ch := range c.subs[i].Stats().Channels {
		h.received += ch.Messages
		h.recovered += ch.Recovered
		h.lost += ch.Lost
		h.gaps += ch.Gaps
		h.requests += ch.Requests
		h.retransmits += ch.Retransmits
	}
	return h
}

// waitDelivered waits until every collector has n data messages or has
// accounted for n sequences (data plus losses).
func (c *cluster) waitDelivered(t *testing.T, n int, d time.Duration, countLoss bool) {
	t.Helper()
	waitFor(t, d, fmt.Sprintf("%d messages at every subscriber host", n), func() bool {
		for _, k := range c.cols {
			data, lost, _ := k.counts()
			if countLoss {
				data += int(lost)
			}
			if data < n {
				return false
			}
		}
		return true
	}, c.state)
}

// state describes every host for a failure message.
func (c *cluster) state() string {
	var b strings.Builder
	fmt.Fprintf(&b, "daemon published %d", c.sentMessages())
	for i, k := range c.cols {
		data, lost, _ := k.counts()
		h := c.counts(i)
		_, _, losses := k.counts()
		fmt.Fprintf(&b, "; %s: collected %d lost %d %v (stats %+v)", k.name, data, lost, losses[:min(len(losses), 3)], h)
		// Per channel, what the subscriber's gap logic sees: a tail hole
		// shows as a channel whose next sequence stopped short while
		// heartbeats keep arriving.
		for _, ch := range c.subs[i].Stats().Channels {
			fmt.Fprintf(&b, " [%s next %d heartbeats %d gapping %d held %d stale %d far %d]",
				ch.Name, ch.Next, ch.Heartbeats, ch.Gapping, ch.Held, ch.Stale, ch.FarSequence)
		}
	}
	if c.d != nil {
		st := c.d.Stats()
		fmt.Fprintf(&b, "; feed: emitted %d recovered %d upstream lost %d kernel drops %d", st.Feed.EmittedMessages, st.Feed.RecoveredMessages, st.Feed.UpstreamLost, st.Feed.Lines[0].KernelDrops)
		for _, ch := range st.Workers[0].Channels {
			fmt.Fprintf(&b, "; %s: requests %d served %d suppressed %d limited %d busy %d out-of-history %d", ch.Name, ch.Requests, ch.Served, ch.Suppressed, ch.RateLimited, ch.Busy, ch.OutOfHistory)
		}
	}
	return b.String()
}

// nftTable adds an nftables table named table to host h with an input
// chain of the given policy ("accept" or "drop") and rules, and returns
// the function that deletes it (also run at cleanup).
func nftTable(t *testing.T, h *mcasttest.Host, table, policy string, rules ...string) (remove func()) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft (nftables) is not installed; apt-get install -y nftables")
	}
	cmds := [][]string{
		{"nft", "add", "table", "inet", table},
		{"nft", "add", "chain", "inet", table, "in", "{", "type", "filter", "hook", "input", "priority", "-10", ";", "policy", policy, ";", "}"},
	}
	for _, r := range rules {
		cmds = append(cmds, append([]string{"nft", "add", "rule", "inet", table, "in"}, strings.Fields(r)...))
	}
	for _, args := range cmds {
		if out, err := h.Run(args...); err != nil {
			t.Fatalf("%s on %s: %v: %s", strings.Join(args, " "), h.Name(), err, out)
		}
	}
	done := false
	remove = func() {
		if done {
			return
		}
		done = true
		if out, err := h.Run("nft", "delete", "table", "inet", table); err != nil {
			t.Errorf("nft delete table %s on %s: %v: %s", table, h.Name(), err, out)
		}
	}
	t.Cleanup(remove) // the namespace goes anyway; this keeps the order clear
	return remove
}

// cut drops every datagram arriving at host h until restore is called.
func cut(t *testing.T, h *mcasttest.Host) (restore func()) {
	t.Helper()
	return nftTable(t, h, "mdcastcut", "drop")
}
