package perf_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"mdcast/perf"
)

// fill records n latencies spread over span from startNs: a body around
// base ns with a deterministic spread and one slow message in a thousand.
func fill(r *perf.Recorder, startNs int64, span time.Duration, n int, base int64) {
	x := uint64(12345)
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v := base + int64(x%uint64(base))
		if i%1000 == 999 {
			v *= 20
		}
		r.RecordAt(startNs+int64(i)*int64(span)/int64(n), v)
	}
}

func syntheticReport(t testing.TB) *perf.Report {
	t.Helper()
	cfg := perf.RecorderConfig{Interval: 250 * time.Millisecond, Span: 5 * time.Second}
	d, b := newRecorder(t, cfg), newRecorder(t, cfg)
	d.Reset(1e9)
	b.Reset(9e9)
	fill(d, 1e9, 5*time.Second, 50_000, 8000)
	fill(b, 9e9, 5*time.Second, 49_990, 3500)
	r := &perf.Report{
		Title: "mdperf run <test>", Profile: "default", Rate: 10_000, DurationS: 5, WarmupS: 1,
		Channels: 4, Instruments: 100, IntervalS: 0.25,
	}
	r.Path = perf.Path{Name: "daemon", Sent: 50_000, Packets: 40_000}
	r.Path.FillLatency(d, 5*time.Second)
	r.Path.Lost = r.Sent - r.Received
	r.Path.Runtime = perf.Runtime{Allocs: 500, GCCycles: 1, CPU: perf.CPU{Seconds: 2, Utilisation: 0.4, Scope: "process"}}
	r.Baseline = &perf.Path{Name: "baseline", Sent: 50_000, Packets: 40_000}
	r.Baseline.FillLatency(b, 5*time.Second)
	r.Baseline.Lost = r.Baseline.Sent - r.Baseline.Received
	r.Derive()
	return r
}

func TestReportDerive(t *testing.T) {
	r := syntheticReport(t)
	if r.Received != 50_000 || r.Baseline.Received != 49_990 || r.Baseline.Lost != 10 {
		t.Fatalf("received %d / %d, baseline lost %d", r.Received, r.Baseline.Received, r.Baseline.Lost)
	}
	if want := float64(r.Latency.P50) / float64(r.Baseline.Latency.P50); r.Ratio.P50 != want || want < 1.5 {
		t.Errorf("ratio p50 = %g, want %g (> 1.5 by construction)", r.Ratio.P50, want)
	}
	if r.AllocsPerMsg != 0.01 || r.GCCycles != 1 || r.CPU.Seconds != 2 {
		t.Errorf("top-level runtime: allocs/msg %g, gc %d, cpu %+v", r.AllocsPerMsg, r.GCCycles, r.CPU)
	}
	if math.Abs(r.AchievedRate-10_000) > 1e-9 {
		t.Errorf("achieved rate %g, want 10000", r.AchievedRate)
	}
	if len(r.Series) != 20 || len(r.Distribution) < 20 {
		t.Errorf("%d intervals, %d distribution points", len(r.Series), len(r.Distribution))
	}
}

