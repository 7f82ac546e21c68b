package perf

import (
	"io"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range and precision. The range is fixed so that every recorder in
// a run merges without loss, and wide enough that a value only falls outside
// it when something is badly wrong (a negative latency means the clocks
// disagree; more than 10 s means the run stalled).
const (
	// LowestNs is the smallest latency a Recorder resolves, in nanoseconds.
	LowestNs = 1
	// HighestNs is the largest latency a Recorder tracks, in nanoseconds (10 s).
	HighestNs = 10_000_000_000
	// SignificantFigures is the precision of a Recorder's histogram.
	SignificantFigures = 3

	// seriesFigures is the precision of the per-interval histograms behind
	// the time series: 1% is plenty for a chart and keeps each interval's
	// histogram at a few tens of KiB instead of ~200 KiB.
	seriesFigures = 2

	// DefaultInterval is the time-series interval when RecorderConfig.Interval is zero.
	DefaultInterval = time.Second
	// MaxIntervals caps the number of pre-allocated time-series intervals.
	MaxIntervals = 3600
)

// RecorderConfig sizes a Recorder. The zero value records a histogram and
// no time series.
type RecorderConfig struct {
	// Interval is the time-series interval (DefaultInterval when zero).
	Interval time.Duration
	// Span is how long the time series covers from the start time given to
	// Reset; its intervals are allocated up front (a histogram of about
	// 28 KiB each) so RecordAt never allocates. Zero disables the series. Values recorded outside the span
	// still go into the histogram and are counted by Stats().Late.
	Span time.Duration
}

// Validate reports a config that cannot be used, naming the field.
func (c RecorderConfig) Validate() error {
	switch {
	case c.Interval < 0:
		return configError("interval", c.Interval.String(), "negative")
	case c.Span < 0:
		return configError("span", c.Span.String(), "negative")
	case c.Span > 0 && c.intervals() > MaxIntervals:
		return configError("span", c.Span.String(), "more than MaxIntervals intervals")
	}
	return nil
}

func (c RecorderConfig) interval() time.Duration {
	if c.Interval == 0 {
		return DefaultInterval
	}
	return c.Interval
}

// intervals is the number of series intervals: the span rounded up, plus one
// for values that arrive just after the span (messages in flight at the end).
func (c RecorderConfig) intervals() int64 {
	if c.Span <= 0 {
		return 0
	}
	iv := int64(c.interval())
	return (int64(c.Span)+iv-1)/iv + 1
}

// Recorder records latencies in an HdrHistogram from LowestNs to HighestNs
// with SignificantFigures of precision, and optionally a time series of
// per-interval histograms for charts. Use one Recorder per goroutine and
// Merge them at report time: a Recorder is not safe for concurrent use.
// Record and RecordAt never allocate and never fail.
type Recorder struct {
	// hot: touched by every Record
	hist    *hdrhistogram.Histogram
	min     int64 // exact, unclamped-in-range minimum; 0 when empty
	max     int64 // exact maximum
	under   uint64
	over    uint64
	late    uint64
	curIdx  int   // current series interval
	curFrom int64 // its start (ns)
	curTo   int64 // its end (ns, exclusive)

	// series, slow path
	cfg        RecorderConfig
	startNs    int64
	intervalNs int64
	slots      []seriesSlot
	used       int // slots touched since Reset: [0, used)
}

// seriesSlot is one time-series interval.
type seriesSlot struct {
	hist  *hdrhistogram.Histogram
	count int64
	max   int64
}

// NewRecorder returns an empty Recorder with its time series (if any)
// allocated and starting at time 0; call Reset with the run's start time.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Recorder{
		hist:       hdrhistogram.New(LowestNs, HighestNs, SignificantFigures),
		cfg:        cfg,
		intervalNs: int64(cfg.interval()),
	}
	n := cfg.intervals()
	r.slots = make([]seriesSlot, n)
	for i := range r.slots {
		r.slots[i].hist = hdrhistogram.New(LowestNs, HighestNs, seriesFigures)
	}
	r.Reset(0)
	return r, nil
}

