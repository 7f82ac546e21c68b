package subscriber

import (
	"math/rand/v2"
	"testing"
	"time"
)

const us = int64(time.Microsecond)

type sent struct {
	at    int64
	from  uint64
	count uint16
}

func testDetector(seed uint64, maxGaps int) *GapDetector {
	return NewGapDetector(
		ReorderConfig{MaxWait: 100 * time.Microsecond, MaxDistance: 10, MaxGaps: maxGaps},
		RetransmitConfig{BaseDelay: 200 * time.Microsecond, RetryDelay: time.Millisecond, Backoff: 2,
			MaxDelay: 4 * time.Millisecond, Deadline: 20 * time.Millisecond, MaxRequest: 5},
		rand.New(rand.NewPCG(seed, 1)))
}

// run polls d every microsecond from 'from' to 'to' and records requests.
func run(d *GapDetector, from, to int64, highest uint64) []sent {
	var out []sent
	for now := from; now <= to; now += us {
		d.Poll(now, highest, func(f uint64, c uint16) { out = append(out, sent{now, f, c}) })
	}
	return out
}

func TestGapDetectorSchedule(t *testing.T) {
	d := testDetector(1, 0)
	d.Add(10, 19, 0)
	if got := run(d, 0, 99*us, 21); len(got) != 0 {
		t.Fatalf("requests during the reorder wait: %v", got)
	}
	got := run(d, 100*us, 19*time.Millisecond.Nanoseconds(), 21)
	if len(got) < 5 {
		t.Fatalf("requests %v", got)
	}
	// first: reorder wait (100 us) + jitter 0.5-1.5 x 200 us
	if got[0].at < 200*us || got[0].at > 400*us || got[0].from != 10 || got[0].count != 5 {
		t.Errorf("first request %+v", got[0])
	}
	// then RetryDelay, doubling up to MaxDelay
	wantGaps := []int64{1000 * us, 2000 * us, 4000 * us, 4000 * us}
	for i, w := range wantGaps {
		if gap := got[i+1].at - got[i].at; gap != w {
			t.Errorf("request %d came %dus after the previous, want %dus", i+1, gap/us, w/us)
		}
	}
	if _, _, ok := d.Expire(20*time.Millisecond.Nanoseconds() - 1); ok {
		t.Error("expired before the deadline")
	}
	from, to, ok := d.Expire(20 * time.Millisecond.Nanoseconds())
	if !ok || from != 10 || to != 19 || d.Len() != 0 {
		t.Errorf("Expire = %d, %d, %v; len %d", from, to, ok, d.Len())
	}
}

func TestGapDetectorPartialFillRequestsRest(t *testing.T) {
	d := testDetector(2, 0)
	d.Add(10, 19, 0)
	got := run(d, 0, 500*us, 20)
	if len(got) != 1 {
		t.Fatalf("requests %v", got)
	}
	if n := d.Fill(10, 14, 600*us); n != 5 {
		t.Errorf("Fill covered %d, want 5", n)
	}
	got = run(d, 600*us, 600*us, 20)
	if len(got) != 1 || got[0].from != 15 || got[0].count != 5 {
		t.Errorf("after partial fill: %v, want an immediate request for 15+5", got)
	}
	// The deadline restarted at the fill.
	if _, _, ok := d.Expire(20*time.Millisecond.Nanoseconds() + 500*us); ok {
		t.Error("expired although progress restarted the deadline")
	}
	if _, _, ok := d.Expire(20*time.Millisecond.Nanoseconds() + 600*us); !ok {
		t.Error("not expired at the restarted deadline")
	}
}

func TestGapDetectorDistance(t *testing.T) {
	d := testDetector(3, 0)
	d.Add(30, 30, 0)
	d.Poll(1, 41, func(uint64, uint16) {}) // 10 beyond: still waiting
	if d.gaps[0].declared {
		t.Fatal("declared at distance 10")
	}
	d.Poll(2, 42, func(uint64, uint16) {}) // 11 beyond: declared before MaxWait
	if !d.gaps[0].declared {
		t.Fatal("not declared at distance 11")
	}
}

