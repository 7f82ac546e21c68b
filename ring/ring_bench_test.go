package ring

import (
	"sync"
	"testing"
	"time"
)

// Benchmarks hand b.N items from producer goroutines to the benchmark's
// goroutine (the consumer), so ns/op is the cost per item handed over. The
// rings are compared with a buffered channel of the same element type
// (*Packet) and capacity, with the same goroutine structure, in the same
// run. Batch = 16 items per producer claim, and a consumer that drains
// everything available up to 256 per call (as a consumer agent does).
//
// Ring sides wait on a full or empty ring with an IdleStrategy, run once
// with each of idlers; channel sides block in the runtime as channels do.
// Compare ratios within one run: the machine is shared.

const (
	benchCap   = 1024
	benchBatch = 16  // items per producer claim in the Batch benchmarks
	benchDrain = 256 // items per consumer call in the Batch benchmarks
)

var sinkPacket *Packet // results stored here so the work is not optimised away

func benchPacket() *Packet { return &Packet{Buf: make([]byte, 64)} }

// idlers are the wait strategies the ring benchmarks run under: BusySpin
// is how a pinned agent on a core of its own waits; Backoff (the runner's
// default: spin, yield, then sleep) gives the CPU back, which is what keeps
// a two-goroutine benchmark sane when the machine is oversubscribed and a
// spinning side would burn its time slice waiting for a descheduled peer.
// Block (SPSC only) parks the consumer in a Block and has the producer call
// Waker.Wake after every publish, so a wake is event-driven like a channel
// send; the producer waits for room with Backoff.
var idlers = []struct {
	name  string
	new   func() IdleStrategy
	block bool
}{
	{"BusySpin", func() IdleStrategy { return BusySpin{} }, false},
	{"Backoff", func() IdleStrategy { return NewBackoff(0, 0, 0, 0) }, false},
	{"Block", func() IdleStrategy { return NewBackoff(0, 0, 0, 0) }, true},
}

// benchSPSC hands b.N items through an SPSC ring, batch per OfferBatch
// (1 = Offer) and up to drain per Poll.
func benchSPSC(b *testing.B, batch, drain int, newIdle func() IdleStrategy, block bool) {
	b.ReportAllocs()
	r, _ := NewSPSC[*Packet](benchCap)
	pk := benchPacket()
	idle := newIdle()
	wake := func() {}
	if block {
		w, err := NewWaker()
		if err != nil {
			b.Skip(err)
		}
		defer w.Close()
		if idle, err = NewBlock(nil, w, time.Millisecond); err != nil {
			b.Fatal(err)
		}
		wake = w.Wake
	}
	n := b.N
	done := make(chan struct{})
	go func() {
		defer close(done)
		idle := newIdle()
		items := make([]*Packet, batch)
		for i := range items {
			items[i] = pk
		}
		for sent := 0; sent < n; {
			var k int
			if batch == 1 {
				k = btoi(r.Offer(pk))
			} else {
				k = r.OfferBatch(items[:min(batch, n-sent)])
			}
			if k > 0 {
				wake()
			}
			sent += k
			idle.Idle(k)
		}
	}()
	dst := make([]*Packet, drain)
	var last *Packet
	b.ResetTimer()
	for got := 0; got < n; {
		k := r.Poll(dst)
		if k > 0 {
			last = dst[k-1]
		}
		got += k
		idle.Idle(k)
	}
	<-done
	sinkPacket = last
}

// BenchmarkSPSC: one producer Offers single items, the consumer Polls one
// at a time.
func BenchmarkSPSC(b *testing.B) {
	for _, id := range idlers {
		b.Run(id.name, func(b *testing.B) { benchSPSC(b, 1, 1, id.new, id.block) })
	}
}

// BenchmarkChan is BenchmarkSPSC's baseline: a buffered channel.
func BenchmarkChan(b *testing.B) {
	b.ReportAllocs()
	ch := make(chan *Packet, benchCap)
	pk := benchPacket()
	n := b.N
	go func() {
		for i := 0; i < n; i++ {
			ch <- pk
		}
	}()
	var last *Packet
	b.ResetTimer()
	for got := 0; got < n; got++ {
		last = <-ch
	}
	sinkPacket = last
}

