package feed

import (
	"math"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/internal/lossinject"
	"mdcast/internal/mcasttest"
	"mdcast/ring"
)

// unicastConfig returns a one-line feed on a free 127.0.0.1 port.
func unicastConfig(t testing.TB) (Config, netip.AddrPort) {
	t.Helper()
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), mcasttest.FreeUDPPort(t))
	return Config{Name: "test", Lines: []LineConfig{{Addr: addr.String()}}}, addr
}

func newTestReceiver(t testing.TB, cfg Config, pool *ring.Pool, out Output) *Receiver {
	t.Helper()
	r, err := New(cfg, pool, out)
	if err != nil {
		t.Fatal(err)
	}
	r.SetLogger(quietLog)
	t.Cleanup(func() { r.Close() })
	return r
}

func TestReceiverUnicastInOrder(t *testing.T) {
	cfg, addr := unicastConfig(t)
	out := newSeqOutput(0)
	r := newTestReceiver(t, cfg, nil, out)
	if len(r.FDs()) != 1 || r.FDs()[0] < 0 {
		t.Fatalf("FDs %v", r.FDs())
	}
	if err := r.OnStart(); err != nil {
		t.Fatal(err)
	}
	s := newSender(t)
	seq, want := uint64(1), uint64(0)
	for i := 0; i < 500; i++ {
		n := 1 + i%5
		s.packet(sessA, seq, n, addr)
		seq += uint64(n)
		want += uint64(n)
		if i%50 == 49 { // stay well inside the socket buffer
			pump(t, r, 5*time.Second, func() bool { return out.messages.Load() == want })
		}
	}
	pump(t, r, 5*time.Second, func() bool { return out.messages.Load() == want })
	out.check(t)
	st := r.Stats()
	if st.Name != "test" || st.Session != "SESSION-A" || st.NextSequence != seq {
		t.Errorf("stats name %q session %q next %d, want test SESSION-A %d", st.Name, st.Session, st.NextSequence, seq)
	}
	l := st.Lines[0]
	if l.Name != "A" || l.Packets != 500 || l.Datagrams != 500 || l.Messages != want || l.Malformed.Total() != 0 {
		t.Errorf("line stats %+v", l)
	}
	if st.EmittedPackets != 500 || st.EmittedMessages != want {
		t.Errorf("emitted %d packets %d messages, want 500 %d", st.EmittedPackets, st.EmittedMessages, want)
	}
	if st.Recovery != nil {
		t.Error("recovery stats without recovery")
	}
}

