package subscriber_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/subscriber"
)

// startSub builds a subscriber for cfg, one consumer per cc draining into
// a collector with Run, and starts it. Cleanup closes it and waits for the
// consumers.
func startSub(t *testing.T, cfg subscriber.Config, ccs ...subscriber.ConsumerConfig) (*subscriber.Subscriber, []*collector) {
	t.Helper()
	s, err := subscriber.New(cfg)
	if err != nil {
		t.Skipf("cannot join loopback multicast: %v", err)
	}
	if len(ccs) == 0 {
		ccs = []subscriber.ConsumerConfig{{}}
	}
	var wg sync.WaitGroup
	var cols []*collector
	for _, cc := range ccs {
		c, err := s.NewConsumer(cc)
		if err != nil {
			t.Fatal(err)
		}
		col := &collector{}
		cols = append(cols, col)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(context.Background(), col.add); !errors.Is(err, subscriber.ErrClosed) {
				t.Errorf("Run: %v", err)
			}
		}()
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	})
	return s, cols
}

// checkData asserts that msgs hold exactly the data sequences first..last
// in order with no event, and that each quote is the one published there.
func checkData(t *testing.T, msgs []subscriber.Message, first, last uint64, base uint64) {
	t.Helper()
	want := first
	for i := range msgs {
		m := &msgs[i]
		if m.Kind != subscriber.Data {
			t.Fatalf("message %d: unexpected %s", i, describe(m))
		}
		if m.Sequence != want {
			t.Fatalf("message %d: got %s, want data[%d]", i, describe(m), want)
		}
		q, err := m.Quote()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if q.ExchangeTime() != base+m.Sequence-1 {
			t.Fatalf("message %d (seq %d): exchange time %d, want %d", i, m.Sequence, q.ExchangeTime(), base+m.Sequence-1)
		}
		want++
	}
	if want != last+1 {
		t.Fatalf("got data up to %d, want up to %d", want-1, last)
	}
}

func baseConfig(pubs ...*testPub) subscriber.Config {
	cfg := subscriber.Config{Interface: "lo"}
	for i, p := range pubs {
		cfg.Channels = append(cfg.Channels, p.channel("c"+string(rune('0'+i))))
	}
	return cfg
}

