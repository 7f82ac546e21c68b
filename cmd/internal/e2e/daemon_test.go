package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"mdcast/cmd/internal/daemon"
	"mdcast/decode"
	"mdcast/decode/capture"
	"mdcast/feed"
	"mdcast/internal/lossinject"
	"mdcast/internal/udpsock"
)

var feedSession = mustSession("TESTFEED01")

func mustSession(s string) decode.Session {
	v, err := decode.MakeSession(s)
	if err != nil {
		panic(err)
	}
	return v
}

// checkQuotes checks that the readers together got exactly quotes 1..n,
// each on the channel its instrument hashes to, with contiguous sequences
// from 1 per channel and the original order within each channel.
func checkQuotes(t *testing.T, readers []*channelReader, n int) {
	t.Helper()
	seen := make([]bool, n+1)
	for ci, r := range readers {
		msgs, _, _ := r.snapshot()
		var last uint64
		for i, m := range msgs {
			if m.seq != uint64(i+1) {
				t.Fatalf("channel %d: message %d has sequence %d, want %d", ci, i, m.seq, i+1)
			}
			var q decode.Quote
			if err := q.Wrap(m.msg); err != nil {
				t.Fatalf("channel %d seq %d: %v", ci, m.seq, err)
			}
			if got := int(q.Instrument()) % len(readers); got != ci {
				t.Fatalf("channel %d carries instrument %d (belongs on channel %d)", ci, q.Instrument(), got)
			}
			x := q.ExchangeTime()
			if x <= last || x > uint64(n) {
				t.Fatalf("channel %d seq %d: quote %d after %d (out of order or unknown)", ci, m.seq, x, last)
			}
			if seen[x] {
				t.Fatalf("quote %d delivered twice", x)
			}
			seen[x] = true
			last = x
		}
	}
	for i := 1; i <= n; i++ {
		if !seen[i] {
			t.Fatalf("quote %d never arrived", i)
		}
	}
}

func readersFor(t *testing.T, c daemon.Config) []*channelReader {
	var rs []*channelReader
	for _, ch := range c.WithDefaults().Publish.Channels {
		rs = append(rs, newChannelReader(t, ch.Group))
	}
	return rs
}

func total(rs []*channelReader) int {
	n := 0
	for _, r := range rs {
		n += r.count()
	}
	return n
}

func TestQuotesReachEveryChannelInOrder(t *testing.T) {
	const n = 100_000
	c := testConfig(t, 1)
	readers := readersFor(t, c)
	d := startDaemon(t, c)
	pkts := quotePackets(feedSession, n, 20, 16)
	// No upstream recovery here: every datagram must reach the feed, so the
	// sender waits for the feed to take them (sendFlow).
	sendFlow(t, newSender(t), pkts, func() uint64 { return d.Stats().Feed.Lines[0].Datagrams },
		netip.MustParseAddrPort(c.Feed.Lines[0].Addr))
	waitFor(t, 20*time.Second, "100k quotes on the channels", func() bool { return total(readers) >= n }, func() string { return statsLine(d, readers) })
	checkQuotes(t, readers, n)
	st := d.Stats()
	if st.Feed.EmittedMessages != n || st.Feed.UpstreamLost != 0 {
		t.Fatalf("feed stats: emitted %d, upstream lost %d", st.Feed.EmittedMessages, st.Feed.UpstreamLost)
	}
}

func TestITCHPcapReplay(t *testing.T) {
	c := testConfig(t, 1)
	c.Feed.Format = "itch"
	c.Feed.Lines[0].Replay = feed.ReplayConfig{File: "../../../decode/testdata/itch50_snippet_moldudp64.pcap", Rate: 200_000}
	readers := readersFor(t, c)
	startDaemon(t, c)
	waitFor(t, 20*time.Second, "1000 ITCH messages", func() bool { return total(readers) >= 1000 })
	time.Sleep(20 * time.Millisecond) // nothing more may come: checked below

	// The reference: the BinaryFILE holds the same 1000 messages in order.
	f, err := capture.OpenBinaryFile("../../../decode/testdata/12302019_SNIPPET.NASDAQ_ITCH50")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want [4][][]byte
	for {
		m, err := f.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		loc := binary.BigEndian.Uint16(m[1:3])
		want[int(loc)%4] = append(want[int(loc)%4], append([]byte(nil), m...))
	}
	got := 0
	for ci, r := range readers {
		msgs, _, _ := r.snapshot()
		if len(msgs) != len(want[ci]) {
			t.Fatalf("channel %d: %d messages, want %d", ci, len(msgs), len(want[ci]))
		}
		for i, m := range msgs {
			if m.seq != uint64(i+1) || !bytes.Equal(m.msg, want[ci][i]) {
				t.Fatalf("channel %d message %d (seq %d) differs from the original", ci, i, m.seq)
			}
		}
		got += len(msgs)
	}
	if got != 1000 {
		t.Fatalf("%d messages, want 1000", got)
	}
}

