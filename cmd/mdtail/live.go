package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"mdcast/decode"
	"mdcast/subscriber"
)

// runLive follows the configured channels with the subscriber library.
func runLive(ctx context.Context, o options, p *printer, stderr io.Writer) error {
	cfg, err := o.subscriberConfig()
	if err != nil {
		return err
	}
	s, err := subscriber.New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := s.NewConsumer(subscriber.ConsumerConfig{Name: "mdtail"})
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	p.sum.Source = "network"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	statsDone := make(chan struct{})
	if o.stats {
		go func() {
			defer close(statsDone)
			statsLoop(ctx, s, stderr)
		}()
	} else {
		close(statsDone)
	}
	names := make([]string, len(cfg.Channels))
	for i := range names {
		names[i] = s.ChannelName(i)
	}
	err = c.Run(ctx, func(batch []subscriber.Message) {
		for i := range batch {
			m := &batch[i]
			name := names[m.Channel]
			switch m.Kind {
			case subscriber.Data:
				p.message(name, m.Sequence, m.RecvNs, m.Bytes())
				if p.done(o) {
					cancel()
					p.w.Flush()
					return
				}
			case subscriber.LossEvent:
				l := m.Loss()
				p.event(name, "loss", l.From, l.To, l.Reason.String(), l.Upstream)
				p.sum.event("loss-" + l.Reason.String())
			default:
				p.event(name, m.Kind.String(), m.Sequence, 0, "", decode.UpstreamLossFields{})
				p.sum.event(m.Kind.String())
			}
		}
		p.w.Flush()
	})
	cancel()
	<-statsDone
	for _, st := range s.Stats().Channels {
		p.sum.Packets += st.Packets
		p.sum.Gaps += st.Gaps
		p.sum.Recovered += st.Recovered
		p.sum.Lost += st.Lost
		p.sum.Duplicates += st.Duplicates
		p.sum.Heartbeats += st.Heartbeats
		p.sum.Malformed += st.Malformed
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// statsLoop prints each channel's rates and repair counters every second.
func statsLoop(ctx context.Context, s *subscriber.Subscriber, w io.Writer) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev := s.Stats().Channels
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			cur := s.Stats().Channels
			dt := now.Sub(last).Seconds()
			for i, c := range cur {
				p := prev[i]
				fmt.Fprintf(w, "%s %s: %.0f msg/s %.0f pkt/s gaps %d (+%d) recovered %d lost %d dup %d req %d rtt %v malformed %d open %d\n",
					now.Format("15:04:05"), c.Name,
					float64(c.Messages-p.Messages)/dt, float64(c.Packets-p.Packets)/dt,
					c.Gaps, c.Gaps-p.Gaps, c.Recovered, c.Lost, c.Duplicates, c.Requests, c.RTT, c.Malformed, c.Gapping)
			}
			prev, last = cur, now
		}
	}
}
