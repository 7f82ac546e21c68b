package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mdcast/cmd/internal/daemon"
	"mdcast/internal/mcasttest"
	"mdcast/perf"
)

func TestParseRates(t *testing.T) {
	got, err := parseRates("10k, 250000,1.5M")
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{10_000, 250_000, 1_500_000}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rate %d = %g, want %g", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "x", "10k,5k", "-3", "0"} {
		if _, err := parseRates(bad); err == nil {
			t.Errorf("parseRates(%q) accepted", bad)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	good := func() options {
		return options{Rate: 1000, Duration: time.Second, Channels: 4, Instruments: 10, Profile: profileDefault}
	}
	o := good()
	if err := o.validate(); err != nil {
		t.Fatalf("good options: %v", err)
	}
	for name, mut := range map[string]func(*options){
		"rate":     func(o *options) { o.Rate = 0 },
		"duration": func(o *options) { o.Duration = 0 },
		"channels": func(o *options) { o.Channels = 21 },
		"profile":  func(o *options) { o.Profile = "fast" },
		"loss":     func(o *options) { o.Loss = 1 },
		"warmup":   func(o *options) { o.Warmup = -time.Second },
	} {
		o := good()
		mut(&o)
		if err := o.validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want one naming -%s", name, err, name)
		}
	}
	if iv := (&options{Duration: 10 * time.Second}).interval(); iv != 100*time.Millisecond {
		t.Errorf("interval for 10s = %v", iv)
	}
	if iv := (&options{Duration: 2 * time.Minute}).interval(); iv != time.Second {
		t.Errorf("interval for 2m = %v", iv)
	}
}

func TestBaselineName(t *testing.T) {
	if got := baselineName("out/run.hgrm"); got != "out/run.baseline.hgrm" {
		t.Errorf("got %q", got)
	}
	if got := group(1234567); got != "1,234,567" {
		t.Errorf("group = %q", got)
	}
}

// shortRun is a run small enough for a unit test on a busy 2-core machine.
func shortRun() *options {
	return &options{
		Rate: 5000, Duration: 400 * time.Millisecond, Warmup: 200 * time.Millisecond, Drain: 3 * time.Second,
		Channels: 2, Instruments: 10, Profile: profileDefault, Baseline: true, MaxPayload: 1400,
	}
}

// checkRun checks what any lossless run must satisfy: every message of the
// window delivered exactly once on both paths and the report consistent.
func checkRun(t *testing.T, o *options, res *runResult) *perf.Report {
	t.Helper()
	r := res.report
	want := uint64(o.Rate * o.Duration.Seconds())
	for _, p := range []*perf.Path{&r.Path, r.Baseline} {
		if p == nil {
			t.Fatal("no baseline")
		}
		if p.Sent != want || p.Received+p.Lost != want {
			t.Errorf("%s: sent %d received %d lost %d, want %d = received + lost", p.Name, p.Sent, p.Received, p.Lost, want)
		}
		switch {
		case p.Lost == 0:
		case o.Loss > 0 && p == &r.Path && p.LossEvents >= p.Lost:
			// Injected loss the subscriber gave up on (its retransmit
			// deadline passed on a loaded machine): reported, not silent.
			t.Logf("%s: %d lost and reported as Loss events (%d sequences)", p.Name, p.Lost, p.LossEvents)
		default:
			t.Errorf("%s: %d messages lost (%d reported as Loss)", p.Name, p.Lost, p.LossEvents)
		}
		if p.Latency.Count != int64(p.Received) || p.Latency.Min <= 0 || p.Latency.P50 < p.Latency.Min || p.Latency.Max < p.Latency.P99 {
			t.Errorf("%s: latency %+v", p.Name, p.Latency)
		}
		if p.Packets == 0 || len(p.Series) == 0 || len(p.Distribution) == 0 {
			t.Errorf("%s: %d datagrams, %d intervals, %d distribution points", p.Name, p.Packets, len(p.Series), len(p.Distribution))
		}
		var inSeries int64
		for _, iv := range p.Series {
			inSeries += iv.Count
		}
		if inSeries > p.Latency.Count {
			t.Errorf("%s: series holds %d of %d values", p.Name, inSeries, p.Latency.Count)
		}
	}
	if r.Ratio.P50 <= 0 || r.Ratio.P99 <= 0 {
		t.Errorf("ratio %+v", r.Ratio)
	}
	if res.daemonRec == nil || res.baseRec == nil || res.daemonRec.Count() != r.Latency.Count {
		t.Error("recorders not kept for .hgrm output")
	}
	var html, txt bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html.String(), "http://") || strings.Contains(html.String(), "https://") {
		t.Error("HTML references the network")
	}
	if !strings.Contains(txt.String(), "baseline (direct)") {
		t.Errorf("text report:\n%s", txt.String())
	}
	return r
}