// exchange is a fake upstream: it keeps every message it sent and answers
// MoldUDP64 re-requests, as an exchange's re-request server does.
type exchange struct {
	conn *udpsock.Conn
	msgs map[uint64][]byte
	done chan struct{}
}

func newExchange(t *testing.T, pkts [][]byte) *exchange {
	t.Helper()
	conn, err := udpsock.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return serveExchange(t, conn, pkts)
}

// serveExchange answers re-requests on conn from the messages of pkts
// until the test ends; it owns conn.
func serveExchange(t *testing.T, conn *udpsock.Conn, pkts [][]byte) *exchange {
	t.Helper()
	x := &exchange{conn: conn, msgs: map[uint64][]byte{}, done: make(chan struct{})}
	for _, b := range pkts {
		var p decode.Packet
		if err := p.Wrap(b); err != nil {
			t.Fatal(err)
		}
		it := p.Messages()
		for it.Next() {
			x.msgs[it.Sequence()] = it.Message()
		}
	}
	go x.serve()
	t.Cleanup(func() { _ = conn.Close(); <-x.done })
	return x
}

func (x *exchange) serve() {
	defer close(x.done)
	buf := make([]byte, 2048)
	out := make([]byte, 0, 1500)
	w := decode.NewPacketWriter(out, 1400)
	for {
		n, from, err := x.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var r decode.Request
		if r.Wrap(buf[:n]) != nil {
			continue
		}
		w.Reset(r.Session(), r.Sequence())
		for s := r.Sequence(); s < r.Sequence()+uint64(r.Count()); s++ {
			m, ok := x.msgs[s]
			if !ok || !w.Append(m) {
				break
			}
		}
		if w.Count() > 0 {
			_ = x.conn.WriteTo(w.Bytes(), from)
		}
	}
}

func TestLinesABWithIndependentLoss(t *testing.T) {
	const n = 100_000
	c := testConfig(t, 2)
	c.Feed.Lines[0].Loss = lossinject.Config{Rate: 0.05, Seed: 1}
	c.Feed.Lines[1].Loss = lossinject.Config{Rate: 0.05, Seed: 2}
	pkts := quotePackets(feedSession, n, 20, 16)
	x := newExchange(t, pkts)
	c.Feed.Recovery.Addr = x.conn.LocalAddr().String()
	// This test checks completeness, not recovery speed: on a loaded 2-core
	// machine a 5 ms answer window can pass while the fake exchange's
	// goroutine waits for a CPU.
	c.Feed.Recovery.Timeout = 50 * time.Millisecond
	c.Feed.Recovery.Retries = 10
	c.Feed.Lines[0].RcvBuf = 32 << 20
	c.Feed.Lines[1].RcvBuf = 32 << 20
	readers := readersFor(t, c)
	d := startDaemon(t, c)
	sendPaced(t, newSender(t), pkts,
		netip.MustParseAddrPort(c.Feed.Lines[0].Addr), netip.MustParseAddrPort(c.Feed.Lines[1].Addr))
	waitFor(t, 30*time.Second, "100k quotes through lines A and B", func() bool { return total(readers) >= n })
	checkQuotes(t, readers, n)
	st := d.Stats()
	for _, l := range st.Feed.Lines {
		if l.InjectedDrops == 0 {
			t.Errorf("line %s: no injected drops: loss injection is not on", l.Name)
		}
	}
	if st.Feed.UpstreamLost != 0 {
		t.Errorf("upstream lost %d messages", st.Feed.UpstreamLost)
	}
	t.Logf("line A dropped %d packets, line B %d; duplicates %d; recovered %d messages upstream; gaps %d",
		st.Feed.Lines[0].InjectedDrops, st.Feed.Lines[1].InjectedDrops,
		st.Feed.Lines[0].DuplicatePackets+st.Feed.Lines[1].DuplicatePackets, st.Feed.RecoveredMessages, st.Feed.Gaps)
}

