package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mdcast/decode"
	"mdcast/internal/affinity"
	"mdcast/perf"
)

// cmdRun is `mdperf run`.
func cmdRun(ctx context.Context, args []string) error {
	o := &options{Progress: os.Stderr}
	var jsonFile, htmlFile, hgrmFile string
	fs := flag.NewFlagSet("mdperf run", flag.ContinueOnError)
	fs.Float64Var(&o.Rate, "rate", 100_000, "messages per second (open loop)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "measured interval")
	o.addCommon(fs)
	fs.StringVar(&jsonFile, "json", "", "write the report as JSON to this file")
	fs.StringVar(&htmlFile, "html", "", "write the report as a self-contained HTML page to this file")
	fs.StringVar(&hgrmFile, "hgrm", "", "write the daemon path's percentile distribution (.hgrm) to this file, the baseline's beside it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if err := o.validate(); err != nil {
		return usageError{err}
	}
	// The packages log setup and state changes through slog's default
	// logger; mdperf's output is the report, so they log at warn unless -v.
	slog.SetDefault(newLogger(o.Verbose))
	o.setGOMAXPROCS()
	res, err := runOnce(ctx, o)
	if err != nil {
		return err
	}
	fmt.Println()
	if err := res.report.WriteText(os.Stdout); err != nil {
		return err
	}
	if jsonFile != "" {
		if err := writeFile(jsonFile, res.report.WriteJSON); err != nil {
			return err
		}
	}
	if htmlFile != "" {
		if err := writeFile(htmlFile, res.report.WriteHTML); err != nil {
			return err
		}
	}
	if hgrmFile != "" {
		if err := writeFile(hgrmFile, res.daemonRec.WriteHgrm); err != nil {
			return err
		}
		if res.baseRec != nil {
			if err := writeFile(baselineName(hgrmFile), res.baseRec.WriteHgrm); err != nil {
				return err
			}
		}
	}
	for _, f := range []string{jsonFile, htmlFile, hgrmFile} {
		if f != "" {
			fmt.Fprintf(os.Stderr, "wrote %s\n", f)
		}
	}
	if hgrmFile != "" && res.baseRec != nil {
		fmt.Fprintf(os.Stderr, "wrote %s\n", baselineName(hgrmFile))
	}
	return nil
}

// baselineName is where the baseline's .hgrm goes: out.hgrm -> out.baseline.hgrm.
func baselineName(f string) string {
	ext := filepath.Ext(f)
	return strings.TrimSuffix(f, ext) + ".baseline" + ext
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return f.Close()
}

// runResult is a report and the recorders behind it (for .hgrm output).
type runResult struct {
	report             *perf.Report
	daemonRec, baseRec *perf.Recorder
}

// runOnce measures the daemon path and then, moments later with the daemon
// stopped, the direct baseline, and assembles the report.
func runOnce(ctx context.Context, o *options) (*runResult, error) {
	e := &env{o: o, format: decode.FormatQuote, loadCPU: -1, log: newLogger(o.Verbose)}
	rep := &perf.Report{
		Title:       "mdperf run",
		Started:     time.Now(),
		Profile:     o.Profile,
		Rate:        o.Rate,
		DurationS:   o.Duration.Seconds(),
		WarmupS:     o.Warmup.Seconds(),
		Channels:    o.Channels,
		Instruments: o.Instruments,
		LossRate:    o.Loss,
		IntervalS:   o.interval().Seconds(),
	}
	if o.Replay != "" {
		r, err := perf.LoadReplay(o.Replay)
		if err != nil {
			return nil, fmt.Errorf("-replay: %w", err)
		}
		e.replay, e.format = r, decode.FormatITCH
		rep.Replay = fmt.Sprintf("%s (%d ITCH messages from a %s, looped; timestamps replaced by intended send times)", o.Replay, r.Len(), r.Source)
		rep.Instruments = 0
	}
	if o.Profile == profileLowLatency {
		l, err := affinity.DefaultLayout()
		if err != nil || l.Load == affinity.NoCPU {
			rep.Notes = append(rep.Notes, fmt.Sprintf("low-latency profile without a CPU of its own for the load agent (%v): it runs unpinned", l))
		} else {
			e.loadCPU = l.Load
			rep.Notes = append(rep.Notes, fmt.Sprintf("low-latency layout: %v; the daemon's inline agent and mdperf's load agent (generator, subscriber receive, consumer) each spin on their CPU", l))
		}
	} else {
		rep.Notes = append(rep.Notes, "default profile: nothing spins while idle; the daemon's agent keeps polling for agents.spin (50 µs by default) after its last datagram, then parks in poll(2); mdperf's load agent (generator, subscriber receive, consumer in one loop) parks in ppoll(2) on the subscriber's sockets until a datagram arrives or the next message is due")
	}
	if o.Loss > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%.3g%% of packets dropped on the daemon path's subscriber receive path (seed %d); the baseline has no loss injected", 100*o.Loss, loadSeed))
	}

	res := &runResult{report: rep}
	dp, err := e.daemonPath()
	if err != nil {
		return nil, err
	}
	o.say("%s: %s msg/s for %v after %v warm-up, profile %s", dp.name, group(uint64(o.Rate)), o.Duration, o.Warmup, o.Profile)
	var mach perf.Machine
	res.daemonRec, rep.Path, mach, err = measurePath(ctx, dp, o, e.loadCPU)
	rep.Notes = append(rep.Notes, dp.notes...)
	if cerr := dp.close(); err == nil && cerr != nil {
		err = fmt.Errorf("daemon path shutdown: %w", cerr)
	}
	if err != nil {
		return nil, err
	}
	rep.Machine = mach
	if o.Baseline {
		bp, err := e.baselinePath()
		if err != nil {
			return nil, err
		}
		o.say("%s: same load straight to a multicast group", bp.name)
		var base perf.Path
		res.baseRec, base, _, err = measurePath(ctx, bp, o, e.loadCPU)
		rep.Notes = append(rep.Notes, bp.notes...)
		if cerr := bp.close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		rep.Baseline = &base
	}
	rep.Derive()
	return res, nil
}

// measurePath measures a path and keeps its recorder.
func measurePath(ctx context.Context, p *path, o *options, loadCPU int) (*perf.Recorder, perf.Path, perf.Machine, error) {
	res, mach, err := measure(ctx, p, o, loadCPU)
	return p.rec, res, mach, err
}
