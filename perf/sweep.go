package perf

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
)

// SweepStep is one rate of a sweep, summarised from its Report.
type SweepStep struct {
	Rate         float64  `json:"rate"`
	Sent         uint64   `json:"sent"`
	Received     uint64   `json:"received"`
	Lost         uint64   `json:"lost"`
	Recovered    uint64   `json:"recovered"`
	Packets      uint64   `json:"packets_sent"`
	AchievedRate float64  `json:"achieved_rate"`
	Latency      Latency  `json:"latency_ns"`
	Baseline     *Latency `json:"baseline_latency_ns,omitempty"`
	BaselineLost uint64   `json:"baseline_lost"`
	Ratio        Ratio    `json:"ratio"`
	AllocsPerMsg float64  `json:"allocs_per_msg"`
	GCCycles     uint64   `json:"gc_cycles"`
	CPU          float64  `json:"cpu_utilisation"`
	OtherPct     float64  `json:"machine_other_pct"` // CPU share other processes took during the step
}

// ZeroLoss reports whether the daemon path delivered every message sent.
func (s SweepStep) ZeroLoss() bool {
	return s.Sent > 0 && s.Lost == 0 && s.Received >= s.Sent
}

// Sweep is the result of running a list of rates, lowest first, until loss
// begins.
type Sweep struct {
	Title     string      `json:"title"`
	Profile   string      `json:"profile"`
	DurationS float64     `json:"duration_s"` // per step
	Steps     []SweepStep `json:"steps"`
	// MaxZeroLossRate is the highest rate at which the daemon path lost nothing
	// (0 when every step lost something).
	MaxZeroLossRate float64 `json:"max_zero_loss_rate"`
	// LossRate is the first rate that lost messages (0 when none did).
	LossRate float64  `json:"loss_began_at_rate"`
	Machine  Machine  `json:"machine"` // of the last step
	Notes    []string `json:"notes,omitempty"`
}

// Add summarises a step's report into the sweep and reports whether it lost
// messages (the sweep stops there).
func (s *Sweep) Add(r *Report) (lossy bool) {
	st := SweepStep{
		Rate:         r.Rate,
		Sent:         r.Sent,
		Received:     r.Received,
		Lost:         r.Lost,
		Recovered:    r.Recovered,
		Packets:      r.Packets,
		AchievedRate: r.AchievedRate,
		Latency:      r.Latency,
		Ratio:        r.Ratio,
		AllocsPerMsg: r.AllocsPerMsg,
		GCCycles:     r.GCCycles,
		CPU:          r.CPU.Utilisation,
		OtherPct:     r.Machine.OtherPct,
	}
	if r.Baseline != nil {
		l := r.Baseline.Latency
		st.Baseline = &l
		st.BaselineLost = r.Baseline.Lost
	}
	s.Steps = append(s.Steps, st)
	s.Machine = r.Machine
	if st.ZeroLoss() {
		if st.Rate > s.MaxZeroLossRate {
			s.MaxZeroLossRate = st.Rate
		}
		return false
	}
	if s.LossRate == 0 {
		s.LossRate = st.Rate
	}
	return true
}

// summary states the sweep's outcome in one line.
func (s *Sweep) summary() string {
	var b strings.Builder
	if s.MaxZeroLossRate > 0 {
		fmt.Fprintf(&b, "highest zero-loss rate: %s msg/s", fmtCount(s.MaxZeroLossRate))
	} else {
		b.WriteString("no rate ran without loss")
	}
	if s.LossRate > 0 {
		fmt.Fprintf(&b, "; loss began at %s msg/s", fmtCount(s.LossRate))
	} else {
		b.WriteString("; no step lost messages")
	}
	return b.String()
}

