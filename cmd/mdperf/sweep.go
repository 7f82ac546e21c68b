package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"mdcast/perf"
)

// defaultRates climb from an easy load to past the throughput bar
// (DESIGN.md: >= 2M quotes/s with zero loss).
const defaultRates = "10k,50k,100k,250k,500k,1M,2M,3M"

// cmdSweep is `mdperf sweep`.
func cmdSweep(ctx context.Context, args []string) error {
	o := &options{Progress: os.Stderr}
	var ratesFlag, jsonFile, htmlFile string
	var keepGoing bool
	fs := flag.NewFlagSet("mdperf sweep", flag.ContinueOnError)
	fs.StringVar(&ratesFlag, "rates", defaultRates, "increasing rates to run (messages/s; k and M suffixes)")
	fs.DurationVar(&o.Duration, "duration", 3*time.Second, "measured interval per rate")
	o.addCommon(fs)
	fs.BoolVar(&keepGoing, "keep-going", false, "run every rate even after loss begins")
	fs.StringVar(&jsonFile, "json", "", "write the sweep as JSON to this file")
	fs.StringVar(&htmlFile, "html", "", "write the sweep chart (p50/p99 against rate) as an HTML page to this file")
	// A sweep step is short: a shorter warm-up by default.
	if err := fs.Set("warmup", "1s"); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	rates, err := parseRates(ratesFlag)
	if err != nil {
		return usageError{err}
	}
	o.Rate = rates[0]
	if err := o.validate(); err != nil {
		return usageError{err}
	}
	// The packages log setup and state changes through slog's default
	// logger; mdperf's output is the report, so they log at warn unless -v.
	slog.SetDefault(newLogger(o.Verbose))
	o.setGOMAXPROCS()
	sw := &perf.Sweep{Title: "mdperf sweep", Profile: o.Profile, DurationS: o.Duration.Seconds()}
	for _, rate := range rates {
		step := *o
		step.Rate = rate
		res, err := runOnce(ctx, &step)
		if err != nil {
			return fmt.Errorf("rate %g: %w", rate, err)
		}
		lossy := sw.Add(res.report)
		st := sw.Steps[len(sw.Steps)-1]
		o.say("== rate %s: achieved %s msg/s, lost %d, p50 %s p99 %s (baseline p50 %s p99 %s)\n",
			group(uint64(rate)), group(uint64(st.AchievedRate)), st.Lost, micros(st.Latency.P50), micros(st.Latency.P99),
			baseMicros(st.Baseline, false), baseMicros(st.Baseline, true))
		if lossy {
			for _, n := range res.report.Notes {
				if strings.Contains(n, "lost") || strings.Contains(n, "dropped") {
					sw.Notes = append(sw.Notes, fmt.Sprintf("at %s msg/s: %s", group(uint64(rate)), n))
				}
			}
		}
		if lossy && !keepGoing {
			sw.Notes = append(sw.Notes, fmt.Sprintf("stopped at %s msg/s: the daemon path lost %d of %d messages", group(uint64(rate)), st.Lost, st.Sent))
			break
		}
	}
	if err := sw.WriteText(os.Stdout); err != nil {
		return err
	}
	if jsonFile != "" {
		if err := writeFile(jsonFile, sw.WriteJSON); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", jsonFile)
	}
	if htmlFile != "" {
		if err := writeFile(htmlFile, sw.WriteHTML); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", htmlFile)
	}
	return nil
}

func baseMicros(l *perf.Latency, p99 bool) string {
	switch {
	case l == nil:
		return "-"
	case p99:
		return micros(l.P99)
	}
	return micros(l.P50)
}
