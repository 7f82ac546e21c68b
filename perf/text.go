package perf

import (
	"fmt"
	"io"
	"strings"
)

// tableRow is one row of the summary table, shared by the text and HTML
// renderers. A row with only a name is a section heading.
type tableRow struct {
	name, daemon, baseline, ratio string
}

// headline is the one-line description of the run above the table.
func (r *Report) headline() string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s, target %s msg/s, %gs measured after %gs warm-up, %d channel(s), %d instrument(s)",
		orDash(r.Profile), fmtCount(r.Rate), r.DurationS, r.WarmupS, r.Channels, r.Instruments)
	if r.Replay != "" {
		fmt.Fprintf(&b, ", replay %s", r.Replay)
	}
	if r.LossRate > 0 {
		fmt.Fprintf(&b, ", injected loss %.3g%%", 100*r.LossRate)
	}
	return b.String()
}

// machineLine describes the machine's load during the run.
func (r *Report) machineLine() string {
	m := r.Machine
	return fmt.Sprintf("machine: %d CPUs (GOMAXPROCS %d), loadavg %.2f -> %.2f, busy %.0f%% (other processes %.0f%%, steal %.1f%%)",
		m.CPUs, m.GOMAXPROCS, m.LoadStart[0], m.LoadEnd[0], m.BusyPct, m.OtherPct, m.StealPct)
}

// rows builds the summary table: counts, latency percentiles in µs with the
// daemon/baseline ratio, and runtime figures.
func (r *Report) rows() []tableRow {
	base := r.Baseline
	var rows []tableRow
	add := func(name string, f func(p *Path) string, ratio string) {
		row := tableRow{name: name, daemon: f(&r.Path), ratio: ratio}
		if base != nil {
			row.baseline = f(base)
		}
		rows = append(rows, row)
	}
	u := func(f func(p *Path) uint64) func(p *Path) string {
		return func(p *Path) string { return fmtUint(f(p)) }
	}
	add("sent (messages)", u(func(p *Path) uint64 { return p.Sent }), "")
	add("sent (datagrams)", u(func(p *Path) uint64 { return p.Packets }), "")
	add("send errors", u(func(p *Path) uint64 { return p.SendErrors }), "")
	add("received", u(func(p *Path) uint64 { return p.Received }), "")
	add("lost", u(func(p *Path) uint64 { return p.Lost }), "")
	add("recovered", u(func(p *Path) uint64 { return p.Recovered }), "")
	add("achieved rate (msg/s)", func(p *Path) string { return fmtCount(p.AchievedRate) }, "")
	rows = append(rows, tableRow{name: "latency (µs)"})
	ratio := func(v float64) string {
		if base == nil {
			return ""
		}
		if v == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", v)
	}
	lat := func(f func(l *Latency) float64) func(p *Path) string {
		return func(p *Path) string { return fmtMicros(f(&p.Latency)) }
	}
	add("  min", lat(func(l *Latency) float64 { return float64(l.Min) }), "")
	add("  p50", lat(func(l *Latency) float64 { return float64(l.P50) }), ratio(r.Ratio.P50))
	add("  p90", lat(func(l *Latency) float64 { return float64(l.P90) }), ratio(r.Ratio.P90))
	add("  p99", lat(func(l *Latency) float64 { return float64(l.P99) }), ratio(r.Ratio.P99))
	add("  p99.9", lat(func(l *Latency) float64 { return float64(l.P999) }), ratio(r.Ratio.P999))
	add("  p99.99", lat(func(l *Latency) float64 { return float64(l.P9999) }), "")
	add("  max", lat(func(l *Latency) float64 { return float64(l.Max) }), ratio(r.Ratio.Max))
	add("  mean", lat(func(l *Latency) float64 { return l.Mean }), ratio(r.Ratio.Mean))
	if r.Path.Latency.OutOfRange > 0 || (base != nil && base.Latency.OutOfRange > 0) {
		add("  out of range", u(func(p *Path) uint64 { return p.Latency.OutOfRange }), "")
	}
	add("allocs/message", func(p *Path) string { return fmt.Sprintf("%.4f", p.Runtime.AllocsPerMsg) }, "")
	add("allocs (objects)", u(func(p *Path) uint64 { return p.Runtime.Allocs }), "")
	add("GC cycles", u(func(p *Path) uint64 { return p.Runtime.GCCycles }), "")
	add("CPU (s, % of a core)", func(p *Path) string {
		return fmt.Sprintf("%.2fs %3.0f%%", p.Runtime.CPU.Seconds, 100*p.Runtime.CPU.Utilisation)
	}, "")
	return rows
}

// WriteText writes the report as a text table: the daemon path, the direct
// baseline and their ratio side by side, then runtime and machine figures.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\n", orDefault(r.Title, "mdperf run"), r.headline())
	line := func(t tableRow) {
		if r.Baseline != nil {
			fmt.Fprintf(&b, "  %-22s %16s %18s %8s\n", t.name, t.daemon, t.baseline, t.ratio)
		} else {
			fmt.Fprintf(&b, "  %-22s %16s\n", t.name, t.daemon)
		}
	}
	line(tableRow{"", "daemon path", "baseline (direct)", "ratio"})
	for _, t := range r.rows() {
		line(t)
	}
	if s := r.Path.Runtime.CPU.Scope; s != "" {
		fmt.Fprintf(&b, "  (allocations, GC and CPU cover %s,\n   the Go runtime's own included: it allocates a few objects for each OS thread it starts)\n", s)
	}
	b.WriteString("\n")
	b.WriteString(r.machineLine())
	b.WriteString("\n")
	if w := r.busyWarning(); w != "" {
		fmt.Fprintf(&b, "WARNING: %s\n", w)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fmtMicros formats nanoseconds as microseconds with two decimals and
// thousands separators.
func fmtMicros(ns float64) string {
	s := fmt.Sprintf("%.2f", ns/1000)
	dot := strings.IndexByte(s, '.')
	return groupDigits(s[:dot]) + s[dot:]
}

// BusyOtherPct is the share of the machine other processes may take before
// a report warns that its latencies measure contention.
const BusyOtherPct = 25

// busyWarning says when other processes kept the machine busy during the
// run, so nobody mistakes contention for mdcast's latency.
func (r *Report) busyWarning() string {
	m := r.Machine
	if m.OtherPct < BusyOtherPct && m.StealPct < 10 {
		return ""
	}
	return fmt.Sprintf("other processes used %.0f%% of the machine's CPU time during this run (steal %.1f%%, loadavg %.1f on %d CPUs): the latencies above measure that contention more than mdcast",
		m.OtherPct, m.StealPct, m.LoadEnd[0], m.CPUs)
}

func fmtUint(v uint64) string { return groupDigits(fmt.Sprintf("%d", v)) }

// fmtCount formats a rate or count with thousands separators, no decimals.
func fmtCount(v float64) string {
	return groupDigits(fmt.Sprintf("%.0f", v))
}

// groupDigits inserts thousands separators into a decimal integer.
func groupDigits(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i := 0; i < len(s); i++ {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
