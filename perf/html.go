package perf

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Colours of the two paths in every chart.
const (
	colorDaemon   = "#1f5fbf"
	colorBaseline = "#e07b00"
	colorTarget   = "#888888"
)

// pageStyle is the page's only stylesheet, inlined.
const pageStyle = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; max-width: 1160px; }
h1 { font-size: 20px; margin: 0 0 4px 0; }
p.sub { color: #555; margin: 0 0 16px 0; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0 16px 0; }
th, td { padding: 3px 12px; text-align: right; border-bottom: 1px solid #eee; }
th:first-child, td:first-child { text-align: left; }
tr.section td { font-weight: 600; border-bottom: 1px solid #ccc; padding-top: 10px; }
td.d { color: ` + colorDaemon + `; } td.b { color: ` + colorBaseline + `; }
svg.chart { display: block; margin: 12px 0 20px 0; border: 1px solid #ddd; }
svg text { font-family: system-ui, sans-serif; font-size: 12px; fill: #333; }
svg text.title { font-size: 15px; font-weight: 600; }
svg text.ytick { text-anchor: end; }
svg text.xtick, svg text.xlabel, svg text.ylabel { text-anchor: middle; }
svg line.grid { stroke: #e6e6e6; stroke-width: 1; }
svg rect.frame { fill: none; stroke: #999; }
.note { color: #555; font-size: 13px; }
.warn { color: #b03a2e; }
`

// pathStyle is how one path is drawn.
type pathStyle struct {
	p     *Path
	name  string
	color string
	dash  string
}

func (r *Report) paths() []pathStyle {
	ps := []pathStyle{{&r.Path, "daemon path", colorDaemon, ""}}
	if r.Baseline != nil {
		ps = append(ps, pathStyle{r.Baseline, "baseline (direct)", colorBaseline, "7,4"})
	}
	return ps
}

// WriteHTML writes one self-contained page: the summary table and three
// inline SVG charts (percentile distribution, latency over time, throughput
// over time) for both paths. It references nothing outside itself.
func (r *Report) WriteHTML(w io.Writer) error {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(orDefault(r.Title, "mdperf run")), pageStyle)
	fmt.Fprintf(&b, "<h1>%s</h1>\n", esc(orDefault(r.Title, "mdperf run")))
	fmt.Fprintf(&b, "<p class=\"sub\">%s<br>%s", esc(r.headline()), esc(r.machineLine()))
	if w := r.busyWarning(); w != "" {
		fmt.Fprintf(&b, "<br><strong class=\"warn\">%s</strong>", esc(w))
	}
	if !r.Started.IsZero() {
		fmt.Fprintf(&b, "<br>started %s", esc(r.Started.UTC().Format("2006-01-02 15:04:05 MST")))
	}
	b.WriteString("</p>\n")
	r.writeTable(&b)
	r.distributionChart().svg(&b)
	r.latencyChart().svg(&b)
	r.throughputChart().svg(&b)
	b.WriteString("<p class=\"note\">Latency is one-way, from each message's <em>intended</em> send time (open-loop schedule, so a stall in the sender cannot hide) to the consumer callback, on one CLOCK_MONOTONIC. ")
	b.WriteString("The baseline sends the same messages straight to a multicast group the same subscriber joins, with the same threads and profile, moments apart.")
	if s := r.Path.Runtime.CPU.Scope; s != "" {
		fmt.Fprintf(&b, " Allocations, GC cycles and CPU cover %s, the Go runtime's own allocations included (it allocates a few objects for each OS thread it starts).", esc(s))
	}
	b.WriteString("</p>\n")
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "<p class=\"note\">note: %s</p>\n", esc(n))
	}
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (r *Report) writeTable(b *strings.Builder) {
	esc := html.EscapeString
	b.WriteString("<table id=\"summary\">\n<tr><th></th><th>daemon path</th>")
	if r.Baseline != nil {
		b.WriteString("<th>baseline (direct)</th><th>ratio</th>")
	}
	b.WriteString("</tr>\n")
	for _, t := range r.rows() {
		if t.daemon == "" && t.baseline == "" {
			fmt.Fprintf(b, "<tr class=\"section\"><td colspan=\"4\">%s</td></tr>\n", esc(t.name))
			continue
		}
		fmt.Fprintf(b, "<tr><td>%s</td><td class=\"d\">%s</td>", esc(strings.TrimSpace(t.name)), esc(t.daemon))
		if r.Baseline != nil {
			fmt.Fprintf(b, "<td class=\"b\">%s</td><td>%s</td>", esc(t.baseline), esc(t.ratio))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
}

// distributionChart draws latency against 1/(1-percentile) on a log axis,
// as HdrHistogram's plotter does, so the tail gets as much room as the body.
func (r *Report) distributionChart() *chart {
	c := &chart{
		id: "distribution", title: "Latency by percentile",
		xLabel: "percentile (log scale of 1/(1-p))", yLabel: "latency (log scale)",
		width: 1100, height: 460, xLog: true, yLog: true,
	}
	maxX := 100.0
	for _, ps := range r.paths() {
		for _, pt := range ps.p.Distribution {
			if pt.Percentile < 100 {
				maxX = math.Max(maxX, 1/(1-pt.Percentile/100))
			}
		}
	}
	c.xMin, c.xMax = 1, math.Pow(10, math.Ceil(math.Log10(maxX)))
	for _, ps := range r.paths() {
		l := line{name: ps.name, color: ps.color, dash: ps.dash, width: 2}
		for _, pt := range ps.p.Distribution {
			x := c.xMax // the 100th percentile (the maximum) sits at the right edge
			if pt.Percentile < 100 {
				x = 1 / (1 - pt.Percentile/100)
			}
			l.xs = append(l.xs, x)
			l.ys = append(l.ys, float64(pt.ValueNs)/1000)
		}
		c.lines = append(c.lines, l)
	}
	for x, i := 1.0, 0; x <= c.xMax*1.0001; x, i = x*10, i+1 {
		c.xTicks = append(c.xTicks, tick{x, percentileLabel(i)})
	}
	c.fit()
	c.yTicks = logTicks(c.yMin, c.yMax, fmtAxisMicros)
	return c
}

// percentileLabel names the tick at 1/(1-p) = 10^nines: 0%, 90%, 99%, 99.9%...
func percentileLabel(nines int) string {
	switch nines {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", nines-2) + "%"
}

// latencyChart draws p50, p99 and max per interval for both paths.
func (r *Report) latencyChart() *chart {
	c := &chart{
		id: "latency-over-time", title: "Latency over time (per interval: p50, p99, max)",
		xLabel: "seconds into the measured interval", yLabel: "latency (log scale)",
		width: 1100, height: 420, yLog: true,
	}
	half := r.IntervalS / 2 // each interval is drawn at its middle
	for _, ps := range r.paths() {
		var xs, p50, p99, mx []float64
		for _, iv := range ps.p.Series {
			xs = append(xs, iv.StartS+half)
			if iv.Count == 0 { // nothing arrived: a break in the lines
				p50, p99, mx = append(p50, math.NaN()), append(p99, math.NaN()), append(mx, math.NaN())
				continue
			}
			p50 = append(p50, float64(iv.P50)/1000)
			p99 = append(p99, float64(iv.P99)/1000)
			mx = append(mx, float64(iv.Max)/1000)
		}
		c.lines = append(c.lines,
			line{name: ps.name + " p50", color: ps.color, dash: ps.dash, width: 2.5, xs: xs, ys: p50},
			line{name: ps.name + " p99", color: ps.color, dash: ps.dash, width: 1.5, xs: xs, ys: p99},
			line{name: ps.name + " max", color: ps.color, dash: "2,3", width: 1, xs: xs, ys: mx},
		)
	}
	c.xMin, c.xMax = 0, r.seriesEnd()
	c.fit()
	c.xTicks = linTicks(c.xMin, c.xMax, 10, func(v float64) string { return fmt.Sprintf("%gs", v) })
	c.yTicks = logTicks(c.yMin, c.yMax, fmtAxisMicros)
	return c
}

// throughputChart draws messages received per second, per interval.
func (r *Report) throughputChart() *chart {
	c := &chart{
		id: "throughput-over-time", title: "Throughput over time (messages received per second)",
		xLabel: "seconds into the measured interval", yLabel: "messages/s",
		width: 1100, height: 360,
	}
	half := r.IntervalS / 2
	for _, ps := range r.paths() {
		l := line{name: ps.name, color: ps.color, dash: ps.dash, width: 2}
		for _, iv := range ps.p.Series {
			l.xs = append(l.xs, iv.StartS+half)
			l.ys = append(l.ys, iv.Rate)
		}
		c.lines = append(c.lines, l)
	}
	end := r.seriesEnd()
	if r.Rate > 0 {
		c.lines = append(c.lines, line{name: "target rate", color: colorTarget, dash: "3,3", width: 1,
			xs: []float64{0, end}, ys: []float64{r.Rate, r.Rate}})
	}
	c.xMin, c.xMax = 0, end
	c.fit()
	c.xTicks = linTicks(c.xMin, c.xMax, 10, func(v float64) string { return fmt.Sprintf("%gs", v) })
	c.yTicks = linTicks(c.yMin, c.yMax, 6, fmtAxisRate)
	return c
}

// seriesEnd is the time axis' end: the run duration or the last interval.
func (r *Report) seriesEnd() float64 {
	end := r.DurationS
	for _, ps := range r.paths() {
		if n := len(ps.p.Series); n > 0 {
			end = math.Max(end, ps.p.Series[n-1].StartS+r.IntervalS)
		}
	}
	if end <= 0 {
		end = 1
	}
	return end
}
