package main

import (
	"sync/atomic"
	"time"

	"mdcast/perf"
	"mdcast/subscriber"
)

// meter is the consumer side of a path: it reads each delivered message's
// intended send time and records now - intended for the messages intended
// inside the measured window [from, to). It belongs to the goroutine that
// consumes (the load agent or the consumer's Run); the atomics let the main
// goroutine print progress and decide when the path has drained.
type meter struct {
	rec      *perf.Recorder
	stamp    perf.Stamp
	from, to int64 // measured window of intended send times

	count    int64  // messages recorded (intended inside the window)
	total    uint64 // data messages seen, warm-up included
	lossSeqs uint64 // sequences reported lost (Loss events), warm-up included
	foreign  uint64 // data messages without a readable stamp
	nextPub  int64

	pubCount atomic.Int64
	pubTotal atomic.Uint64
	pubLoss  atomic.Uint64
	pubP99   atomic.Int64
}

// progressEvery is how often the consumer publishes its p99 so far (one
// histogram scan, a few microseconds, once a second).
const progressEvery = int64(time.Second)

func newMeter(rec *perf.Recorder, stamp perf.Stamp, from, to int64) *meter {
	return &meter{rec: rec, stamp: stamp, from: from, to: to, nextPub: from}
}

// consume records one batch delivered at nowNs. It does not allocate.
func (m *meter) consume(batch []subscriber.Message, nowNs int64) {
	for i := range batch {
		msg := &batch[i]
		switch msg.Kind {
		case subscriber.Data:
			m.total++
			sent, ok := m.stamp.SentAt(msg.Bytes())
			if !ok {
				m.foreign++
				continue
			}
			if sent < m.from || sent >= m.to {
				continue // warm-up (or a stray from before this path)
			}
			m.rec.RecordAt(nowNs, nowNs-sent)
			m.count++
		case subscriber.LossEvent:
			// An upstream loss notice takes a channel sequence but loses
			// none; what the daemon lost shows in Received < Sent and in
			// the subscriber's notes (subscriberNotes).
			if l := msg.Loss(); l.Reason != subscriber.Upstream {
				m.lossSeqs += l.Count()
			}
		}
	}
	m.pubCount.Store(m.count)
	m.pubTotal.Store(m.total)
	m.pubLoss.Store(m.lossSeqs)
	if nowNs-m.nextPub >= 0 {
		m.pubP99.Store(m.rec.Quantile(99))
		m.nextPub = nowNs + progressEvery
	}
}
