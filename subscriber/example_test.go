package subscriber_test

import (
	"context"
	"fmt"
	"time"

	"mdcast/subscriber"
)

// A consumer with a callback: Run delivers batches in sequence order until
// the context ends. The publisher here is a loopback test channel.
func ExampleConsumer_Run() {
	env := &exampleTB{}
	defer env.done()
	pub := newTestPub(env, "EXAMPLE")

	sub, err := subscriber.New(subscriber.Config{
		Interface: "lo",
		Channels:  []subscriber.ChannelConfig{pub.channel("quotes")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sub.Close()
	c, err := sub.NewConsumer(subscriber.ConsumerConfig{Name: "printer"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := sub.Start(); err != nil { // the receive agent on its own thread
		fmt.Println(err)
		return
	}

	pub.publish(quotes(3, 1000, 2), nil)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n := 0
	err = c.Run(ctx, func(batch []subscriber.Message) {
		for i := range batch {
			m := &batch[i] // by index: Bytes and Quote view the slot, no copy
			switch m.Kind {
			case subscriber.Data:
				q, _ := m.Quote()
				fmt.Printf("%s #%d instrument %d bid %d x %d\n",
					sub.ChannelName(m.Channel), m.Sequence, q.Instrument(), q.BidSize(), q.BidPrice())
				n++
			case subscriber.LossEvent:
				l := m.Loss()
				if l.Reason == subscriber.Upstream { // the daemon's feed lost these, on some channel
					fmt.Println("upstream lost:", l.Upstream.Count(), "messages", l.Upstream.From, "..", l.Upstream.To)
					continue
				}
				fmt.Println("lost:", l) // sequences of this channel
			}
		}
		if n == 3 {
			cancel()
		}
	})
	fmt.Println(err)
	// Output:
	// quotes #1 instrument 1 bid 100 x 10000000000
	// quotes #2 instrument 2 bid 100 x 10000000001
	// quotes #3 instrument 1 bid 100 x 10000000002
	// context canceled
}

// An application that owns its thread drives the receive path itself with
// DoWork and reads with Poll: no goroutine is started. Here a packet is
// lost on the wire and repaired by re-request before delivery.
func ExampleConsumer_Poll() {
	env := &exampleTB{}
	defer env.done()
	pub := newTestPub(env, "EXAMPLE")

	sub, err := subscriber.New(subscriber.Config{
		Interface: "lo",
		Channels:  []subscriber.ChannelConfig{pub.channel("quotes")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sub.Close()
	c, _ := sub.NewConsumer(subscriber.ConsumerConfig{})

	// 60 quotes in three packets; the second packet never arrives.
	pub.publish(quotes(60, 1, 4), func(first uint64) bool { return first == 28 })

	var seqs []uint64
	deadline := time.Now().Add(5 * time.Second)
	for len(seqs) < 60 && time.Now().Before(deadline) {
		sub.DoWork(time.Now().UnixNano()) // any monotonic ns clock; mdcast uses internal/clock
		for _, m := range c.Poll(64) {
			if m.Kind == subscriber.Data {
				seqs = append(seqs, m.Sequence)
			}
		}
	}
	inOrder := true
	for i, s := range seqs {
		inOrder = inOrder && s == uint64(i+1)
	}
	st := sub.Stats().Channels[0]
	fmt.Printf("received %d in order: %v\n", len(seqs), inOrder)
	fmt.Printf("gaps %d, recovered %d, lost %d\n", st.Gaps, st.Recovered, st.Lost)
	// Output:
	// received 60 in order: true
	// gaps 1, recovered 27, lost 0
}
