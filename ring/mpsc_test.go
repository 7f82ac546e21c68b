package ring

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// TestMPSCConcurrent runs several producers mixing Offer and OfferBatch
// into one consumer and checks per-producer order and the totals.
func TestMPSCConcurrent(t *testing.T) {
	const producers = 4
	perProducer := 100_000
	if raceEnabled || testing.Short() {
		perProducer = 10_000
	}
	r, _ := NewMPSC[uint64](64)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(p), 9))
			buf := make([]uint64, 16)
			next := 0
			for next < perProducer {
				k := min(1+rng.IntN(len(buf)), perProducer-next)
				var n int
				if k == 1 {
					if r.Offer(uint64(p)<<32 | uint64(next)) {
						n = 1
					}
				} else {
					for i := range k {
						buf[i] = uint64(p)<<32 | uint64(next+i)
					}
					n = r.OfferBatch(buf[:k])
				}
				next += n
				if n == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	var want [producers]int
	dst := make([]uint64, 32)
	got := 0
	rng := rand.New(rand.NewPCG(7, 8))
	for got < producers*perProducer {
		n := r.Poll(dst[:1+rng.IntN(len(dst))])
		if n == 0 {
			runtime.Gosched()
		}
		for _, v := range dst[:n] {
			p, i := int(v>>32), int(v&0xffffffff)
			if p >= producers {
				t.Fatalf("item %x from unknown producer", v)
			}
			if i != want[p] {
				t.Fatalf("producer %d: got %d, want %d", p, i, want[p])
			}
			want[p]++
		}
		got += n
	}
	wg.Wait()
	if n := r.Poll(dst); n != 0 || r.Len() != 0 {
		t.Fatalf("%d extra items, Len %d", n, r.Len())
	}
	for p, n := range want {
		if n != perProducer {
			t.Errorf("producer %d: %d items, want %d", p, n, perProducer)
		}
	}
}

// TestMPSCBatchContiguous checks that the items one OfferBatch call claims
// come out consecutively, never interleaved with another producer's. Each
// item carries its producer and the number of the call that offered it; the
// consumer checks that a call's items form one unbroken run.
func TestMPSCBatchContiguous(t *testing.T) {
	const producers = 3
	calls := 50_000
	if raceEnabled || testing.Short() {
		calls = 5_000
	}
	tag := func(p, call int) uint64 { return uint64(p)<<56 | uint64(call) }
	r, _ := NewMPSC[uint64](32)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(p), 11))
			buf := make([]uint64, 12)
			for call := 1; call <= calls; call++ {
				k := 1 + rng.IntN(len(buf))
				for i := range k {
					buf[i] = tag(p, call)
				}
				for r.OfferBatch(buf[:k]) == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	var lastCall [producers]int
	var prev uint64
	dst := make([]uint64, 64)
	done := 0
	for done < producers {
		n := r.Poll(dst)
		if n == 0 {
			runtime.Gosched()
		}
		for _, v := range dst[:n] {
			p, call := int(v>>56), int(v&(1<<56-1))
			switch {
			case call == lastCall[p]:
				if prev != v {
					t.Fatalf("producer %d call %d interrupted by %x", p, call, prev)
				}
			case call > lastCall[p]:
				lastCall[p] = call
				if call == calls {
					done++
				}
			default:
				t.Fatalf("producer %d: call %d after call %d", p, call, lastCall[p])
			}
			prev = v
		}
	}
	wg.Wait()
}