func TestRunDefaultProfile(t *testing.T) {
	mcasttest.RequireLoopbackMulticast(t)
	o := shortRun()
	res, err := runOnce(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	r := checkRun(t, o, res)
	if !strings.Contains(strings.Join(r.Notes, "\n"), "profile default, agents.idle block") {
		t.Errorf("the in-process daemon did not run the default profile: %q", r.Notes)
	}
	if r.CPU.Scope == "" || r.Machine.CPUs == 0 {
		t.Errorf("cpu %+v machine %+v", r.CPU, r.Machine)
	}
}

func TestRunInjectedLossIsRecovered(t *testing.T) {
	mcasttest.RequireLoopbackMulticast(t)
	o := shortRun()
	o.Loss = 0.05
	res, err := runOnce(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	r := checkRun(t, o, res)
	if r.Recovered == 0 {
		t.Errorf("5%% injected loss but nothing recovered: %+v", r.Path)
	}
}

func TestRunReplay(t *testing.T) {
	mcasttest.RequireLoopbackMulticast(t)
	o := shortRun()
	o.Replay = "testdata/itch50_two_add_orders_moldudp64.pcap"
	res, err := runOnce(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	r := checkRun(t, o, res)
	if !strings.Contains(r.Replay, "2 ITCH messages") {
		t.Errorf("replay description %q", r.Replay)
	}
}

func TestRunLowLatencyProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("spins both CPUs")
	}
	mcasttest.RequireLoopbackMulticast(t)
	o := shortRun()
	o.Profile = profileLowLatency
	o.Duration = 300 * time.Millisecond
	res, err := runOnce(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	r := checkRun(t, o, res)
	if !strings.Contains(strings.Join(r.Notes, "\n"), "profile low-latency, agents.idle spin") {
		t.Errorf("the in-process daemon did not run the low-latency profile: %q", r.Notes)
	}
}

func TestSweepStopsAtLoss(t *testing.T) {
	// The sweep's bookkeeping, without the network: a step that loses ends it.
	var sw perf.Sweep
	for i, lost := range []uint64{0, 0, 3} {
		r := &perf.Report{Rate: float64(1000 * (i + 1))}
		r.Sent, r.Received, r.Lost = 1000, 1000-lost, lost
		if stop := sw.Add(r); stop != (lost > 0) {
			t.Fatalf("step %d: stop = %v", i, stop)
		}
	}
	if sw.MaxZeroLossRate != 2000 || sw.LossRate != 3000 {
		t.Errorf("max zero-loss %g, loss at %g", sw.MaxZeroLossRate, sw.LossRate)
	}
}

// TestRunAgainstRunningDaemon measures a daemon started separately from its
// TOML file, as `mdperf run -daemon FILE` does for a running mdcastd.
func TestRunAgainstRunningDaemon(t *testing.T) {
	mcasttest.RequireLoopbackMulticast(t)
	feedPort := mcasttest.FreeUDPPort(t)
	g := mcasttest.Group(t)
	toml := fmt.Sprintf(`
[feed]
[[feed.line]]
name = "A"
addr = "127.0.0.1:%d"

[publish]
grace = "100ms"
[[publish.channel]]
group = "%s"
request_addr = "127.0.0.1:%d"

[http]
addr = "off"
`, feedPort, netip.AddrPortFrom(g, mcasttest.FreeUDPPort(t)), mcasttest.FreeUDPPort(t))
	file := filepath.Join(t.TempDir(), "mdcastd.toml")
	if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := daemon.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	o := shortRun()
	o.DaemonCfg = file
	o.Baseline = true
	res, err := runOnce(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	r := checkRun(t, o, res)
	if !strings.Contains(r.CPU.Scope, "own process") {
		t.Errorf("scope %q does not say the daemon's figures are not included", r.CPU.Scope)
	}
	if st := d.Stats(); st.Feed.EmittedMessages < uint64(o.Rate*(o.Duration+o.Warmup).Seconds()) {
		t.Errorf("the daemon carried %d messages", st.Feed.EmittedMessages)
	}
}

func TestProgressLineDoesNotAllocate(t *testing.T) {
	pl := &progressLine{buf: make([]byte, 0, 256)}
	got := string(pl.line("daemon path", 3_456_000_000, "measuring", 1234567, 1234500, 99999, 12345))
	want := "daemon path        3.5s measuring sent 1,234,567  received 1,234,500  99,999 msg/s  p99 so far 12.35µs\n"
	if got != want {
		t.Errorf("progress line\n got %q\nwant %q", got, want)
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, func() { pl.buf = pl.line("x", 1, "draining", 1, 2, 3, 0) }); n != 0 {
		t.Errorf("progress line allocates %.0f times", n)
	}
}
