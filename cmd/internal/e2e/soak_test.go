package e2e

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"mdcast/decode"
	"mdcast/internal/clock"
	"mdcast/internal/lossinject"
	"mdcast/subscriber"
)

// memSample is the process's memory at one moment.
type memSample struct {
	rss       uint64 // VmRSS, bytes
	heap      uint64 // runtime HeapAlloc after a GC, bytes
	sys       uint64 // runtime Sys, bytes
	numGC     uint32
	goroutine int
}

func sampleMem(t *testing.T) memSample {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := memSample{heap: ms.HeapAlloc, sys: ms.Sys, numGC: ms.NumGC, goroutine: runtime.NumGoroutine()}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			s.rss = kb << 10
		}
	}
	return s
}

func (m memSample) String() string {
	return fmt.Sprintf("RSS %.1f MiB, heap %.1f MiB, sys %.1f MiB, %d goroutines", float64(m.rss)/(1<<20), float64(m.heap)/(1<<20), float64(m.sys)/(1<<20), m.goroutine)
}

// TestSoak streams quotes at a high rate through the daemon to a
// subscriber for MDCAST_SOAK (e.g. MDCAST_SOAK=60s; skipped when unset) and
// checks that memory stays flat, no goroutine outlives the test, every
// channel's history stays within its bounds, and every sequence the daemon
// published is delivered or reported lost (the subscriber drops 0.1% of
// packets by injection, so re-requests run throughout). MDCAST_SOAK_RATE sets the quote
// rate (default 200000/s).
//
//	MDCAST_SOAK=60s go test -run TestSoak -v -timeout 10m ./cmd/internal/e2e/
func TestSoak(t *testing.T) {
	env := os.Getenv("MDCAST_SOAK")
	if env == "" {
		t.Skip("soak test: set MDCAST_SOAK=60s to run it")
	}
	dur, err := time.ParseDuration(env)
	if err != nil || dur < 10*time.Second {
		t.Fatalf("MDCAST_SOAK=%q: want a duration of at least 10s", env)
	}
	rate := 200_000
	if s := os.Getenv("MDCAST_SOAK_RATE"); s != "" {
		if rate, err = strconv.Atoi(s); err != nil || rate < 1000 {
			t.Fatalf("MDCAST_SOAK_RATE=%q: want quotes per second >= 1000", s)
		}
	}
	// Registered first, so it runs after every other cleanup: every
	// goroutine the test started (daemon agents, HTTP server, subscriber,
	// collectors, readers) must be gone by then.
	// The goroutines running before the test (the test runner's) are
	// captured now; any other still alive at the end is a leak.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })

	const perPacket = 20
	const historyMessages = 1 << 16
	const historyBytes = 4 << 20
	c := testConfig(t, 1)
	c.Publish.History.Messages = historyMessages
	// The history's byte ring is allocated at its bound and its pages are
	// touched as it wraps: a bound the warm-up fills makes RSS comparable
	// (with the default 64 MiB per channel, RSS climbs for half a minute
	// to the configured bound, which is expected, not a leak).
	c.Publish.History.Bytes = historyBytes
	c.HTTP.Addr = "127.0.0.1:0"
	d := startDaemon(t, c)
	total := int(float64(rate)*dur.Seconds()) + perPacket
	// 0.1% injected loss at the subscriber keeps the re-request path and
	// the history under the soak too.
	sc := d.SubscriberConfig()
	sc.Loss = lossinject.Config{Rate: 0.001, Seed: 60}
	sub, cols := loopbackSubscriber(t, sc, total, subscriber.ConsumerConfig{Name: "soak"})
	col := cols[0]
	snd := newSender(t)
	feedAddr := netip.MustParseAddrPort(c.Feed.Lines[0].Addr)

	// Packets are built on the fly in one buffer: the sender holds no
	// memory that grows with the run.
	buf := make([]byte, 0, 1500)
	var q [decode.QuoteLen]byte
	id, seq := 1, uint64(1)
	packetsPerMs := max(rate/perPacket/1000, 1)
	start := time.Now()
	warm := start.Add(5 * time.Second)
	var first memSample
	sampled := false
	for ms := 0; ; ms++ {
		now := time.Now()
		if now.Sub(start) >= dur {
			break
		}
		if !sampled && now.After(warm) {
			first = sampleMem(t)
			sampled = true
			t.Logf("after warm-up (%d quotes): %v", id-1, first)
		}
		for k := 0; k < packetsPerMs; k++ {
			buf = decode.AppendPacketHeader(buf[:0], feedSession, seq, perPacket)
			sendNs := uint64(clock.Nanotime())
			for j := 0; j < perPacket; j++ {
				buf = decode.AppendMessage(buf, decode.AppendQuote(q[:0], decode.QuoteFields{
					Instrument: uint32(id % 64), ExchangeTime: uint64(id), BidPrice: int64(id), AskPrice: int64(id) + 1,
					BidSize: 1, AskSize: 1, SendTime: sendNs,
				}))
				id++
			}
			seq += perPacket
			if err := snd.WriteTo(buf, feedAddr); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Until(start.Add(time.Duration(ms+1) * time.Millisecond)); d > 0 {
			time.Sleep(d)
		}
	}
	sentQuotes := id - 1
	elapsed := time.Since(start)

	var published uint64
	waitFor(t, 60*time.Second, "every published sequence delivered or reported lost", func() bool {
		published = 0
		for _, ch := range d.Stats().Workers[0].Channels {
			published += ch.Messages
		}
		data, lost, _ := col.counts()
		st := d.Stats().Feed
		return st.EmittedMessages+st.UpstreamLost >= uint64(sentQuotes) && uint64(data)+lost >= published
	}, func() string { return fmt.Sprintf("daemon %+v", d.Stats().Feed) })
	last := sampleMem(t)
	col.check(t)
	data, lost, losses := col.counts()
	st := d.Stats()
	t.Logf("soak: %v at %d quotes/s target: sent %d quotes (%.0f/s) in %d packets; daemon published %d, upstream lost %d; subscriber received %d, lost %d in %d events",
		elapsed.Round(time.Millisecond), rate, sentQuotes, float64(sentQuotes)/elapsed.Seconds(), sentQuotes/perPacket, published, st.Feed.UpstreamLost, data, lost, len(losses))
	var injected, recovered, requests uint64
	for _, ch := range sub.Stats().Channels {
		injected += ch.InjectedDrops
		recovered += ch.Recovered
		requests += ch.Requests
	}
	t.Logf("subscriber: %d packets dropped by injection, %d messages recovered with %d re-requests", injected, recovered, requests)
	if injected == 0 || recovered == 0 {
		t.Errorf("no injected loss recovered: the re-request path was not soaked")
	}
	t.Logf("memory: start %v; end %v; GC cycles during the run %d (one is the end sample's forced GC)", first, last, last.numGC-first.numGC)
	for i, ch := range st.Workers[0].Channels {
		t.Logf("ch%d history: %d messages, %d bytes retained (bounds %d messages, %d bytes), %d evicted",
			i, ch.HistoryMessages, ch.HistoryBytes, historyMessages, historyBytes, ch.HistoryEvicted)
		if ch.HistoryMessages > historyMessages || ch.HistoryBytes > uint64(historyBytes) {
			t.Errorf("ch%d history over its bounds", i)
		}
		if ch.HistoryEvicted == 0 {
			t.Errorf("ch%d never evicted: the soak did not fill the history", i)
		}
	}
	// Flat: the heap and RSS after the run are within a small margin of
	// their size after warm-up (the histories and pools are full by then).
	if last.heap > first.heap+first.heap/10+8<<20 {
		t.Errorf("heap grew from %d to %d bytes", first.heap, last.heap)
	}
	if last.rss > first.rss+first.rss/10+8<<20 {
		t.Errorf("RSS grew from %d to %d bytes", first.rss, last.rss)
	}
	if uint64(data)+lost != published {
		t.Errorf("subscriber accounted for %d sequences (%d data + %d lost), daemon published %d", uint64(data)+lost, data, lost, published)
	}
}
