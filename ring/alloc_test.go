package ring

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestAllocs proves the hot paths allocate nothing in steady state: ring
// offer and poll (single and batch), pool get and release, idle calls and
// waker signals.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s, _ := NewSPSC[*Packet](64)
	m, _ := NewMPSC[*Packet](64)
	p, _ := NewPool(PoolConfig{Packets: 64, BufSize: 64})
	pk := p.Get()
	batch := make([]*Packet, 16)
	for i := range batch {
		batch[i] = pk
	}
	dst := make([]*Packet, 16)
	backoff := NewBackoff(0, 0, time.Nanosecond, time.Nanosecond)

	cases := []struct {
		name string
		f    func()
	}{
		{"SPSC Offer+Poll", func() { s.Offer(pk); s.Poll(dst[:1]) }},
		{"SPSC OfferBatch+Poll", func() { s.OfferBatch(batch); s.Poll(dst) }},
		{"MPSC Offer+Poll", func() { m.Offer(pk); m.Poll(dst[:1]) }},
		{"MPSC OfferBatch+Poll", func() { m.OfferBatch(batch); m.Poll(dst) }},
		{"Pool Get+Release", func() { p.Get().Release() }},
		{"Packet Retain+Release", func() { pk.Retain(); pk.Release() }},
		{"BusySpin", func() { BusySpin{}.Idle(0) }},
		{"Backoff", func() {
			for range 20 { // through spinning, yielding and parking
				backoff.Idle(0)
			}
			backoff.Idle(1)
		}},
	}
	cases = append(cases, blockAllocCases(t)...)
	for _, c := range cases {
		c.f() // warm up (first park creates the goroutine's timer)
		if n := testing.AllocsPerRun(100, c.f); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", c.name, n)
		}
	}
	runtime.KeepAlive(pk)
}

// TestStoreRelease checks the release-store helpers write the field that
// Load reads (the assembly version relies on atomic.Int64's layout).
func TestStoreRelease(t *testing.T) {
	var a struct {
		x atomic.Int64
		y atomic.Int32
		z atomic.Int32
	}
	storeRelease(&a.x, -42)
	storeRelease32(&a.y, 7)
	fence()
	if a.x.Load() != -42 || a.y.Load() != 7 || a.z.Load() != 0 {
		t.Fatalf("got %d %d %d", a.x.Load(), a.y.Load(), a.z.Load())
	}
}
