package subscriber

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"testing"

	"mdcast/decode"
	"mdcast/internal/clock"
	"mdcast/internal/udpsock"
)

// msgsPerPacket is what one 1400-byte MoldUDP64 packet of quotes holds.
const msgsPerPacket = 27

// quotePacket returns a packet of n quotes starting at sequence 1.
func quotePacket(n int) []byte {
	s, _ := decode.MakeSession("BENCH")
	b := decode.AppendPacketHeader(nil, s, 1, uint16(n))
	for i := 0; i < n; i++ {
		b = decode.AppendMessage(b, decode.AppendQuote(nil, decode.QuoteFields{Instrument: uint32(i), ExchangeTime: uint64(i)}))
	}
	return b
}

// loopRig is a subscriber with one consumer on a loopback channel and a
// sender, driven by hand on the caller's goroutine (DoWork, Poll).
type loopRig struct {
	s     *Subscriber
	c     *Consumer
	send  *udpsock.Conn
	group netip.AddrPort
	pkt   []byte
	seq   uint64
}

func newLoopRig(tb testing.TB) *loopRig {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	group := netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 255, byte(os.Getpid() % 250), 251}), uint16(port))
	s, err := New(Config{Channels: []ChannelConfig{{Group: group.String()}}})
	if err != nil {
		tb.Skipf("no loopback multicast: %v", err)
	}
	c, err := s.NewConsumer(ConsumerConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	send, err := udpsock.NewSender(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0), "lo", udpsock.Options{Loop: true})
	if err != nil {
		tb.Skipf("no loopback multicast sender: %v", err)
	}
	tb.Cleanup(func() { send.Close(); s.Close() })
	return &loopRig{s: s, c: c, send: send, group: group, pkt: quotePacket(msgsPerPacket), seq: 1}
}

// roundTrip sends one packet and runs the receive path until the consumer
// has polled all its messages; it returns false if they never came.
func (r *loopRig) roundTrip() bool {
	binary.BigEndian.PutUint64(r.pkt[10:], r.seq)
	r.seq += msgsPerPacket
	if r.send.WriteTo(r.pkt, r.group) != nil {
		return false
	}
	got := 0
	for spins := 0; got < msgsPerPacket && spins < 1_000_000; spins++ {
		r.s.DoWork(clock.Nanotime())
		got += len(r.c.Poll(DefaultConsumerBatch))
	}
	return got == msgsPerPacket
}

// procRig drives a channel and a consumer without sockets: the receive
// path's own cost.
type procRig struct {
	ch  *channel
	c   *Consumer
	pkt []byte
	seq uint64
}

func newProcRig() *procRig {
	cfg := Config{Channels: []ChannelConfig{{Group: "239.1.1.1:1"}}}.withDefaults()
	ch := newChannel(0, cfg, &rngSource{seed: 1})
	c := newConsumer(ConsumerConfig{RingSize: benchRing}, 1, []decode.Format{decode.FormatQuote}, nil)
	ch.cons = []*Consumer{c}
	return &procRig{ch: ch, c: c, pkt: quotePacket(msgsPerPacket), seq: 1}
}

func (r *procRig) roundTrip() bool {
	binary.BigEndian.PutUint64(r.pkt[10:], r.seq)
	r.seq += msgsPerPacket
	r.ch.nowNs = clock.Nanotime()
	r.ch.onDatagram(r.pkt, r.ch.nowNs, false)
	r.c.publish()
	got := 0
	for b := r.c.Poll(DefaultConsumerBatch); len(b) > 0; b = r.c.Poll(DefaultConsumerBatch) {
		got += len(b)
	}
	return got == msgsPerPacket
}

// TestAllocs: the receive -> consumer path (socket read, validation,
// sequencing, ring copy, Poll) allocates nothing per packet.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation")
	}
	t.Run("socket", func(t *testing.T) {
		r := newLoopRig(t)
		ok := true
		if n := testing.AllocsPerRun(500, func() { ok = r.roundTrip() && ok }); n != 0 {
			t.Errorf("%v allocations per packet, want 0", n)
		}
		if !ok {
			t.Error("a packet did not arrive")
		}
	})
	t.Run("inproc", func(t *testing.T) {
		r := newProcRig()
		ok := true
		if n := testing.AllocsPerRun(1000, func() { ok = r.roundTrip() && ok }); n != 0 {
			t.Errorf("%v allocations per packet, want 0", n)
		}
		if !ok {
			t.Error("messages missing")
		}
	})
	t.Run("poll-empty", func(t *testing.T) {
		r := newProcRig()
		if n := testing.AllocsPerRun(1000, func() { r.c.Poll(64) }); n != 0 {
			t.Errorf("%v allocations per empty Poll, want 0", n)
		}
	})
}

// BenchmarkReceiveToConsumer measures one packet of 27 quotes from the
// receive path into a consumer's Poll: "socket" includes the loopback
// multicast send and the recvmmsg (one packet per op, so one syscall each
// way), "socket-baseline" the same send and recvmmsg with no subscriber
// work, "inproc" is the subscriber's own work (validation, sequencing,
// copy into the ring, Poll). ns/msg divides by the 27 messages.
func BenchmarkReceiveToConsumer(b *testing.B) {
	b.Run("socket-baseline", func(b *testing.B) {
		// The kernel path alone, for comparison: the same send and one
		// recvmmsg on the same kind of group socket, nothing decoded.
		r := newLoopRig(b)
		conn := r.s.chans[0].conn
		rb := udpsock.NewRecvBatch(1)
		buf := make([]byte, 2048)
		rb.SetBuf(0, buf)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if r.send.WriteTo(r.pkt, r.group) != nil {
				b.Fatal("send")
			}
			got := 0
			for spins := 0; got == 0 && spins < 1_000_000; spins++ {
				got, _ = conn.RecvBatch(rb, 1)
			}
			if got == 0 {
				b.Fatal("packet lost")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*msgsPerPacket), "ns/msg")
	})
	b.Run("socket", func(b *testing.B) {
		r := newLoopRig(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if !r.roundTrip() {
				b.Fatal("packet lost")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*msgsPerPacket), "ns/msg")
	})
	b.Run("inproc", func(b *testing.B) {
		r := newProcRig()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if !r.roundTrip() {
				b.Fatal("messages missing")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*msgsPerPacket), "ns/msg")
	})
}

var benchRing = DefaultRingSize
