package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Profiles, as mdcastd names them.
const (
	profileDefault    = "default"
	profileLowLatency = "low-latency"
)

// options are the settings of one measured rate (a run, or a sweep step).
type options struct {
	Rate        float64
	Duration    time.Duration
	Warmup      time.Duration
	Drain       time.Duration // longest wait for the last messages after the schedule ends
	Channels    int
	Instruments int
	Profile     string
	Loss        float64
	Replay      string
	DaemonCfg   string // -daemon: a running mdcastd's config file
	Interval    time.Duration
	Baseline    bool
	MaxPayload  int
	Verbose     bool
	GOMAXPROCS  int
	Progress    io.Writer // nil: no progress lines
}

// addCommon registers the flags run and sweep share.
func (o *options) addCommon(fs *flag.FlagSet) {
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "load before the measured interval (not recorded)")
	fs.DurationVar(&o.Drain, "drain", time.Second, "longest wait for in-flight messages after the schedule ends")
	fs.IntVar(&o.Channels, "channels", 4, "daemon channels (in-process daemon only)")
	fs.IntVar(&o.Instruments, "instruments", 100, "instruments the quotes cycle over")
	fs.StringVar(&o.Profile, "profile", profileDefault, "default (nothing spins) or low-latency (daemon agent and load agent spin, pinned)")
	fs.Float64Var(&o.Loss, "loss", 0, "fraction of packets dropped on the subscriber's receive path of the daemon path (0..1), recovered by re-request")
	fs.StringVar(&o.Replay, "replay", "", "send the ITCH messages of this BinaryFILE or pcap (looped) instead of synthetic quotes")
	fs.StringVar(&o.DaemonCfg, "daemon", "", "measure a running mdcastd: its TOML config file (send to its feed, join its channels)")
	fs.DurationVar(&o.Interval, "interval", 0, "time-series interval of the charts (0: 100ms up to 30s runs, else 1s)")
	fs.BoolVar(&o.Baseline, "baseline", true, "also measure the direct path (generator straight to a multicast group)")
	fs.IntVar(&o.MaxPayload, "max-payload", 1400, "UDP payload budget of the generator's datagrams")
	fs.BoolVar(&o.Verbose, "v", false, "log the daemon's info messages")
	fs.IntVar(&o.GOMAXPROCS, "gomaxprocs", 0, "GOMAXPROCS for the run (0: CPUs + 2, so threads parked in system calls never hold every P)")
}

// setGOMAXPROCS gives the process a few more Ps than CPUs unless told
// otherwise. The generator sleeps in clock_nanosleep and the subscriber and
// daemon park in ppoll: a goroutine in a system call keeps its P until the
// runtime's monitor takes it back (20 µs to 10 ms later), so with only as
// many Ps as CPUs a consumer woken by the subscriber could wait that long
// for a P while every CPU is idle. A standalone mdcastd does not share its
// Ps with mdperf's threads; the spare Ps keep the in-process daemon close to
// that.
func (o *options) setGOMAXPROCS() {
	n := o.GOMAXPROCS
	if n <= 0 {
		n = runtime.NumCPU() + 2
	}
	runtime.GOMAXPROCS(n)
}

func (o *options) validate() error {
	switch {
	case !(o.Rate > 0):
		return fmt.Errorf("-rate %v: must be > 0", o.Rate)
	case o.Duration <= 0:
		return fmt.Errorf("-duration %v: must be > 0", o.Duration)
	case o.Warmup < 0:
		return fmt.Errorf("-warmup %v: negative", o.Warmup)
	case o.Drain < 0:
		return fmt.Errorf("-drain %v: negative", o.Drain)
	case o.Channels < 1 || o.Channels > 20:
		return fmt.Errorf("-channels %d: want 1..20 (one socket joins at most 20 groups)", o.Channels)
	case o.Instruments < 1:
		return fmt.Errorf("-instruments %d: want >= 1", o.Instruments)
	case o.Profile != profileDefault && o.Profile != profileLowLatency:
		return fmt.Errorf("-profile %q: want %s or %s", o.Profile, profileDefault, profileLowLatency)
	case o.Loss < 0 || o.Loss >= 1:
		return fmt.Errorf("-loss %v: want 0 <= loss < 1", o.Loss)
	case o.Interval < 0:
		return fmt.Errorf("-interval %v: negative", o.Interval)
	}
	return nil
}

// interval is the time-series interval: about 100 points or more per run.
func (o *options) interval() time.Duration {
	switch {
	case o.Interval > 0:
		return o.Interval
	case o.Duration <= 30*time.Second:
		return 100 * time.Millisecond
	case o.Duration <= 10*time.Minute:
		return time.Second
	}
	return 10 * time.Second
}

// parseRates parses "10000,100k,1M".
func parseRates(s string) ([]float64, error) {
	var rates []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		mult := 1.0
		switch {
		case strings.HasSuffix(f, "k"), strings.HasSuffix(f, "K"):
			mult, f = 1e3, f[:len(f)-1]
		case strings.HasSuffix(f, "m"), strings.HasSuffix(f, "M"):
			mult, f = 1e6, f[:len(f)-1]
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > 0) {
			return nil, fmt.Errorf("-rates: %q is not a positive rate", f)
		}
		rates = append(rates, v*mult)
	}
	if len(rates) == 0 {
		return nil, fmt.Errorf("-rates: empty")
	}
	for i := 1; i < len(rates); i++ {
		if rates[i] <= rates[i-1] {
			return nil, fmt.Errorf("-rates: not increasing at %g", rates[i])
		}
	}
	return rates, nil
}

// say prints a line of progress, when progress is wanted.
func (o *options) say(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}