// request sends one re-request from conn and returns the answer's messages,
// or nil if nothing comes back within wait.
func request(t *testing.T, conn *udpsock.Conn, to netip.AddrPort, s decode.Session, seq uint64, count uint16, wait time.Duration) []received {
	t.Helper()
	if err := conn.WriteTo(decode.AppendRequest(nil, s, seq, count), to); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetRecvTimeout(wait); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	n, _, err := conn.ReadFrom(buf)
	if err != nil {
		return nil
	}
	var p decode.Packet
	if err := p.Wrap(buf[:n]); err != nil {
		t.Fatalf("answer is not MoldUDP64: %v", err)
	}
	if p.Session() != s {
		t.Fatalf("answer session %q, want %q", p.Session(), s)
	}
	var out []received
	it := p.Messages()
	for it.Next() {
		out = append(out, received{it.Sequence(), append([]byte(nil), it.Message()...)})
	}
	return out
}

func TestRetransmission(t *testing.T) {
	const n = 20_000
	c := testConfig(t, 1)
	c.Publish.History.Messages = 1000 // per channel: early sequences get evicted
	c.Publish.Retransmit.ACL = []string{"127.0.0.1/32"}
	readers := readersFor(t, c)
	d := startDaemon(t, c)
	sendPaced(t, newSender(t), quotePackets(feedSession, n, 20, 16), netip.MustParseAddrPort(c.Feed.Lines[0].Addr))
	waitFor(t, 20*time.Second, "the quotes", func() bool { return total(readers) >= n })

	session := mustSession(d.Session())
	reqAddr := netip.MustParseAddrPort(c.Publish.Channels[0].RequestAddr)
	orig, _, _ := readers[0].snapshot()
	last := orig[len(orig)-1].seq
	client := newSender(t)

	// A retained range comes back byte for byte.
	from := last - 10
	got := request(t, client, reqAddr, session, from, 5, 2*time.Second)
	if len(got) != 5 {
		t.Fatalf("retained range: %d messages, want 5", len(got))
	}
	for i, m := range got {
		o := orig[from-1+uint64(i)]
		if m.seq != o.seq || !bytes.Equal(m.msg, o.msg) {
			t.Fatalf("retransmitted seq %d differs from the original", m.seq)
		}
	}

	// Evicted range, wrong session: nothing, counted.
	if got := request(t, client, reqAddr, session, 1, 5, 100*time.Millisecond); got != nil {
		t.Fatalf("evicted range answered with %d messages", len(got))
	}
	if got := request(t, client, reqAddr, mustSession("WRONGSESS1"), from, 5, 100*time.Millisecond); got != nil {
		t.Fatalf("wrong session answered with %d messages", len(got))
	}
	// From outside the ACL (127.0.0.2 is loopback but not 127.0.0.1/32).
	outsider, err := udpsock.ListenUnicast(netip.MustParseAddrPort("127.0.0.2:0"), udpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer outsider.Close()
	if got := request(t, outsider, reqAddr, session, from, 5, 100*time.Millisecond); got != nil {
		t.Fatalf("request from outside the ACL answered with %d messages", len(got))
	}
	ch := d.Stats().Workers[0].Channels[0]
	if ch.Served != 1 || ch.OutOfHistory != 1 || ch.RefusedSession != 1 || ch.RefusedACL != 1 {
		t.Fatalf("channel counters: served %d, out of history %d, refused session %d, refused acl %d; want 1 each",
			ch.Served, ch.OutOfHistory, ch.RefusedSession, ch.RefusedACL)
	}
}

func TestHeartbeatsWhileIdle(t *testing.T) {
	c := testConfig(t, 1)
	c.Publish.Heartbeat.Idle = 20 * time.Millisecond
	c.Publish.Heartbeat.Early = time.Millisecond
	readers := readersFor(t, c)
	startDaemon(t, c)
	sendPaced(t, newSender(t), quotePackets(feedSession, 100, 20, 16), netip.MustParseAddrPort(c.Feed.Lines[0].Addr))
	waitFor(t, 10*time.Second, "the quotes", func() bool { return total(readers) >= 100 })
	// The feed is now idle: every channel keeps sending heartbeats that
	// carry its next sequence.
	for ci, r := range readers {
		msgs, hbs0, _ := r.snapshot()
		waitFor(t, 5*time.Second, "heartbeats", func() bool {
			_, hbs, _ := r.snapshot()
			return len(hbs) >= len(hbs0)+3
		})
		_, hbs, _ := r.snapshot()
		next := uint64(len(msgs) + 1)
		if got := hbs[len(hbs)-1]; got != next {
			t.Fatalf("channel %d: heartbeat carries sequence %d, want next %d", ci, got, next)
		}
	}
}

func TestMalformedDatagramsCounted(t *testing.T) {
	const n = 20_000
	c := testConfig(t, 1)
	readers := readersFor(t, c)
	d := startDaemon(t, c)
	feedAddr := netip.MustParseAddrPort(c.Feed.Lines[0].Addr)
	snd := newSender(t)
	rng := rand.New(rand.NewPCG(1, 2))
	good := quotePackets(feedSession, n, 20, 16)
	bad := 0
	for i, p := range good {
		if err := snd.WriteTo(p, feedAddr); err != nil {
			t.Fatal(err)
		}
		// After every good packet, one bad one of a rotating kind.
		var g []byte
		switch i % 4 {
		case 0: // random bytes
			g = make([]byte, 1+rng.IntN(200))
			for j := range g {
				g[j] = byte(rng.Uint32())
			}
		case 1: // truncated header
			g = p[:7]
		case 2: // count larger than the messages present
			g = append([]byte(nil), p...)
			binary.BigEndian.PutUint16(g[18:20], 60)
		case 3: // a length past the end
			g = append([]byte(nil), p[:len(p)-5]...)
		}
		if err := snd.WriteTo(g, feedAddr); err != nil {
			t.Fatal(err)
		}
		bad++
		if i%32 == 31 {
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(t, 20*time.Second, "the good quotes", func() bool { return total(readers) >= n })
	checkQuotes(t, readers, n)
	var malformed uint64
	waitFor(t, 5*time.Second, "malformed counters", func() bool {
		malformed = d.Stats().Feed.Lines[0].Malformed.Total()
		return malformed >= uint64(bad)-uint64(bad/4) // random bytes may pass validation by chance only rarely
	})
	m := d.Stats().Feed.Lines[0].Malformed
	if m.Short == 0 || m.MissingMessages+m.LengthPastEnd+m.Truncated == 0 {
		t.Fatalf("malformed by reason: %+v", m)
	}
	t.Logf("sent %d garbage datagrams; counted malformed %d: %+v", bad, malformed, m)
}

func TestHTTPEndpoints(t *testing.T) {
	c := testConfig(t, 1)
	d := startDaemon(t, c)
	base := "http://" + d.HTTPAddr()
	get := func(path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(b)
	}
	m := get("/metrics")
	for _, want := range []string{
		`mdcast_feed_line_datagrams_total{feed="feed",line="A"}`,
		`mdcast_feed_line_malformed_total{feed="feed",line="A",reason="short"}`,
		`mdcast_channel_messages_total{channel="ch0"`,
		`mdcast_channel_refused_acl_total{channel="ch3"`,
		`mdcast_pool_in_use`,
		`go_gc_duration_seconds`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var st daemon.Stats
	if err := json.Unmarshal([]byte(get("/stats")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Session != d.Session() || len(st.Workers) != 1 || len(st.Workers[0].Channels) != 4 {
		t.Fatalf("/stats: %+v", st)
	}
	if !strings.Contains(get("/debug/pprof/"), "goroutine") {
		t.Error("/debug/pprof/ index missing")
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"profile = \"fast\"", `profile "fast"`},
		{"[[feed.line]]\naddr = \"nowhere\"", `line[0].addr "nowhere"`},
		{"[[publish.channel]]\ngroup = \"10.0.0.1:5\"\nrequest_addr = \"127.0.0.1:9\"", `channel[0].group "10.0.0.1:5": not a multicast address`},
		{"[agents]\nidle = \"nap\"", `agents.idle "nap"`},
		{"[http]\nadress = \"x\"", `unknown key http.adress`},
	} {
		c, err := daemon.Parse(strings.NewReader(tc.toml))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to mention %s", tc.toml, err, tc.want)
		}
	}
}

func TestPrintConfigParsesBack(t *testing.T) {
	b, err := daemon.Default().TOML()
	if err != nil {
		t.Fatal(err)
	}
	c, err := daemon.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("printed config does not parse: %v\n%s", err, b)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	b2, _ := c.TOML()
	if !bytes.Equal(b, b2) {
		t.Fatalf("config does not round-trip:\n%s\n---\n%s", b, b2)
	}
}

// TestREADMEConfigExampleIsValid keeps the README's configuration example
// true: it must parse and validate.
func TestREADMEConfigExampleIsValid(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```toml\n")
	if !ok {
		t.Fatal("README has no toml example")
	}
	example, _, _ := strings.Cut(rest, "```")
	c, err := daemon.Parse(strings.NewReader(example))
	if err != nil {
		t.Fatalf("README example: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("README example: %v", err)
	}
}
