package feed

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mdcast/decode/capture"
	"mdcast/internal/mcasttest"
	"mdcast/ring"
)

// Samples shared with decode (see ../decode/testdata/ATTRIBUTION.md).
const (
	snippetPcap       = "../decode/testdata/itch50_snippet_moldudp64.pcap"  // 174 packets, 1000 messages, session SNIP123019
	snippetBinaryFile = "../decode/testdata/12302019_SNIPPET.NASDAQ_ITCH50" // the same 1000 ITCH messages
	snippetPackets    = 174
	snippetMessages   = 1000
	snippetSpan       = 2364611 - 230 // ns between the first and last ITCH timestamps
)

// snippetMessagesFromFile returns the 1000 messages of the BinaryFILE.
func snippetMessagesFromFile(t *testing.T) [][]byte {
	t.Helper()
	bf, err := capture.OpenBinaryFile(snippetBinaryFile)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	var msgs [][]byte
	for {
		m, err := bf.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, append([]byte(nil), m...))
	}
	if len(msgs) != snippetMessages {
		t.Fatalf("BinaryFILE has %d messages, want %d", len(msgs), snippetMessages)
	}
	return msgs
}

// replayInto replays cfg toward a fresh one-line receiver and returns what
// the receiver emitted and the replay's duration.
func replayInto(t *testing.T, cfg ReplayConfig, dst netip.AddrPort, lineCfg Config) (*seqOutput, *Receiver, ReplayStats, time.Duration) {
	t.Helper()
	out := newSeqOutput(0)
	out.keep = true
	r := newTestReceiver(t, lineCfg, nil, out)
	rp, err := NewReplayer(cfg, dst, "lo")
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := rp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	st := rp.Stats()
	// 174 datagrams fit in the socket buffer, so reading after the replay
	// loses nothing.
	pump(t, r, 10*time.Second, func() bool { return out.messages.Load() == st.Messages })
	out.check(t)
	return out, r, st, elapsed
}

func TestReplayPcap(t *testing.T) {
	want := snippetMessagesFromFile(t)
	cfg, addr := unicastConfig(t)
	out, r, st, elapsed := replayInto(t, ReplayConfig{File: snippetPcap}, addr, cfg)
	if st.Packets != snippetPackets || st.Messages != snippetMessages || st.Invalid != 0 || st.SendErrors != 0 {
		t.Fatalf("replay stats %+v, want %d packets %d messages", st, snippetPackets, snippetMessages)
	}
	rs := r.Stats()
	if rs.Session != "SNIP123019" || rs.EmittedPackets != snippetPackets || rs.EmittedMessages != snippetMessages {
		t.Fatalf("receiver session %q emitted %d packets %d messages", rs.Session, rs.EmittedPackets, rs.EmittedMessages)
	}
	if out.next != snippetMessages+1 {
		t.Fatalf("sequences up to %d, want 1..%d", out.next-1, snippetMessages)
	}
	for i, m := range out.msgs {
		if !bytes.Equal(m, want[i]) {
			t.Fatalf("message %d differs from the BinaryFILE", i+1)
		}
	}
	// Paced by capture time: it cannot finish before the capture's span.
	if elapsed < snippetSpan*time.Nanosecond*9/10 {
		t.Errorf("replay took %v, less than the capture span %v", elapsed, time.Duration(snippetSpan))
	}
}

// A BinaryFILE is packed into MoldUDP64 packets by the rule the pcap was
// made with, so it yields the same packets: 174, the same 1000 messages.
func TestReplayBinaryFile(t *testing.T) {
	want := snippetMessagesFromFile(t)
	cfg, addr := unicastConfig(t)
	out, r, st, _ := replayInto(t, ReplayConfig{File: snippetBinaryFile, Session: "BINFILE"}, addr, cfg)
	if st.Messages != snippetMessages || st.Packets != snippetPackets {
		t.Fatalf("replay stats %+v, want %d packets %d messages", st, snippetPackets, snippetMessages)
	}
	if rs := r.Stats(); rs.Session != "BINFILE" || rs.EmittedMessages != snippetMessages {
		t.Fatalf("receiver session %q emitted %d", rs.Session, rs.EmittedMessages)
	}
	for i, m := range out.msgs {
		if !bytes.Equal(m, want[i]) {
			t.Fatalf("message %d differs from the BinaryFILE", i+1)
		}
	}
	if out.next != snippetMessages+1 {
		t.Fatalf("sequences up to %d, want 1..%d", out.next-1, snippetMessages)
	}
}

