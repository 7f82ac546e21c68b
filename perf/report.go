package perf

import "time"

// Latency summarises a latency histogram, in nanoseconds.
type Latency struct {
	Count      int64   `json:"count"`
	Min        int64   `json:"min"`
	P50        int64   `json:"p50"`
	P90        int64   `json:"p90"`
	P99        int64   `json:"p99"`
	P999       int64   `json:"p999"`
	P9999      int64   `json:"p9999"`
	Max        int64   `json:"max"`
	Mean       float64 `json:"mean"`
	StdDev     float64 `json:"stddev"`
	OutOfRange uint64  `json:"out_of_range"` // clamped into [LowestNs, HighestNs]
}

// Point is one row of a percentile distribution: ValueNs is the latency at
// Percentile (0-100), Count the number of values at or below it.
type Point struct {
	Percentile float64 `json:"percentile"`
	ValueNs    int64   `json:"value_ns"`
	Count      int64   `json:"count"`
}

// Interval is one time-series interval: messages received in it and their
// latency percentiles (ns, 2 significant figures; Max is exact).
type Interval struct {
	StartS float64 `json:"start_s"` // seconds since the measured interval began
	Count  int64   `json:"count"`
	Rate   float64 `json:"rate"` // Count per second
	P50    int64   `json:"p50"`
	P99    int64   `json:"p99"`
	Max    int64   `json:"max"`
}

// CPU is the CPU time a process used over a measured interval.
type CPU struct {
	Seconds     float64 `json:"seconds"`      // user + system
	UserS       float64 `json:"user_s"`       // getrusage(RUSAGE_SELF)
	SysS        float64 `json:"sys_s"`        //
	GCS         float64 `json:"gc_s"`         // runtime/metrics /cpu/classes/gc/total (estimate)
	Utilisation float64 `json:"utilisation"`  // Seconds / wall seconds: 1.0 = one core busy
	Scope       string  `json:"scope"`        // what the numbers cover, e.g. "process (daemon in-process)"
	WallS       float64 `json:"wall_s"`       //
	CPUs        int     `json:"cpus"`         // logical CPUs of the machine
	MachineUtil float64 `json:"machine_util"` // Seconds / (wall * CPUs)
}

// Runtime is what the Go runtime and the kernel say a process spent over a
// measured interval.
type Runtime struct {
	Allocs       uint64  `json:"allocs"`         // heap objects allocated (MemStats.Mallocs, exact at both edges)
	AllocBytes   uint64  `json:"alloc_bytes"`    // MemStats.TotalAlloc
	GCCycles     uint64  `json:"gc_cycles"`      // MemStats.NumGC
	AllocsPerMsg float64 `json:"allocs_per_msg"` // Allocs / messages received
	CPU          CPU     `json:"cpu"`
}

// Path is the result of one path of a run: the daemon path or the direct
// baseline.
type Path struct {
	Name         string     `json:"name"`
	Sent         uint64     `json:"sent"`         // messages the generator sent in the measured window
	Packets      uint64     `json:"packets_sent"` // datagrams the generator sent
	SendErrors   uint64     `json:"send_errors"`
	Received     uint64     `json:"received"`      // messages the consumer saw (latency recorded)
	Lost         uint64     `json:"lost"`          // sent in the window but never delivered
	Recovered    uint64     `json:"recovered"`     // sequences the subscriber repaired (re-request or late packet), warm-up included
	LossEvents   uint64     `json:"loss_events"`   // sequences the subscriber reported lost, warm-up included
	AchievedRate float64    `json:"achieved_rate"` // received per second of the measured interval
	DurationS    float64    `json:"measured_s"`    // length of the measured interval
	Latency      Latency    `json:"latency_ns"`
	Runtime      Runtime    `json:"runtime"`
	Series       []Interval `json:"series,omitempty"`
	Distribution []Point    `json:"distribution,omitempty"`
}

// Ratio is the daemon path's latency divided by the baseline's (0 when
// there is no baseline).
type Ratio struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Report is the plain-data result of an mdperf run. The daemon path's fields
// are promoted to the top level (the JSON keys "sent", "latency_ns", ...);
// the direct kernel path measured in the same run is Baseline. Derive fills
// Ratio and the top-level copies of the daemon path's runtime figures.
type Report struct {
	Title       string    `json:"title"`
	Started     time.Time `json:"started"`
	Profile     string    `json:"profile"`
	Rate        float64   `json:"rate"` // target messages per second
	DurationS   float64   `json:"duration_s"`
	WarmupS     float64   `json:"warmup_s"`
	Channels    int       `json:"channels"`
	Instruments int       `json:"instruments"`
	Replay      string    `json:"replay,omitempty"`
	LossRate    float64   `json:"loss_rate"` // injected on the subscriber's receive path
	IntervalS   float64   `json:"interval_s"`

	Path                 // the daemon path
	Baseline     *Path   `json:"baseline,omitempty"`
	Ratio        Ratio   `json:"ratio"`
	AllocsPerMsg float64 `json:"allocs_per_msg"` // daemon path, whole process
	GCCycles     uint64  `json:"gc_cycles"`      // daemon path, whole process
	CPU          CPU     `json:"cpu"`            // daemon path, whole process

	Machine Machine  `json:"machine"`
	Notes   []string `json:"notes,omitempty"`
}

// Derive computes each path's allocations per message, Ratio from the two
// paths, and copies the daemon path's allocation, GC and CPU figures to the
// top level. Call it once the paths are filled in.
func (r *Report) Derive() {
	r.Path.deriveRuntime()
	if r.Baseline != nil {
		r.Baseline.deriveRuntime()
	}
	r.AllocsPerMsg = r.Path.Runtime.AllocsPerMsg
	r.GCCycles = r.Path.Runtime.GCCycles
	r.CPU = r.Path.Runtime.CPU
	r.Ratio = Ratio{}
	if r.Baseline == nil {
		return
	}
	a, b := r.Path.Latency, r.Baseline.Latency
	r.Ratio = Ratio{
		P50:  ratio(float64(a.P50), float64(b.P50)),
		P90:  ratio(float64(a.P90), float64(b.P90)),
		P99:  ratio(float64(a.P99), float64(b.P99)),
		P999: ratio(float64(a.P999), float64(b.P999)),
		Max:  ratio(float64(a.Max), float64(b.Max)),
		Mean: ratio(a.Mean, b.Mean),
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// FillLatency sets the path's latency summary, distribution and series from
// a Recorder, its Received from the recorder's count, and AchievedRate over
// measured (the measured interval).
func (p *Path) FillLatency(rec *Recorder, measured time.Duration) {
	p.Latency = rec.Summary()
	p.Distribution = rec.Distribution(HgrmTicks)
	p.Series = rec.Series()
	p.Received = uint64(p.Latency.Count)
	p.DurationS = measured.Seconds()
	if measured > 0 {
		p.AchievedRate = float64(p.Received) / measured.Seconds()
	}
}

func (p *Path) deriveRuntime() {
	p.Runtime.AllocsPerMsg = 0
	if p.Received > 0 {
		p.Runtime.AllocsPerMsg = float64(p.Runtime.Allocs) / float64(p.Received)
	}
}