// BenchmarkSPSCBatch: the producer offers 16 items per OfferBatch, the
// consumer drains up to 256 per Poll.
func BenchmarkSPSCBatch(b *testing.B) {
	for _, id := range idlers {
		b.Run(id.name, func(b *testing.B) { benchSPSC(b, benchBatch, benchDrain, id.new, id.block) })
	}
}

// BenchmarkChanBatch is BenchmarkSPSCBatch's baseline: the producer sends
// items in a row, the consumer takes one (blocking) and then drains up to
// 255 more without blocking.
func BenchmarkChanBatch(b *testing.B) {
	b.ReportAllocs()
	ch := make(chan *Packet, benchCap)
	pk := benchPacket()
	n := b.N
	go func() {
		for i := 0; i < n; i++ {
			ch <- pk
		}
	}()
	var dst [benchDrain]*Packet
	var last *Packet
	b.ResetTimer()
	for got := 0; got < n; {
		dst[0] = <-ch
		k := 1
	drain:
		for k < benchDrain && got+k < n {
			select {
			case dst[k] = <-ch:
				k++
			default:
				break drain
			}
		}
		last = dst[k-1]
		got += k
	}
	sinkPacket = last
}

// mpscProducers is how many producer goroutines the MP benchmarks run.
const mpscProducers = 2

// share splits n items between producers.
func share(n, i, of int) int { return n/of + btoi(i < n%of) }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// benchMPSC hands b.N items from two producers through an MPSC ring, batch
// per OfferBatch (1 = Offer); the consumer drains up to 256 per Poll.
func benchMPSC(b *testing.B, batch int, newIdle func() IdleStrategy) {
	b.ReportAllocs()
	r, _ := NewMPSC[*Packet](benchCap)
	pk := benchPacket()
	var wg sync.WaitGroup
	for p := range mpscProducers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idle := newIdle()
			items := make([]*Packet, batch)
			for i := range items {
				items[i] = pk
			}
			for left := share(b.N, p, mpscProducers); left > 0; {
				var k int
				if batch == 1 {
					k = btoi(r.Offer(pk))
				} else {
					k = r.OfferBatch(items[:min(batch, left)])
				}
				left -= k
				idle.Idle(k)
			}
		}()
	}
	idle := newIdle()
	var dst [benchDrain]*Packet
	var last *Packet
	b.ResetTimer()
	for got := 0; got < b.N; {
		k := r.Poll(dst[:])
		if k > 0 {
			last = dst[k-1]
		}
		got += k
		idle.Idle(k)
	}
	wg.Wait()
	sinkPacket = last
}

// BenchmarkMPSC: two producers Offer single items, one consumer drains up
// to 256 per Poll.
func BenchmarkMPSC(b *testing.B) {
	for _, id := range idlers[:2] {
		b.Run(id.name, func(b *testing.B) { benchMPSC(b, 1, id.new) })
	}
}

// BenchmarkMPSCBatch: two producers offer 16 items per OfferBatch.
func BenchmarkMPSCBatch(b *testing.B) {
	for _, id := range idlers[:2] {
		b.Run(id.name, func(b *testing.B) { benchMPSC(b, benchBatch, id.new) })
	}
}

// BenchmarkChanMP is the MPSC baseline: two producers send on one channel.
func BenchmarkChanMP(b *testing.B) {
	b.ReportAllocs()
	ch := make(chan *Packet, benchCap)
	pk := benchPacket()
	for p := range mpscProducers {
		go func() {
			for i := share(b.N, p, mpscProducers); i > 0; i-- {
				ch <- pk
			}
		}()
	}
	var last *Packet
	b.ResetTimer()
	for got := 0; got < b.N; got++ {
		last = <-ch
	}
	sinkPacket = last
}