func TestGapDetectorFillSplitsAndMerges(t *testing.T) {
	d := testDetector(4, 3)
	d.Add(50, 59, 0)
	if n := d.Fill(53, 55, 1); n != 3 {
		t.Errorf("covered %d", n)
	}
	if d.Len() != 2 || d.gaps[0].from != 50 || d.gaps[0].to != 52 || d.gaps[1].from != 56 || d.gaps[1].to != 59 {
		t.Fatalf("after split: %+v", d.gaps)
	}
	d.Add(60, 61, 2) // adjacent: merged
	d.Add(70, 71, 3)
	d.Add(80, 81, 4) // no record left: merged into the last
	if d.Len() != 3 || d.gaps[2].to != 81 || d.Merged() != 1 {
		t.Fatalf("after merge: %+v merged %d", d.gaps, d.Merged())
	}
	// A split with no record free keeps the whole hole.
	if n := d.Fill(72, 75, 5); n != 0 || d.gaps[2].from != 70 || d.gaps[2].to != 81 {
		t.Fatalf("split without a free record: covered %d, %+v", n, d.gaps)
	}
	if n := d.Fill(0, 100, 6); n != 3+6+12 || d.Len() != 0 {
		t.Fatalf("fill all: covered %d, left %+v", n, d.gaps)
	}
}

func TestGapDetectorJitter(t *testing.T) {
	seen := map[int64]bool{}
	for seed := uint64(0); seed < 200; seed++ {
		d := testDetector(seed, 0)
		d.Add(1, 1, 0)
		got := run(d, 0, 500*us, 2)
		if len(got) != 1 || got[0].at < 200*us || got[0].at > 400*us {
			t.Fatalf("seed %d: %v", seed, got)
		}
		seen[got[0].at] = true
	}
	if len(seen) < 50 {
		t.Errorf("only %d distinct first-request times over 200 seeds", len(seen))
	}
	// Same seed, same schedule.
	a, b := testDetector(9, 0), testDetector(9, 0)
	a.Add(1, 1, 0)
	b.Add(1, 1, 0)
	if x, y := run(a, 0, 500*us, 2), run(b, 0, 500*us, 2); x[0] != y[0] {
		t.Errorf("seeded jitter differs: %v %v", x, y)
	}
}

func TestGapDetectorUrgent(t *testing.T) {
	d := testDetector(5, 0)
	d.AddUrgent(1, 100, 0)
	got := run(d, 0, 0, 101)
	if len(got) != 1 || got[0].from != 1 || got[0].count != 5 {
		t.Fatalf("urgent: %v", got)
	}
}

func TestGapDetectorWrapAround(t *testing.T) {
	// Deadlines compare by subtraction: a clock near the int64 limit works.
	d := testDetector(6, 0)
	start := int64(1<<63-1) - int64(time.Millisecond)
	d.Add(1, 1, start)
	if _, _, ok := d.Expire(start + int64(19*time.Millisecond)); ok {
		t.Fatal("expired early across the wrap")
	}
	if _, _, ok := d.Expire(start + int64(20*time.Millisecond)); !ok {
		t.Fatal("not expired across the wrap")
	}
}

func TestGapDetectorRetryFollowsRTT(t *testing.T) {
	d := testDetector(7, 0)
	d.Add(1, 1, 0)
	got := run(d, 0, 500*us, 2)
	if len(got) != 1 {
		t.Fatalf("requests %v", got)
	}
	d.Fill(1, 1, got[0].at+1500*us) // answered after 1.5 ms
	if d.RTT() != 1500*us {
		t.Fatalf("rtt %d", d.RTT())
	}
	d.Add(5, 5, 10_000*us)
	got = run(d, 10_000*us, 16_000*us, 6)
	if len(got) < 2 {
		t.Fatalf("requests %v", got)
	}
	// RetryDelay is 1 ms, twice the round trip 3 ms: the retry waits 3 ms.
	if gap := got[1].at - got[0].at; gap != 3000*us {
		t.Errorf("retry after %dus, want 3000us", gap/us)
	}
	// A retried request's answer is ambiguous: no sample.
	d.Fill(5, 5, got[1].at+100*us)
	if d.RTT() != 1500*us {
		t.Errorf("rtt changed to %d by an ambiguous answer", d.RTT())
	}
}
