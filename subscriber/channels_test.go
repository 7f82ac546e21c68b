package subscriber_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"mdcast/ring"
	"mdcast/subscriber"
)

// TestChannelsAndFilters: two channels into one subscriber; a consumer of
// all channels sees each in order, a consumer of one channel sees only it.
// Both receive paths: reading every socket, and finding the readable ones
// with the epoll Poller (Idle "spin").
func TestChannelsAndFilters(t *testing.T) {
	for _, idle := range []string{"block", "spin"} {
		t.Run(idle, func(t *testing.T) { testChannelsAndFilters(t, idle) })
	}
}

func testChannelsAndFilters(t *testing.T, idle string) {
	p0, p1 := newTestPub(t, "A"), newTestPub(t, "B")
	cfg := baseConfig(p0, p1)
	cfg.Idle = idle
	s, err := subscriber.New(cfg)
	if err != nil {
		t.Skipf("cannot join loopback multicast: %v", err)
	}
	defer s.Close()
	if _, err := s.NewConsumer(subscriber.ConsumerConfig{Channels: []string{"nope"}}); !errors.Is(err, subscriber.ErrUnknownChannel) {
		t.Fatalf("unknown channel: %v", err)
	}
	all, _ := s.NewConsumer(subscriber.ConsumerConfig{Name: "all"})
	only1, _ := s.NewConsumer(subscriber.ConsumerConfig{Name: "only-c1", Channels: []string{"c1"}})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	p0.publish(quotes(500, 1, 3), nil)
	p1.publish(quotes(700, 1, 3), nil)
	var got [2][]uint64
	var got1 []uint64
	deadline := time.Now().Add(10 * time.Second)
	for (len(got[0]) < 500 || len(got[1]) < 700 || len(got1) < 700) && time.Now().Before(deadline) {
		for _, m := range all.Poll(64) {
			got[m.Channel] = append(got[m.Channel], m.Sequence)
		}
		for _, m := range only1.Poll(64) {
			if m.Channel != 1 || s.ChannelName(m.Channel) != "c1" {
				t.Fatalf("only-c1 got channel %d", m.Channel)
			}
			got1 = append(got1, m.Sequence)
		}
		time.Sleep(100 * time.Microsecond)
	}
	for ch, want := range []int{500, 700} {
		if len(got[ch]) != want {
			t.Fatalf("channel %d: %d of %d", ch, len(got[ch]), want)
		}
		for i, seq := range got[ch] {
			if seq != uint64(i+1) {
				t.Fatalf("channel %d: message %d has sequence %d", ch, i, seq)
			}
		}
	}
	if len(got1) != 700 {
		t.Fatalf("only-c1: %d of 700", len(got1))
	}
	st := s.Stats()
	if st.Consumers[0].Delivered != 1200 || st.Consumers[1].Delivered != 700 || st.Channels[1].Name != "c1" {
		t.Errorf("stats %+v", st)
	}
}

// TestAgentComposed: an application runs the receive path on its own
// runner (as mdperf does with its load agent) instead of Start.
func TestAgentComposed(t *testing.T) {
	p := newTestPub(t, "AGENT")
	s, err := subscriber.New(baseConfig(p))
	if err != nil {
		t.Skipf("cannot join loopback multicast: %v", err)
	}
	defer s.Close()
	c, _ := s.NewConsumer(subscriber.ConsumerConfig{})
	r := ring.NewRunner(ring.Composite{s.Agent()}, ring.RunnerConfig{Idle: ring.NewBackoff(0, 0, 0, 0), CPU: -1})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p.publish(quotes(100, 1, 2), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	err = c.Run(ctx, func(b []subscriber.Message) {
		n += len(b)
		if n >= 100 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || n != 100 {
		t.Fatalf("Run: %v after %d messages", err, n)
	}
}
