package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/subscriber"
)

// TestUpstreamLossNotice: the exchange skips upstream sequences 1001..1100
// and its re-request server cannot answer for them (it never had them;
// what the kernel may drop elsewhere it does answer). The daemon's feed
// gives them up, and the daemon says so in-band: on every channel, one
// upstream loss notice between the quotes before the hole and those after
// it. A plain MoldUDP64 reader sees it as one more message in contiguous
// sequences; every subscriber consumer (DropOldest and Conflate) gets one
// Upstream LossEvent per channel with the upstream range, and every other
// quote complete and in order. Run inline and in pipeline mode (the notice
// then crosses the fan-out to each worker's ring).
func TestUpstreamLossNotice(t *testing.T) {
	for _, workers := range []int{0, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			const n, per = 3000, 20
			const lostFrom, lostTo = 1001, 1100
			c := testConfig(t, 1)
			c.Agents.Workers = workers
			c.Feed.Lines[0].RcvBuf = 16 << 20
			c.Feed.Recovery.Timeout = 20 * time.Millisecond
			all := stampedPackets(feedSession, 1, 1, n, per, 16)
			var pkts [][]byte // what the exchange sends and keeps: all but the hole
			for _, p := range all {
				var pk decode.Packet
				if err := pk.Wrap(p); err != nil {
					t.Fatal(err)
				}
				if pk.Sequence() > lostTo || pk.NextSequence() <= lostFrom {
					pkts = append(pkts, p)
				} else if pk.Sequence() < lostFrom || pk.NextSequence() > lostTo+1 {
					t.Fatal("the hole must fall on packet boundaries")
				}
			}
			withUpstream(t, &c, pkts)
			readers := readersFor(t, c)
			d := startDaemon(t, c)
			s, cols := loopbackSubscriber(t, d.SubscriberConfig(), n,
				subscriber.ConsumerConfig{Name: "drop-oldest", RingSize: 1 << 14},
				subscriber.ConsumerConfig{Name: "conflate", Policy: subscriber.Conflate, RingSize: 1 << 14})
			waitFor(t, 10*time.Second, "a heartbeat on every channel", func() bool {
				for _, ch := range s.Stats().Channels {
					if ch.Heartbeats == 0 {
						return false
					}
				}
				return true
			})
			feedAddr := netip.MustParseAddrPort(c.Feed.Lines[0].Addr)
			hb := loopbackHeartbeats(t, feedAddr)
			if err := sendRate(newSender(t), pkts, 2, feedAddr); err != nil {
				t.Fatal(err)
			}
			hb.sent(pkts)

			want := decode.UpstreamLossFields{Session: feedSession, From: lostFrom, To: lostTo}
			lostQuotes := lostTo - lostFrom + 1
			state := func() string {
				st := d.Stats()
				msg := fmt.Sprintf("feed: emitted %d, recovered %d, upstream lost %d in %d losses, gaps %d; notices %d (dropped %d)",
					st.Feed.EmittedMessages, st.Feed.RecoveredMessages, st.Feed.UpstreamLost, st.Feed.Losses, st.Feed.Gaps,
					st.UpstreamLossNotices, st.NoticesDropped)
				for _, k := range cols {
					data, lost, losses := k.counts()
					msg += fmt.Sprintf("; %s: data %d lost %d %v", k.name, data, lost, losses[:min(len(losses), 6)])
				}
				return msg
			}
			for _, k := range cols {
				waitFor(t, 30*time.Second, k.name+": every quote and one notice per channel", func() bool {
					data, _, losses := k.counts()
					return data >= n-lostQuotes && len(losses) >= len(c.Publish.Channels)
				}, state)
			}
			time.Sleep(50 * time.Millisecond) // anything extra would arrive now: checked below

			// The daemon: one loss, one notice to every worker, one per channel.
			st := d.Stats()
			if st.Feed.Losses != 1 || st.Feed.UpstreamLost != uint64(lostQuotes) || st.UpstreamLossNotices != 1 || st.NoticesDropped != 0 {
				t.Fatalf("daemon: %s", state())
			}
			for _, w := range st.Workers {
				for _, ch := range w.Channels {
					if ch.Notices != 1 {
						t.Errorf("daemon channel %s: %d notices, want 1", ch.Name, ch.Notices)
					}
				}
			}
			m := getMetrics(t, d.HTTPAddr())
			for _, line := range []string{"mdcast_upstream_loss_notices_total 1", `mdcast_channel_notices_total{channel="ch0"`} {
				if !strings.Contains(m, line) {
					t.Errorf("/metrics lacks %q", line)
				}
			}

			// The wire, as a plain MoldUDP64 reader sees it.
			for ci, r := range readers {
				msgs, _, _ := r.snapshot()
				notices := 0
				var lastID uint64
				for i, rm := range msgs {
					if rm.seq != uint64(i+1) {
						t.Fatalf("channel %d: message %d has sequence %d", ci, i, rm.seq)
					}
					var u decode.UpstreamLoss
					if u.Wrap(rm.msg) == nil {
						notices++
						if u.Fields() != want || lastID >= lostFrom {
							t.Errorf("channel %d seq %d: notice %+v after quote %d", ci, rm.seq, u.Fields(), lastID)
						}
						continue
					}
					var q decode.Quote
					if err := q.Wrap(rm.msg); err != nil {
						t.Fatalf("channel %d seq %d: %v", ci, rm.seq, err)
					}
					id := q.ExchangeTime()
					if id <= lastID || id >= lostFrom && id <= lostTo || id > lostTo && notices != 1 {
						t.Fatalf("channel %d seq %d: quote %d after %d with %d notices", ci, rm.seq, id, lastID, notices)
					}
					lastID = id
				}
				if notices != 1 {
					t.Errorf("channel %d: %d notices on the wire, want 1", ci, notices)
				}
			}

			// Every consumer: the quotes but the lost ones, in order, and
			// exactly one Upstream loss per channel with the range.
			for _, k := range cols {
				k.check(t)
				data, _, losses := k.counts()
				perChannel := map[int]int{}
				for _, l := range losses {
					if l.Reason != subscriber.Upstream || l.Upstream != want || l.From != l.To {
						t.Errorf("%s: loss %+v, want only the upstream notice %+v", k.name, l, want)
					}
					perChannel[l.Channel]++
				}
				for ch := range c.Publish.Channels {
					if perChannel[ch] != 1 {
						t.Errorf("%s: channel %d got %d upstream loss events, want 1", k.name, ch, perChannel[ch])
					}
				}
				if data != n-lostQuotes || k.missing(1, n) != lostQuotes || k.missing(1, lostFrom-1) != 0 || k.missing(lostTo+1, n) != 0 {
					t.Errorf("%s: %d quotes, missing %d (before the hole %d, after %d), want %d missing, all in the hole",
						k.name, data, k.missing(1, n), k.missing(1, lostFrom-1), k.missing(lostTo+1, n), lostQuotes)
				}
			}
			for _, ch := range s.Stats().Channels {
				if ch.UpstreamLosses != 1 || ch.UpstreamLost != uint64(lostQuotes) || ch.Lost != 0 || ch.MalformedNotices != 0 {
					t.Errorf("subscriber %s: upstream losses %d, upstream lost %d, lost %d, malformed notices %d",
						ch.Name, ch.UpstreamLosses, ch.UpstreamLost, ch.Lost, ch.MalformedNotices)
				}
			}
			t.Logf("%d quotes sent, %d skipped upstream; feed gave up after %d re-requests; one notice on each of %d channels, delivered to %d consumers",
				n-lostQuotes, lostQuotes, st.Feed.RequestsSent, len(c.Publish.Channels), len(cols))
		})
	}
}

// getMetrics returns the daemon's /metrics page.
func getMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s %v", resp.Status, err)
	}
	return string(b)
}
