// Command mdperf measures mdcast end to end: an open-loop generator sends
// quotes at a fixed rate through mdcastd to a subscriber (the real library),
// then the same load straight to a multicast group the same subscriber
// joins, and it reports one-way latency percentiles (from each message's
// intended send time to the consumer callback), loss, and the daemon's cost
// against that direct kernel path, as a text table, JSON, .hgrm and a
// self-contained HTML page.
//
// Usage:
//
//	mdperf run   [-rate 100000] [-duration 10s] [-profile default|low-latency] [-json F] [-html F] [-hgrm F] ...
//	mdperf sweep [-rates 10k,50k,...] [-duration 3s] [-html F] [-json F] ...
//
// Without -daemon, run starts mdcastd in-process with its defaults on
// loopback (free ports and fresh groups, so it never collides with a running
// mdcastd); with -daemon FILE it sends to the feed and joins the channels of
// the running daemon that FILE configures.
//
// Both paths run mdperf's load agent (DESIGN.md section 5): one loop on one
// thread sends the messages that are due (perf.Generator.DoWork), runs the
// subscriber's receive path (Subscriber.DoWork) and drains the consumer
// (Consumer.Poll). In the default profile nothing spins: the daemon's agent
// parks in poll(2) and the load agent in ppoll(2) on the subscriber's
// sockets until a datagram arrives or the next message is due. The
// low-latency profile spins the daemon's inline agent on one CPU and the
// load agent on the other. The baseline differs from the daemon path only
// by the daemon.
//
// Allocations, GC cycles and CPU time are those of the whole mdperf process
// over the measured interval: with the in-process daemon that includes it.
// Every report states how busy the rest of the machine was.
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