// BenchmarkPool measures Get and Release on the owner goroutine, and Get
// on the owner with the release on another goroutine that receives the
// packet through an SPSC ring (the feed-to-worker pattern; both sides wait
// with Backoff).
func BenchmarkPool(b *testing.B) {
	b.Run("GetRelease", func(b *testing.B) {
		b.ReportAllocs()
		p, _ := NewPool(PoolConfig{Packets: 256, BufSize: 64})
		for b.Loop() {
			p.Get().Release()
		}
	})
	b.Run("RemoteRelease", func(b *testing.B) {
		b.ReportAllocs()
		p, _ := NewPool(PoolConfig{Packets: 4096, BufSize: 64})
		r, _ := NewSPSC[*Packet](benchCap)
		done := make(chan struct{})
		n := b.N
		go func() {
			defer close(done)
			idle := NewBackoff(0, 0, 0, 0)
			var dst [benchBatch]*Packet
			for got := 0; got < n; {
				k := r.Poll(dst[:])
				for _, pk := range dst[:k] {
					pk.Release()
				}
				got += k
				idle.Idle(k)
			}
		}()
		idle := NewBackoff(0, 0, 0, 0)
		b.ResetTimer()
		for i := 0; i < n; i++ {
			pk := p.Get()
			for !r.Offer(pk) {
				idle.Idle(0)
			}
			idle.Idle(1)
		}
		<-done
		b.StopTimer()
		if s := p.Stats(); s.Allocs != 0 {
			b.ReportMetric(float64(s.Allocs), "pool-misses")
		}
	})
}

// BenchmarkUncontended measures the instruction cost of one handoff with
// producer and consumer on the same goroutine (no cache-line transfer),
// next to a buffered channel send and receive.
func BenchmarkUncontended(b *testing.B) {
	pk := benchPacket()
	b.Run("SPSC", func(b *testing.B) {
		b.ReportAllocs()
		r, _ := NewSPSC[*Packet](benchCap)
		var dst [1]*Packet
		for b.Loop() {
			r.Offer(pk)
			r.Poll(dst[:])
		}
		sinkPacket = dst[0]
	})
	b.Run("SPSCBatch", func(b *testing.B) {
		b.ReportAllocs()
		r, _ := NewSPSC[*Packet](benchCap)
		var src, dst [benchBatch]*Packet
		for i := range src {
			src[i] = pk
		}
		for b.Loop() {
			r.OfferBatch(src[:])
			r.Poll(dst[:])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/item")
		sinkPacket = dst[0]
	})
	b.Run("MPSC", func(b *testing.B) {
		b.ReportAllocs()
		r, _ := NewMPSC[*Packet](benchCap)
		var dst [1]*Packet
		for b.Loop() {
			r.Offer(pk)
			r.Poll(dst[:])
		}
		sinkPacket = dst[0]
	})
	b.Run("Chan", func(b *testing.B) {
		b.ReportAllocs()
		ch := make(chan *Packet, benchCap)
		var last *Packet
		for b.Loop() {
			ch <- pk
			last = <-ch
		}
		sinkPacket = last
	})
}

// BenchmarkLineTransfer measures the floor under every cross-goroutine
// handoff on this machine: the cost of moving one cache line from one
// core to the other and back. Two goroutines take turns on one padded
// counter (each waits, spinning, until it is its turn, then increments it),
// so every increment is one line transfer; ns/op is per transfer. A
// single-item ring handoff needs at least one such transfer for the slot
// and one for the position (they pipeline when the producer runs ahead).
func BenchmarkLineTransfer(b *testing.B) {
	var turn Sequence
	n := int64(b.N)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := int64(1); i < 2*n; i += 2 {
			for turn.Load() != i {
				procyield(1)
			}
			turn.Store(i + 1)
		}
	}()
	b.ResetTimer()
	for i := int64(0); i < 2*n; i += 2 {
		for turn.Load() != i {
			procyield(1)
		}
		turn.Store(i + 1)
	}
	<-done
	b.StopTimer()
	// Two transfers per b.N iteration: report per transfer.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*n), "ns/transfer")
}

// BenchmarkSpinYield measures SpinYield's yield when nothing else wants the
// CPU: one sched_yield(2) per op (Every = 1).
func BenchmarkSpinYield(b *testing.B) {
	s := NewSpinYield(1)
	for b.Loop() {
		s.Idle(0)
	}
}