// Garbage datagrams between good ones are counted by reason, and every
// good message still arrives, once and in order.
func TestReceiverMalformed(t *testing.T) {
	cfg, addr := unicastConfig(t)
	cfg.Pool = ring.PoolConfig{Packets: 256, BufSize: 512}
	out := newSeqOutput(0)
	r := newTestReceiver(t, cfg, nil, out)
	s := newSender(t)

	hdr := func(seq uint64, count uint16) []byte { return decode.AppendPacketHeader(nil, sessA, seq, count) }
	block := func(b []byte, l uint16, body int) []byte {
		b = append(b, byte(l>>8), byte(l))
		return append(b, make([]byte, body)...)
	}
	garbage := []struct {
		b      []byte
		reason string
	}{
		{[]byte("hello"), "short"},
		{block(hdr(1, 3), 8, 8), "missing_messages"},
		{block(hdr(1, 2), 100, 8), "length_past_end"},
		{block(hdr(1, 1), 100, 8), "truncated"},
		{append(appendTestPacket(nil, sessA, 1, 1), 1, 2, 3), "trailing_bytes"},
		{block(hdr(math.MaxUint64, 2), 8, 8), "sequence_overflow"},
		{appendTestPacket(nil, sessA, 1, 60), "oversize"}, // 20+60*10 bytes > 512
	}
	const rounds = 20
	seq := uint64(1)
	for i := 0; i < rounds; i++ {
		for _, g := range garbage {
			s.packet(sessA, seq, 3, addr)
			seq += 3
			s.raw(g.b, addr)
		}
		pump(t, r, 5*time.Second, func() bool { return out.messages.Load() == seq-1 })
	}
	out.check(t)
	m := r.Stats().Lines[0].Malformed
	got := map[string]uint64{
		"short": m.Short, "missing_messages": m.MissingMessages, "length_past_end": m.LengthPastEnd,
		"truncated": m.Truncated, "trailing_bytes": m.TrailingBytes, "sequence_overflow": m.SequenceOverflow,
		"oversize": m.Oversize, "other": m.Other,
	}
	for _, g := range garbage {
		if got[g.reason] != rounds {
			t.Errorf("malformed %s = %d, want %d (all: %+v)", g.reason, got[g.reason], rounds, m)
		}
	}
	if m.Other != 0 || m.Total() != uint64(rounds*len(garbage)) {
		t.Errorf("malformed %+v, total %d, want %d", m, m.Total(), rounds*len(garbage))
	}
	st := r.Stats()
	if st.EmittedMessages != seq-1 || st.UpstreamLost != 0 || st.Gaps != 0 {
		t.Errorf("emitted %d lost %d gaps %d, want %d 0 0", st.EmittedMessages, st.UpstreamLost, st.Gaps, seq-1)
	}
	if r.pool.Stats().InUse != DefaultBatch {
		t.Errorf("pool InUse %d, want only the batch slots (%d)", r.pool.Stats().InUse, DefaultBatch)
	}
}

// Two lines over loopback multicast, each losing 5% of its packets to
// injected loss with its own seed, plus an upstream re-request server for
// the packets both lines lost: the output is complete and in order.
func TestReceiverABLossComplete(t *testing.T) {
	mcasttest.RequireLoopbackMulticast(t)
	const total, per = 100_000, 10
	up := startFakeUpstream(t, sessA)
	gA := netip.AddrPortFrom(mcasttest.Group(t), mcasttest.FreeUDPPort(t))
	gB := netip.AddrPortFrom(mcasttest.Group(t), mcasttest.FreeUDPPort(t))
	for gB.Addr() == gA.Addr() {
		gB = netip.AddrPortFrom(mcasttest.Group(t), gB.Port())
	}
	cfg := Config{
		Name: "ab",
		// Generous retries: on a loaded 2-core machine an answer can be late.
		Recovery: RecoveryConfig{Addr: up.addr.String(), Timeout: 20 * time.Millisecond, Retries: 50},
		Lines: []LineConfig{
			{Addr: gA.String(), Loss: lossinject.Config{Rate: 0.05, Seed: 1}},
			{Addr: gB.String(), Loss: lossinject.Config{Rate: 0.05, Seed: 2}},
		},
	}
	out := newSeqOutput(total)
	r := newTestReceiver(t, cfg, nil, out)
	var losses [][2]uint64
	r.SetLossHandler(func(from, to uint64) { losses = append(losses, [2]uint64{from, to}) })
	stop := runReceiver(t, r)

	s := newSender(t)
	const window = 4000 // messages in flight: well inside the socket buffers
	deadline := time.Now().Add(60 * time.Second)
	for seq := uint64(1); seq <= total; seq += per {
		for out.messages.Load()+window < seq {
			if time.Now().After(deadline) {
				t.Fatalf("stalled at %d of %d messages: %+v", out.messages.Load(), total, r.Stats())
			}
			runtime.Gosched()
		}
		s.packet(sessA, seq, per, gA, gB)
	}
	// Heartbeats reveal a tail lost on both lines, as an exchange's would.
	hb := decode.AppendPacketHeader(nil, sessA, total+1, 0)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-out.done:
			done = true
		case <-tick.C:
			if time.Now().After(deadline) || r.counters.Losses.Load() != 0 {
				st := r.Stats()
				t.Fatalf("timed out at %d of %d messages: %+v recovery %+v; server saw %d requests, answered %d messages, %d read errors",
					out.messages.Load(), total, st, st.Recovery, up.requests.Load(), up.answered.Load(), up.readErrs.Load())
			}
			s.raw(hb, gA, gB)
		}
	}
	stop()
	out.check(t)
	st := r.Stats()
	if got := out.messages.Load(); got != total || out.next != total+1 {
		t.Fatalf("delivered %d messages up to %d, want %d", got, out.next-1, total)
	}
	if st.UpstreamLost != 0 || len(losses) != 0 {
		t.Fatalf("upstream loss %d %v", st.UpstreamLost, losses)
	}
	// Every packet that arrived on both lines is a duplicate on one of them
	// (which one depends on timing).
	const packets = total / per
	a, b := st.Lines[0], st.Lines[1]
	dups := a.DuplicatePackets + b.DuplicatePackets
	if lo := packets - a.InjectedDrops - b.InjectedDrops; dups < lo || dups > packets {
		t.Errorf("duplicate packets %d, want between %d and %d", dups, lo, packets)
	}
	for _, l := range st.Lines {
		rate := float64(l.InjectedDrops) / packets
		if rate < 0.04 || rate > 0.06 {
			t.Errorf("line %s lost %.2f%% of packets, want about 5%%", l.Name, 100*rate)
		}
	}
	if out.lines[0] == 0 || out.lines[1] == 0 {
		t.Errorf("packets emitted per line A %d B %d: both lines should win some", out.lines[0], out.lines[1])
	}
	if st.RecoveredMessages == 0 || st.RecoveredMessages > up.answered.Load() {
		t.Errorf("recovered %d messages, server answered %d", st.RecoveredMessages, up.answered.Load())
	}
	t.Logf("A lost %d, B lost %d packets; gaps %d, requests %d, recovered %d messages, reorder high water %d",
		st.Lines[0].InjectedDrops, st.Lines[1].InjectedDrops, st.Gaps, st.RequestsSent, st.RecoveredMessages, st.ReorderHighWater)
}

