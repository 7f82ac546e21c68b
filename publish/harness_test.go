package publish_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mdcast/decode"
	"mdcast/internal/mcasttest"
	"mdcast/internal/udpsock"
	"mdcast/publish"
	"mdcast/ring"
)

// recvTimeout bounds every wait for a datagram that must arrive.
const recvTimeout = 3 * time.Second

// testGroup returns a loopback multicast group:port unlikely to collide with
// parallel tests or other processes.
func testGroup(t testing.TB) netip.AddrPort {
	return netip.AddrPortFrom(mcasttest.Group(t), mcasttest.FreeUDPPort(t))
}

// requireLoopbackMulticast skips the test when multicast through lo does not work.
func requireLoopbackMulticast(t testing.TB) {
	t.Helper()
	mcasttest.RequireLoopbackMulticast(t)
}

// readWithin reads one datagram from the non-blocking c, waiting at most d.
func readWithin(c *udpsock.Conn, buf []byte, d time.Duration) (int, bool) {
	deadline := time.Now().Add(d)
	for {
		n, _, err := c.ReadFrom(buf)
		if err == nil {
			return n, true
		}
		if !errors.Is(err, udpsock.ErrWouldBlock) {
			return 0, false
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, false
		}
		fds := []unix.PollFd{{Fd: int32(c.FD()), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return 0, false
		}
	}
}

// harness is a worker whose channels each have a loopback receiver, an
// upstream packet builder and a hand-driven clock.
type harness struct {
	t    testing.TB
	cfg  publish.Config
	w    *publish.Worker
	rx   []*udpsock.Conn
	pool *ring.Pool
	now  int64
	up   uint64 // next upstream sequence
	buf  []byte
}

// testConfig returns a config of n channels on fresh loopback groups with
// ephemeral request ports, a fixed session, and small history.
func testConfig(t testing.TB, n int) publish.Config {
	cfg := publish.Config{
		Format:  "quote",
		Session: "TEST000001",
		History: publish.HistoryConfig{Messages: 4096, Bytes: 1 << 20},
	}
	for i := 0; i < n; i++ {
		cfg.Channels = append(cfg.Channels, publish.ChannelConfig{
			Name:        fmt.Sprintf("c%d", i),
			Group:       testGroup(t).String(),
			RequestAddr: "127.0.0.1:0",
		})
	}
	return cfg
}

func newHarness(t testing.TB, n int, edit func(*publish.Config)) *harness {
	t.Helper()
	requireLoopbackMulticast(t)
	cfg := testConfig(t, n)
	if edit != nil {
		edit(&cfg)
	}
	h := &harness{t: t, cfg: cfg, now: 1_000_000_000, up: 1}
	for _, c := range cfg.Channels {
		rx, err := udpsock.ListenGroup(netip.MustParseAddrPort(c.Group), "lo",
			udpsock.Options{NonBlocking: true, RcvBuf: 8 << 20})
		if err != nil {
			t.Fatalf("join %s: %v", c.Group, err)
		}
		t.Cleanup(func() { rx.Close() })
		h.rx = append(h.rx, rx)
	}
	w, err := publish.NewWorker(cfg, nil)
	if err != nil {
		t.Fatalf("NewWorker: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	h.w = w
	if h.pool, err = ring.NewPool(ring.PoolConfig{Packets: 64, BufSize: 2048}); err != nil {
		t.Fatal(err)
	}
	return h
}

func quote(instrument uint32, n uint64) []byte {
	return decode.AppendQuote(nil, decode.QuoteFields{
		Instrument: instrument, ExchangeTime: n, BidPrice: int64(n) * 100, AskPrice: int64(n)*100 + 1,
		BidSize: uint32(n), AskSize: uint32(n) + 1, SendTime: n,
	})
}

// packet returns a pooled upstream packet carrying msgs with the next
// upstream sequences.
func (h *harness) packet(msgs ...[]byte) *ring.Packet {
	p := h.pool.Get()
	b := decode.AppendPacketHeader(p.Buf[:0], decode.Session{'U', 'P'}, h.up, uint16(len(msgs)))
	for _, m := range msgs {
		b = decode.AppendMessage(b, m)
	}
	p.N = len(b)
	p.Seq = h.up
	h.up += uint64(len(msgs))
	return p
}

func (h *harness) offer(msgs ...[]byte) {
	h.t.Helper()
	if !h.w.Offer(h.packet(msgs...)) {
		h.t.Fatal("Offer refused a packet")
	}
}

func (h *harness) work() int {
	h.t.Helper()
	n, err := h.w.DoWork(h.now)
	if err != nil {
		h.t.Fatalf("DoWork: %v", err)
	}
	return n
}

// recv returns the next datagram of channel ch, failing the test after recvTimeout.
func (h *harness) recv(ch int) *decode.Packet {
	h.t.Helper()
	buf := make([]byte, 65536)
	n, ok := readWithin(h.rx[ch], buf, recvTimeout)
	if !ok {
		h.t.Fatalf("channel %d: no packet within %v", ch, recvTimeout)
	}
	var p decode.Packet
	if err := p.Wrap(buf[:n]); err != nil {
		h.t.Fatalf("channel %d: bad packet: %v", ch, err)
	}
	return &p
}

// recvData returns the next data packet of channel ch, skipping heartbeats.
func (h *harness) recvData(ch int) *decode.Packet {
	h.t.Helper()
	for {
		p := h.recv(ch)
		if !p.IsHeartbeat() {
			return p
		}
	}
}

// pending reports whether channel ch has a datagram queued right now (the
// sends are synchronous on loopback, so what was sent is already queued).
func (h *harness) pending(ch int) bool {
	fds := []unix.PollFd{{Fd: int32(h.rx[ch].FD()), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds, 0)
	return n > 0
}

// requester is a unicast socket sending re-requests and reading answers.
type requester struct {
	t    testing.TB
	conn *udpsock.Conn
}

func newRequester(t testing.TB, addr string) *requester {
	c, err := udpsock.ListenUnicast(netip.MustParseAddrPort(addr), udpsock.Options{NonBlocking: true})
	if err != nil {
		t.Fatalf("requester on %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &requester{t: t, conn: c}
}

func (r *requester) send(to netip.AddrPort, b []byte) {
	r.t.Helper()
	if err := r.conn.WriteTo(b, to); err != nil {
		r.t.Fatalf("send request: %v", err)
	}
}

func (r *requester) request(to netip.AddrPort, s decode.Session, seq uint64, count uint16) {
	r.t.Helper()
	r.send(to, decode.AppendRequest(nil, s, seq, count))
}

// answer returns the next answer, failing after recvTimeout.
func (r *requester) answer() *decode.Packet {
	r.t.Helper()
	buf := make([]byte, 65536)
	n, ok := readWithin(r.conn, buf, recvTimeout)
	if !ok {
		r.t.Fatalf("no answer within %v", recvTimeout)
	}
	var p decode.Packet
	if err := p.Wrap(buf[:n]); err != nil {
		r.t.Fatalf("bad answer: %v", err)
	}
	return &p
}

// none checks that no answer is queued.
func (r *requester) none() {
	r.t.Helper()
	fds := []unix.PollFd{{Fd: int32(r.conn.FD()), Events: unix.POLLIN}}
	if n, _ := unix.Poll(fds, 0); n > 0 {
		r.t.Fatal("an answer arrived where none was expected")
	}
}
