// Package affinity pins the calling OS thread to a CPU, reports which CPUs
// the process may use and the machine's topology, and says where a
// busy-spinning agent should run on this machine.
//
// # Pinning
//
// Linux affinity is per thread, and a goroutine moves between threads
// unless it is locked to one, so the caller locks first:
//
//	runtime.LockOSThread()
//	defer runtime.UnlockOSThread()
//	if err := affinity.Pin(layout.Agent); err != nil { ... }
//
// A pinned thread handed back to the Go scheduler would keep its mask and
// run unrelated goroutines on one CPU: call Unpin before UnlockOSThread, or
// return from the goroutine without unlocking so the runtime discards the
// thread.
//
// # Where to spin (DESIGN.md section 5)
//
// A busy-polling agent removes the 10-25 µs cost of waking a thread on an
// idle vCPU, but it owns its CPU completely. On this 2-core machine at most
// one agent may spin per core: two spinning agents plus the load generator
// on 2 cores produce millisecond tails. DefaultLayout therefore gives the
// daemon's inline agent (receive, route, frame, send) the last allowed CPU
// (CPU 0 usually takes more interrupt and housekeeping work) and mdperf's
// load agent a CPU on a different physical core, and leaves nothing spare
// on 2 cores: which is why the default profile does not spin at all and the
// low-latency profile is opt-in.
//
// # Concurrency and allocation
//
// Pin and Unpin act on the calling thread only. CPUs, Detect and
// DefaultLayout read kernel state and allocate; none is for a hot path.
package affinity