// Config returns the configuration the Recorder was built with.
func (r *Recorder) Config() RecorderConfig { return r.cfg }

// Reset discards everything recorded and starts the time series at startNs
// (clock.Nanotime). mdperf calls it at the end of the warm-up. It does not
// allocate.
func (r *Recorder) Reset(startNs int64) {
	r.hist.Reset()
	r.min, r.max = 0, 0
	r.under, r.over, r.late = 0, 0, 0
	for i := 0; i < r.used; i++ {
		s := &r.slots[i]
		s.hist.Reset()
		s.count, s.max = 0, 0
	}
	r.used = 0
	r.startNs = startNs
	r.curIdx = -1
	// An empty window: the first RecordAt takes the slow path and finds its slot.
	r.curFrom, r.curTo = 0, 0
}

// StartNs returns the start of the time series (the value given to Reset).
func (r *Recorder) StartNs() int64 { return r.startNs }

// clamp brings v into the histogram's range and counts values that were not.
func (r *Recorder) clamp(v int64) int64 {
	if v < LowestNs {
		r.under++
		return LowestNs
	}
	if v > HighestNs {
		r.over++
		return HighestNs
	}
	return v
}

// Record records one latency in nanoseconds. A value below LowestNs or above
// HighestNs is clamped to the range and counted (Stats().Underflow,
// Overflow), so the percentiles still include it. Record does not allocate.
func (r *Recorder) Record(latencyNs int64) {
	v := r.clamp(latencyNs)
	r.record(v)
}

func (r *Recorder) record(v int64) {
	// Cannot fail: v is in range and the count would need 2^63 records to
	// overflow. The error path of RecordValue allocates, so it must stay
	// unreachable.
	_ = r.hist.RecordValue(v)
	if r.min == 0 || v < r.min {
		r.min = v
	}
	if v > r.max {
		r.max = v
	}
}

// RecordAt records one latency observed at nowNs: in the histogram as Record
// does, and in the time-series interval holding nowNs. A nowNs outside the
// series span is counted (Stats().Late) and recorded in the histogram only.
// RecordAt does not allocate.
func (r *Recorder) RecordAt(nowNs, latencyNs int64) {
	v := r.clamp(latencyNs)
	r.record(v)
	// Fast path: still inside the current interval. Deadlines compare by
	// subtraction so the test stays right near clock wrap.
	if nowNs-r.curFrom >= 0 && nowNs-r.curTo < 0 {
		r.recordSlot(r.curIdx, v)
		return
	}
	r.recordAtSlow(nowNs, v)
}

func (r *Recorder) recordAtSlow(nowNs, v int64) {
	off := nowNs - r.startNs
	if off < 0 || len(r.slots) == 0 {
		r.late++
		return
	}
	idx := off / r.intervalNs
	if idx >= int64(len(r.slots)) {
		r.late++
		return
	}
	r.curIdx = int(idx)
	r.curFrom = r.startNs + idx*r.intervalNs
	r.curTo = r.curFrom + r.intervalNs
	r.recordSlot(r.curIdx, v)
}

func (r *Recorder) recordSlot(i int, v int64) {
	s := &r.slots[i]
	_ = s.hist.RecordValue(v) // in range: cannot fail (see record)
	s.count++
	if v > s.max {
		s.max = v
	}
	if i >= r.used {
		r.used = i + 1
	}
}

// Merge adds everything other recorded into r: histogram, out-of-range
// counts and, when both have series with the same interval, start and
// length, the time series. Series that do not line up are left unmerged and
// ErrSeriesMismatch is returned (the histogram is merged all the same).
// Merge is for report time; it may allocate.
func (r *Recorder) Merge(other *Recorder) error {
	r.hist.Merge(other.hist) // same range and precision: nothing is dropped
	if other.hist.TotalCount() > 0 {
		if r.min == 0 || (other.min != 0 && other.min < r.min) {
			r.min = other.min
		}
		if other.max > r.max {
			r.max = other.max
		}
	}
	r.under += other.under
	r.over += other.over
	r.late += other.late
	if other.used == 0 {
		return nil
	}
	if len(other.slots) != len(r.slots) || other.intervalNs != r.intervalNs || other.startNs != r.startNs {
		return ErrSeriesMismatch
	}
	for i := 0; i < other.used; i++ {
		s, o := &r.slots[i], &other.slots[i]
		s.hist.Merge(o.hist)
		s.count += o.count
		if o.max > s.max {
			s.max = o.max
		}
	}
	if other.used > r.used {
		r.used = other.used
	}
	return nil
}

