// Package perf generates open-loop load, records latency in HdrHistograms and
// renders reports.
//
// It is the engine of mdperf (DESIGN.md sections 1 and 5): a Generator
// drives a feed at a fixed rate, a Recorder per consuming goroutine records
// one-way latency, and a Report, plain data, carries the result of a run to
// its renderers (text table, JSON, .hgrm and a self-contained HTML page).
//
// # Load without coordinated omission
//
// The Generator is open loop. Message i (from 0) is due at start + i/rate,
// computed in exact integer arithmetic, and carries that intended send time
// (synthetic quotes in their SendTime field; replayed ITCH messages in their
// timestamp, see Stamp). Latency is measured from the intended time, so a
// stall in the sender, the kernel, the daemon or the subscriber delays every
// message behind it and shows up in the percentiles instead of quietly
// lowering the load. DoWork sends every message that has come due, packed
// into MoldUDP64 datagrams up to a payload budget: at high rates many
// messages share a datagram (one sending core manages ~250k datagrams/s on
// loopback, so throughput comes from packing), at low rates each message
// goes alone as soon as it is due. DoWork runs inside a caller's agent loop
// (mdperf's load agent, beside the subscriber's receive path); Run is a
// blocking sender for a thread of its own, sleeping between due times in
// clock_nanosleep with a 1 ns timer slack (the Go runtime's timers can
// oversleep by a millisecond on an idle process, which would be charged to
// every message).
//
// # Recording
//
// A Recorder wraps an HdrHistogram from 1 ns to 10 s with 3 significant
// figures and, optionally, a time series of per-interval histograms sized
// up front for the run. Values outside the range are clamped into it and
// counted, so recording never fails and nothing vanishes from the
// percentiles. Use one Recorder per goroutine and Merge them at the end.
//
// # Concurrency and allocation
//
// Generator and Recorder belong to one goroutine each (Generator.Stats may
// be read from any). Generator.DoWork, Recorder.Record, Recorder.RecordAt
// and Stamp.SentAt never allocate; the tests prove it with
// testing.AllocsPerRun and the benchmarks report it. Constructors, Merge,
// summaries and renderers allocate and belong outside the measured loop.
//
// # A run in outline
//
//	rec, _ := perf.NewRecorder(perf.RecorderConfig{Interval: time.Second, Span: 10 * time.Second})
//	gen, _ := perf.NewGenerator(perf.GeneratorConfig{Rate: 100_000, Dst: feed}, sender)
//	stamp := gen.Stamp()
//	gen.Start(clock.Nanotime())
//	rec.Reset(clock.Nanotime())
//	// one loop: gen.DoWork(now); for each message the subscriber delivers:
//	//     if sent, ok := stamp.SentAt(msg); ok { rec.RecordAt(now, now-sent) }
//	var r perf.Report
//	r.Path.FillLatency(rec, 10*time.Second)
//	r.Derive()
//	r.WriteText(os.Stdout)
package perf
