package subscriber_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"mdcast/subscriber"
)

// TestSlowConsumer has three consumers on one channel: "fast" reads all the
// time; "drop" (DropOldest) and "conflate" (Conflate) stop reading for one
// second while 30k quotes go by, far more than their 1024-slot rings. The
// fast consumer must see every message; drop must see data and SlowConsumer
// losses that together cover every sequence exactly once, in order;
// conflate must end with the latest quote of every instrument.
func TestSlowConsumer(t *testing.T) {
	const total = 30_000
	const instruments = 50
	p := newTestPub(t, "SLOW")
	s, err := subscriber.New(baseConfig(p))
	if err != nil {
		t.Skipf("cannot join loopback multicast: %v", err)
	}
	defer s.Close()
	fast, _ := s.NewConsumer(subscriber.ConsumerConfig{Name: "fast"})
	drop, _ := s.NewConsumer(subscriber.ConsumerConfig{Name: "drop", RingSize: 1024})
	conf, err := s.NewConsumer(subscriber.ConsumerConfig{Name: "conflate", RingSize: 1024, Policy: subscriber.Conflate})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	fastCheck := newStreamCheck()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = fast.Run(ctx, func(b []subscriber.Message) {
			fastCheck.add(b)
			if fastCheck.next.Load() > total {
				cancel()
			}
		})
	}()
	// The slow consumers read the first message, signal, sleep one second,
	// then drain with Poll until the last sequence (or the context ends).
	paused := make(chan struct{}, 2)
	slow := func(c *subscriber.Consumer, out *[]subscriber.Message, complete func([]subscriber.Message) bool) {
		defer wg.Done()
		first := true
		giveUp := time.Now().Add(20 * time.Second)
		for {
			b := c.Poll(64)
			*out = append(*out, b...)
			if first && len(b) > 0 {
				first = false
				paused <- struct{}{}
				time.Sleep(time.Second) // the scenario: stop reading for 1 s
				continue
			}
			if complete(*out) || time.Now().After(giveUp) {
				return
			}
			if len(b) == 0 {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	var dropGot, confGot []subscriber.Message
	wg.Add(2)
	go slow(drop, &dropGot, func(ms []subscriber.Message) bool { return len(ms) > 0 && lastSeq(ms) >= total })
	latest := func(i int) uint64 { return uint64(i) + 1 } // exchange time of quote i
	go slow(conf, &confGot, func(ms []subscriber.Message) bool {
		// complete once the last quote of every instrument has arrived
		n := 0
		for i := range ms {
			if q, err := ms[i].Quote(); err == nil && q.ExchangeTime() > uint64(total-instruments) {
				n++
			}
		}
		return n == instruments
	})

	qs := quotes(total, 1, instruments)
	p.publish(qs[:10], nil)
	for i := 0; i < 2; i++ {
		select {
		case <-paused:
		case <-time.After(10 * time.Second):
			t.Fatal("slow consumers never received the first messages")
		}
	}
	start := time.Now()
	for sent := 10; sent < total; sent += 1000 {
		for uint64(sent)-fastCheck.next.Load() > 5000 && uint64(sent) > fastCheck.next.Load() && ctx.Err() == nil {
			time.Sleep(100 * time.Microsecond)
		}
		p.publish(qs[sent:min(sent+1000, total)], nil)
	}
	p.heartbeat()
	published := time.Since(start)
	wg.Wait()
	if err := fastCheck.failed(); err != nil || fastCheck.next.Load() != total+1 {
		t.Fatalf("fast consumer: %v, got up to %d", err, fastCheck.next.Load()-1)
	}
	if published > time.Second {
		t.Logf("publishing took %v, longer than the pause: the overflow may be smaller", published)
	}

	// drop: every sequence exactly once, as data or inside a SlowConsumer loss.
	next, losses, lost := uint64(1), 0, uint64(0)
	for i := range dropGot {
		m := &dropGot[i]
		switch {
		case m.Kind == subscriber.Data && m.Sequence == next:
			next++
		case m.Kind == subscriber.LossEvent && m.Sequence == next && m.Loss().Reason == subscriber.SlowConsumer:
			next = m.Loss().To + 1
			losses++
			lost += m.Loss().Count()
		default:
			t.Fatalf("drop consumer item %d: %s, want sequence %d", i, describe(m), next)
		}
	}
	if next != total+1 || losses == 0 {
		t.Fatalf("drop consumer: covered up to %d with %d losses", next-1, losses)
	}
	st := drop.Stats()
	t.Logf("drop: %d losses covering %d messages; stats %+v", losses, lost, st)
	if st.Dropped != lost || st.HighWater != 1024 {
		t.Errorf("drop stats %+v, lost %d", st, lost)
	}

	// conflate: no loss events, per instrument increasing, and the last
	// quote of every instrument delivered.
	lastTime := map[uint32]uint64{}
	for i := range confGot {
		m := &confGot[i]
		q, err := m.Quote()
		if m.Kind != subscriber.Data || err != nil {
			t.Fatalf("conflate item %d: %s (%v)", i, describe(m), err)
		}
		if q.ExchangeTime() <= lastTime[q.Instrument()] {
			t.Fatalf("conflate: instrument %d went back from %d to %d", q.Instrument(), lastTime[q.Instrument()], q.ExchangeTime())
		}
		lastTime[q.Instrument()] = q.ExchangeTime()
	}
	for i := total - instruments; i < total; i++ {
		inst, want := uint32(i)%instruments+1, latest(i)
		if lastTime[inst] != want {
			t.Errorf("conflate: instrument %d last exchange time %d, want %d", inst, lastTime[inst], want)
		}
	}
	cst := conf.Stats()
	t.Logf("conflate: delivered %d of %d; stats %+v", len(confGot), total, cst)
	if cst.Conflated == 0 || cst.Dropped != 0 || uint64(len(confGot))+cst.Conflated != total {
		t.Errorf("conflate stats %+v, delivered %d", cst, len(confGot))
	}
}

func lastSeq(ms []subscriber.Message) uint64 {
	m := &ms[len(ms)-1]
	if m.Kind == subscriber.LossEvent {
		return m.Loss().To
	}
	return m.Sequence
}
