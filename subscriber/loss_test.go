package subscriber_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mdcast/internal/lossinject"
	"mdcast/subscriber"
)

// streamCheck verifies on the fly that a consumer sees data sequences
// 1, 2, 3, ... with the quote published at each, and no event.
type streamCheck struct {
	next atomic.Uint64 // next sequence expected
	mu   sync.Mutex
	err  error
}

func newStreamCheck() *streamCheck {
	c := &streamCheck{}
	c.next.Store(1)
	return c
}

func (c *streamCheck) add(batch []subscriber.Message) {
	next := c.next.Load()
	for i := range batch {
		m := &batch[i]
		if m.Kind != subscriber.Data || m.Sequence != next {
			c.fail(fmt.Errorf("at %d: got %s", next, describe(m)))
			return
		}
		q, err := m.Quote()
		if err != nil || q.ExchangeTime() != next {
			c.fail(fmt.Errorf("at %d: wrong quote (%v)", next, err))
			return
		}
		next++
	}
	c.next.Store(next)
}

func (c *streamCheck) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *streamCheck) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// TestInjectedLossRecovered sends 200k quotes with 1% and 10% of the
// packets (first sends and retransmissions alike) dropped on the
// subscriber's receive path: every message must arrive, in order. The
// spinning receive path (which finds readable sockets with an epoll Poller)
// runs the 10% case too.
func TestInjectedLossRecovered(t *testing.T) {
	const total = 200_000
	for _, tc := range []struct {
		rate float64
		idle string
	}{{0.01, "block"}, {0.10, "block"}, {0.10, "spin"}} {
		rate := tc.rate
		t.Run(fmt.Sprintf("rate=%v/idle=%s", rate, tc.idle), func(t *testing.T) {
			p := newTestPub(t, "LOSS")
			cfg := baseConfig(p)
			cfg.Idle = tc.idle
			cfg.Loss = lossinject.Config{Rate: rate, Seed: 42}
			// The machine is shared (load average above 10 at times): a
			// starved receive thread must not turn a gap into a loss here;
			// this test checks recovery, not its timing.
			cfg.Retransmit.Deadline = time.Second
			s, err := subscriber.New(cfg)
			if err != nil {
				t.Skipf("cannot join loopback multicast: %v", err)
			}
			c, err := s.NewConsumer(subscriber.ConsumerConfig{})
			if err != nil {
				t.Fatal(err)
			}
			check := newStreamCheck()
			done := make(chan error, 1)
			go func() { done <- c.Run(context.Background(), check.add) }()
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			qs := quotes(total, 1, 100)
			deadline := time.Now().Add(60 * time.Second)
			// Publish in chunks, at most 5k messages ahead of the
			// consumer (flow control for the test, not for the library).
			for sent := 0; sent < total; sent += 2000 {
				for uint64(sent)-check.next.Load() > 5_000 && uint64(sent) > check.next.Load() {
					if time.Now().After(deadline) || check.failed() != nil {
						break
					}
					time.Sleep(100 * time.Microsecond)
				}
				p.publish(qs[sent:sent+2000], nil)
			}
			// Heartbeats reveal a lost last packet, as the daemon's early
			// heartbeat does.
			for check.next.Load() <= total && check.failed() == nil && time.Now().Before(deadline) {
				p.heartbeat()
				time.Sleep(time.Millisecond)
			}
			if err := s.Close(); err != nil {
				t.Error(err)
			}
			if err := <-done; !errors.Is(err, subscriber.ErrClosed) {
				t.Errorf("Run: %v", err)
			}
			if err := check.failed(); err != nil {
				t.Fatalf("%v; stats %+v", err, s.Stats().Channels[0])
			}
			if got := check.next.Load() - 1; got != total {
				t.Fatalf("delivered %d of %d in order", got, total)
			}
			st := s.Stats().Channels[0]
			t.Logf("rate %v: packets %d, injected drops %d, gaps %d, requests %d, retransmits %d, recovered %d, duplicates %d",
				rate, st.Packets, st.InjectedDrops, st.Gaps, st.Requests, st.Retransmits, st.Recovered, st.Duplicates)
			if st.Lost != 0 || st.InjectedDrops == 0 || st.Gaps == 0 || st.Recovered == 0 || st.Retransmits == 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}
