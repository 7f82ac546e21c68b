package ring

import (
	"encoding/binary"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func TestPacketSize(t *testing.T) {
	if s := unsafe.Sizeof(Packet{}); s%CacheLineBytes != 0 {
		t.Fatalf("sizeof(Packet) = %d, not a multiple of %d", s, CacheLineBytes)
	}
}

func TestPoolConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  PoolConfig
		want string
	}{
		{PoolConfig{Packets: -1}, "pool.packets"},
		{PoolConfig{Packets: maxPoolPackets + 1}, "pool.packets"},
		{PoolConfig{BufSize: -1}, "pool.buf_size"},
		{PoolConfig{BufSize: maxPoolBufSize + 1}, "pool.buf_size"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want it to name %s", tc.cfg, err, tc.want)
		}
		if _, err := NewPool(tc.cfg); err == nil {
			t.Errorf("NewPool(%+v) succeeded", tc.cfg)
		}
	}
	if err := (PoolConfig{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
}

func TestPoolDefaults(t *testing.T) {
	p, err := NewPool(PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if p.BufSize() != DefaultPoolBufSize || p.Stats().Packets != DefaultPoolPackets {
		t.Fatalf("BufSize %d Packets %d", p.BufSize(), p.Stats().Packets)
	}
	pk := p.Get()
	if len(pk.Buf) != DefaultPoolBufSize || cap(pk.Buf) != DefaultPoolBufSize {
		t.Fatalf("Buf len %d cap %d", len(pk.Buf), cap(pk.Buf))
	}
	pk.Release()
}

// TestPoolGetResets checks every field Get promises to reset, on packets
// that went round the pool dirty.
func TestPoolGetResets(t *testing.T) {
	p, _ := NewPool(PoolConfig{Packets: 4, BufSize: 64})
	for round := range 5 {
		var got []*Packet
		for range 4 {
			pk := p.Get()
			if pk.N != 0 || pk.RecvNs != 0 || pk.Seq != 0 || pk.Skip != 0 || pk.Line != 0 ||
				pk.Refs() != 1 || len(pk.Buf) != 64 || cap(pk.Buf) != 64 {
				t.Fatalf("round %d: Get returned %+v refs %d", round, pk, pk.Refs())
			}
			pk.N, pk.RecvNs, pk.Seq, pk.Skip, pk.Line = 5, 6, 7, 8, 9
			pk.Buf = pk.Buf[:3]
			copy(pk.Buf, "abc")
			pk.N = 2
			if string(pk.Bytes()) != "ab" {
				t.Fatalf("Bytes = %q", pk.Bytes())
			}
			got = append(got, pk)
		}
		for _, pk := range got {
			pk.Release()
		}
	}
	if s := p.Stats(); s.Allocs != 0 || s.Gets != 20 || s.Releases != 20 || s.InUse != 0 || s.Drops != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPoolEmptyAllocatesAndFullDrops(t *testing.T) {
	p, _ := NewPool(PoolConfig{Packets: 2, BufSize: 16})
	a, b, c := p.Get(), p.Get(), p.Get()
	if a == b || b == c || a == c {
		t.Fatal("Get returned the same packet twice")
	}
	if len(c.Buf) != 16 {
		t.Fatalf("allocated packet Buf len %d", len(c.Buf))
	}
	if s := p.Stats(); s.Gets != 3 || s.Allocs != 1 || s.InUse != 3 {
		t.Fatalf("after 3 Gets: %+v", s)
	}
	a.Release()
	b.Release()
	c.Release() // free list holds 2: this one goes to the GC
	if s := p.Stats(); s.Releases != 3 || s.Drops != 1 || s.InUse != 0 {
		t.Fatalf("after releases: %+v", s)
	}
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want %q", want)
		}
		if s, _ := r.(string); !strings.Contains(s, want) {
			t.Fatalf("panic %v, want %q", r, want)
		}
	}()
	f()
}

func TestPacketDoubleReleasePanics(t *testing.T) {
	p, _ := NewPool(PoolConfig{Packets: 2, BufSize: 16})
	pk := p.Get()
	pk.Release()
	mustPanic(t, "double Release", pk.Release)
	mustPanic(t, "Retain of a released Packet", pk.Retain)
	if s := p.Stats(); s.Releases != 1 {
		t.Fatalf("a panicking release was counted: %+v", s)
	}
}

func TestPacketRetainRelease(t *testing.T) {
	p, _ := NewPool(PoolConfig{Packets: 2, BufSize: 16})
	pk := p.Get()
	pk.Retain()
	pk.Retain()
	pk.Release()
	pk.Release()
	if s := p.Stats(); s.Releases != 0 || pk.Refs() != 1 {
		t.Fatalf("returned early: %+v refs %d", s, pk.Refs())
	}
	pk.Release()
	if s := p.Stats(); s.Releases != 1 || s.InUse != 0 {
		t.Fatalf("%+v", s)
	}
}

// TestPoolFanOut hands each packet to two consumers through two SPSC
// rings with a reference each; consumers check the contents and release
// on their own goroutines. A packet recycled while still referenced would
// be overwritten and caught by the content check (and by -race).
func TestPoolFanOut(t *testing.T) {
	total := 200_000
	if raceEnabled || testing.Short() {
		total = 20_000
	}
	p, _ := NewPool(PoolConfig{Packets: 64, BufSize: 32})
	var rings [2]*SPSC[*Packet]
	for i := range rings {
		rings[i], _ = NewSPSC[*Packet](16)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for c := range rings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]*Packet, 4)
			want := uint64(0)
			for want < uint64(total) {
				n := rings[c].Poll(dst)
				if n == 0 {
					runtime.Gosched()
				}
				for _, pk := range dst[:n] {
					if pk.Seq != want || binary.LittleEndian.Uint64(pk.Bytes()) != want || pk.N != 8 {
						errs <- "bad packet contents"
						return
					}
					want++
					pk.Release()
				}
			}
		}()
	}
	for seq := uint64(0); seq < uint64(total); seq++ {
		pk := p.Get()
		pk.Seq = seq
		pk.N = 8
		binary.LittleEndian.PutUint64(pk.Buf, seq)
		pk.Retain() // one reference per consumer
		for _, r := range rings {
			for !r.Offer(pk) {
				runtime.Gosched()
			}
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	s := p.Stats()
	if s.Gets != uint64(total) || s.Releases != uint64(total) || s.InUse != 0 {
		t.Fatalf("stats %+v", s)
	}
	// At most 16+4+1 packets are in flight per consumer, so a pool of 64
	// recycles without allocating.
	if s.Allocs != 0 || s.Drops != 0 {
		t.Fatalf("pool missed: %+v", s)
	}
}
