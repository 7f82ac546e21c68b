package e2e

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"mdcast/cmd/internal/daemon"
	"mdcast/subscriber"
)

// TestSubscriberDaemonRestart: the daemon is shut down and started again
// (in process, same configuration) while a subscriber follows it. The
// subscriber gets the end of the old session, one SessionChange per
// channel, and then the new session from sequence 1: every quote sent to
// either daemon arrives once, nothing is reported lost.
func TestSubscriberDaemonRestart(t *testing.T) {
	const half = 20_000
	const n = 2 * half
	c := testConfig(t, 1)
	d1, err := daemon.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d1.Start(); err != nil {
		t.Fatal(err)
	}
	s, cols := loopbackSubscriber(t, d1.SubscriberConfig(), n, subscriber.ConsumerConfig{Name: "app"})
	k := cols[0]
	feedAddr := netip.MustParseAddrPort(c.Feed.Lines[0].Addr)
	pkts := stampedPackets(feedSession, 1, 1, n, 20, 16)
	snd := newSender(t)
	if err := sendRate(snd, pkts[:len(pkts)/2], 20, feedAddr); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		data, lost, _ := k.counts()
		return fmt.Sprintf("data %d lost %d; %+v", data, lost, s.Stats().Channels)
	}
	waitFor(t, 30*time.Second, "the first half", func() bool { data, _, _ := k.counts(); return data >= half }, state)

	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	if err := d1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	d2 := startDaemon(t, c)
	if d2.Session() == d1.Session() {
		t.Fatalf("restarted daemon kept session %q", d1.Session())
	}
	if err := sendRate(snd, pkts[len(pkts)/2:], 20, feedAddr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the second half", func() bool { data, _, _ := k.counts(); return data >= n }, state)
	k.check(t)
	data, lost, losses := k.counts()
	k.mu.Lock()
	sessions, eos := k.sessions, k.eos
	k.mu.Unlock()
	channels := len(c.Publish.Channels)
	t.Logf("sessions %s -> %s: data %d, lost %d, session changes %d, end of session %d",
		d1.Session(), d2.Session(), data, lost, sessions, eos)
	if sessions != channels {
		t.Errorf("%d SessionChange events, want one per channel (%d)", sessions, channels)
	}
	if eos != channels {
		t.Errorf("%d EndOfSession events, want one per channel (%d)", eos, channels)
	}
	if lost != 0 || data != n || k.missing(1, n) != 0 {
		t.Errorf("data %d lost %d (%v) missing %d", data, lost, losses, k.missing(1, n))
	}
	var changes uint64
	for _, ch := range s.Stats().Channels {
		changes += ch.SessionChanges
	}
	if changes != uint64(channels) {
		t.Errorf("stats: %d session changes, want %d", changes, channels)
	}
}
