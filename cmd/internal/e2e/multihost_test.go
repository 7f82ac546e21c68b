package e2e

import (
	"os/exec"
	"testing"
	"time"
)

// TestMultiHostWithRealLoss runs mdcast over network namespaces: a feed
// host sends quotes to a daemon host, which publishes four channels through
// its veth; three subscriber hosts join them across the bridge. nftables
// drops 1% of the channel datagrams on sub1's input and 5% on sub2's; sub3
// loses nothing. Every host must end with every message, in order, with no
// Loss event: what the network dropped comes back from the daemon's
// re-request server.
func TestMultiHostWithRealLoss(t *testing.T) {
	const n = 100_000
	// A generous deadline: a Loss here must mean unrecoverable, not slow
	// on a loaded machine.
	c := newCluster(t, clusterOptions{subscribers: 3, lines: 1, maxQuote: n, deadline: 10 * time.Second})
	drops := []int{1, 5, 0}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Log("nft is not installed: running without loss (apt-get install -y nftables)")
		drops = []int{0, 0, 0}
	}
	for i, pct := range drops {
		if pct > 0 {
			c.subHosts[i].DropUDP(t, c.chanPort, pct)
		}
	}
	pkts := stampedPackets(feedSession, 1, 1, n, 20, 16)
	c.serveUpstream(t, pkts)
	c.waitJoined(t)
	if err := sendRate(c.sender, pkts, 5, c.lines[0]); err != nil {
		t.Fatal(err)
	}
	c.hb.sent(pkts)
	c.waitDelivered(t, n, 60*time.Second, true)
	if got := c.sentMessages(); got != n {
		t.Fatalf("daemon published %d messages, want %d", got, n)
	}
	for i, k := range c.cols {
		k.check(t)
		data, lost, losses := k.counts()
		h := c.counts(i)
		t.Logf("%s (%d%% nft drop): sent %d, received %d, recovered %d, lost %d; gaps %d, re-requests %d, retransmitted packets %d",
			k.name, drops[i], n, data, h.recovered, lost, h.gaps, h.requests, h.retransmits)
		if len(losses) > 0 {
			t.Errorf("%s: Loss events %v", k.name, losses)
		}
		if m := k.missing(1, n); m != 0 {
			t.Errorf("%s: %d quotes missing", k.name, m)
		}
		if drops[i] > 0 && h.recovered == 0 {
			t.Errorf("%s: %d%% drop configured but nothing was recovered: the loss rule did not act", k.name, drops[i])
		}
		if drops[i] == 0 && h.recovered != 0 {
			t.Logf("%s: recovered %d without configured loss (kernel drops or reordering)", k.name, h.recovered)
		}
	}
	st := c.d.Stats().Workers[0]
	var served, refused uint64
	for _, ch := range st.Channels {
		served += ch.ServedMessages
		refused += ch.RefusedACL + ch.RateLimited + ch.Busy
	}
	fs := c.d.Stats().Feed
	t.Logf("daemon: %d messages retransmitted; refused/limited/busy %d; feed recovered %d messages upstream (kernel drops %d), upstream lost %d",
		served, refused, fs.RecoveredMessages, fs.Lines[0].KernelDrops, fs.UpstreamLost)
}
