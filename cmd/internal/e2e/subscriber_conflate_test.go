package e2e

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"mdcast/subscriber"
)

// TestSubscriberConflatingConsumerStall: through the daemon, a Conflate
// consumer with a small ring stops reading for one second while 40k quotes
// on 16 instruments stream by; a second consumer of the same subscriber
// reads everything. The fast one must see every quote in order; the
// conflating one must end with the latest quote of every instrument, see
// each instrument's quotes in increasing order, get no Loss, and count the
// quotes it skipped as conflated.
func TestSubscriberConflatingConsumerStall(t *testing.T) {
	const n = 40_000
	const instruments = 16
	c := testConfig(t, 1)
	c.Feed.Lines[0].RcvBuf = 32 << 20
	d := startDaemon(t, c)
	sc := d.SubscriberConfig()
	s, cols := loopbackSubscriber(t, sc, n, subscriber.ConsumerConfig{Name: "fast", RingSize: 1 << 17})
	conf, err := s.NewConsumer(subscriber.ConsumerConfig{Name: "conflate", RingSize: 256, Policy: subscriber.Conflate})
	if err != nil {
		t.Fatal(err)
	}
	// latest[instrument] = id of the last quote of that instrument
	latest := make(map[uint32]uint64)
	for id := 1; id <= n; id++ {
		latest[uint32(id%instruments)] = uint64(id)
	}

	var mu sync.Mutex
	last := map[uint32]uint64{}
	var violations []string
	var got, events int
	first := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		stalled := false
		done <- conf.Run(ctx, func(batch []subscriber.Message) {
			mu.Lock()
			for i := range batch {
				m := &batch[i]
				if m.Kind != subscriber.Data {
					events++
					continue
				}
				q, err := m.Quote()
				if err != nil {
					violations = append(violations, err.Error())
					continue
				}
				if id := q.ExchangeTime(); id <= last[q.Instrument()] {
					violations = append(violations, "instrument went back")
				} else {
					last[q.Instrument()] = id
				}
				got++
			}
			mu.Unlock()
			if !stalled {
				stalled = true
				close(first)
				time.Sleep(time.Second) // the scenario: stop reading for 1 s
			}
		})
	}()

	pkts := stampedPackets(feedSession, 1, 1, n, 20, instruments)
	snd := newSender(t)
	feedAddr := netip.MustParseAddrPort(c.Feed.Lines[0].Addr)
	if err := sendRate(snd, pkts[:5], 5, feedAddr); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		data, _, _ := cols[0].counts()
		t.Fatalf("the conflating consumer never got the first quotes (fast consumer: %d; subscriber %+v; daemon feed %+v)",
			data, s.Stats(), d.Stats().Feed)
	}
	start := time.Now()
	if err := sendRate(snd, pkts[5:], 10, feedAddr); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Logf("sending took %v: the stall overlapped only part of the stream", el)
	}
	fast := cols[0]
	waitFor(t, 30*time.Second, "the fast consumer to get every quote", func() bool { data, _, _ := fast.counts(); return data >= n })
	fast.check(t)
	if data, lost, _ := fast.counts(); data != n || lost != 0 || fast.missing(1, n) != 0 {
		t.Fatalf("fast consumer: data %d lost %d missing %d", data, lost, fast.missing(1, n))
	}
	waitFor(t, 30*time.Second, "the conflating consumer to get every instrument's latest quote", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for inst, id := range latest {
			if last[inst] != id {
				return false
			}
		}
		return true
	})
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	st := conf.Stats()
	t.Logf("conflate consumer: %d quotes delivered of %d, %d conflated, %d events; stats %+v", got, n, st.Conflated, events, st)
	if len(violations) > 0 {
		t.Fatalf("conflate consumer: %v", violations[:min(5, len(violations))])
	}
	if st.Conflated == 0 || st.Dropped != 0 || uint64(got)+st.Conflated != n {
		t.Errorf("conflate consumer: delivered %d + conflated %d != %d, dropped %d", got, st.Conflated, n, st.Dropped)
	}
}
