// Command mdtail follows mdcast channels (or replays a capture) and prints
// one decoded message per line, like tcpdump for market data.
//
// Usage:
//
//	mdtail -config mdcastd.toml                       # every channel of a daemon's config
//	mdtail -channel 239.255.0.1:31001,request=127.0.0.1:32001 [-channel ...] [-i lo]
//	mdtail -r capture.pcap                            # pcap/pcapng of MoldUDP64, or a BinaryFILE
//
// Filters: -instrument (stock locate, quote instrument id or ITCH symbol)
// and -type (message type letters). Output: readable lines (default), -json
// (one object per message), -stats (per-channel rates, gaps and recoveries
// every second on stderr), -summary-json (one object at the end), -q (no
// per-message output). mdtail stops at SIGINT/SIGTERM, after -n messages,
// after -duration, or at the end of the file.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	opts, err := parseOptions(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, errHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "mdtail: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "mdtail: %v\n", err)
		os.Exit(1)
	}
}
