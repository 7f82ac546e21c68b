package perf_test

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"mdcast/perf"
)

func newRecorder(t testing.TB, cfg perf.RecorderConfig) *perf.Recorder {
	t.Helper()
	r, err := perf.NewRecorder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// within reports whether got is within the histogram's relative precision
// (3 significant figures: 0.1%) of want.
func within(got, want int64, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)+1
}

func TestRecorderKnownPercentiles(t *testing.T) {
	r := newRecorder(t, perf.RecorderConfig{})
	// 1..100000 ns once each: the p-th percentile is p*1000 ns.
	for v := int64(1); v <= 100_000; v++ {
		r.Record(v)
	}
	s := r.Summary()
	if s.Count != 100_000 {
		t.Fatalf("count = %d, want 100000", s.Count)
	}
	if s.Min != 1 || s.Max != 100_000 {
		t.Errorf("min, max = %d, %d; want 1, 100000", s.Min, s.Max)
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"p50", s.P50, 50_000},
		{"p90", s.P90, 90_000},
		{"p99", s.P99, 99_000},
		{"p99.9", s.P999, 99_900},
		{"p99.99", s.P9999, 99_990},
	} {
		if !within(c.got, c.want, 0.001) {
			t.Errorf("%s = %d, want %d within 0.1%%", c.name, c.got, c.want)
		}
	}
	if math.Abs(s.Mean-50_000.5) > 50 {
		t.Errorf("mean = %f, want ~50000.5", s.Mean)
	}
	if s.OutOfRange != 0 {
		t.Errorf("out of range = %d, want 0", s.OutOfRange)
	}
	if got := r.Quantile(100); got != 100_000 {
		t.Errorf("Quantile(100) = %d, want the exact max 100000", got)
	}
}

func TestRecorderOutOfRangeClampedAndCounted(t *testing.T) {
	r := newRecorder(t, perf.RecorderConfig{})
	r.Record(0)
	r.Record(-5)
	r.Record(25 * int64(time.Second))
	r.Record(1000)
	st := r.Stats()
	if st.Count != 4 || st.Underflow != 2 || st.Overflow != 1 {
		t.Fatalf("stats = %+v, want count 4, underflow 2, overflow 1", st)
	}
	s := r.Summary()
	if s.Min != perf.LowestNs || s.Max != perf.HighestNs {
		t.Errorf("min, max = %d, %d; want the clamped %d, %d", s.Min, s.Max, perf.LowestNs, perf.HighestNs)
	}
	if s.OutOfRange != 3 {
		t.Errorf("summary out of range = %d, want 3", s.OutOfRange)
	}
}

func TestRecorderMerge(t *testing.T) {
	a := newRecorder(t, perf.RecorderConfig{})
	b := newRecorder(t, perf.RecorderConfig{})
	all := newRecorder(t, perf.RecorderConfig{})
	for v := int64(1); v <= 1000; v++ {
		a.Record(v * 10)
		all.Record(v * 10)
		b.Record(v*10 + 100_000)
		all.Record(v*10 + 100_000)
	}
	b.Record(-1)
	all.Record(-1)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	got, want := a.Summary(), all.Summary()
	if got != want {
		t.Fatalf("merged summary\n got %+v\nwant %+v", got, want)
	}
	if got.Count != 2001 || got.Min != 1 || got.Max != 110_000 {
		t.Errorf("merged count/min/max = %d/%d/%d", got.Count, got.Min, got.Max)
	}
}

func TestRecorderSeries(t *testing.T) {
	const sec = int64(time.Second)
	r := newRecorder(t, perf.RecorderConfig{Interval: time.Second, Span: 3 * time.Second})
	start := int64(5 * sec)
	r.Reset(start)
	r.RecordAt(start+sec/2, 100)
	r.RecordAt(start+sec+1, 200)
	r.RecordAt(start+sec+2, 400)
	// interval 2 stays empty
	r.RecordAt(start+3*sec, 50_000) // the extra interval after the span
	r.RecordAt(start-1, 7)          // before the start: late
	r.RecordAt(start+10*sec, 7)     // far past the span: late
	s := r.Series()
	if len(s) != 4 {
		t.Fatalf("series has %d intervals, want 4: %+v", len(s), s)
	}
	wantCount := []int64{1, 2, 0, 1}
	wantMax := []int64{100, 400, 0, 50_000}
	for i, iv := range s {
		if iv.Count != wantCount[i] || iv.Max != wantMax[i] {
			t.Errorf("interval %d = %+v, want count %d max %d", i, iv, wantCount[i], wantMax[i])
		}
		if iv.StartS != float64(i) {
			t.Errorf("interval %d starts at %gs, want %ds", i, iv.StartS, i)
		}
	}
	if !within(s[1].P50, 200, 0.01) || !within(s[1].P99, 400, 0.01) {
		t.Errorf("interval 1 p50/p99 = %d/%d, want 200/400", s[1].P50, s[1].P99)
	}
	if s[1].Rate != 2 {
		t.Errorf("interval 1 rate = %g, want 2/s", s[1].Rate)
	}
	st := r.Stats()
	if st.Late != 2 || st.Count != 6 {
		t.Errorf("stats = %+v, want 2 late of 6", st)
	}
	// Reset empties the histogram and the series.
	r.Reset(start)
	if r.Count() != 0 || len(r.Series()) != 0 || r.Stats().Late != 0 {
		t.Errorf("after Reset: count %d, %d intervals, stats %+v", r.Count(), len(r.Series()), r.Stats())
	}
}

