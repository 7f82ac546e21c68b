package perf_test

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/internal/udpsock"
	"mdcast/perf"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// sink is a loopback unicast socket the generator sends to; read returns
// the datagrams one by one with a timeout so a missing one fails the test
// instead of hanging it.
type sink struct {
	t    testing.TB
	conn *udpsock.Conn
	buf  []byte
}

func newSink(t testing.TB) *sink {
	t.Helper()
	c, err := udpsock.ListenUnicast(netip.AddrPortFrom(loopback, 0), udpsock.Options{RcvBuf: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetRecvTimeout(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	return &sink{t: t, conn: c, buf: make([]byte, 65536)}
}

func (s *sink) addr() netip.AddrPort { return s.conn.LocalAddr() }

// read returns the next datagram, validated as a MoldUDP64 packet.
func (s *sink) read() *decode.Packet {
	s.t.Helper()
	n, _, err := s.conn.ReadFrom(s.buf)
	if err != nil {
		s.t.Fatalf("reading a datagram: %v", err)
	}
	var p decode.Packet
	b := append([]byte(nil), s.buf[:n]...)
	if err := p.Wrap(b); err != nil {
		s.t.Fatalf("datagram of %d bytes is not MoldUDP64: %v", n, err)
	}
	return &p
}

func newSender(t testing.TB) *udpsock.Conn {
	t.Helper()
	c, err := udpsock.NewSender(netip.AddrPortFrom(loopback, 0), "lo", udpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newGenerator(t testing.TB, cfg perf.GeneratorConfig) *perf.Generator {
	t.Helper()
	g, err := perf.NewGenerator(cfg, newSender(t))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func doWork(t testing.TB, g *perf.Generator, now int64, want int) {
	t.Helper()
	n, err := g.DoWork(now)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("DoWork(%d) sent %d messages, want %d", now, n, want)
	}
}

// checkQuotes checks that p carries quotes first..first+count-1 with the
// intended send times of g's schedule and instruments cycling over n.
func checkQuotes(t *testing.T, g *perf.Generator, p *decode.Packet, firstSeq uint64, count, instruments int) {
	t.Helper()
	if p.Sequence() != firstSeq || p.MessageCount() != count {
		t.Fatalf("packet seq %d count %d, want seq %d count %d", p.Sequence(), p.MessageCount(), firstSeq, count)
	}
	if s := p.Session().String(); s != perf.DefaultSession {
		t.Errorf("session %q, want %q", s, perf.DefaultSession)
	}
	it := p.Messages()
	st := g.Stamp()
	for it.Next() {
		i := it.Sequence() - 1
		var q decode.Quote
		if err := q.Wrap(it.Message()); err != nil {
			t.Fatalf("message %d: %v", it.Sequence(), err)
		}
		if want := g.Intended(i); int64(q.SendTime()) != want {
			t.Errorf("message %d SendTime %d, want intended %d", it.Sequence(), q.SendTime(), want)
		}
		if at, ok := st.SentAt(it.Message()); !ok || at != g.Intended(i) {
			t.Errorf("Stamp.SentAt(message %d) = %d, %v", it.Sequence(), at, ok)
		}
		if want := uint32(i%uint64(instruments)) + 1; q.Instrument() != want {
			t.Errorf("message %d instrument %d, want %d", it.Sequence(), q.Instrument(), want)
		}
	}
}

func TestGeneratorPacing(t *testing.T) {
	s := newSink(t)
	g := newGenerator(t, perf.GeneratorConfig{Rate: 1000, Instruments: 3, Dst: s.addr()})
	const ms = int64(time.Millisecond)
	start := int64(7 * time.Second)
	doWork(t, g, start, 0) // not started: nothing
	g.Start(start)
	doWork(t, g, start-1, 0)
	doWork(t, g, start, 1) // message 0 is due at the start
	doWork(t, g, start, 0)
	doWork(t, g, start+ms-1, 0)
	doWork(t, g, start+5*ms, 5) // messages 1..5, packed into one datagram
	doWork(t, g, start+5*ms+ms/2, 0)
	doWork(t, g, start+6*ms, 1)

	checkQuotes(t, g, s.read(), 1, 1, 3)
	checkQuotes(t, g, s.read(), 2, 5, 3)
	checkQuotes(t, g, s.read(), 7, 1, 3)
	st := g.Stats()
	if st.Messages != 7 || st.Packets != 3 || st.SendErrors != 0 {
		t.Errorf("stats %+v, want 7 messages in 3 datagrams", st)
	}
	if st.MaxLagNs != 4*ms {
		t.Errorf("max lag %d, want %d (message 1 sent at 5 ms)", st.MaxLagNs, 4*ms)
	}
	if g.Sent() != 7 || g.NextDue() != start+7*ms {
		t.Errorf("sent %d next due %d", g.Sent(), g.NextDue())
	}
}

func TestGeneratorPacksUpToMaxPayload(t *testing.T) {
	s := newSink(t)
	const perPacket = 3
	maxPayload := decode.PacketHeaderLen + perPacket*(2+decode.QuoteLen)
	g := newGenerator(t, perf.GeneratorConfig{Rate: 1e6, MaxPayload: maxPayload, Batch: 2, Dst: s.addr()})
	g.Start(0)
	defer func() {
		// Datagrams start at messages 0, 3, 6 and 9: two of them in [2, 8).
		if st := g.Stats(); st.WindowPackets != 2 || st.WindowSendErrors != 0 {
			t.Errorf("window packets %d errors %d, want 2 and 0", st.WindowPackets, st.WindowSendErrors)
		}
	}()
	g.SetWindow(2, 8)
	// Messages 0..9 are due by 9999 ns (one per µs): 10 messages, 3 per
	// datagram, 2 datagrams per call.
	doWork(t, g, 9999, 6)
	doWork(t, g, 9999, 4)
	doWork(t, g, 9999, 0)
	wantCounts := []int{3, 3, 3, 1}
	seq := uint64(1)
	for _, c := range wantCounts {
		p := s.read()
		if len(p.Bytes()) > maxPayload {
			t.Fatalf("datagram of %d bytes exceeds MaxPayload %d", len(p.Bytes()), maxPayload)
		}
		checkQuotes(t, g, p, seq, c, perf.DefaultInstruments)
		seq += uint64(c)
	}
}

func TestGeneratorScheduleIsExact(t *testing.T) {
	g := newGenerator(t, perf.GeneratorConfig{Rate: 3, Dst: netip.MustParseAddrPort("127.0.0.1:9")})
	g.Start(1000)
	want := []int64{1000, 1000 + 333_333_333, 1000 + 666_666_666, 1000 + 1_000_000_000}
	for i, w := range want {
		if got := g.Intended(uint64(i)); got != w {
			t.Errorf("Intended(%d) = %d, want %d", i, got, w)
		}
	}
	if got := g.Intended(3_000_000_000); got != 1000+1_000_000_000_000_000_000 {
		t.Errorf("Intended(3e9) = %d: the schedule drifts", got)
	}
	// DueBefore(t) counts exactly the messages intended before t.
	for _, tt := range []int64{0, 1000, 1001, 333_334_332, 333_334_333, 333_334_334, 5_000_001_000, 5_000_001_001} {
		var n uint64
		for g.Intended(n) < tt {
			n++
		}
		if got := g.DueBefore(tt); got != n {
			t.Errorf("DueBefore(%d) = %d, want %d", tt, got, n)
		}
	}
}

func TestGeneratorLineBAndLimit(t *testing.T) {
	a, b := newSink(t), newSink(t)
	g := newGenerator(t, perf.GeneratorConfig{Rate: 1000, Dst: a.addr(), DstB: b.addr(), Limit: 4})
	g.Start(0)
	doWork(t, g, int64(time.Second), 4)
	if !g.Done() {
		t.Fatal("not done after its limit")
	}
	doWork(t, g, int64(2*time.Second), 0)
	pa, pb := a.read(), b.read()
	if string(pa.Bytes()) != string(pb.Bytes()) {
		t.Fatal("line B datagram differs from line A")
	}
	checkQuotes(t, g, pa, 1, 4, perf.DefaultInstruments)
	if st := g.Stats(); st.Packets != 2 || st.Messages != 4 {
		t.Errorf("stats %+v, want 4 messages in 2 datagrams (A and B)", st)
	}
	if got := g.DueBefore(int64(time.Hour)); got != 4 {
		t.Errorf("DueBefore past the limit = %d, want 4", got)
	}
}

func TestGeneratorStopBefore(t *testing.T) {
	s := newSink(t)
	g := newGenerator(t, perf.GeneratorConfig{Rate: 1000, Dst: s.addr()})
	g.Start(0)
	g.StopBefore(int64(2500 * time.Microsecond)) // messages at 0, 1 and 2 ms
	doWork(t, g, int64(time.Second), 3)
	if !g.Done() || g.NextDue() != math.MaxInt64 {
		t.Fatalf("done %v, next due %d", g.Done(), g.NextDue())
	}
	checkQuotes(t, g, s.read(), 1, 3, perf.DefaultInstruments)
}

func TestGeneratorConfigValidate(t *testing.T) {
	dst := netip.MustParseAddrPort("127.0.0.1:9")
	for _, cfg := range []perf.GeneratorConfig{
		{Rate: 0, Dst: dst},
		{Rate: -1, Dst: dst},
		{Rate: 2e9, Dst: dst},
		{Rate: 100},
		{Rate: 100, Dst: netip.MustParseAddrPort("[::1]:9")},
		{Rate: 100, Dst: dst, MaxPayload: 40},
		{Rate: 100, Dst: dst, Session: "much too long a session"},
		{Rate: 100, Dst: dst, Instruments: -1},
	} {
		if err := cfg.Validate(); !errors.Is(err, perf.ErrInvalidConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

func TestGeneratorReplay(t *testing.T) {
	r, err := perf.LoadReplay("testdata/12302019_SNIPPET.NASDAQ_ITCH50")
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 1000 || r.Source != "binaryfile" || r.Skipped != 0 {
		t.Fatalf("replay: %d messages from %s, %d skipped; want 1000 from binaryfile", r.Len(), r.Source, r.Skipped)
	}
	s := newSink(t)
	g := newGenerator(t, perf.GeneratorConfig{Rate: 1e6, Dst: s.addr(), Replay: r, Batch: 64})
	start := int64(3 * time.Second)
	g.Start(start)
	// 1005 messages: the file once, then the first 5 again.
	sent := 0
	for sent < 1005 {
		n, err := g.DoWork(start + 1004_999)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("stalled after %d messages", sent)
		}
		sent += n
	}
	if sent != 1005 {
		t.Fatalf("sent %d, want 1005", sent)
	}
	st := g.Stamp()
	if st.Format != decode.FormatITCH || st.EpochNs != start {
		t.Fatalf("stamp %+v", st)
	}
	var got int
	for got < 1005 {
		p := s.read()
		it := p.Messages()
		for it.Next() {
			i := int(it.Sequence() - 1)
			m, orig := it.Message(), r.Message(i%r.Len())
			if len(m) != len(orig) || m[0] != orig[0] || string(m[11:]) != string(orig[11:]) || string(m[:5]) != string(orig[:5]) {
				t.Fatalf("message %d differs from the file outside its timestamp", i)
			}
			if at, ok := st.SentAt(m); !ok || at != g.Intended(uint64(i)) {
				t.Fatalf("message %d: SentAt = %d, %v; want %d", i, at, ok, g.Intended(uint64(i)))
			}
			got++
		}
	}
}

func TestLoadReplayPcap(t *testing.T) {
	r, err := perf.LoadReplay("testdata/itch50_two_add_orders_moldudp64.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 2 || r.Source != "pcap" {
		t.Fatalf("%d messages from %s, want 2 from pcap", r.Len(), r.Source)
	}
	if m := r.Message(1); len(m) != 36 || m[0] != 'A' || decode.StockLocate(m) != 8511 {
		t.Fatalf("second message % x", m)
	}
	if _, err := perf.LoadReplay("testdata/ATTRIBUTION.md"); err == nil {
		t.Fatal("a text file loaded as a replay")
	}
}

func TestGeneratorAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := newSink(t)
	g := newGenerator(t, perf.GeneratorConfig{Rate: 1e7, Dst: s.addr(), DstB: s.addr()})
	g.Start(0)
	g.SetWindow(100, 20000)
	now := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		now += 3000 // 30 messages per call, one datagram (two with line B)
		if _, err := g.DoWork(now); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("DoWork allocates %.1f times per call, want 0", allocs)
	}
	if g.Sent() < 30000 {
		t.Fatalf("sent only %d messages", g.Sent())
	}
}

func TestGeneratorRun(t *testing.T) {
	s := newSink(t)
	g := newGenerator(t, perf.GeneratorConfig{Rate: 20_000, Dst: s.addr(), Limit: 200})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if !g.Done() || g.Stats().Messages != 200 {
		t.Fatalf("Run returned with %d messages sent", g.Stats().Messages)
	}
	seq := uint64(1)
	for seq <= 200 {
		p := s.read()
		if p.Sequence() != seq {
			t.Fatalf("datagram seq %d, want %d", p.Sequence(), seq)
		}
		checkQuotes(t, g, p, seq, p.MessageCount(), perf.DefaultInstruments)
		seq += uint64(p.MessageCount())
	}

	// Without a limit, Run ends when its context does.
	g2 := newGenerator(t, perf.GeneratorConfig{Rate: 1000, Dst: s.addr()})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := g2.Run(ctx2); err != nil {
		t.Fatal(err)
	}
	if g2.Done() || g2.Stats().Messages == 0 {
		t.Errorf("unlimited run: done %v after %d messages", g2.Done(), g2.Stats().Messages)
	}
}
