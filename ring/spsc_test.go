package ring

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
)

func TestNewCapacity(t *testing.T) {
	for _, c := range []int{-4, 0, 1, 3, 6, 100, maxCapacity + 1, maxCapacity * 2} {
		if _, err := NewSPSC[int](c); !errors.Is(err, ErrCapacity) {
			t.Errorf("NewSPSC(%d) err = %v, want ErrCapacity", c, err)
		}
		if _, err := NewMPSC[int](c); !errors.Is(err, ErrCapacity) {
			t.Errorf("NewMPSC(%d) err = %v, want ErrCapacity", c, err)
		}
	}
	for _, c := range []int{2, 4, 1024} {
		s, err := NewSPSC[int](c)
		if err != nil || s.Cap() != c || s.Len() != 0 {
			t.Errorf("NewSPSC(%d) = cap %d len %d, %v", c, s.Cap(), s.Len(), err)
		}
		m, err := NewMPSC[int](c)
		if err != nil || m.Cap() != c || m.Len() != 0 {
			t.Errorf("NewMPSC(%d) = cap %d len %d, %v", c, m.Cap(), m.Len(), err)
		}
	}
}

// queue is what SPSC and MPSC have in common, for tests run on both.
type queue[T any] interface {
	Offer(T) bool
	OfferBatch([]T) int
	Poll([]T) int
	Len() int
	Cap() int
}

func newQueues(t *testing.T, capacity int) map[string]queue[int] {
	t.Helper()
	s, err := NewSPSC[int](capacity)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMPSC[int](capacity)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]queue[int]{"SPSC": s, "MPSC": m}
}

func TestFullEmpty(t *testing.T) {
	for name, q := range newQueues(t, 4) {
		t.Run(name, func(t *testing.T) {
			dst := make([]int, 8)
			if n := q.Poll(dst); n != 0 {
				t.Fatalf("Poll on empty = %d", n)
			}
			if n := q.Poll(dst[:0]); n != 0 {
				t.Fatalf("Poll(empty dst) = %d", n)
			}
			for i := 1; i <= 4; i++ {
				if !q.Offer(i) {
					t.Fatalf("Offer(%d) refused with Len %d", i, q.Len())
				}
			}
			if q.Offer(5) {
				t.Fatal("Offer into a full ring succeeded")
			}
			if n := q.OfferBatch([]int{5, 6}); n != 0 {
				t.Fatalf("OfferBatch into a full ring = %d", n)
			}
			if q.Len() != 4 {
				t.Fatalf("Len = %d, want 4", q.Len())
			}
			if n := q.Poll(dst[:1]); n != 1 || dst[0] != 1 {
				t.Fatalf("Poll(1) = %d %v", n, dst[:n])
			}
			if !q.Offer(5) {
				t.Fatal("Offer after a Poll refused")
			}
			n := q.Poll(dst)
			if n != 4 || dst[0] != 2 || dst[1] != 3 || dst[2] != 4 || dst[3] != 5 {
				t.Fatalf("Poll = %d %v, want [2 3 4 5]", n, dst[:n])
			}
			if q.Len() != 0 {
				t.Fatalf("Len = %d after draining", q.Len())
			}
		})
	}
}

func TestOfferBatchPartial(t *testing.T) {
	for name, q := range newQueues(t, 8) {
		t.Run(name, func(t *testing.T) {
			in := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
			if n := q.OfferBatch(nil); n != 0 {
				t.Fatalf("OfferBatch(nil) = %d", n)
			}
			if n := q.OfferBatch(in[:3]); n != 3 {
				t.Fatalf("OfferBatch(3) = %d", n)
			}
			if n := q.OfferBatch(in[3:]); n != 5 {
				t.Fatalf("OfferBatch(7) into 5 free = %d, want 5", n)
			}
			dst := make([]int, 16)
			if n := q.Poll(dst); n != 8 {
				t.Fatalf("Poll = %d, want 8", n)
			}
			for i := range 8 {
				if dst[i] != i+1 {
					t.Fatalf("dst = %v", dst[:8])
				}
			}
			// Larger than the whole ring.
			if n := q.OfferBatch(in); n != 8 {
				t.Fatalf("OfferBatch(10) into empty ring of 8 = %d", n)
			}
		})
	}
}

