package e2e

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"mdcast/cmd/internal/daemon"
	"mdcast/decode"
	"mdcast/feed"
	"mdcast/internal/mcasttest"
	"mdcast/internal/udpsock"
	"mdcast/publish"
)

// testConfig returns a daemon configuration on loopback with ports and
// groups of the test's own, so tests and a running mdcastd never collide.
func testConfig(t *testing.T, lines int) daemon.Config {
	t.Helper()
	mcasttest.RequireLoopbackMulticast(t)
	var c daemon.Config
	c.HTTP.Addr = "127.0.0.1:0"
	c.Log.Level = "warn"
	for i := 0; i < lines; i++ {
		c.Feed.Lines = append(c.Feed.Lines, feed.LineConfig{
			Addr: fmt.Sprintf("127.0.0.1:%d", mcasttest.FreeUDPPort(t)),
		})
	}
	port := mcasttest.FreeUDPPort(t)
	for i := 0; i < 4; i++ {
		c.Publish.Channels = append(c.Publish.Channels, publish.ChannelConfig{
			Name:        fmt.Sprintf("ch%d", i),
			Group:       netip.AddrPortFrom(mcasttest.Group(t), port).String(),
			RequestAddr: fmt.Sprintf("127.0.0.1:%d", mcasttest.FreeUDPPort(t)),
		})
	}
	c.Publish.Grace = 100 * time.Millisecond
	return c
}

// startDaemon builds and starts a daemon, shut down at the end of the test.
func startDaemon(t *testing.T, c daemon.Config) *daemon.Daemon {
	t.Helper()
	d, err := daemon.New(c, nil)
	if err != nil {
		t.Fatalf("daemon.New: %v", err)
	}
	if err := d.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		_ = d.Shutdown(ctx)
	})
	return d
}

// received is one message a channelReader saw.
type received struct {
	seq uint64
	msg []byte
}

// channelReader is a plain MoldUDP64 reader of one channel: no repair, no
// library, only what arrived on the group.
type channelReader struct {
	t    *testing.T
	conn *udpsock.Conn
	done chan struct{}

	mu         sync.Mutex
	session    decode.Session
	msgs       []received
	heartbeats []uint64 // sequence of each heartbeat
	eos        int
	malformed  int
	err        error // what ended the loop
}

func newChannelReader(t *testing.T, group string) *channelReader {
	t.Helper()
	g := netip.MustParseAddrPort(group)
	conn, err := udpsock.ListenGroup(g, "lo", udpsock.Options{RcvBuf: 16 << 20})
	if err != nil {
		t.Fatalf("ListenGroup %v: %v", g, err)
	}
	if err := conn.SetRecvTimeout(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r := &channelReader{t: t, conn: conn, done: make(chan struct{})}
	go r.loop()
	t.Cleanup(r.close)
	return r
}

func (r *channelReader) loop() {
	defer close(r.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := r.conn.ReadFrom(buf)
		if err != nil {
			if isTimeout(err) {
				continue
			}
			r.mu.Lock()
			r.err = err
			r.mu.Unlock()
			return // closed
		}
		var p decode.Packet
		r.mu.Lock()
		if err := p.Wrap(buf[:n]); err != nil {
			r.malformed++
			r.mu.Unlock()
			continue
		}
		r.session = p.Session()
		switch {
		case p.IsEndOfSession():
			r.eos++
		case p.IsHeartbeat():
			r.heartbeats = append(r.heartbeats, p.Sequence())
		default:
			it := p.Messages()
			for it.Next() {
				r.msgs = append(r.msgs, received{it.Sequence(), append([]byte(nil), it.Message()...)})
			}
		}
		r.mu.Unlock()
	}
}

func (r *channelReader) close() {
	_ = r.conn.Close()
	<-r.done
}

// snapshot returns copies of what has arrived so far.
func (r *channelReader) snapshot() (msgs []received, hbs []uint64, eos int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.msgs...), append([]uint64(nil), r.heartbeats...), r.eos
}

