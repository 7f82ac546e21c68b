package publish_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mdcast/decode"
	"mdcast/internal/clock"
	"mdcast/internal/udpsock"
	"mdcast/publish"
	"mdcast/ring"
)

const benchQuotesPerPacket = 20

// benchUpstream returns an upstream MoldUDP64 packet of 20 quotes whose
// instruments spread over the channels.
func benchUpstream(first uint32) []byte {
	b := decode.AppendPacketHeader(nil, decode.Session{'U'}, 1, benchQuotesPerPacket)
	for j := 0; j < benchQuotesPerPacket; j++ {
		b = decode.AppendMessage(b, quote(first+uint32(j), uint64(j)))
	}
	return b
}

// drainer reads every channel's group in one goroutine until stopped, so the
// receive side of loopback multicast is real work but never blocks the sender.
type drainer struct {
	stop chan struct{}
	wg   sync.WaitGroup
	got  uint64
}

func startDrainer(b *testing.B, groups []netip.AddrPort) *drainer {
	d := &drainer{stop: make(chan struct{})}
	var conns []*udpsock.Conn
	for _, g := range groups {
		c, err := udpsock.ListenGroup(g, "lo", udpsock.Options{NonBlocking: true, RcvBuf: 8 << 20})
		if err != nil {
			b.Fatalf("join %v: %v", g, err)
		}
		conns = append(conns, c)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		rb := udpsock.NewRecvBatch(64)
		for i := 0; i < 64; i++ {
			rb.SetBuf(i, make([]byte, 2048))
		}
		for {
			select {
			case <-d.stop:
				for _, c := range conns {
					c.Close()
				}
				return
			default:
			}
			for _, c := range conns {
				n, _ := c.RecvBatch(rb, 64)
				d.got += uint64(n)
			}
		}
	}()
	return d
}

func (d *drainer) close() uint64 {
	close(d.stop)
	d.wg.Wait()
	return d.got
}

// BenchmarkPublish measures the publish loop: upstream packets of 20 quotes
// offered inline (as the feed does), DoWork routing them over 4 channels,
// framing, recording history and sending with sendmmsg to loopback
// multicast groups. One op is one upstream packet (20 quotes); burst is the
// number of upstream packets offered per DoWork (smart batching packs them).
// members=0 sends to groups nobody joined; members=4 has one joined socket
// per channel drained by another goroutine (its receive path runs on the
// sending CPU on loopback, so that is the realistic cost). The baseline
// sends pre-built datagrams of the same size and number with sendmmsg only.
func BenchmarkPublish(b *testing.B) {
	for _, members := range []int{0, 4} {
		for _, burst := range []int{1, 16} {
			b.Run(fmt.Sprintf("members=%d/burst=%d", members, burst), func(b *testing.B) {
				benchPublish(b, members, burst)
			})
		}
		b.Run(fmt.Sprintf("members=%d/baseline-sendmmsg/burst=16", members), func(b *testing.B) {
			benchBaseline(b, members, 16)
		})
	}
}

