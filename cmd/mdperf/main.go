// Command mdperf measures mdcast end to end: an open-loop generator sends
// quotes at a fixed rate through mdcastd to a subscriber, and the same load
// straight to a multicast group the same subscriber joins, and it reports
// one-way latency percentiles, loss and the daemon's cost against that
// direct kernel path, as text, JSON, .hgrm and an HTML page.
//
// Usage:
//
//	mdperf run   [-rate N] [-duration D] [-profile default|low-latency] [-json F] [-html F] [-hgrm F] ...
//	mdperf sweep [-rates 10000,100000,...] [-duration D] [-html F] [-json F] ...
//
// Without -daemon, run starts mdcastd in-process with its defaults on
// loopback (free ports, so it never collides with a running mdcastd).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage: mdperf run   [flags]   measure one rate (see mdperf run -h)
       mdperf sweep [flags]   measure a list of rates until loss begins (see mdperf sweep -h)
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(ctx, os.Args[2:])
	case "sweep":
		err = cmdSweep(ctx, os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "mdperf: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "mdperf: %v\n", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "mdperf: %v\n", err)
		os.Exit(1)
	}
}

// usageError is a bad flag or argument (exit status 2).
type usageError struct{ error }
