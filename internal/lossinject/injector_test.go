package lossinject

import (
	"math"
	"sync"
	"testing"
)

func TestDeterministicForSeed(t *testing.T) {
	c := Config{Rate: 0.2, Seed: 42, Sequences: []uint64{3, 99}}
	a, b := New(c), New(c)
	other := New(Config{Rate: 0.2, Seed: 43})
	differ := 0
	for i := uint64(0); i < 100_000; i++ {
		seq := i % 1000 // repeats, as retransmissions do
		da, db := a.Drop(seq), b.Drop(seq)
		if da != db {
			t.Fatalf("call %d: same config decided %v and %v", i, da, db)
		}
		if other.Drop(seq) != da {
			differ++
		}
	}
	if a.Dropped() != b.Dropped() || a.Dropped() == 0 {
		t.Fatalf("Dropped %d and %d", a.Dropped(), b.Dropped())
	}
	// Two independent 20% streams disagree on 32% of calls.
	if differ < 30_000 || differ > 34_000 {
		t.Fatalf("seeds 42 and 43 disagree on %d of 100000 calls, want about 32000", differ)
	}
}

// TestRate checks the measured drop fraction over 1e6 draws lies within six
// standard deviations of the configured rate. The seed is fixed, so the test
// is deterministic; the tolerance only guards against a biased generator.
func TestRate(t *testing.T) {
	const n = 1_000_000
	for _, rate := range []float64{0, 0.001, 0.05, 0.5, 0.99, 1} {
		in := New(Config{Rate: rate, Seed: 7})
		for i := uint64(0); i < n; i++ {
			in.Drop(i)
		}
		got := float64(in.Dropped()) / n
		tol := 6 * math.Sqrt(rate*(1-rate)/n)
		if math.Abs(got-rate) > tol {
			t.Errorf("rate %v: measured %v over %d draws (tolerance %v)", rate, got, n, tol)
		}
		if (rate == 0 && in.Dropped() != 0) || (rate == 1 && in.Dropped() != n) {
			t.Errorf("rate %v: dropped %d of %d", rate, in.Dropped(), n)
		}
	}
}

func TestSequencesDroppedOnce(t *testing.T) {
	in := New(Config{Sequences: []uint64{500, 10, 11, 10}})
	var dropped []uint64
	for round := 0; round < 3; round++ { // later rounds are retransmissions
		for seq := uint64(0); seq < 1000; seq++ {
			if in.Drop(seq) {
				dropped = append(dropped, seq)
			}
		}
	}
	if len(dropped) != 3 || dropped[0] != 10 || dropped[1] != 11 || dropped[2] != 500 {
		t.Fatalf("dropped %v, want [10 11 500] once each", dropped)
	}
	if s := in.Stats(); s != (Stats{Calls: 3000, Listed: 3}) || in.Dropped() != 3 {
		t.Fatalf("Stats %+v Dropped %d", s, in.Dropped())
	}
}

// TestListingDoesNotShiftDraws checks the random decisions for unlisted
// sequences do not depend on which sequences are listed: one draw per call.
func TestListingDoesNotShiftDraws(t *testing.T) {
	plain := New(Config{Rate: 0.3, Seed: 9})
	listed := New(Config{Rate: 0.3, Seed: 9, Sequences: []uint64{5, 6, 7}})
	for seq := uint64(0); seq < 10_000; seq++ {
		p, l := plain.Drop(seq), listed.Drop(seq)
		if seq >= 5 && seq <= 7 {
			if !l {
				t.Fatalf("listed sequence %d not dropped", seq)
			}
			continue
		}
		if p != l {
			t.Fatalf("seq %d: %v without the list, %v with it", seq, p, l)
		}
	}
}

func TestNilInjector(t *testing.T) {
	var in *Injector
	if in.Drop(1) || in.Dropped() != 0 || in.Stats() != (Stats{}) {
		t.Fatal("nil Injector dropped or counted")
	}
	if New(Config{Seed: 5}) != nil {
		t.Fatal("New of a Config that drops nothing is not nil")
	}
}

func TestNewClamps(t *testing.T) {
	if in := New(Config{Rate: 2}); !in.Drop(1) || !in.Drop(2) {
		t.Fatal("rate 2 not clamped to always")
	}
	if in := New(Config{Rate: math.NaN(), Sequences: []uint64{1}}); in.Drop(2) {
		t.Fatal("NaN rate dropped")
	}
}

func TestAllocs(t *testing.T) {
	in := New(Config{Rate: 0.5, Seed: 1, Sequences: []uint64{1, 2, 3}})
	seq := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		in.Drop(seq)
		_ = in.Dropped()
	})
	if allocs != 0 {
		t.Fatalf("Drop allocates %v times per call, want 0", allocs)
	}
}

// TestCountersConcurrentRead reads the counters while the owner drops, for
// the race detector.
func TestCountersConcurrentRead(t *testing.T) {
	in := New(Config{Rate: 0.5, Seed: 3})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			d := in.Dropped()
			if d < last {
				t.Errorf("Dropped went backwards: %d then %d", last, d)
				return
			}
			last = d
		}
	}()
	for i := uint64(0); i < 100_000; i++ {
		in.Drop(i)
	}
	close(stop)
	wg.Wait()
	if s := in.Stats(); s.Calls != 100_000 || s.Random != in.Dropped() {
		t.Fatalf("Stats %+v, Dropped %d", s, in.Dropped())
	}
}

func BenchmarkDrop(b *testing.B) {
	in := New(Config{Rate: 0.05, Seed: 1, Sequences: []uint64{10, 11, 500}})
	b.ReportAllocs()
	var seq uint64
	n := 0
	for b.Loop() {
		seq++
		if in.Drop(seq) {
			n++
		}
	}
	sinkN = n
}

var sinkN int
