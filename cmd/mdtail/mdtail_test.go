package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/internal/udpsock"
)

const (
	snippetPcap   = "../../decode/testdata/itch50_snippet_moldudp64.pcap"
	snippetBinary = "../../decode/testdata/12302019_SNIPPET.NASDAQ_ITCH50"
)

// The per-type counts of the 1000-message sample (decode/testdata/ATTRIBUTION.md).
var snippetTypes = map[string]uint64{"A": 367, "U": 225, "F": 193, "D": 167, "E": 28, "X": 6, "I": 4, "P": 4, "Q": 4, "S": 1, "C": 1}

func runArgs(t *testing.T, args ...string) string {
	t.Helper()
	o, err := parseOptions(args, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := run(ctx, o, &out, &errOut); err != nil {
		t.Fatalf("run %v: %v (stderr %s)", args, err, errOut.String())
	}
	return out.String()
}

func decodeSummary(t *testing.T, s string) summary {
	t.Helper()
	var sum summary
	if err := json.Unmarshal([]byte(s), &sum); err != nil {
		t.Fatalf("summary %q: %v", s, err)
	}
	return sum
}

func TestSummaryPcap(t *testing.T) {
	sum := decodeSummary(t, runArgs(t, "-r", snippetPcap, "-summary-json"))
	if sum.Packets != 174 || sum.Messages != 1000 || sum.Gaps != 0 || sum.Malformed != 0 {
		t.Errorf("summary %+v", sum)
	}
	if len(sum.ByType) != len(snippetTypes) {
		t.Errorf("by_type %v, want %v", sum.ByType, snippetTypes)
	}
	for k, v := range snippetTypes {
		if sum.ByType[k] != v {
			t.Errorf("by_type[%s] = %d, want %d", k, sum.ByType[k], v)
		}
	}
}

func TestSummaryBinaryFile(t *testing.T) {
	sum := decodeSummary(t, runArgs(t, "-r", snippetBinary, "-summary-json"))
	if sum.Source != "binaryfile" || sum.Messages != 1000 || sum.Packets != 0 {
		t.Errorf("summary %+v", sum)
	}
	for k, v := range snippetTypes {
		if sum.ByType[k] != v {
			t.Errorf("by_type[%s] = %d, want %d", k, sum.ByType[k], v)
		}
	}
}

func TestJSONITCH(t *testing.T) {
	out := runArgs(t, "-r", snippetPcap, "-json", "-type", "A", "-n", "2")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines:\n%s", len(lines), out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "A", "seq": 6.0, "stock_locate": 8381.0, "tracking_number": 0.0, "timestamp": 34200000092539.0,
		"order_reference_number": 9899132.0, "buy_sell_indicator": "B", "shares": 100.0, "stock": "VIXM", "price": "21.3300"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, m[k], m[k], v)
		}
	}
}

func TestTextAndFilters(t *testing.T) {
	out := runArgs(t, "-r", snippetPcap, "-instrument", "8381", "-type", "A")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.Contains(lines[0], "#6 A loc=8381") || !strings.Contains(lines[0], "price=21.3300") {
		t.Fatalf("output:\n%s", out)
	}
	for _, l := range lines {
		if !strings.Contains(l, " A loc=8381 ") {
			t.Errorf("filtered line %q", l)
		}
	}
	bySymbol := runArgs(t, "-r", snippetPcap, "-instrument", "VIXM", "-type", "A")
	if bySymbol != out {
		t.Errorf("symbol filter differs from locate filter:\n%s\nvs\n%s", bySymbol, out)
	}
}