func (r *channelReader) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *channelReader) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%d msgs, %d heartbeats, %d eos, %d malformed, err %v", len(r.msgs), len(r.heartbeats), r.eos, r.malformed, r.err)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool, state ...func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			for _, s := range state {
				msg += "; " + s()
			}
			t.Fatalf("timed out after %v waiting for %s%s", d, what, msg)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// quotePackets builds n quotes over instruments 0..instruments-1 into
// MoldUDP64 packets of perPacket quotes each, session s, sequences from 1.
// Quote i has ExchangeTime i+1, so every message is identifiable.
func quotePackets(s decode.Session, n, perPacket, instruments int) [][]byte {
	var pkts [][]byte
	seq := uint64(1)
	for i := 0; i < n; {
		buf := make([]byte, 0, 1500)
		k := min(perPacket, n-i)
		buf = decode.AppendPacketHeader(buf, s, seq, uint16(k))
		for j := 0; j < k; j++ {
			var q [decode.QuoteLen]byte
			m := decode.AppendQuote(q[:0], decode.QuoteFields{
				Instrument:   uint32((i + j) % instruments),
				ExchangeTime: uint64(i + j + 1),
				BidPrice:     100_00000000 + int64(i+j),
				AskPrice:     100_01000000 + int64(i+j),
				BidSize:      100,
				AskSize:      200,
			})
			buf = decode.AppendMessage(buf, m)
		}
		pkts = append(pkts, buf)
		seq += uint64(k)
		i += k
	}
	return pkts
}

// sender sends datagrams from an ephemeral loopback port.
func newSender(t *testing.T) *udpsock.Conn {
	t.Helper()
	c, err := udpsock.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// sendPaced sends every packet to each destination, pausing so the
// receiving socket buffers never overflow on a busy 2-core machine: the
// tests check completeness, not speed.
func sendPaced(t *testing.T, c *udpsock.Conn, pkts [][]byte, dsts ...netip.AddrPort) {
	t.Helper()
	sendFlow(t, c, pkts, nil, dsts...)
}

// sendFlow is sendPaced with flow control when consumed is not nil: before
// each chunk it waits (up to 10 s) until consumed, the receiver's count of
// datagrams taken off its socket, is within flowWindow of the packets sent.
// A test that checks a loss-free path with no upstream recovery then
// depends on the path being correct, not on a slowed daemon (the race
// detector makes it several times slower) keeping up with the sender.
func sendFlow(t *testing.T, c *udpsock.Conn, pkts [][]byte, consumed func() uint64, dsts ...netip.AddrPort) {
	t.Helper()
	const flowWindow = 256
	const waitLimit = 10 * time.Second
	for i := 0; i < len(pkts); i += 64 {
		deadline := time.Now().Add(waitLimit)
		for consumed != nil && uint64(i) > consumed()+flowWindow {
			if time.Now().After(deadline) {
				t.Fatalf("the receiver took %d of %d datagrams sent in %v", consumed(), i, waitLimit)
			}
			time.Sleep(200 * time.Microsecond)
		}
		for j, p := range pkts[i:min(i+64, len(pkts))] {
			for _, d := range dsts {
				if err := c.WriteTo(p, d); err != nil {
					t.Fatalf("send packet %d to %v: %v", i+j, d, err)
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// statsLine summarises the daemon's and the readers' counts for a failure message.
func statsLine(d *daemon.Daemon, rs []*channelReader) string {
	st := d.Stats()
	s := fmt.Sprintf("feed: lines %d datagrams, emitted %d msgs, gaps %d, upstream lost %d, output full %d;",
		st.Feed.Lines[0].Datagrams, st.Feed.EmittedMessages, st.Feed.Gaps, st.Feed.UpstreamLost, st.Feed.OutputFullMessages)
	for i, ch := range st.Workers[0].Channels {
		s += fmt.Sprintf(" ch%d sent %d msgs / reader: %v;", i, ch.Messages, rs[i])
	}
	return s
}
