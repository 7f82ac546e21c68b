package subscriber

import "math/rand/v2"

// gap is one hole being repaired: sequences from..to inclusive.
type gap struct {
	from, to uint64
	detectNs int64  // when the hole was seen; the deadline counts from here
	actionNs int64  // next request time, once declared
	delayNs  int64  // current retry delay
	sentNs   int64  // first request since the hole was seen or last shrank
	declared bool   // reorder wait over: requests are due
	requests uint32 // requests since the hole was seen or last shrank
}

// GapDetector tracks the holes of one channel and decides when to re-request
// them and when to give up, in the shape of Aeron's LossDetector: time is
// passed in (nowNs, compared by subtraction so wrap-around is harmless), the
// jitter comes from an injected random source, and the gap records are
// allocated once.
//
// A hole is declared (due for a request) when it is older than
// Reorder.MaxWait or more than Reorder.MaxDistance messages have arrived
// beyond it, whichever is first. Its first request goes out after a random
// 0.5-1.5 x Retransmit.BaseDelay, a retry RetryDelay (or twice the measured
// request round trip, if longer) later, then at delays multiplied by Backoff
// up to MaxDelay, until Retransmit.Deadline after the hole was seen; then Expire
// hands it back as lost. A hole that is partly filled by a retransmission is
// re-requested for the rest at once: the daemon answers one packet per
// request, so a hole larger than a packet is fetched at the round-trip rate;
// such progress also restarts the hole's deadline.
//
// Holes are disjoint and kept in sequence order. When all records are in
// use, a new hole is merged into the last one and a split is skipped: the
// detector then asks for some sequences it already has (answered as
// duplicates) rather than ever forgetting one it lacks.
//
// A GapDetector is not safe for concurrent use; no method allocates.
type GapDetector struct {
	gaps []gap // len = holes tracked; cap = the fixed number of records

	maxWait, baseNs, retryNs, maxDelay, deadline int64
	maxDistance                                  uint64
	backoff                                      float64
	maxRequest                                   uint16
	rnd                                          *rand.Rand

	srtt   int64  // smoothed request round trip (0 until measured)
	merged uint64 // holes merged for want of a record
}

// NewGapDetector returns a detector for the given limits (zero fields take
// the package defaults) drawing jitter from rnd.
func NewGapDetector(reorder ReorderConfig, rt RetransmitConfig, rnd *rand.Rand) *GapDetector {
	c := Config{Reorder: reorder, Retransmit: rt}.withDefaults()
	return &GapDetector{
		gaps:        make([]gap, 0, c.Reorder.MaxGaps),
		maxWait:     int64(c.Reorder.MaxWait),
		maxDistance: c.Reorder.MaxDistance,
		baseNs:      int64(c.Retransmit.BaseDelay),
		retryNs:     int64(c.Retransmit.RetryDelay),
		maxDelay:    int64(c.Retransmit.MaxDelay),
		deadline:    int64(c.Retransmit.Deadline),
		backoff:     c.Retransmit.Backoff,
		maxRequest:  c.Retransmit.MaxRequest,
		rnd:         rnd,
	}
}

// Len returns the number of holes being repaired.
func (d *GapDetector) Len() int { return len(d.gaps) }

// Merged returns how many holes were merged into another for want of a record.
func (d *GapDetector) Merged() uint64 { return d.merged }

// Front returns the lowest hole.
func (d *GapDetector) Front() (from, to uint64, ok bool) {
	if len(d.gaps) == 0 {
		return 0, 0, false
	}
	return d.gaps[0].from, d.gaps[0].to, true
}

// Reset forgets every hole (a new session).
func (d *GapDetector) Reset() { d.gaps = d.gaps[:0] }

// Add records the hole from..to seen at nowNs. It must lie above every
// tracked hole; adjacent or overlapping it is merged into the last one.
func (d *GapDetector) Add(from, to uint64, nowNs int64) { d.add(from, to, nowNs, false) }

// AddUrgent records a hole that is requested at once, without the reorder
// wait or the jitter (the history asked for on a late join).
func (d *GapDetector) AddUrgent(from, to uint64, nowNs int64) { d.add(from, to, nowNs, true) }

func (d *GapDetector) add(from, to uint64, nowNs int64, urgent bool) {
	if to < from {
		return
	}
	if n := len(d.gaps); n > 0 {
		last := &d.gaps[n-1]
		if from <= last.to+1 || n == cap(d.gaps) {
			if n == cap(d.gaps) && from > last.to+1 {
				d.merged++
			}
			last.to = max(last.to, to)
			return
		}
	}
	g := gap{from: from, to: to, detectNs: nowNs}
	if urgent {
		g.declared, g.actionNs, g.delayNs = true, nowNs, d.retryNs
	}
	d.gaps = append(d.gaps, g)
}

