package perf_test

import (
	"testing"
	"time"

	"mdcast/perf"
)

func TestSamplerCountsAllocations(t *testing.T) {
	s := perf.NewSampler()
	a := s.Sample()
	var keep [][]byte
	for i := 0; i < 1000; i++ {
		keep = append(keep, make([]byte, 64+i))
	}
	deadline := time.Now().Add(20 * time.Millisecond)
	for time.Now().Before(deadline) { // burn a little CPU
	}
	b := s.Sample()
	rt := perf.RuntimeBetween(a, b, "test")
	// 1000 objects plus the growth of keep; the test framework's own
	// goroutines may add a few.
	if rt.Allocs < 1000 || rt.Allocs > 1100 || rt.AllocBytes < 64*1000 {
		t.Errorf("allocs %d bytes %d, want about 1000 objects of >= 64 B (kept %d)", rt.Allocs, rt.AllocBytes, len(keep))
	}
	if rt.CPU.WallS <= 0 || rt.CPU.Seconds <= 0 || rt.CPU.Scope != "test" {
		t.Errorf("cpu %+v", rt.CPU)
	}
}

func TestSamplerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := perf.NewSampler()
	if n := testing.AllocsPerRun(100, func() { s.Sample() }); n != 0 {
		t.Fatalf("Sample allocates %.1f times, want 0: it would count itself", n)
	}
}

func TestMachineBetween(t *testing.T) {
	s := perf.NewSampler()
	a := perf.SampleMachine(s)
	deadline := time.Now().Add(30 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	b := perf.SampleMachine(s)
	m := perf.MachineBetween(a, b)
	if m.CPUs < 1 || m.GOMAXPROCS < 1 {
		t.Fatalf("machine %+v", m)
	}
	if !a.Readable {
		t.Skip("/proc/stat not readable here")
	}
	if m.BusyPct < 0 || m.BusyPct > 100.0001 || m.StealPct < 0 || m.OtherPct < 0 || m.OtherPct > m.BusyPct {
		t.Errorf("machine %+v", m)
	}
}