func TestOptions(t *testing.T) {
	o, err := parseOptions([]string{"-channel", "239.255.1.2:3000,request=127.0.0.1:4000,name=q0,format=itch", "-channel", "239.255.1.3:3000", "-i", "lo"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.subscriberConfig()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Channels) != 2 || cfg.Channels[0].RequestAddr != "127.0.0.1:4000" || cfg.Channels[0].Name != "q0" ||
		cfg.Channels[0].Format != decode.FormatITCH || cfg.Interface != "lo" {
		t.Errorf("config %+v", cfg)
	}
	for _, bad := range [][]string{{}, {"-channel", "x"}, {"-channel", "239.1.1.1:1,foo=1"}, {"-r", "f", "-channel", "239.1.1.1:1"}, {"-r", "f", "-type", "é"}} {
		if _, err := parseOptions(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// followLive runs mdtail with args (its -channel set to a fresh loopback
// group named q, lastOctet apart from other tests' groups) and sends pkt to
// that group every 20 ms until mdtail exits (the subscriber joins
// asynchronously; duplicates are dropped, so the output is the same), then
// returns mdtail's output lines.
func followLive(t *testing.T, lastOctet byte, pkt []byte, args ...string) []string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	group := netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 255, byte(os.Getpid() % 250), lastOctet}), uint16(port))
	send, err := udpsock.NewSender(netip.MustParseAddrPort("127.0.0.1:0"), "lo", udpsock.Options{Loop: true})
	if err != nil {
		t.Skipf("no loopback multicast: %v", err)
	}
	defer send.Close()
	o, err := parseOptions(append([]string{"-channel", group.String() + ",name=q"}, args...), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := net.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), o, pw, os.Stderr)
		pw.Close()
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var got []string
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(10 * time.Second)
loop:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break loop
			}
			got = append(got, l)
		case <-tick.C:
			_ = send.WriteTo(pkt, group)
		case <-timeout:
			t.Fatal("timed out")
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return got
}

// TestLive follows a loopback channel fed by a bare sender and prints the
// quotes as JSON.
func TestLive(t *testing.T) {
	sess, _ := decode.MakeSession("LIVE")
	pkt := decode.AppendPacketHeader(nil, sess, 1, 5)
	for i := 0; i < 5; i++ {
		pkt = decode.AppendMessage(pkt, decode.AppendQuote(nil, decode.QuoteFields{Instrument: uint32(i + 1), BidPrice: 12_345_000_000, BidSize: 10}))
	}
	got := followLive(t, 240, pkt, "-json", "-n", "5", "-duration", "10s", "-summary-json")
	if len(got) != 6 {
		t.Fatalf("got %d lines: %q", len(got), got)
	}
	var q map[string]any
	if err := json.Unmarshal([]byte(got[0]), &q); err != nil {
		t.Fatal(err)
	}
	if q["channel"] != "q" || q["seq"] != 1.0 || q["type"] != "q" || q["instrument"] != 1.0 || q["bid_price"] != "123.45000000" || q["bid_size"] != 10.0 {
		t.Errorf("first line %v", q)
	}
	sum := decodeSummary(t, got[5])
	if sum.Messages != 5 || sum.ByType["q"] != 5 || sum.Source != "network" {
		t.Errorf("summary %+v", sum)
	}
}

// TestStatsLines: -stats prints a line per channel every second with its
// rate and repair counters.
func TestStatsLines(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	group := netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 255, byte(os.Getpid() % 250), 241}), uint16(port))
	send, err := udpsock.NewSender(netip.MustParseAddrPort("127.0.0.1:0"), "lo", udpsock.Options{Loop: true})
	if err != nil {
		t.Skipf("no loopback multicast: %v", err)
	}
	defer send.Close()
	o, err := parseOptions([]string{"-channel", group.String() + ",name=statsch", "-stats", "-q", "-duration", "1500ms"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), o, &stdout, &stderr) }()
	sess, _ := decode.MakeSession("STATS")
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	seq := uint64(1)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			out := stderr.String()
			if !strings.Contains(out, " statsch: ") || !strings.Contains(out, " msg/s ") || !strings.Contains(out, "gaps ") || !strings.Contains(out, "recovered ") {
				t.Fatalf("stats output %q", out)
			}
			if stdout.Len() != 0 {
				t.Errorf("-q printed %q", stdout.String())
			}
			return
		case <-tick.C:
			pkt := decode.AppendMessage(decode.AppendPacketHeader(nil, sess, seq, 1), decode.AppendQuote(nil, decode.QuoteFields{Instrument: 1}))
			_ = send.WriteTo(pkt, group)
			seq++
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
func (s *syncBuffer) Len() int       { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Len() }