func TestInOrder(t *testing.T) {
	p := newTestPub(t, "S1")
	s, cols := startSub(t, baseConfig(p))
	p.publish(quotes(5000, 1, 10), nil)
	waitFor(t, 5*time.Second, "5000 messages", func() bool { return cols[0].data.Load() >= 5000 })
	checkData(t, cols[0].snapshot(), 1, 5000, 1)
	st := s.Stats().Channels[0]
	if st.Messages != 5000 || st.Gaps != 0 || st.Requests != 0 || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestReorderHeld(t *testing.T) {
	p := newTestPub(t, "S1")
	cfg := baseConfig(p)
	cfg.Reorder.MaxWait = time.Second // reordering must be repaired by waiting, not by request
	cfg.Reorder.MaxDistance = 1000
	s, cols := startSub(t, cfg)
	qs := quotes(6, 1, 3)
	// 3..4 first, then 5..6, then 1..2: the subscriber holds and reorders.
	p.write(p.packet(3, qs[2], qs[3]))
	p.write(p.packet(5, qs[4], qs[5]))
	p.write(p.packet(1, qs[0], qs[1]))
	waitFor(t, 5*time.Second, "4 messages", func() bool { return cols[0].data.Load() >= 4 })
	checkData(t, cols[0].snapshot(), 3, 6, 1)
	// The first packet seen was 3: the stream starts there (late join
	// without history), so 1..2 are duplicates of nothing: dropped.
	st := s.Stats().Channels[0]
	if st.Requests != 0 || st.Duplicates != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestReorderAfterJoin(t *testing.T) {
	p := newTestPub(t, "S1")
	cfg := baseConfig(p)
	cfg.Reorder.MaxWait = time.Second
	cfg.Reorder.MaxDistance = 1000
	s, cols := startSub(t, cfg)
	qs := quotes(8, 1, 3)
	p.write(p.packet(1, qs[0], qs[1]))
	p.write(p.packet(5, qs[4], qs[5]))
	p.write(p.packet(7, qs[6], qs[7]))
	p.write(p.packet(3, qs[2], qs[3]))
	waitFor(t, 5*time.Second, "8 messages", func() bool { return cols[0].data.Load() >= 8 })
	checkData(t, cols[0].snapshot(), 1, 8, 1)
	st := s.Stats().Channels[0]
	if st.Requests != 0 || st.Gaps != 1 || st.Recovered != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestGapRecovered(t *testing.T) {
	p := newTestPub(t, "S1")
	s, cols := startSub(t, baseConfig(p))
	qs := quotes(3000, 1, 10)
	skipped := 0
	p.publish(qs, func(first uint64) bool {
		if first > 1 && skipped < 5 && first%7 == 0 {
			skipped++
			return true
		}
		return false
	})
	p.heartbeat() // in case the last packet was skipped
	waitFor(t, 5*time.Second, "3000 messages", func() bool { return cols[0].data.Load() >= 3000 })
	checkData(t, cols[0].snapshot(), 1, 3000, 1)
	st := s.Stats().Channels[0]
	if skipped == 0 || st.Gaps == 0 || st.Requests == 0 || st.Recovered == 0 || st.Lost != 0 {
		t.Errorf("skipped %d, stats %+v", skipped, st)
	}
}

func TestUnrecoverableLoss(t *testing.T) {
	p := newTestPub(t, "S1")
	cfg := baseConfig(p)
	cfg.Retransmit.Deadline = 20 * time.Millisecond
	s, cols := startSub(t, cfg)
	qs := quotes(40, 1, 4)
	p.publish(qs[:10], nil)
	p.publish(qs[10:20], func(uint64) bool { return true }) // never sent
	p.forget(11, 20)                                        // and not in history
	p.publish(qs[20:], nil)
	waitFor(t, 5*time.Second, "30 messages and a loss", func() bool { return len(cols[0].snapshot()) >= 31 })
	msgs := cols[0].snapshot()
	checkData(t, msgs[:10], 1, 10, 1)
	l := msgs[10].Loss()
	if msgs[10].Kind != subscriber.LossEvent || l != (subscriber.Loss{Channel: 0, From: 11, To: 20, Reason: subscriber.Unrecoverable}) {
		t.Fatalf("message 10: %s", describe(&msgs[10]))
	}
	checkData(t, msgs[11:], 21, 40, 1)
	if st := s.Stats().Channels[0]; st.Lost != 10 || st.Requests == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestDuplicates(t *testing.T) {
	p := newTestPub(t, "S1")
	s, cols := startSub(t, baseConfig(p))
	qs := quotes(4, 1, 2)
	p.write(p.packet(1, qs[0], qs[1]))
	p.write(p.packet(1, qs[0], qs[1]))
	p.write(p.packet(2, qs[1], qs[2]))
	p.write(p.packet(3, qs[2], qs[3]))
	waitFor(t, 5*time.Second, "4 messages", func() bool { return cols[0].data.Load() >= 4 })
	p.heartbeat()
	waitFor(t, 5*time.Second, "heartbeat", func() bool { return s.Stats().Channels[0].Heartbeats >= 1 })
	checkData(t, cols[0].snapshot(), 1, 4, 1)
	if st := s.Stats().Channels[0]; st.Duplicates != 4 {
		t.Errorf("duplicates %d, want 4 (%+v)", st.Duplicates, st)
	}
}

func TestSessionChange(t *testing.T) {
	p := newTestPub(t, "OLD")
	s, cols := startSub(t, baseConfig(p))
	p.publish(quotes(100, 1, 5), nil)
	waitFor(t, 5*time.Second, "old session", func() bool { return cols[0].data.Load() >= 100 })
	p.newSession("NEW")
	// The new session's first packet is lost on the wire: recovered from 1.
	p.publish(quotes(200, 1001, 5), func(first uint64) bool { return first == 1 })
	waitFor(t, 5*time.Second, "new session", func() bool { return cols[0].data.Load() >= 300 })
	msgs := cols[0].snapshot()
	checkData(t, msgs[:100], 1, 100, 1)
	if msgs[100].Kind != subscriber.SessionChange || msgs[100].Sequence != 1 {
		t.Fatalf("message 100: %s, want session change", describe(&msgs[100]))
	}
	checkData(t, msgs[101:], 1, 200, 1001)
	if st := s.Stats().Channels[0]; st.SessionChanges != 1 || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestEndOfSession(t *testing.T) {
	p := newTestPub(t, "S1")
	s, cols := startSub(t, baseConfig(p))
	p.publish(quotes(50, 1, 5), nil)
	p.endOfSession()
	waitFor(t, 5*time.Second, "end of session", func() bool { return len(cols[0].snapshot()) >= 51 })
	msgs := cols[0].snapshot()
	checkData(t, msgs[:50], 1, 50, 1)
	if m := &msgs[50]; m.Kind != subscriber.EndOfSession || m.Sequence != 51 {
		t.Fatalf("got %s, want end-of-session[51]", describe(m))
	}
	if st := s.Stats().Channels[0]; st.EndOfSessions != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestHeartbeatRevealsTailLoss(t *testing.T) {
	p := newTestPub(t, "S1")
	s, cols := startSub(t, baseConfig(p))
	qs := quotes(30, 1, 5)
	p.publish(qs[:20], nil)
	p.publish(qs[20:], func(uint64) bool { return true }) // the burst's last packet is lost
	waitFor(t, 5*time.Second, "first 20", func() bool { return cols[0].data.Load() >= 20 })
	if st := s.Stats().Channels[0]; st.Gaps != 0 {
		t.Fatalf("gap seen before the heartbeat: %+v", st)
	}
	p.heartbeat()
	waitFor(t, 5*time.Second, "tail recovered", func() bool { return cols[0].data.Load() >= 30 })
	checkData(t, cols[0].snapshot(), 1, 30, 1)
	if st := s.Stats().Channels[0]; st.Gaps != 1 || st.Recovered != 10 {
		t.Errorf("stats %+v", st)
	}
}

func TestLateJoinHistory(t *testing.T) {
	p := newTestPub(t, "S1")
	qs := quotes(130, 1, 5)
	p.publish(qs[:100], nil) // before the subscriber exists
	cfg := baseConfig(p)
	cfg.LateJoin.History = 50
	_, cols := startSub(t, cfg)
	p.publish(qs[100:], nil)
	waitFor(t, 5*time.Second, "history and live", func() bool { return cols[0].data.Load() >= 80 })
	checkData(t, cols[0].snapshot(), 51, 130, 1)
}

func TestTooLargeIsLoss(t *testing.T) {
	p := newTestPub(t, "S1")
	s, cols := startSub(t, baseConfig(p))
	qs := quotes(3, 1, 2)
	big := make([]byte, subscriber.MaxMessageLen+1)
	p.write(p.packet(1, qs[0], big, qs[2]))
	waitFor(t, 5*time.Second, "3 items", func() bool { return len(cols[0].snapshot()) >= 3 })
	msgs := cols[0].snapshot()
	if msgs[0].Sequence != 1 || msgs[1].Loss() != (subscriber.Loss{From: 2, To: 2, Reason: subscriber.TooLarge}) || msgs[2].Sequence != 3 {
		t.Fatalf("got %s %s %s", describe(&msgs[0]), describe(&msgs[1]), describe(&msgs[2]))
	}
	if st := s.Stats().Channels[0]; st.TooLarge != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestMalformedCounted(t *testing.T) {
	p := newTestPub(t, "S1")
	s, cols := startSub(t, baseConfig(p))
	p.write([]byte("short"))
	pkt := p.packet(1, quotes(1, 1, 1)...)
	p.write(pkt[:len(pkt)-3]) // truncated message
	p.publish(quotes(2, 1, 1), nil)
	waitFor(t, 5*time.Second, "2 messages", func() bool { return cols[0].data.Load() >= 2 })
	if st := s.Stats().Channels[0]; st.Malformed != 2 {
		t.Errorf("malformed %d, want 2", st.Malformed)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  subscriber.Config
		want string
	}{
		{subscriber.Config{}, "channel: none"},
		{subscriber.Config{Channels: []subscriber.ChannelConfig{{Group: "x"}}}, `channel[0].group "x": not an ip:port`},
		{subscriber.Config{Channels: []subscriber.ChannelConfig{{Group: "127.0.0.1:5"}}}, "not an IPv4 multicast group"},
		{subscriber.Config{Channels: []subscriber.ChannelConfig{{Group: "239.1.1.1:5", RequestAddr: "h:1"}}}, "request_addr"},
		{subscriber.Config{Channels: []subscriber.ChannelConfig{{Group: "239.1.1.1:5"}}, Idle: "nap"}, `idle "nap"`},
		{subscriber.Config{Channels: []subscriber.ChannelConfig{{Group: "239.1.1.1:5", Name: "a"}, {Group: "239.1.1.1:6", Name: "a"}}}, "same as channel[0]"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !errors.Is(err, subscriber.ErrConfig) || !contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	ok := subscriber.Config{Channels: []subscriber.ChannelConfig{{Group: "239.1.1.1:5", RequestAddr: "127.0.0.1:9"}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if err := (subscriber.ConsumerConfig{RingSize: 1000}).Validate(); err == nil {
		t.Error("ring size 1000 accepted")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

var _ = decode.QuoteLen
