package e2e

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"mdcast/internal/lossinject"
	"mdcast/subscriber"
)

// TestSubscriberInjectedLossThroughDaemon: 200k quotes through the daemon
// to a subscriber that drops 1% (then 10%) of the datagrams it receives,
// retransmissions included (Config.Loss). Every quote must arrive, in
// order, every gap repaired by re-request from the daemon's history.
func TestSubscriberInjectedLossThroughDaemon(t *testing.T) {
	const n = 200_000
	for _, rate := range []float64{0.01, 0.10} {
		t.Run(fmt.Sprintf("rate=%v", rate), func(t *testing.T) {
			c := testConfig(t, 1)
			// A deep feed socket buffer: on this shared 2-core machine the
			// daemon's thread can be descheduled for a while, and a quote
			// the daemon never got is not the subscriber's to recover.
			c.Feed.Lines[0].RcvBuf = 32 << 20
			d := startDaemon(t, c)
			sc := d.SubscriberConfig()
			sc.Loss = lossinject.Config{Rate: rate, Seed: 7}
			// The consumer's ring holds the whole run: on this shared
			// machine the checking consumer may fall behind, and this test
			// is about the network path, not slow consumers.
			s, cols := loopbackSubscriber(t, sc, n, subscriber.ConsumerConfig{Name: "app", RingSize: 1 << 18})
			// The subscriber starts at the first packet it sees: wait for a
			// heartbeat on every channel, so that a dropped first data
			// packet is a gap to repair rather than before the join.
			waitFor(t, 10*time.Second, "a heartbeat on every channel", func() bool {
				for _, ch := range s.Stats().Channels {
					if ch.Heartbeats == 0 {
						return false
					}
				}
				return true
			})
			pkts := stampedPackets(feedSession, 1, 1, n, 20, 16)
			start := time.Now()
			if err := sendRate(newSender(t), pkts, 5, netip.MustParseAddrPort(c.Feed.Lines[0].Addr)); err != nil { // ~100k quotes/s
				t.Fatal(err)
			}
			k := cols[0]
			state := func() string {
				data, lost, _ := k.counts()
				f := d.Stats().Feed
				msg := fmt.Sprintf("data %d lost %d; feed emitted %d upstream lost %d gaps %d",
					data, lost, f.EmittedMessages, f.UpstreamLost, f.Gaps)
				for _, ch := range s.Stats().Channels {
					if ch.Messages != n/uint64(len(c.Publish.Channels)) {
						msg += fmt.Sprintf("; %+v", ch)
					}
				}
				for _, w := range d.Stats().Workers {
					for _, ch := range w.Channels {
						msg += fmt.Sprintf("; daemon %s: requests %d served %d out-of-history %d suppressed %d rate-limited %d busy %d",
							ch.Name, ch.Requests, ch.Served, ch.OutOfHistory, ch.Suppressed, ch.RateLimited, ch.Busy)
					}
				}
				return msg
			}
			waitFor(t, 60*time.Second, "every quote", func() bool {
				if d.Stats().Feed.UpstreamLost > 0 {
					t.Fatalf("the daemon lost %d quotes upstream (its feed socket overflowed: machine overloaded), so the subscriber cannot get them", d.Stats().Feed.UpstreamLost)
				}
				data, _, _ := k.counts()
				return data >= n
			}, state)
			k.check(t)
			data, lost, losses := k.counts()
			if cs := s.Stats().Consumers[0]; cs.Dropped != 0 {
				t.Errorf("consumer dropped %d (ring high-water %d)", cs.Dropped, cs.HighWater)
			}
			if lost != 0 || k.missing(1, n) != 0 || data != n {
				t.Fatalf("data %d, lost %d (%v), missing %d", data, lost, losses[:min(len(losses), 5)], k.missing(1, n))
			}
			var drops, gaps, recovered, requests, lostSeqs uint64
			for _, ch := range s.Stats().Channels {
				drops += ch.InjectedDrops
				gaps += ch.Gaps
				recovered += ch.Recovered
				requests += ch.Requests
				lostSeqs += ch.Lost
			}
			t.Logf("rate %v: %d quotes in %v; injected drops %d, gaps %d, requests %d, recovered %d",
				rate, n, time.Since(start).Round(time.Millisecond), drops, gaps, requests, recovered)
			if drops == 0 || gaps == 0 || recovered == 0 || lostSeqs != 0 {
				t.Errorf("drops %d gaps %d recovered %d lost %d", drops, gaps, recovered, lostSeqs)
			}
		})
	}
}