// Explicitly dropped sequences are recovered from the upstream server.
func TestReceiverRecovery(t *testing.T) {
	up := startFakeUpstream(t, sessA)
	cfg, addr := unicastConfig(t)
	cfg.Recovery = RecoveryConfig{Addr: up.addr.String(), Timeout: 20 * time.Millisecond}
	cfg.Lines[0].Loss = lossinject.Config{Sequences: []uint64{11, 51, 91, 96}}
	out := newSeqOutput(200)
	r := newTestReceiver(t, cfg, nil, out)
	s := newSender(t)
	for seq := uint64(1); seq <= 200; seq += 5 {
		s.packet(sessA, seq, 5, addr)
	}
	pump(t, r, 10*time.Second, func() bool { return out.messages.Load() == 200 })
	out.check(t)
	st := r.Stats()
	if st.RecoveredMessages != 20 || st.UpstreamLost != 0 {
		t.Errorf("recovered %d lost %d, want 20 0", st.RecoveredMessages, st.UpstreamLost)
	}
	if st.Lines[0].InjectedDrops != 4 || st.Lines[0].InjectedMessages != 20 {
		t.Errorf("injected %d packets %d messages, want 4 20", st.Lines[0].InjectedDrops, st.Lines[0].InjectedMessages)
	}
	if st.Recovery == nil || st.Recovery.Packets == 0 || st.RequestsSent == 0 {
		t.Errorf("recovery stats %+v requests %d", st.Recovery, st.RequestsSent)
	}
	if got := out.lines[LineRecovery]; got == 0 {
		t.Error("no packet emitted from the recovery line")
	}
	if len(r.FDs()) != 2 {
		t.Errorf("FDs %v, want line and recovery", r.FDs())
	}
}

