// Command mdcastd is the mdcast daemon: it receives exchange feeds,
// republishes every message to multicast channels, answers retransmission
// requests and exports its counters over HTTP.
//
// With no -config it runs the built-in default, which touches only
// loopback: a quote feed on 127.0.0.1:31000, four channels on
// 239.255.0.1-4 through lo, re-requests on 127.0.0.1:31201-31204 and HTTP
// on 127.0.0.1:9180.
//
//	mdcastd [-config FILE] [-print-config] [-profile default|low-latency] [-http ADDR] [-feed ADDR]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"mdcast/cmd/internal/daemon"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mdcastd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		configPath  = fs.String("config", "", "TOML configuration `file` (default: built-in loopback configuration)")
		printConfig = fs.Bool("print-config", false, "print the effective configuration and exit")
		profile     = fs.String("profile", "", "agent profile: default (park in poll(2) when idle) or low-latency (busy-poll on a pinned CPU)")
		httpAddr    = fs.String("http", "", "HTTP `addr` for /metrics, /stats and /debug/pprof, or \"off\"")
		feedAddr    = fs.String("feed", "", "ip:port of the feed's line A (overrides the configuration)")
		logLevel    = fs.String("log-level", "", "log level: debug, info, warn or error")
		logFormat   = fs.String("log-format", "", "log format: text or json")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mdcastd: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	var cfg daemon.Config
	if *configPath != "" {
		var err error
		if cfg, err = daemon.Load(*configPath); err != nil {
			fmt.Fprintf(stderr, "mdcastd: config: %v\n", err)
			return 2
		}
	}
	if *profile != "" {
		cfg.Profile = *profile
	}
	if *httpAddr != "" {
		cfg.HTTP.Addr = *httpAddr
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	cfg = cfg.WithDefaults()
	if *feedAddr != "" {
		cfg.Feed.Lines[0].Addr = *feedAddr
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "mdcastd: config: %v\n", err)
		return 2
	}
	if *printConfig {
		b, err := cfg.TOML()
		if err != nil {
			fmt.Fprintf(stderr, "mdcastd: %v\n", err)
			return 1
		}
		_, _ = stdout.Write(b)
		return 0
	}

	log := daemon.NewLogger(cfg.Log, stderr)
	slog.SetDefault(log) // the packages log their state changes through it
	d, err := daemon.New(cfg, log)
	if err != nil {
		log.Error("cannot build the daemon", "err", err)
		if daemon.IsConfigError(err) {
			return 2
		}
		return 1
	}
	if err := d.Start(); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	log.Info("shutting down", "signal", s.String())
	// A second signal cuts the grace period short.
	ctx, cancel := context.WithTimeout(context.Background(), d.Config().Publish.Grace+5*time.Second)
	go func() {
		select {
		case <-sig:
			log.Warn("second signal: skipping the rest of the grace period")
			cancel()
		case <-ctx.Done():
		}
	}()
	err = d.Shutdown(ctx)
	cancel()
	if err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}
