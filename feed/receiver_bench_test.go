package feed

import (
	"net/netip"
	"sync/atomic"
	"testing"

	"mdcast/internal/clock"
	"mdcast/internal/mcasttest"
	"mdcast/internal/udpsock"
	"mdcast/ring"
)

// countOutput releases what it is offered and counts it; it is the
// cheapest possible consumer, so allocation tests and benchmarks measure
// the receiver alone.
type countOutput struct {
	packets  atomic.Uint64
	messages atomic.Uint64
}

func (o *countOutput) Offer(p *ring.Packet) bool {
	o.packets.Add(1)
	p.Release()
	return true
}

// loopbackFeed is a receiver with lines on 127.0.0.1 and a sender that
// builds test packets without allocating.
type loopbackFeed struct {
	r     *Receiver
	out   *countOutput
	dsts  []netip.AddrPort
	conn  *udpsock.Conn
	sb    *udpsock.SendBatch
	bufs  [][]byte
	seq   uint64
	per   int
	lines int
}

func newLoopbackFeed(tb testing.TB, lines, per, batch int) *loopbackFeed {
	tb.Helper()
	cfg := Config{Name: "bench", Batch: batch}
	f := &loopbackFeed{out: &countOutput{}, seq: 1, per: per, lines: lines}
	for i := 0; i < lines; i++ {
		a := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), mcasttest.FreeUDPPort(tb))
		cfg.Lines = append(cfg.Lines, LineConfig{Addr: a.String()})
		f.dsts = append(f.dsts, a)
	}
	f.r = newTestReceiver(tb, cfg, nil, f.out)
	if err := f.r.OnStart(); err != nil {
		tb.Fatal(err)
	}
	c, err := udpsock.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{SndBuf: 4 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	f.conn = c
	f.sb = udpsock.NewSendBatch(batch * lines)
	for i := 0; i < batch; i++ {
		f.bufs = append(f.bufs, make([]byte, 0, 2048))
	}
	return f
}

// round sends n packets on every line (sendmmsg) and runs DoWork until the
// receiver has read all of them, returning the DoWork calls made.
func (f *loopbackFeed) round(tb testing.TB, n int) int {
	for i := 0; i < n; i++ {
		f.bufs[i] = appendTestPacket(f.bufs[i][:0], sessA, f.seq, f.per)
		f.seq += uint64(f.per)
		for _, d := range f.dsts {
			f.sb.Add(f.bufs[i], d)
		}
	}
	if _, err := f.conn.SendBatch(f.sb); err != nil {
		tb.Fatal(err)
	}
	want := f.seq - 1
	calls := 0
	for {
		if _, err := f.r.DoWork(clock.Nanotime()); err != nil {
			tb.Fatal(err)
		}
		calls++
		if f.r.counters.NextSequence.Load() == want+1 && f.datagrams() == f.sent() {
			return calls
		}
		if calls > 1_000_000 {
			tb.Fatalf("datagrams lost on loopback: next %d want %d", f.r.counters.NextSequence.Load(), want+1)
		}
	}
}

func (f *loopbackFeed) sent() uint64 { return (f.seq - 1) / uint64(f.per) * uint64(f.lines) }

func (f *loopbackFeed) datagrams() uint64 {
	var n uint64
	for _, l := range f.r.lines {
		n += l.c.Datagrams.Load()
	}
	return n
}

// TestAllocs proves the receive path (recvmmsg into pooled packets,
// validation, A/B arbitration, Offer) allocates nothing in steady state,
// in order and with packets held for reordering.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	t.Run("AB", func(t *testing.T) {
		f := newLoopbackFeed(t, 2, 10, 8)
		for i := 0; i < 50; i++ {
			f.round(t, 8)
		}
		if a := testing.AllocsPerRun(500, func() { f.round(t, 8) }); a != 0 {
			t.Fatalf("%v allocations per round of 8 packets on 2 lines, want 0", a)
		}
		if st := f.r.Stats(); st.UpstreamLost != 0 || st.Lines[1].DuplicatePackets+st.Lines[0].DuplicatePackets == 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("Reorder", func(t *testing.T) {
		f := newLoopbackFeed(t, 1, 4, 8)
		var buf [2][]byte
		buf[0], buf[1] = make([]byte, 0, 256), make([]byte, 0, 256)
		swap := func() { // two packets, the later one first: one is held, then drained
			buf[1] = appendTestPacket(buf[1][:0], sessA, f.seq+4, 4)
			buf[0] = appendTestPacket(buf[0][:0], sessA, f.seq, 4)
			f.sb.Add(buf[1], f.dsts[0])
			f.sb.Add(buf[0], f.dsts[0])
			f.seq += 8
			if _, err := f.conn.SendBatch(f.sb); err != nil {
				t.Fatal(err)
			}
			for f.r.counters.NextSequence.Load() != f.seq {
				if _, err := f.r.DoWork(clock.Nanotime()); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := 0; i < 50; i++ {
			swap()
		}
		if a := testing.AllocsPerRun(500, swap); a != 0 {
			t.Fatalf("%v allocations per reordered pair, want 0", a)
		}
		if st := f.r.Stats(); st.ReorderHighWater == 0 || st.Gaps != 0 {
			t.Fatalf("reorder high water %d gaps %d", st.ReorderHighWater, st.Gaps)
		}
	})
}

// BenchmarkReceive measures receive -> validate -> arbitrate -> Offer over
// loopback, per packet of 10 messages, sent in batches of 32 with sendmmsg
// from the same goroutine. "recvmmsg" is the bare kernel path in the same
// run: the same sends, read with RecvBatch into fixed buffers and nothing
// else. The send is in both, so the difference is the feed's own cost.
func BenchmarkReceive(b *testing.B) {
	const per, batch = 10, 32
	b.Run("recvmmsg", func(b *testing.B) {
		b.ReportAllocs()
		rc, err := udpsock.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{RcvBuf: 4 << 20, NonBlocking: true})
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
		sc, err := udpsock.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer sc.Close()
		rb := udpsock.NewRecvBatch(batch)
		for i := 0; i < batch; i++ {
			rb.SetBuf(i, make([]byte, 2048))
		}
		sb := udpsock.NewSendBatch(batch)
		bufs := make([][]byte, batch)
		seq := uint64(1)
		b.ResetTimer()
		for done := 0; done < b.N; done += batch {
			for i := range bufs {
				bufs[i] = appendTestPacket(bufs[i][:0], sessA, seq, per)
				seq += per
				sb.Add(bufs[i], rc.LocalAddr())
			}
			if _, err := sc.SendBatch(sb); err != nil {
				b.Fatal(err)
			}
			for got := 0; got < batch; {
				n, err := rc.RecvBatch(rb, batch-got)
				if err != nil {
					b.Fatal(err)
				}
				got += n
			}
		}
		b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "msgs/s")
	})
	for _, lines := range []int{1, 2} {
		name := map[int]string{1: "feed-A", 2: "feed-AB"}[lines]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			f := newLoopbackFeed(b, lines, per, batch)
			f.round(b, batch)
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				f.round(b, batch)
			}
			b.StopTimer()
			if st := f.r.Stats(); st.UpstreamLost != 0 || st.Gaps != 0 {
				b.Fatalf("loss on loopback: %+v", st)
			}
			b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