// When the server does not answer, the gap is counted and reported as
// upstream loss after the retries, and delivery goes on after it.
func TestReceiverRecoveryFails(t *testing.T) {
	up := startFakeUpstream(t, sessA)
	up.silent.Store(true)
	cfg, addr := unicastConfig(t)
	cfg.Recovery = RecoveryConfig{Addr: up.addr.String(), Timeout: 2 * time.Millisecond, Retries: 2}
	cfg.Lines[0].Loss = lossinject.Config{Sequences: []uint64{6}}
	out := newSeqOutput(0)
	r := newTestReceiver(t, cfg, nil, out)
	var losses [][2]uint64
	var sessions []decode.Session
	var deliveredBefore []uint64
	r.SetLossHandler(func(from, to uint64) {
		losses = append(losses, [2]uint64{from, to})
		sessions = append(sessions, r.Session())
		deliveredBefore = append(deliveredBefore, out.messages.Load())
	})
	s := newSender(t)
	for seq := uint64(1); seq <= 20; seq += 5 {
		s.packet(sessA, seq, 5, addr)
	}
	pump(t, r, 10*time.Second, func() bool { return r.counters.Losses.Load() == 1 && out.messages.Load() == 15 })
	if want := [][2]uint64{{6, 10}}; !slices.Equal(losses, want) {
		t.Fatalf("losses %v, want %v", losses, want)
	}
	// The handler names the session and runs between the data before the
	// hole and the data held behind it.
	if sessions[0] != sessA || deliveredBefore[0] != 5 {
		t.Fatalf("in the handler: session %q, %d messages delivered; want %q, 5", sessions[0], deliveredBefore[0], sessA)
	}
	st := r.Stats()
	if st.UpstreamLost != 5 || st.RequestsSent != 3 || st.Gaps != 1 {
		t.Errorf("lost %d requests %d gaps %d, want 5 3 1", st.UpstreamLost, st.RequestsSent, st.Gaps)
	}
	// The server reads on its own goroutine: wait for it to see them all.
	for deadline := time.Now().Add(5 * time.Second); up.requests.Load() < 3 && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	if got := up.requests.Load(); got != 3 {
		t.Errorf("server saw %d requests, want 3", got)
	}
	// Delivery is in order around the loss: 1..5 then 11..20.
	if out.next != 21 {
		t.Errorf("next %d, want 21", out.next)
	}
}

// A session change on the wire is followed, counted and reported.
func TestReceiverSessionChange(t *testing.T) {
	cfg, addr := unicastConfig(t)
	out := newSeqOutput(0)
	r := newTestReceiver(t, cfg, nil, out)
	s := newSender(t)
	s.packet(sessA, 1, 3, addr)
	s.raw(decode.AppendPacketHeader(nil, sessA, 4, decode.EndOfSessionCount), addr)
	pump(t, r, 5*time.Second, func() bool { return r.counters.EndOfSessions.Load() == 1 })
	s.packet(sessB, 1, 2, addr)
	pump(t, r, 5*time.Second, func() bool { return r.counters.SessionChanges.Load() == 1 && r.counters.EmittedMessages.Load() == 5 })
	if st := r.Stats(); st.Session != "SESSION-B" || st.NextSequence != 3 {
		t.Errorf("session %q next %d, want SESSION-B 3", st.Session, st.NextSequence)
	}
}

func TestReceiverEnvLoss(t *testing.T) {
	t.Setenv(LossEnvVar("A"), "seq=3")
	cfg, addr := unicastConfig(t)
	out := newSeqOutput(0)
	r := newTestReceiver(t, cfg, nil, out)
	if got := r.Config().Lines[0].Loss.Sequences; !slices.Equal(got, []uint64{3}) {
		t.Fatalf("loss from env %v, want [3]", got)
	}
	s := newSender(t)
	for seq := uint64(1); seq <= 5; seq++ {
		s.packet(sessA, seq, 1, addr)
	}
	pump(t, r, 5*time.Second, func() bool { return r.counters.EmittedMessages.Load() == 4 })
	if st := r.Stats(); st.Lines[0].InjectedDrops != 1 || st.UpstreamLost != 1 || st.Lines[0].Datagrams != 5 {
		t.Errorf("injected %d lost %d datagrams %d, want 1 1 5", st.Lines[0].InjectedDrops, st.UpstreamLost, st.Lines[0].Datagrams)
	}
	t.Setenv(LossEnvVar("A"), "rate=2")
	if _, err := New(cfg, nil, out); err == nil {
		t.Error("New accepted an invalid MDCAST_FEED_LOSS_A")
	}
}

