package perf

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// chart draws a line chart as inline SVG: no script, no fonts or styles
// fetched from anywhere, so the page opens offline.
type chart struct {
	id, title      string
	xLabel, yLabel string
	width, height  int
	xLog, yLog     bool
	xMin, xMax     float64 // data units (set by fit when zero)
	yMin, yMax     float64
	xTicks, yTicks []tick // set by fit when nil
	lines          []line
	marks          []mark // vertical markers with a label
}

type tick struct {
	v     float64
	label string
}

type line struct {
	name   string
	color  string
	dash   string // SVG stroke-dasharray, "" for solid
	width  float64
	xs, ys []float64
	dots   bool // draw a dot per point
}

type mark struct {
	x     float64
	label string
	color string
}

const (
	chartLeft   = 70 // room for y tick labels
	chartRight  = 44 // room for the last x tick label
	chartTop    = 36
	chartBottom = 56 // x tick labels and the x label
	legendRow   = 18
)

// fit sets the ranges of axes left at zero from the data.
func (c *chart) fit() {
	if c.xMin == 0 && c.xMax == 0 {
		c.xMin, c.xMax = rangeOf(c.lines, func(l line) []float64 { return l.xs }, c.xLog)
	}
	if c.yMin == 0 && c.yMax == 0 {
		c.yMin, c.yMax = rangeOf(c.lines, func(l line) []float64 { return l.ys }, c.yLog)
		if c.yLog {
			c.yMin, c.yMax = logFloor(c.yMin), logCeil(c.yMax)
		} else {
			c.yMin = 0
			c.yMax = niceCeil(c.yMax * 1.05)
		}
	}
	if c.xMax <= c.xMin {
		c.xMax = c.xMin + 1
	}
	if c.yMax <= c.yMin {
		c.yMax = c.yMin + 1
	}
}

func rangeOf(ls []line, f func(line) []float64, logScale bool) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, l := range ls {
		for _, v := range f(l) {
			if math.IsInf(v, 0) || math.IsNaN(v) || (logScale && v <= 0) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		if logScale {
			return 1, 10
		}
		return 0, 1
	}
	return lo, hi
}

// logFloor and logCeil round to the 1-2-5 steps of a log axis.
func logFloor(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{5, 2, 1} {
		if m*p <= v {
			return m * p
		}
	}
	return p
}

func logCeil(v float64) float64 {
	if v <= 0 {
		return 10
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	return logCeil(v)
}

// logTicks returns 1-2-5 ticks between lo and hi.
func logTicks(lo, hi float64, label func(float64) string) []tick {
	var ts []tick
	for p := math.Pow(10, math.Floor(math.Log10(lo))); p <= hi*1.0001; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := m * p
			if v >= lo*0.9999 && v <= hi*1.0001 {
				ts = append(ts, tick{v, label(v)})
			}
		}
	}
	return ts
}

// linTicks returns about n round ticks between lo and hi.
func linTicks(lo, hi float64, n int, label func(float64) string) []tick {
	step := niceCeil((hi - lo) / float64(n))
	var ts []tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		ts = append(ts, tick{v, label(v)})
	}
	return ts
}

func (c *chart) px(x float64) float64 {
	w := float64(c.width - chartLeft - chartRight)
	if c.xLog {
		return chartLeft + w*(math.Log10(x)-math.Log10(c.xMin))/(math.Log10(c.xMax)-math.Log10(c.xMin))
	}
	return chartLeft + w*(x-c.xMin)/(c.xMax-c.xMin)
}

func (c *chart) py(y float64) float64 {
	top := float64(chartTop + legendRow*((len(c.lines)+2)/3))
	h := float64(c.height-chartBottom) - top
	var f float64
	if c.yLog {
		f = (math.Log10(y) - math.Log10(c.yMin)) / (math.Log10(c.yMax) - math.Log10(c.yMin))
	} else {
		f = (y - c.yMin) / (c.yMax - c.yMin)
	}
	return top + h*(1-f)
}

// clampTo keeps a value inside an axis range (log axes cannot show 0).
func clampTo(v, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, v))
}