func benchPublish(b *testing.B, members, burst int) {
	requireLoopbackMulticast(b)
	cfg := testConfig(b, 4)
	cfg.History = publish.HistoryConfig{Messages: 1 << 16, Bytes: 4 << 20}
	var groups []netip.AddrPort
	for _, c := range cfg.Channels {
		groups = append(groups, netip.MustParseAddrPort(c.Group))
	}
	w, err := publish.NewWorker(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	pool, err := ring.NewPool(ring.PoolConfig{Packets: 256, BufSize: 2048})
	if err != nil {
		b.Fatal(err)
	}
	var d *drainer
	if members > 0 {
		d = startDrainer(b, groups[:members])
	}
	up := benchUpstream(0)
	offer := func() {
		p := pool.Get()
		p.N = copy(p.Buf, up)
		w.Offer(p)
	}
	// Warm up: fill the history's first pages and the kernel's paths.
	for i := 0; i < 1000; i++ {
		offer()
		w.DoWork(clock.Nanotime())
	}
	before := w.Stats()
	runtime.LockOSThread() // so RUSAGE_THREAD is this loop's thread
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += burst {
		for j := 0; j < burst; j++ {
			offer()
		}
		w.DoWork(clock.Nanotime())
	}
	b.StopTimer()
	cpu := threadCPU() - cpu0
	after := w.Stats()
	reportPublish(b, before, after, cpu)
	if d != nil {
		b.ReportMetric(float64(d.close())/float64(b.N), "received-dgrams/op")
	}
	if after.Worker.SendErrors != before.Worker.SendErrors {
		b.Fatalf("send errors: %d", after.Worker.SendErrors-before.Worker.SendErrors)
	}
}

// threadCPU returns the CPU time (user and system) of the calling OS thread.
// On this shared 2-core machine wall time per op includes time spent waiting
// for a CPU; CPU time does not.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportPublish(b *testing.B, before, after publish.Stats, cpu time.Duration) {
	msgs, dgrams := uint64(0), uint64(0)
	for i := range after.Channels {
		msgs += after.Channels[i].Messages - before.Channels[i].Messages
		dgrams += after.Channels[i].Packets - before.Channels[i].Packets
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(msgs), "ns/msg")
	b.ReportMetric(float64(msgs)/sec, "msgs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(msgs), "cpu-ns/msg")
	b.ReportMetric(float64(dgrams)/float64(b.N), "dgrams/op")
	calls := after.Worker.SendCalls - before.Worker.SendCalls
	b.ReportMetric(float64(dgrams)/float64(max(calls, 1)), "dgrams/sendmmsg")
}

// benchBaseline sends, per burst, the datagrams the worker would send for it
// (each channel's share packed full), pre-built, with one sendmmsg.
func benchBaseline(b *testing.B, members, burst int) {
	requireLoopbackMulticast(b)
	var groups []netip.AddrPort
	for i := 0; i < 4; i++ {
		groups = append(groups, testGroup(b))
	}
	tx, err := udpsock.NewSender(netip.AddrPort{}, "lo", udpsock.Options{Loop: true})
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	var d *drainer
	if members > 0 {
		d = startDrainer(b, groups[:members])
	}
	// Each channel gets burst*20/4 quotes per burst, packed 27 to a datagram.
	perChannel := burst * benchQuotesPerPacket / 4
	perDgram := (publish.DefaultMaxPayload - decode.PacketHeaderLen) / (decode.MessageLenSize + decode.QuoteLen)
	var dgrams [][]byte
	var dst []netip.AddrPort
	for ch := 0; ch < 4; ch++ {
		for left := perChannel; left > 0; left -= perDgram {
			n := min(left, perDgram)
			p := decode.AppendPacketHeader(nil, decode.Session{'B'}, 1, uint16(n))
			for j := 0; j < n; j++ {
				p = decode.AppendMessage(p, quote(uint32(j), uint64(j)))
			}
			dgrams = append(dgrams, p)
			dst = append(dst, groups[ch])
		}
	}
	sb := udpsock.NewSendBatch(len(dgrams))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += burst {
		for k, p := range dgrams {
			sb.Add(p, dst[k])
		}
		if _, err := tx.SendBatch(sb); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := threadCPU() - cpu0
	msgs := float64((b.N + burst - 1) / burst * burst * benchQuotesPerPacket)
	b.ReportMetric(b.Elapsed().Seconds()*1e9/msgs, "ns/msg")
	b.ReportMetric(float64(cpu.Nanoseconds())/msgs, "cpu-ns/msg")
	b.ReportMetric(msgs/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(len(dgrams))/float64(burst), "dgrams/op")
	if d != nil {
		b.ReportMetric(float64(d.close())/float64(b.N), "received-dgrams/op")
	}
}