func TestReportJSON(t *testing.T) {
	r := syntheticReport(t)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	num := func(obj map[string]any, key string) float64 {
		t.Helper()
		v, ok := obj[key].(float64)
		if !ok {
			t.Fatalf("key %q missing or not a number in %v", key, keys(obj))
		}
		return v
	}
	sub := func(obj map[string]any, key string) map[string]any {
		t.Helper()
		v, ok := obj[key].(map[string]any)
		if !ok {
			t.Fatalf("key %q missing or not an object", key)
		}
		return v
	}
	if num(m, "rate") != 10_000 || num(m, "duration_s") != 5 {
		t.Errorf("rate %v duration %v", m["rate"], m["duration_s"])
	}
	if num(m, "sent") != 50_000 || num(m, "received") != 50_000 || num(m, "lost") != 0 || num(m, "recovered") != 0 {
		t.Errorf("sent/received/lost/recovered = %v/%v/%v/%v", m["sent"], m["received"], m["lost"], m["recovered"])
	}
	lat := sub(m, "latency_ns")
	base := sub(sub(m, "baseline"), "latency_ns")
	for _, k := range []string{"p50", "p90", "p99", "p999", "max", "mean"} {
		num(lat, k)
		num(base, k)
	}
	if num(lat, "p50") != float64(r.Latency.P50) || num(base, "p99") != float64(r.Baseline.Latency.P99) {
		t.Errorf("latency figures differ from the report")
	}
	if !(num(lat, "p50") <= num(lat, "p90") && num(lat, "p90") <= num(lat, "p99") &&
		num(lat, "p99") <= num(lat, "p999") && num(lat, "p999") <= num(lat, "max")) {
		t.Errorf("percentiles not ordered: %v", lat)
	}
	ratio := sub(m, "ratio")
	if got, want := num(ratio, "p50"), num(lat, "p50")/num(base, "p50"); math.Abs(got-want) > 1e-9 {
		t.Errorf("ratio.p50 = %g, want %g", got, want)
	}
	if got, want := num(ratio, "p99"), num(lat, "p99")/num(base, "p99"); math.Abs(got-want) > 1e-9 {
		t.Errorf("ratio.p99 = %g, want %g", got, want)
	}
	if num(m, "allocs_per_msg") != 0.01 || num(m, "gc_cycles") != 1 {
		t.Errorf("allocs_per_msg %v gc_cycles %v", m["allocs_per_msg"], m["gc_cycles"])
	}
	if num(sub(m, "cpu"), "seconds") != 2 {
		t.Errorf("cpu = %v", m["cpu"])
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestReportText(t *testing.T) {
	r := syntheticReport(t)
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"daemon path", "baseline (direct)", "ratio", "p99.9", "p99.99", "allocs/message",
		"50,000", "49,990", // received on each path
		micros(r.Latency.P50), micros(r.Baseline.Latency.P50),
		strings.TrimSpace(strings.Split(out, "\n")[0]),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}

// micros formats ns as the table does: microseconds with two decimals.
func micros(ns int64) string { return fmt.Sprintf("%.2f", float64(ns)/1000) }

// checkSelfContained fails when the page could fetch anything: no URL
// schemes at all, no scripts or stylesheets by reference.
func checkSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"http://", "https://", "//cdn", "<script src", "<link", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

func TestReportHTML(t *testing.T) {
	r := syntheticReport(t)
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	checkSelfContained(t, page)
	for _, id := range []string{`id="distribution"`, `id="latency-over-time"`, `id="throughput-over-time"`, `id="summary"`} {
		if !strings.Contains(page, id) {
			t.Errorf("page lacks %s", id)
		}
	}
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d charts, want 3", n)
	}
	// Both paths are drawn in every chart.
	for _, s := range []string{`data-series="daemon path"`, `data-series="baseline (direct)"`,
		`data-series="daemon path p99"`, `data-series="baseline (direct) max"`, `data-series="target rate"`} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks series %s", s)
		}
	}
	if strings.Contains(page, "<test>") || !strings.Contains(page, "&lt;test&gt;") {
		t.Error("title not escaped")
	}
	if !strings.Contains(page, ">99.9%<") {
		t.Error("distribution axis lacks the 99.9% tick")
	}
}

func TestSweep(t *testing.T) {
	var s perf.Sweep
	s.Profile = "default"
	for i, rate := range []float64{1000, 10_000, 100_000} {
		r := syntheticReport(t)
		r.Rate = rate
		if i == 2 {
			r.Lost, r.Received = 7, r.Sent-7
		}
		if lossy := s.Add(r); lossy != (i == 2) {
			t.Fatalf("step %d: lossy = %v", i, lossy)
		}
	}
	if s.MaxZeroLossRate != 10_000 || s.LossRate != 100_000 || len(s.Steps) != 3 {
		t.Fatalf("max zero-loss %g, loss at %g, %d steps", s.MaxZeroLossRate, s.LossRate, len(s.Steps))
	}
	var txt, page, js bytes.Buffer
	if err := s.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "highest zero-loss rate: 10,000 msg/s") || !strings.Contains(txt.String(), "loss began at 100,000") {
		t.Errorf("sweep text:\n%s", txt.String())
	}
	if err := s.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	checkSelfContained(t, page.String())
	for _, want := range []string{`id="sweep"`, `data-series="daemon path p99"`, `data-series="baseline p50"`, "highest zero-loss rate"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("sweep page lacks %s", want)
		}
	}
	if err := s.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back perf.Sweep
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.MaxZeroLossRate != 10_000 || len(back.Steps) != 3 {
		t.Errorf("sweep JSON round trip: %v, %+v", err, back)
	}
}

func TestReportHTMLBreaksLinesAtEmptyIntervals(t *testing.T) {
	r := syntheticReport(t)
	r.Series[3] = perf.Interval{StartS: r.Series[3].StartS} // nothing arrived then
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), `data-series="daemon path p50"`); n != 2 {
		t.Errorf("daemon p50 drawn in %d pieces, want 2 around the empty interval", n)
	}
	if n := strings.Count(buf.String(), `data-series="baseline (direct) p50"`); n != 1 {
		t.Errorf("baseline p50 drawn in %d pieces, want 1", n)
	}
}

func TestReportWarnsWhenTheMachineWasBusy(t *testing.T) {
	r := syntheticReport(t)
	var quiet, busy bytes.Buffer
	r.Machine = perf.Machine{CPUs: 2, OtherPct: 3}
	if err := r.WriteText(&quiet); err != nil {
		t.Fatal(err)
	}
	r.Machine.OtherPct = 80
	if err := r.WriteText(&busy); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(quiet.String(), "WARNING") || !strings.Contains(busy.String(), "WARNING: other processes used 80%") {
		t.Errorf("quiet:\n%s\nbusy:\n%s", quiet.String(), busy.String())
	}
}