// svg writes the chart.
func (c *chart) svg(b *strings.Builder) {
	c.fit()
	esc := html.EscapeString
	fmt.Fprintf(b, `<svg id="%s" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`+"\n",
		esc(c.id), c.width, c.height, c.width, c.height, esc(c.title))
	fmt.Fprintf(b, `<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`+"\n", c.width, c.height)
	fmt.Fprintf(b, `<text x="%d" y="20" class="title">%s</text>`+"\n", chartLeft, esc(c.title))

	// legend, three entries per row
	for i, l := range c.lines {
		x := chartLeft + (i%3)*((c.width-chartLeft-chartRight)/3)
		y := chartTop + legendRow*(i/3)
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%.1f"%s/>`,
			x, y-4, x+24, y-4, l.color, math.Max(l.width, 2), dashAttr(l.dash))
		fmt.Fprintf(b, `<text x="%d" y="%d" class="legend">%s</text>`+"\n", x+30, y, esc(l.name))
	}

	top := c.py(c.yMax)
	bottom := c.py(c.yMin)
	left, right := c.px(c.xMin), c.px(c.xMax)
	// grid and ticks
	for _, t := range c.yTicks {
		y := c.py(t.v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, left, y, right, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="ytick">%s</text>`+"\n", left-6, y+4, esc(t.label))
	}
	for _, t := range c.xTicks {
		x := c.px(t.v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, x, top, x, bottom)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="xtick">%s</text>`+"\n", x, bottom+16, esc(t.label))
	}
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="frame"/>`+"\n", left, top, right-left, bottom-top)
	fmt.Fprintf(b, `<text x="%.1f" y="%d" class="xlabel">%s</text>`+"\n", (left+right)/2, c.height-10, esc(c.xLabel))
	fmt.Fprintf(b, `<text x="14" y="%.1f" class="ylabel" transform="rotate(-90 14 %.1f)">%s</text>`+"\n",
		(top+bottom)/2, (top+bottom)/2, esc(c.yLabel))

	for _, m := range c.marks {
		x := c.px(clampTo(m.x, c.xMin, c.xMax))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="4,3"/>`, x, top, x, bottom, m.color)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="mark" fill="%s">%s</text>`+"\n", x+4, top+14, m.color, esc(m.label))
	}

	for _, l := range c.lines {
		if len(l.xs) == 0 {
			continue
		}
		// A NaN y breaks the line: an interval without data is not drawn
		// as a straight line across.
		name := esc(l.name)
		var pts strings.Builder
		flush := func() {
			if pts.Len() > 0 {
				fmt.Fprintf(b, `<polyline data-series="%s" fill="none" stroke="%s" stroke-width="%.1f"%s points="%s"/>`+"\n",
					name, l.color, l.width, dashAttr(l.dash), strings.TrimSpace(pts.String()))
				pts.Reset()
			}
		}
		for i := range l.xs {
			x, y := l.xs[i], l.ys[i]
			if math.IsNaN(x) || math.IsNaN(y) {
				flush()
				continue
			}
			x = clampTo(x, c.xMin, c.xMax)
			y = clampTo(y, c.yMin, c.yMax)
			fmt.Fprintf(&pts, "%.1f,%.1f ", c.px(x), c.py(y))
		}
		flush()
		if l.dots {
			for i := range l.xs {
				if math.IsNaN(l.ys[i]) {
					continue
				}
				fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`,
					c.px(clampTo(l.xs[i], c.xMin, c.xMax)), c.py(clampTo(l.ys[i], c.yMin, c.yMax)), l.color)
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("</svg>\n")
}

func dashAttr(d string) string {
	if d == "" {
		return ""
	}
	return fmt.Sprintf(` stroke-dasharray="%s"`, d)
}

// fmtAxisMicros labels a latency axis given in µs.
func fmtAxisMicros(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%gs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%gms", us/1e3)
	default:
		return fmt.Sprintf("%gµs", us)
	}
}

// fmtAxisRate labels a message-rate axis.
func fmtAxisRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	default:
		return fmt.Sprintf("%g", v)
	}
}