// Fill removes from..to (data arrived, or was given up) from the holes and
// returns how many sequences of holes it covered. A declared hole that is
// only partly filled is re-requested for the rest at the next Poll.
func (d *GapDetector) Fill(from, to uint64, nowNs int64) (covered uint64) {
	if to < from {
		return 0
	}
	for i := 0; i < len(d.gaps); i++ {
		g := &d.gaps[i]
		if g.to < from {
			continue
		}
		if g.from > to {
			break
		}
		lo, hi := max(g.from, from), min(g.to, to)
		covered += hi - lo + 1
		if g.requests == 1 {
			// An answer to a single request: an unambiguous round trip
			// (Karn's rule: after a retry we cannot tell which one it
			// answers).
			d.sampleRTT(nowNs - g.sentNs)
		}
		switch {
		case from <= g.from && to >= g.to: // whole hole
			d.gaps = append(d.gaps[:i], d.gaps[i+1:]...)
			i--
			continue
		case from <= g.from: // left part
			g.from = to + 1
		case to >= g.to: // right part
			g.to = from - 1
		default: // middle: split if a record is free
			if len(d.gaps) == cap(d.gaps) {
				// Keep the whole hole: over-asking is harmless.
				covered -= hi - lo + 1
				continue
			}
			right := *g
			right.from = to + 1
			g.to = from - 1
			d.gaps = append(d.gaps, gap{})
			copy(d.gaps[i+2:], d.gaps[i+1:])
			d.gaps[i+1] = right
			g = &d.gaps[i]
		}
		if g.declared && g.requests > 0 {
			// Progress: ask for the rest now, restart the retry backoff,
			// and count the deadline from here, so a hole larger than
			// one answer is not given up while answers still arrive.
			g.actionNs, g.detectNs, g.delayNs, g.requests = nowNs, nowNs, d.retryNs, 0
		}
	}
	return covered
}

// sampleRTT folds one round trip into the smoothed estimate (EWMA 1/8).
func (d *GapDetector) sampleRTT(ns int64) {
	if ns <= 0 {
		return
	}
	if d.srtt == 0 {
		d.srtt = ns
		return
	}
	d.srtt += (ns - d.srtt) / 8
}

// RTT returns the smoothed request round trip measured so far (0 before
// the first unambiguous answer).
func (d *GapDetector) RTT() int64 { return d.srtt }

// Poll declares holes whose reorder wait is over and calls send for every
// request due at nowNs, at most MaxRequest sequences each. highest is one
// past the highest sequence received. It returns the number of requests.
func (d *GapDetector) Poll(nowNs int64, highest uint64, send func(from uint64, count uint16)) int {
	sent := 0
	for i := range d.gaps {
		g := &d.gaps[i]
		if !g.declared {
			if nowNs-g.detectNs < d.maxWait && !(highest > g.to+1 && highest-(g.to+1) > d.maxDistance) {
				continue
			}
			g.declared = true
			g.delayNs = d.retryNs
			g.actionNs = nowNs + d.jitter()
		}
		if nowNs-g.actionNs < 0 || nowNs-(g.detectNs+d.deadline) >= 0 {
			continue
		}
		n := g.to - g.from + 1
		if n > uint64(d.maxRequest) {
			n = uint64(d.maxRequest)
		}
		send(g.from, uint16(n))
		sent++
		if g.requests == 0 {
			g.sentNs = nowNs
		}
		g.requests++
		// Retry no sooner than twice the measured round trip: answers
		// that are merely slow (a loaded daemon) are not asked for twice.
		g.actionNs = nowNs + min(max(g.delayNs, 2*d.srtt), d.maxDelay)
		g.delayNs = min(int64(float64(g.delayNs)*d.backoff), d.maxDelay)
	}
	return sent
}

// jitter returns a random delay in [0.5, 1.5] x BaseDelay.
func (d *GapDetector) jitter() int64 {
	if d.baseNs <= 0 {
		return 0
	}
	return d.baseNs/2 + d.rnd.Int64N(d.baseNs+1)
}

// Expire removes and returns the lowest hole if its deadline has passed at
// nowNs. Holes are delivered in sequence order, so a later hole whose
// deadline passed waits (unrequested) until the lowest one is settled.
func (d *GapDetector) Expire(nowNs int64) (from, to uint64, ok bool) {
	if len(d.gaps) == 0 || nowNs-(d.gaps[0].detectNs+d.deadline) < 0 {
		return 0, 0, false
	}
	g := d.gaps[0]
	d.gaps = append(d.gaps[:0], d.gaps[1:]...)
	return g.from, g.to, true
}

// NextDeadline returns the earliest time at which Poll or Expire has work,
// and false when no hole is tracked. Idle strategies use it to bound a park.
func (d *GapDetector) NextDeadline() (int64, bool) {
	if len(d.gaps) == 0 {
		return 0, false
	}
	next := d.gaps[0].detectNs + d.deadline
	for i := range d.gaps {
		g := &d.gaps[i]
		t := g.actionNs
		if !g.declared {
			t = g.detectNs + d.maxWait
		}
		if t-next < 0 {
			next = t
		}
	}
	return next, true
}