func TestReplaySpeedAndRate(t *testing.T) {
	cfg, addr := unicastConfig(t)
	_, _, _, slow := replayInto(t, ReplayConfig{File: snippetPcap, Speed: 0.25}, addr, cfg)
	if min := 4 * snippetSpan * time.Nanosecond * 9 / 10; slow < min {
		t.Errorf("speed 0.25 took %v, want at least %v", slow, min)
	}
	cfg2, addr2 := unicastConfig(t)
	const rate = 50_000 // messages per second: the last packet is due after about 967 messages
	_, _, st, took := replayInto(t, ReplayConfig{File: snippetPcap, Rate: rate}, addr2, cfg2)
	if st.Messages != snippetMessages {
		t.Fatalf("replayed %d messages", st.Messages)
	}
	if min := time.Duration(float64(snippetMessages-40) / rate * float64(time.Second)); took < min {
		t.Errorf("rate %d/s took %v, want at least %v", rate, took, min)
	}
}

// The Agent form runs under a ring.Runner and sends to a multicast group.
func TestReplayAgentMulticast(t *testing.T) {
	mcasttest.RequireLoopbackMulticast(t)
	g := netip.AddrPortFrom(mcasttest.Group(t), mcasttest.FreeUDPPort(t))
	out := newSeqOutput(snippetMessages)
	out.keep = true
	r := newTestReceiver(t, Config{Lines: []LineConfig{{Addr: g.String()}}}, nil, out)
	rp, err := NewReplayer(ReplayConfig{File: snippetPcap, Speed: 4}, g, "lo")
	if err != nil {
		t.Fatal(err)
	}
	rn := ring.NewRunner(rp, ring.RunnerConfig{Idle: ring.Yield{}, CPU: -1})
	if err := rn.Start(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, rp.Done(), 10*time.Second, func() string { return "replay not done" })
	rn.Close()
	if err := rp.Err(); err != nil {
		t.Fatal(err)
	}
	pump(t, r, 10*time.Second, func() bool { return out.messages.Load() == snippetMessages })
	out.check(t)
	if st := rp.Stats(); st.Packets != snippetPackets {
		t.Fatalf("sent %d packets, want %d", st.Packets, snippetPackets)
	}
}

func TestReplayErrors(t *testing.T) {
	dst := netip.MustParseAddrPort("127.0.0.1:9")
	if _, err := NewReplayer(ReplayConfig{}, dst, "lo"); err == nil {
		t.Error("no file accepted")
	}
	if _, err := NewReplayer(ReplayConfig{File: filepath.Join(t.TempDir(), "missing")}, dst, "lo"); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := NewReplayer(ReplayConfig{File: snippetPcap, Speed: -1}, dst, "lo"); err == nil {
		t.Error("negative speed accepted")
	}
	// A BinaryFILE cut inside a record ends the replay with an error after
	// sending what was complete.
	b, err := os.ReadFile(snippetBinaryFile)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.itch")
	if err := os.WriteFile(cut, b[:len(b)-5], 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, addr := unicastConfig(t)
	r := newTestReceiver(t, cfg, nil, newSeqOutput(0))
	_ = r
	rp, err := NewReplayer(ReplayConfig{File: cut, Rate: 1e9}, addr, "lo")
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	err = rp.Run(context.Background())
	if !errors.Is(err, capture.ErrTruncated) {
		t.Fatalf("Run on a cut file: %v, want ErrTruncated", err)
	}
	if st := rp.Stats(); st.Messages != snippetMessages-1 {
		t.Errorf("sent %d messages before the cut, want %d", st.Messages, snippetMessages-1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rp2, err := NewReplayer(ReplayConfig{File: snippetPcap}, addr, "lo")
	if err != nil {
		t.Fatal(err)
	}
	defer rp2.Close()
	if err := rp2.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v", err)
	}
}