func TestRecorderMergeSeries(t *testing.T) {
	cfg := perf.RecorderConfig{Interval: 100 * time.Millisecond, Span: time.Second}
	a, b := newRecorder(t, cfg), newRecorder(t, cfg)
	a.Reset(1000)
	b.Reset(1000)
	a.RecordAt(1000, 10)
	b.RecordAt(1000+int64(150*time.Millisecond), 20)
	b.RecordAt(1000+int64(10*time.Millisecond), 30)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	s := a.Series()
	if len(s) != 2 || s[0].Count != 2 || s[0].Max != 30 || s[1].Count != 1 {
		t.Fatalf("merged series = %+v", s)
	}
	c := newRecorder(t, cfg)
	c.Reset(2000)
	c.RecordAt(2000, 5)
	if err := a.Merge(c); !errors.Is(err, perf.ErrSeriesMismatch) {
		t.Fatalf("merge of series with another start: err = %v, want ErrSeriesMismatch", err)
	}
	if a.Count() != 4 {
		t.Errorf("histogram merged anyway: count = %d, want 4", a.Count())
	}
}

func TestRecorderConfigValidate(t *testing.T) {
	for _, cfg := range []perf.RecorderConfig{
		{Interval: -1},
		{Span: -time.Second},
		{Interval: time.Millisecond, Span: time.Hour},
	} {
		if _, err := perf.NewRecorder(cfg); !errors.Is(err, perf.ErrInvalidConfig) {
			t.Errorf("NewRecorder(%+v) err = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

func TestRecorderAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	r := newRecorder(t, perf.RecorderConfig{Interval: 10 * time.Millisecond, Span: time.Second})
	r.Reset(0)
	var now, v int64
	allocs := testing.AllocsPerRun(10000, func() {
		now += 37_000 // walks through many intervals and past the span
		v = (v*7 + 13) % (3 * perf.HighestNs)
		r.Record(v - 5)
		r.RecordAt(now, v)
	})
	if allocs != 0 {
		t.Fatalf("Record/RecordAt allocate %.1f times per call, want 0", allocs)
	}
}

// TestWriteHgrm parses the .hgrm back: header, rows (value µs, percentile,
// count, 1/(1-p)), footer with the mean, max and total count.
func TestWriteHgrm(t *testing.T) {
	r := newRecorder(t, perf.RecorderConfig{})
	for v := int64(1); v <= 100_000; v++ {
		r.Record(v)
	}
	var buf bytes.Buffer
	if err := r.WriteHgrm(&buf); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	if !sc.Scan() || strings.Join(strings.Fields(sc.Text()), " ") != "Value Percentile TotalCount 1/(1-Percentile)" {
		t.Fatalf("header = %q", sc.Text())
	}
	var rows, footer int
	var p50us float64
	var lastCount int64
	var sawMax, sawTotal bool
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "#["):
			footer++
			f := strings.Fields(strings.NewReplacer("#[", "", "]", "", ",", " ").Replace(line))
			if f[0] == "Max" {
				sawMax = true
				if mx, _ := strconv.ParseFloat(f[2], 64); math.Abs(mx-100) > 0.1 {
					t.Errorf("footer max = %s µs, want 100", f[2])
				}
				if f[6] != "100000" {
					t.Errorf("footer total count = %s, want 100000", f[6])
				}
				sawTotal = true
			}
		default:
			f := strings.Fields(line)
			if len(f) != 4 {
				t.Fatalf("row %q: want 4 columns", line)
			}
			v, err1 := strconv.ParseFloat(f[0], 64)
			p, err2 := strconv.ParseFloat(f[1], 64)
			n, err3 := strconv.ParseInt(f[2], 10, 64)
			if err1 != nil || err2 != nil || err3 != nil {
				t.Fatalf("row %q does not parse", line)
			}
			if n < lastCount {
				t.Fatalf("row %q: total count decreases", line)
			}
			lastCount = n
			if p <= 0.5 {
				p50us = v
			}
			rows++
		}
	}
	if rows < 50 || footer != 3 || !sawMax || !sawTotal {
		t.Fatalf("%d rows, %d footer lines (max %v, total %v)", rows, footer, sawMax, sawTotal)
	}
	if math.Abs(p50us-50) > 0.1 {
		t.Errorf("value at the 0.5 row = %g µs, want 50", p50us)
	}
}
