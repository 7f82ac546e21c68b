package main

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"mdcast/internal/affinity"
	"mdcast/internal/clock"
	"mdcast/perf"
	"mdcast/ring"
	"mdcast/subscriber"
)

// consumerBatch is the most messages one Poll returns in the load agent.
const consumerBatch = subscriber.DefaultConsumerBatch

// startLead is how far ahead of now the schedule starts, so setup work is
// not charged to the first messages.
const startLead = 20 * time.Millisecond

// path is one measured path: a generator, the subscriber that receives what
// it sends (through the daemon or directly), and its consumer.
type path struct {
	name    string
	gen     *perf.Generator
	sub     *subscriber.Subscriber
	con     *subscriber.Consumer
	scope   string                    // what the runtime figures cover
	close   func() error              // releases everything the path opened
	notes   []string                  // said in the report
	stats   func() (recovered uint64) // subscriber-side recovery count
	rec     *perf.Recorder            // set by measure
	explain func() []string           // after the run: where messages went missing, if anywhere
}

// measure runs one path: warm-up, the measured interval, then a drain of
// the messages still in flight. It returns the path's result and how busy
// the machine was meanwhile.
func measure(ctx context.Context, p *path, o *options, loadCPU int) (perf.Path, perf.Machine, error) {
	// The series also covers the drain, so late arrivals show on the charts.
	rec, err := perf.NewRecorder(perf.RecorderConfig{Interval: o.interval(), Span: o.Duration + o.Drain})
	if err != nil {
		return perf.Path{}, perf.Machine{}, err
	}
	p.rec = rec
	sampler := perf.NewSampler()
	mStart := perf.SampleMachine(sampler)

	start := clock.Nanotime() + int64(startLead)
	from := start + int64(o.Warmup)
	to := from + int64(o.Duration)
	p.gen.Start(start)
	p.gen.StopBefore(to)
	p.gen.SetWindow(p.gen.DueBefore(from), p.gen.DueBefore(to))
	expected := p.gen.DueBefore(to) - p.gen.DueBefore(from)
	m := newMeter(rec, p.gen.Stamp(), from, to)
	rec.Reset(from)
	drainEnd := to + int64(o.Drain)
	ed := &edges{sampler: sampler, from: from, to: to}

	// The load agent runs on its own locked thread; the main goroutine only
	// prints progress and waits.
	var stop atomic.Bool
	done := make(chan error, 1)
	maxPark := defaultMaxPark
	if o.Loss > 0 {
		maxPark = lossMaxPark // re-request timers must fire on time
	}
	go func() {
		done <- loadAgent(p, m, ed, expected, drainEnd, o.Profile == profileLowLatency, loadCPU, maxPark, &stop)
	}()
	nextProgress := start + int64(time.Second)
	pl := &progressLine{buf: make([]byte, 0, 256)}
	var lastTotal uint64
	lastNs := start
	tick := time.NewTimer(time.Duration(nextProgress - clock.Nanotime()))
	defer tick.Stop()
	for finished := false; !finished; {
		select {
		case err = <-done:
			finished = true
			continue
		case <-ctx.Done():
			stop.Store(true)
			<-done
			return perf.Path{}, perf.Machine{}, ctx.Err()
		case <-tick.C:
		}
		now := clock.Nanotime()
		total := m.pubTotal.Load()
		if o.Progress != nil {
			rate := float64(total-lastTotal) / (float64(now-lastNs) / 1e9)
			phase := "warm-up"
			if now >= from {
				phase = "measuring"
			}
			if now >= to {
				phase = "draining"
			}
			pl.buf = pl.line(p.name, now-start, phase, p.gen.Stats().Messages, total, uint64(rate), m.pubP99.Load())
			_, _ = o.Progress.Write(pl.buf)
		}
		lastTotal, lastNs = total, now
		nextProgress += int64(time.Second)
		tick.Reset(time.Duration(nextProgress - clock.Nanotime()))
	}
	if err != nil {
		return perf.Path{}, perf.Machine{}, fmt.Errorf("%s: %w", p.name, err)
	}
	ed.check(max(clock.Nanotime(), to)) // after an early end, sample now
	gst := p.gen.Stats()
	mEnd := perf.SampleMachine(sampler)

	res := perf.Path{Name: p.name}
	res.FillLatency(rec, o.Duration)
	res.Sent = expected
	res.Packets = gst.WindowPackets // the datagrams carrying the window's messages
	res.SendErrors = gst.WindowSendErrors
	if res.Received < res.Sent {
		res.Lost = res.Sent - res.Received
	}
	res.LossEvents = m.lossSeqs
	if p.stats != nil {
		res.Recovered = p.stats()
	}
	res.Runtime = perf.RuntimeBetween(ed.rtFrom, ed.rtTo, p.scope)
	if st := rec.Stats(); st.Underflow+st.Overflow > 0 {
		p.notes = append(p.notes, fmt.Sprintf("%s: %d latencies below 1 ns and %d above 10 s were clamped into the histogram",
			p.name, st.Underflow, st.Overflow))
	}
	if p.explain != nil {
		p.notes = append(p.notes, p.explain()...)
	}
	if m.foreign > 0 {
		p.notes = append(p.notes, fmt.Sprintf("%s: %d delivered messages carried no send stamp", p.name, m.foreign))
	}
	if lag := gst.MaxLagNs; lag > int64(time.Millisecond) {
		p.notes = append(p.notes, fmt.Sprintf("%s: the generator fell up to %s behind its schedule (its messages still carry their intended times)",
			p.name, time.Duration(lag).Round(time.Microsecond)))
	}
	return res, perf.MachineBetween(mStart, mEnd), nil
}

