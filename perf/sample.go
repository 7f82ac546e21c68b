package perf

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"syscall"
	"time"

	"mdcast/internal/clock"
)

// metricGCCPU is the runtime's estimate of the CPU time spent in the GC.
const metricGCCPU = "/cpu/classes/gc/total:cpu-seconds"

// Sampler reads the process's allocation, GC and CPU counters, twice per
// measured interval. Its buffers are allocated once, so Sample allocates
// nothing that would show up in the interval it measures. Not safe for
// concurrent use.
//
// Allocations and GC cycles come from runtime.ReadMemStats, which stops the
// world for a few microseconds to flush every P's allocation cache, so the
// counts at each edge are exact. (runtime/metrics' /gc/heap/allocs:objects
// counts small objects only when their span leaves a P's cache, which
// charged allocations made while setting up a path to the interval after
// it.) GC CPU time is runtime/metrics' estimate; process CPU time is
// getrusage(RUSAGE_SELF).
type Sampler struct {
	samples []metrics.Sample
	ms      runtime.MemStats
	ru      syscall.Rusage // fields, so the pointers passed down do not escape per call
}

// NewSampler returns a Sampler.
func NewSampler() *Sampler {
	s := &Sampler{samples: make([]metrics.Sample, 1)}
	s.samples[0].Name = metricGCCPU
	return s
}

// RuntimeSample is one reading of the process counters.
type RuntimeSample struct {
	Nanotime   int64
	GCCycles   uint64
	Allocs     uint64
	AllocBytes uint64
	GCCPUS     float64
	UserNs     int64
	SysNs      int64
}

// Sample reads the counters now.
func (s *Sampler) Sample() RuntimeSample {
	runtime.ReadMemStats(&s.ms)
	metrics.Read(s.samples)
	out := RuntimeSample{
		GCCycles:   uint64(s.ms.NumGC),
		Allocs:     s.ms.Mallocs,
		AllocBytes: s.ms.TotalAlloc,
	}
	if s.samples[0].Value.Kind() == metrics.KindFloat64 {
		out.GCCPUS = s.samples[0].Value.Float64()
	}
	if syscall.Getrusage(syscall.RUSAGE_SELF, &s.ru) == nil {
		out.UserNs = s.ru.Utime.Nano()
		out.SysNs = s.ru.Stime.Nano()
	}
	out.Nanotime = clock.Nanotime()
	return out
}

// RuntimeBetween returns what the process spent between two samples. scope
// says what the figures cover (they are always the whole process).
func RuntimeBetween(start, end RuntimeSample, scope string) Runtime {
	wall := time.Duration(end.Nanotime - start.Nanotime)
	user := time.Duration(end.UserNs - start.UserNs)
	sys := time.Duration(end.SysNs - start.SysNs)
	rt := Runtime{
		Allocs:     end.Allocs - start.Allocs,
		AllocBytes: end.AllocBytes - start.AllocBytes,
		GCCycles:   end.GCCycles - start.GCCycles,
		CPU: CPU{
			UserS: user.Seconds(),
			SysS:  sys.Seconds(),
			GCS:   end.GCCPUS - start.GCCPUS,
			WallS: wall.Seconds(),
			CPUs:  runtime.NumCPU(),
			Scope: scope,
		},
	}
	rt.CPU.Seconds = rt.CPU.UserS + rt.CPU.SysS
	if rt.CPU.WallS > 0 {
		rt.CPU.Utilisation = rt.CPU.Seconds / rt.CPU.WallS
		rt.CPU.MachineUtil = rt.CPU.Utilisation / float64(rt.CPU.CPUs)
	}
	return rt
}

// Machine describes how busy the machine was during a run, so a latency
// figure can be read against the load it was measured under.
type Machine struct {
	CPUs       int        `json:"cpus"`
	GOMAXPROCS int        `json:"gomaxprocs"`
	LoadStart  [3]float64 `json:"loadavg_start"` // /proc/loadavg 1, 5, 15 min
	LoadEnd    [3]float64 `json:"loadavg_end"`
	BusyPct    float64    `json:"busy_pct"`  // all CPUs, non-idle time over the run (/proc/stat)
	StealPct   float64    `json:"steal_pct"` // time the hypervisor gave to others
	OtherPct   float64    `json:"other_pct"` // busy time not spent by this process
}

// MachineSample is one reading of /proc/loadavg and the aggregate cpu line
// of /proc/stat. Reading it allocates; take it outside the measured interval.
type MachineSample struct {
	Load     [3]float64
	Total    uint64 // jiffies, all states
	Idle     uint64 // idle + iowait
	Steal    uint64
	Runtime  RuntimeSample
	Readable bool // /proc was readable
}

// SampleMachine reads /proc/loadavg, /proc/stat and the process counters.
func SampleMachine(s *Sampler) MachineSample {
	var m MachineSample
	m.Runtime = s.Sample()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := bytes.Fields(b)
		for i := 0; i < 3 && i < len(f); i++ {
			m.Load[i], _ = strconv.ParseFloat(string(f[i]), 64)
		}
	}
	fh, err := os.Open("/proc/stat")
	if err != nil {
		return m
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	if sc.Scan() {
		m.Total, m.Idle, m.Steal, m.Readable = parseCPULine(sc.Bytes())
	}
	return m
}

// parseCPULine parses "cpu user nice system idle iowait irq softirq steal guest guest_nice".
func parseCPULine(line []byte) (total, idle, steal uint64, ok bool) {
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return 0, 0, 0, false
	}
	for i, s := range f[1:] {
		if i >= 8 { // guest time is already counted in user
			break
		}
		v, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return 0, 0, 0, false
		}
		total += v
		switch i {
		case 3, 4: // idle, iowait
			idle += v
		case 7:
			steal += v
		}
	}
	return total, idle, steal, true
}

// MachineBetween describes the machine's load between two samples.
func MachineBetween(start, end MachineSample) Machine {
	m := Machine{
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		LoadStart:  start.Load,
		LoadEnd:    end.Load,
	}
	if !start.Readable || !end.Readable || end.Total <= start.Total {
		return m
	}
	total := float64(end.Total - start.Total)
	busy := total - float64(end.Idle-start.Idle)
	m.BusyPct = 100 * busy / total
	m.StealPct = 100 * float64(end.Steal-start.Steal) / total
	own := RuntimeBetween(start.Runtime, end.Runtime, "")
	wall := own.CPU.WallS
	if wall > 0 {
		m.OtherPct = m.BusyPct - m.StealPct - 100*own.CPU.Seconds/(wall*float64(m.CPUs))
		if m.OtherPct < 0 {
			m.OtherPct = 0
		}
	}
	return m
}