// Stats may be read while the receiver runs (run with -race).
func TestReceiverConcurrentStats(t *testing.T) {
	cfg, addr := unicastConfig(t)
	const total = 5000
	out := newSeqOutput(total)
	r := newTestReceiver(t, cfg, nil, out)
	stop := runReceiver(t, r)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-out.done:
				return
			default:
				_ = r.Stats()
				runtime.Gosched()
			}
		}
	}()
	s := newSender(t)
	deadline := time.Now().Add(20 * time.Second)
	for seq := uint64(1); seq <= total; seq += 5 {
		for out.messages.Load()+1000 < seq {
			if time.Now().After(deadline) {
				t.Fatalf("stalled: %+v", r.Stats())
			}
			runtime.Gosched()
		}
		s.packet(sessA, seq, 5, addr)
	}
	waitDone(t, out.done, 20*time.Second, func() string { return "messages missing" })
	<-done
	stop()
	out.check(t)
	if r.pool.Stats().InUse != 0 {
		t.Errorf("%d packets not returned to the pool after close", r.pool.Stats().InUse)
	}
}

// Datagrams the kernel drops because the socket buffer is full are
// reported per line, so every datagram sent is accounted for.
func TestReceiverKernelDrops(t *testing.T) {
	cfg, addr := unicastConfig(t)
	cfg.Lines[0].RcvBuf = 1 // the kernel's minimum
	out := newSeqOutput(0)
	r := newTestReceiver(t, cfg, nil, out)
	s := newSender(t)
	const sent = 300
	for seq := uint64(1); seq <= sent; seq++ {
		s.packet(sessA, seq, 1, addr)
	}
	var st Stats
	pump(t, r, 5*time.Second, func() bool {
		st = r.Stats()
		return st.Lines[0].Datagrams+st.Lines[0].KernelDrops == sent
	})
	if st.Lines[0].KernelDrops == 0 {
		t.Fatalf("no kernel drops with a minimal receive buffer: %+v", st.Lines[0])
	}
	t.Logf("read %d, kernel dropped %d of %d", st.Lines[0].Datagrams, st.Lines[0].KernelDrops, sent)
}

// FDs lets the runner park in poll(2) (ring.Block) instead of spinning:
// packets still wake the receiver and arrive complete, with the park bound
// far above the test's whole duration.
func TestReceiverBlockIdle(t *testing.T) {
	cfg, addr := unicastConfig(t)
	const total = 2000
	out := newSeqOutput(total)
	r := newTestReceiver(t, cfg, nil, out)
	w, err := ring.NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	idle, err := ring.NewBlock(r.FDs(), w, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rn := ring.NewRunner(r, ring.RunnerConfig{Idle: idle, CPU: -1})
	if err := rn.Start(); err != nil {
		t.Fatal(err)
	}
	s := newSender(t)
	for seq := uint64(1); seq <= total; seq += 10 {
		s.packet(sessA, seq, 10, addr)
		if seq%500 == 491 { // a pause: the runner parks, the next packet must wake it
			for deadline := time.Now().Add(10 * time.Second); out.messages.Load() < seq+9; runtime.Gosched() {
				if time.Now().After(deadline) {
					t.Fatalf("receiver did not wake: %d of %d messages", out.messages.Load(), seq+9)
				}
			}
		}
	}
	waitDone(t, out.done, 10*time.Second, func() string { return "messages missing" })
	w.Wake() // unpark for Close
	rn.Close()
	out.check(t)
}