// Park bounds of the default profile's load agent.
const (
	defaultMaxPark = time.Millisecond      // also how late a window edge may be sampled at low rates
	lossMaxPark    = 20 * time.Microsecond // with injected loss: the subscriber's re-request timers
)

// loadAgent is mdperf's load agent (DESIGN.md section 5): on one locked
// thread, one loop sends what the schedule says is due, runs the
// subscriber's receive path (Subscriber.DoWork) and drains the consumer
// (Consumer.Poll), until every expected message has arrived or drainEnd
// passes. In the low-latency profile it spins on its pinned CPU; in the
// default profile it parks in ppoll on the subscriber's sockets until a
// datagram arrives or the next message is due. (Spinning, it gives its CPU
// to other runnable threads every few idle polls: ring.SpinYield.) Both paths of a run use it,
// so the baseline differs from the daemon path only by the daemon.
func loadAgent(p *path, m *meter, ed *edges, expected uint64, drainEnd int64, spin bool, cpu int, maxPark time.Duration, stop *atomic.Bool) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var k *parker
	spinner := ring.NewSpinYield(0) // the low-latency profile's idle step
	if spin {
		if cpu >= 0 {
			if err := affinity.Pin(cpu); err != nil {
				return fmt.Errorf("pin load agent to cpu %d: %w", cpu, err)
			}
			defer func() { _ = affinity.Unpin() }()
		}
	} else {
		k = newParker(p.sub.FDs(), maxPark)
		defer k.close()
	}
	for {
		now := clock.Nanotime()
		ed.check(now)
		work, _ := p.gen.DoWork(now) // send errors are counted in its stats; the schedule goes on
		n, err := p.sub.DoWork(now)
		if err != nil {
			return err
		}
		work += n
		for {
			b := p.con.Poll(consumerBatch)
			if len(b) == 0 {
				break
			}
			m.consume(b, clock.Nanotime())
			work += len(b)
		}
		if p.gen.Done() && uint64(m.count) >= expected {
			return nil
		}
		if now-drainEnd >= 0 || stop.Load() {
			return nil
		}
		if k != nil {
			if work == 0 {
				k.park(min(p.gen.NextDue(), drainEnd), clock.Nanotime())
			}
		} else {
			spinner.Idle(work)
		}
	}
}

// edges samples the process counters at the measured window's edges. It belongs to whoever runs the clock: the load agent in the
// low-latency profile (where the main goroutine may wait for a CPU), the
// main goroutine otherwise.
type edges struct {
	sampler                *perf.Sampler
	from, to               int64
	rtFrom, rtTo           perf.RuntimeSample
	sampledFrom, sampledTo bool
}

// check takes the samples whose edge nowNs has reached. Sampling does not
// allocate (perf.Sampler), so it does not show in the window it measures.
func (e *edges) check(nowNs int64) {
	if !e.sampledFrom && nowNs-e.from >= 0 {
		e.rtFrom, e.sampledFrom = e.sampler.Sample(), true
	}
	if !e.sampledTo && nowNs-e.to >= 0 {
		e.rtTo, e.sampledTo = e.sampler.Sample(), true
	}
}