// TestWraparound drives positions many laps around a small ring with
// random batch sizes on both sides and checks order.
func TestWraparound(t *testing.T) {
	for name, q := range newQueues(t, 8) {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			next, want := 0, 0
			in := make([]int, 12)
			dst := make([]int, 12)
			for want < 10000 {
				k := rng.IntN(len(in) + 1)
				for i := range k {
					in[i] = next + i
				}
				next += q.OfferBatch(in[:k])
				if q.Len() != next-want {
					t.Fatalf("Len = %d, want %d", q.Len(), next-want)
				}
				n := q.Poll(dst[:rng.IntN(len(dst)+1)])
				for _, v := range dst[:n] {
					if v != want {
						t.Fatalf("got %d, want %d", v, want)
					}
					want++
				}
			}
		})
	}
}

// TestPollClearsSlots checks that consumed pointer slots are zeroed so the
// ring does not keep them reachable.
func TestPollClearsSlots(t *testing.T) {
	s, _ := NewSPSC[*int](4)
	m, _ := NewMPSC[*int](4)
	x := new(int)
	dst := make([]*int, 4)
	for lap := range 3 {
		for range 3 {
			s.Offer(x)
			m.Offer(x)
		}
		s.Poll(dst)
		m.Poll(dst)
		for i := range s.buf {
			if s.buf[i] != nil || m.buf[i].v != nil {
				t.Fatalf("lap %d: slot %d still holds a pointer", lap, i)
			}
		}
	}
}

// TestSPSCConcurrent runs one producer and one consumer with random batch
// sizes (including single-item Offer and Poll) and checks that every item
// arrives once, in order.
func TestSPSCConcurrent(t *testing.T) {
	total := 500_000
	if raceEnabled || testing.Short() {
		total = 50_000
	}
	r, _ := NewSPSC[uint64](64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		rng := rand.New(rand.NewPCG(3, 4))
		buf := make([]uint64, 20)
		next := uint64(0)
		for next < uint64(total) {
			if rng.IntN(2) == 0 {
				if r.Offer(next) {
					next++
				} else {
					runtime.Gosched()
				}
				continue
			}
			k := min(uint64(1+rng.IntN(len(buf))), uint64(total)-next)
			for i := range k {
				buf[i] = next + i
			}
			n := r.OfferBatch(buf[:k])
			next += uint64(n)
			if n == 0 {
				runtime.Gosched()
			}
		}
	}()
	rng := rand.New(rand.NewPCG(5, 6))
	dst := make([]uint64, 32)
	want := uint64(0)
	for want < uint64(total) {
		n := r.Poll(dst[:1+rng.IntN(len(dst))])
		if n == 0 {
			runtime.Gosched()
		}
		for _, v := range dst[:n] {
			if v != want {
				t.Fatalf("got %d, want %d", v, want)
			}
			want++
		}
	}
	<-done
	// Everything is consumed; only the unfinished line unit's items may
	// still be unacknowledged.
	if n := r.Len(); n < 0 || int64(n) > r.lineMask {
		t.Fatalf("Len = %d at the end, want 0..%d", n, r.lineMask)
	}
}

// TestPollHandsBackWholeLines checks the lazy hand-back: slots of a line
// unit the consumer has finished are cleared and returned to the producer,
// those of the unit it is still in are not, and the producer can always
// fill the rest of the ring (so it never waits on them).
func TestPollHandsBackWholeLines(t *testing.T) {
	r, _ := NewSPSC[*int](64) // 16 pointers per 128-byte unit
	if r.lineMask != 15 {
		t.Fatalf("lineMask = %d, want 15", r.lineMask)
	}
	x := new(int)
	dst := make([]*int, 64)
	for range 20 {
		r.Offer(x)
	}
	if n := r.Poll(dst[:20]); n != 20 {
		t.Fatalf("Poll = %d", n)
	}
	if got := r.Len(); got != 4 {
		t.Fatalf("Len = %d after consuming 20, want 4 (the unfinished unit's)", got)
	}
	for i := range 16 {
		if r.buf[i] != nil {
			t.Fatalf("slot %d of the finished unit still holds a pointer", i)
		}
	}
	if r.buf[16] == nil {
		t.Fatal("slot 16 of the unfinished unit was cleared while the producer may still share its line")
	}
	// The producer can use every slot but the 4 unacknowledged ones.
	n := 0
	for r.Offer(x) {
		n++
	}
	if n != 60 {
		t.Fatalf("producer offered %d before full, want 60", n)
	}
	// Draining everything hands back all whole units; what is left over is
	// under one unit and its slots are handed back when the unit completes.
	got := 0
	for k := r.Poll(dst); k > 0; k = r.Poll(dst) {
		got += k
	}
	if got != 60 || r.Len() != 0 {
		t.Fatalf("drained %d, Len %d; want 60 and 0 (position 80 ends a unit)", got, r.Len())
	}
}