// WriteText writes the sweep as a table of rates with p50/p99 for both
// paths, then the highest zero-loss rate.
func (s *Sweep) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: profile %s, %gs per step\n\n", orDefault(s.Title, "mdperf sweep"), orDash(s.Profile), s.DurationS)
	fmt.Fprintf(&b, "  %11s %11s %9s %12s %12s %12s %12s %12s %7s %7s %6s\n",
		"rate", "achieved", "lost", "p50 µs", "p99 µs", "p99.9 µs", "base p50", "base p99", "x p50", "x p99", "other")
	for _, st := range s.Steps {
		bp50, bp99 := "-", "-"
		if st.Baseline != nil {
			bp50, bp99 = fmtMicros(float64(st.Baseline.P50)), fmtMicros(float64(st.Baseline.P99))
		}
		fmt.Fprintf(&b, "  %11s %11s %9s %12s %12s %12s %12s %12s %6.2fx %6.2fx %5.0f%%\n",
			fmtCount(st.Rate), fmtCount(st.AchievedRate), fmtUint(st.Lost),
			fmtMicros(float64(st.Latency.P50)), fmtMicros(float64(st.Latency.P99)), fmtMicros(float64(st.Latency.P999)),
			bp50, bp99, st.Ratio.P50, st.Ratio.P99, st.OtherPct)
	}
	fmt.Fprintf(&b, "\n%s\n", s.summary())
	b.WriteString("(other: CPU share of the machine taken by other processes during the step)\n")
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the sweep as indented JSON.
func (s *Sweep) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteHTML writes one self-contained page with the p50/p99-vs-rate chart
// (both paths) and the table.
func (s *Sweep) WriteHTML(w io.Writer) error {
	var b strings.Builder
	esc := html.EscapeString
	title := orDefault(s.Title, "mdperf sweep")
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(title), pageStyle)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"sub\">profile %s, %gs per step; %s</p>\n", esc(title), esc(orDash(s.Profile)), s.DurationS, esc(s.summary()))
	s.chart().svg(&b)
	b.WriteString("<table id=\"steps\">\n<tr><th>rate (msg/s)</th><th>achieved</th><th>lost</th><th>p50 µs</th><th>p99 µs</th><th>p99.9 µs</th><th>baseline p50</th><th>baseline p99</th><th>ratio p50</th><th>ratio p99</th><th>other processes</th></tr>\n")
	for _, st := range s.Steps {
		bp50, bp99 := "-", "-"
		if st.Baseline != nil {
			bp50, bp99 = fmtMicros(float64(st.Baseline.P50)), fmtMicros(float64(st.Baseline.P99))
		}
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td class=\"d\">%s</td><td class=\"d\">%s</td><td class=\"d\">%s</td><td class=\"b\">%s</td><td class=\"b\">%s</td><td>%.2fx</td><td>%.2fx</td><td>%.0f%%</td></tr>\n",
			fmtCount(st.Rate), fmtCount(st.AchievedRate), fmtUint(st.Lost),
			fmtMicros(float64(st.Latency.P50)), fmtMicros(float64(st.Latency.P99)), fmtMicros(float64(st.Latency.P999)),
			bp50, bp99, st.Ratio.P50, st.Ratio.P99, st.OtherPct)
	}
	b.WriteString("</table>\n")
	fmt.Fprintf(&b, "<p class=\"note\">machine: %d CPUs, loadavg %.2f at the end. \"other processes\" is the CPU share of the machine other processes took during each step: where it is high, the latencies measure that contention more than mdcast.</p>\n",
		s.Machine.CPUs, s.Machine.LoadEnd[0])
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "<p class=\"note\">note: %s</p>\n", esc(n))
	}
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// chart plots p50 and p99 against rate on log axes.
func (s *Sweep) chart() *chart {
	c := &chart{
		id: "sweep", title: "Latency against rate",
		xLabel: "target rate (messages/s, log scale)", yLabel: "latency (log scale)",
		width: 1100, height: 480, xLog: true, yLog: true,
	}
	var xs, d50, d99, b50, b99 []float64
	for _, st := range s.Steps {
		xs = append(xs, st.Rate)
		d50 = append(d50, float64(st.Latency.P50)/1000)
		d99 = append(d99, float64(st.Latency.P99)/1000)
		if st.Baseline != nil {
			b50 = append(b50, float64(st.Baseline.P50)/1000)
			b99 = append(b99, float64(st.Baseline.P99)/1000)
		}
	}
	c.lines = append(c.lines,
		line{name: "daemon path p50", color: colorDaemon, width: 2.5, xs: xs, ys: d50, dots: true},
		line{name: "daemon path p99", color: colorDaemon, width: 1.5, dash: "6,3", xs: xs, ys: d99, dots: true},
	)
	if len(b50) == len(xs) {
		c.lines = append(c.lines,
			line{name: "baseline p50", color: colorBaseline, width: 2.5, xs: xs, ys: b50, dots: true},
			line{name: "baseline p99", color: colorBaseline, width: 1.5, dash: "6,3", xs: xs, ys: b99, dots: true},
		)
	}
	c.fit()
	c.xMin, c.xMax = logFloor(c.xMin), logCeil(c.xMax)
	c.xTicks = logTicks(c.xMin, c.xMax, fmtAxisRate)
	c.yTicks = logTicks(c.yMin, c.yMax, fmtAxisMicros)
	if s.MaxZeroLossRate > 0 {
		c.marks = append(c.marks, mark{x: s.MaxZeroLossRate, label: "highest zero-loss rate", color: "#2a8a2a"})
	}
	if s.LossRate > 0 {
		c.marks = append(c.marks, mark{x: s.LossRate, label: "loss", color: "#c0392b"})
	}
	return c
}
