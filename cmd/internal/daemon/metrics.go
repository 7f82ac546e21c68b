package daemon

import (
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
)

// collector exports a Stats snapshot as Prometheus metrics at scrape time.
// The packages below cmd count with plain atomics and know nothing of
// Prometheus; this walks their snapshot structs, so a counter added there
// appears here without a second list to keep in step. Numeric fields become
// counters (suffix _total), except the gauges named in gaugeFields; nested
// structs of counters (malformed reasons) become one metric with a label.
type collector struct{ d *Daemon }

// gaugeFields are snapshot fields that go up and down.
var gaugeFields = map[string]bool{
	"next_sequence": true, "next_seq": true, "held": true, "reorder_high_water": true,
	"history_messages": true, "history_bytes": true, "input_high_water": true,
	"in_use": true,
}

// Describe sends nothing: the collector is unchecked, because the set of
// series depends on the configuration (lines, channels, workers).
func (c *collector) Describe(chan<- *prometheus.Desc) {}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.d.Stats()
	e := emitter{ch: ch}
	info := prometheus.MustNewConstMetric(
		prometheus.NewDesc("mdcast_info", "The running daemon's session and profile.", []string{"session", "profile"}, nil),
		prometheus.GaugeValue, 1, s.Session, s.Profile)
	ch <- info
	e.gauge("mdcast_uptime_seconds", "Seconds since the daemon started.", s.UptimeSeconds, nil, nil)

	feedLabels := []string{"feed"}
	fv := []string{s.Feed.Name}
	e.walk("mdcast_feed", reflect.ValueOf(s.Feed), feedLabels, fv)
	for _, l := range s.Feed.Lines {
		e.walk("mdcast_feed_line", reflect.ValueOf(l), []string{"feed", "line"}, []string{s.Feed.Name, l.Name})
	}
	if s.Feed.Recovery != nil {
		e.walk("mdcast_feed_recovery", reflect.ValueOf(*s.Feed.Recovery), feedLabels, fv)
	}
	for i, w := range s.Workers {
		wl := []string{strconv.Itoa(i)}
		e.walk("mdcast_worker", reflect.ValueOf(w.Worker), []string{"worker"}, wl)
		for _, chs := range w.Channels {
			e.walk("mdcast_channel", reflect.ValueOf(chs), []string{"channel", "group"}, []string{chs.Name, chs.Group})
		}
	}
	e.walk("mdcast_pool", reflect.ValueOf(s.Pool), nil, nil)
	e.counter("mdcast_fanout_drops_total", "Packets a full worker input ring refused (pipeline mode).", float64(s.FanoutDrops), nil, nil)
	e.counter("mdcast_fanout_drop_notices_total", "Notices (flag daemon drop) sent to a worker's channels for the packets its full input ring refused (pipeline mode).", float64(s.FanoutDropNotices), nil, nil)
	e.counter("mdcast_upstream_loss_notices_total", "Upstream losses sent as an upstream loss notice on every channel.", float64(s.UpstreamLossNotices), nil, nil)
	e.counter("mdcast_upstream_loss_notices_dropped_total", "Upstream loss notices some worker did not get at once (full input ring; pipeline mode sends their range in that worker's next daemon-drop notice).", float64(s.NoticesDropped), nil, nil)
	for role, n := range s.AgentErrors {
		e.counter("mdcast_agent_errors_total", "Errors returned by an agent's duty cycle.", float64(n), []string{"agent"}, []string{role})
	}
}

type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) counter(name, help string, v float64, ln, lv []string) {
	e.ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, ln, nil), prometheus.CounterValue, v, lv...)
}

func (e emitter) gauge(name, help string, v float64, ln, lv []string) {
	e.ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, ln, nil), prometheus.GaugeValue, v, lv...)
}

// walk emits every numeric field of the struct v.
func (e emitter) walk(prefix string, v reflect.Value, ln, lv []string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := fieldName(f)
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float64:
			if name == "index" {
				continue
			}
			val := number(fv)
			full := prefix + "_" + name
			if gaugeFields[name] || (strings.HasPrefix(prefix, "mdcast_pool") && name == "packets") {
				e.gauge(full, prefix+" "+name+" (gauge)", val, ln, lv)
			} else {
				e.counter(full+"_total", prefix+" "+name, val, ln, lv)
			}
		case reflect.Struct:
			// A struct of counters: one metric, its fields as a label.
			st := fv.Type()
			for j := 0; j < st.NumField(); j++ {
				if !st.Field(j).IsExported() || !isNumber(fv.Field(j).Kind()) {
					continue
				}
				e.counter(prefix+"_"+name+"_total", prefix+" "+name+" by reason",
					number(fv.Field(j)), append(append([]string(nil), ln...), "reason"),
					append(append([]string(nil), lv...), fieldName(st.Field(j))))
			}
		}
	}
}

func isNumber(k reflect.Kind) bool {
	switch k {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float64:
		return true
	}
	return false
}

func number(v reflect.Value) float64 {
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	case reflect.Float64:
		return v.Float()
	}
	return float64(v.Int())
}

// fieldName is the field's JSON name, or its Go name in snake_case.
func fieldName(f reflect.StructField) string {
	if tag := f.Tag.Get("json"); tag != "" && tag != "-" {
		if n, _, _ := strings.Cut(tag, ","); n != "" {
			return n
		}
	}
	return snake(f.Name)
}

func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