// RecorderStats counts what a Recorder recorded and what it had to adjust.
type RecorderStats struct {
	Count     int64  // values recorded
	Underflow uint64 // values below LowestNs, recorded as LowestNs
	Overflow  uint64 // values above HighestNs, recorded as HighestNs
	Late      uint64 // RecordAt times outside the time-series span
}

// Stats returns the Recorder's counts.
func (r *Recorder) Stats() RecorderStats {
	return RecorderStats{Count: r.hist.TotalCount(), Underflow: r.under, Overflow: r.over, Late: r.late}
}

// Count returns the number of values recorded.
func (r *Recorder) Count() int64 { return r.hist.TotalCount() }

// Quantile returns the latency at percentile p (0-100): the HdrHistogram
// value at that percentile (the highest value equivalent to it within the
// histogram's precision); 0 when empty.
func (r *Recorder) Quantile(p float64) int64 {
	if r.hist.TotalCount() == 0 {
		return 0
	}
	if p >= 100 {
		return r.max
	}
	return r.hist.ValueAtPercentile(p)
}

// Summary returns the latency statistics of everything recorded.
func (r *Recorder) Summary() Latency {
	l := Latency{
		Count:      r.hist.TotalCount(),
		OutOfRange: r.under + r.over,
	}
	if l.Count == 0 {
		return l
	}
	l.Min = r.min
	l.Max = r.max
	l.P50 = r.hist.ValueAtPercentile(50)
	l.P90 = r.hist.ValueAtPercentile(90)
	l.P99 = r.hist.ValueAtPercentile(99)
	l.P999 = r.hist.ValueAtPercentile(99.9)
	l.P9999 = r.hist.ValueAtPercentile(99.99)
	l.Mean = r.hist.Mean()
	l.StdDev = r.hist.StdDev()
	return l
}

// Distribution returns the percentile distribution as HdrHistogram's
// PercentilesPrint lists it (ticksPerHalfDistance ticks between each halving
// of the remaining percentile range), for the HTML chart.
func (r *Recorder) Distribution(ticksPerHalfDistance int) []Point {
	if r.hist.TotalCount() == 0 {
		return nil
	}
	br := r.hist.CumulativeDistributionWithTicks(int32(ticksPerHalfDistance))
	pts := make([]Point, len(br))
	for i, b := range br {
		pts[i] = Point{Percentile: b.Quantile, ValueNs: b.ValueAt, Count: b.Count}
	}
	return pts
}

// Series returns one entry per time-series interval from the start up to the
// last interval that recorded anything (empty intervals in between are
// included, with a zero count).
func (r *Recorder) Series() []Interval {
	out := make([]Interval, r.used)
	iv := float64(r.intervalNs) / 1e9
	for i := range out {
		s := &r.slots[i]
		out[i] = Interval{
			StartS: float64(i) * iv,
			Count:  s.count,
			Rate:   float64(s.count) / iv,
			Max:    s.max,
		}
		if s.count > 0 {
			out[i].P50 = s.hist.ValueAtPercentile(50)
			out[i].P99 = s.hist.ValueAtPercentile(99)
		}
	}
	return out
}

// HgrmTicks is the number of reporting ticks per half distance in .hgrm
// output, as HdrHistogram's own tools default to.
const HgrmTicks = 5

// WriteHgrm writes the histogram in HdrHistogram's percentile-distribution
// text format (.hgrm, as PercentilesPrint and the Java HistogramLogProcessor
// write it) with values in microseconds, the unit HdrHistogram's plotter
// expects.
func (r *Recorder) WriteHgrm(w io.Writer) error {
	_, err := r.hist.PercentilesPrint(w, HgrmTicks, 1000)
	return err
}
