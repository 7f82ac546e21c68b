package publish_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/publish"
)

// checkChannels reads every channel until it has received the expected
// messages and checks content, order, session and contiguous sequences
// from 1.
func checkChannels(t *testing.T, h *harness, want [][][]byte) {
	t.Helper()
	session := h.w.Session()
	for ch, msgs := range want {
		next := uint64(1)
		got := 0
		for got < len(msgs) {
			p := h.recvData(ch)
			if p.Session() != session {
				t.Fatalf("channel %d: session %q, want %q", ch, p.Session(), session)
			}
			if p.Sequence() != next {
				t.Fatalf("channel %d: packet sequence %d, want %d", ch, p.Sequence(), next)
			}
			if len(p.Bytes()) > maxPayload(h) {
				t.Fatalf("channel %d: packet of %d bytes exceeds max payload %d", ch, len(p.Bytes()), maxPayload(h))
			}
			it := p.Messages()
			for it.Next() {
				if got >= len(msgs) {
					t.Fatalf("channel %d: more messages than the %d sent", ch, len(msgs))
				}
				if !bytes.Equal(it.Message(), msgs[got]) {
					t.Fatalf("channel %d: message %d differs", ch, got+1)
				}
				got++
			}
			next = p.NextSequence()
		}
	}
}

// noMoreData drains what every channel has queued and fails on any data
// packet (heartbeats and end of session are fine).
func noMoreData(t *testing.T, h *harness) {
	t.Helper()
	for ch := range h.rx {
		for h.pending(ch) {
			if p := h.recv(ch); p.MessageCount() > 0 {
				t.Fatalf("channel %d: unexpected extra data packet at %d", ch, p.Sequence())
			}
		}
	}
}

func maxPayload(h *harness) int {
	if h.cfg.MaxPayload != 0 {
		return h.cfg.MaxPayload
	}
	return publish.DefaultMaxPayload
}

func TestRouteHash(t *testing.T) {
	h := newHarness(t, 4, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([][][]byte, 4)
	var batch [][]byte
	for i := 0; i < 2000; i++ {
		inst := rng.Uint32N(1000)
		m := quote(inst, uint64(i))
		want[inst%4] = append(want[inst%4], m)
		batch = append(batch, m)
		if len(batch) == 20 {
			h.offer(batch...)
			batch = batch[:0]
			if i%100 == 99 {
				h.work()
			}
		}
	}
	h.work()
	checkChannels(t, h, want)
	noMoreData(t, h)
	ws := h.w.Stats()
	if ws.Worker.MessagesIn != 2000 || ws.Worker.PacketsIn != 100 || ws.Worker.Unrouted != 0 {
		t.Fatalf("worker stats %+v", ws.Worker)
	}
	var total uint64
	for i, c := range ws.Channels {
		if c.Messages != uint64(len(want[i])) || c.NextSeq != uint64(len(want[i]))+1 {
			t.Errorf("channel %d: messages %d next %d, want %d", i, c.Messages, c.NextSeq, len(want[i]))
		}
		total += c.Messages
	}
	if total != 2000 {
		t.Fatalf("channels carried %d messages, want 2000", total)
	}
}

func TestRouteRanges(t *testing.T) {
	h := newHarness(t, 3, func(c *publish.Config) {
		c.Route.Ranges = []publish.RangeConfig{
			{From: 0, To: 99, Channel: "c0"},
			{From: 100, To: 199, Channel: "c2"},
			{From: 300, To: 399, Channel: "c1"},
		}
	})
	want := make([][][]byte, 3)
	route := map[uint32]int{5: 0, 99: 0, 100: 2, 150: 2, 199: 2, 300: 1, 399: 1}
	var msgs [][]byte
	unrouted := 0
	for i, inst := range []uint32{5, 100, 300, 250, 99, 199, 399, 400, 150, 1 << 31, 5} {
		m := quote(inst, uint64(i))
		msgs = append(msgs, m)
		if ch, ok := route[inst]; ok {
			want[ch] = append(want[ch], m)
		} else {
			unrouted++
		}
	}
	h.offer(msgs...)
	h.work()
	checkChannels(t, h, want)
	noMoreData(t, h)
	if got := h.w.Counters.Unrouted.Load(); got != uint64(unrouted) {
		t.Fatalf("unrouted %d, want %d", got, unrouted)
	}
}

func TestSkipAndMalformedInput(t *testing.T) {
	h := newHarness(t, 1, nil)
	a, b, c := quote(1, 1), quote(2, 2), quote(3, 3)
	p := h.packet(a, b, c)
	p.Skip = 2 // a and b were delivered before (duplicates)
	if !h.w.Offer(p) {
		t.Fatal("Offer refused")
	}
	bad := h.pool.Get()
	bad.N = copy(bad.Buf, "not a moldudp64 packet")
	h.w.Offer(bad)
	short := h.packet([]byte{'q', 1}) // too short to hold an instrument
	h.w.Offer(short)
	h.work()
	checkChannels(t, h, [][][]byte{{c}})
	noMoreData(t, h)
	if st := h.pool.Stats(); st.InUse != 0 {
		t.Fatalf("%d packets not released", st.InUse)
	}
	ws := h.w.Counters.Snapshot()
	if ws.Skipped != 2 || ws.Malformed != 1 || ws.NoKey != 1 || ws.MessagesIn != 2 {
		t.Fatalf("counters %+v", ws)
	}
}

func TestSmartBatching(t *testing.T) {
	h := newHarness(t, 1, nil)
	// A burst of 500 quotes in 25 upstream packets, then one DoWork: they
	// leave packed into full datagrams.
	var want [][]byte
	for i := 0; i < 25; i++ {
		var msgs [][]byte
		for j := 0; j < 20; j++ {
			m := quote(7, uint64(len(want)))
			msgs = append(msgs, m)
			want = append(want, m)
		}
		h.offer(msgs...)
	}
	h.work()
	perPacket := (publish.DefaultMaxPayload - decode.PacketHeaderLen) / (decode.MessageLenSize + decode.QuoteLen)
	wantPackets := (500 + perPacket - 1) / perPacket
	got, packets := 0, 0
	for got < 500 {
		p := h.recvData(0)
		packets++
		if len(p.Bytes()) > publish.DefaultMaxPayload {
			t.Fatalf("packet of %d bytes > %d", len(p.Bytes()), publish.DefaultMaxPayload)
		}
		if packets < wantPackets && p.MessageCount() != perPacket {
			t.Fatalf("packet %d holds %d quotes, want %d (full)", packets, p.MessageCount(), perPacket)
		}
		got += p.MessageCount()
	}
	if packets != wantPackets || got != 500 {
		t.Fatalf("%d quotes in %d packets, want 500 in %d", got, packets, wantPackets)
	}

	// A single quote goes out at the end of the DoWork that follows it.
	h.offer(quote(7, 999))
	if h.pending(0) {
		t.Fatal("a partial packet was sent before the input ran dry")
	}
	h.work()
	if !h.pending(0) {
		t.Fatal("a single quote was not sent at the end of DoWork")
	}
	p := h.recvData(0)
	if p.MessageCount() != 1 || p.Sequence() != 501 {
		t.Fatalf("got %d messages at %d, want 1 at 501", p.MessageCount(), p.Sequence())
	}
	if s := h.w.Counters.Snapshot(); s.SendCalls == 0 || s.SendErrors != 0 {
		t.Fatalf("send counters %+v", s)
	}
}

func TestSmallMaxPayload(t *testing.T) {
	h := newHarness(t, 1, func(c *publish.Config) { c.MaxPayload = publish.MinMaxPayload + 2*(decode.QuoteLen+2) })
	var want [][]byte
	var msgs [][]byte
	for i := 0; i < 10; i++ {
		m := quote(1, uint64(i))
		want = append(want, m)
		msgs = append(msgs, m)
	}
	h.offer(msgs...)
	h.work()
	for i := 0; i < 3; i++ {
		if p := h.recvData(0); p.MessageCount() != 3 || len(p.Bytes()) > h.cfg.MaxPayload {
			t.Fatalf("packet %d: %d messages, %d bytes", i, p.MessageCount(), len(p.Bytes()))
		}
	}
	if p := h.recvData(0); p.MessageCount() != 1 || p.Sequence() != 10 {
		t.Fatalf("last packet: %d messages at %d", p.MessageCount(), p.Sequence())
	}
}

func TestHeartbeats(t *testing.T) {
	early, idle := time.Millisecond, 16*time.Millisecond
	h := newHarness(t, 2, func(c *publish.Config) {
		c.Heartbeat = publish.HeartbeatConfig{Early: early, Idle: idle}
	})
	t0 := h.now
	h.work()
	if h.pending(0) || h.pending(1) {
		t.Fatal("heartbeat before the idle interval")
	}
	// Never sent anything: idle heartbeats carry next sequence 1.
	h.now = t0 + int64(idle) - 1
	h.work()
	if h.pending(0) {
		t.Fatal("heartbeat before the idle interval")
	}
	h.now = t0 + int64(idle)
	h.work()
	for ch := 0; ch < 2; ch++ {
		p := h.recv(ch)
		if !p.IsHeartbeat() || p.Sequence() != 1 {
			t.Fatalf("channel %d: want heartbeat at 1, got count %d seq %d", ch, p.Count(), p.Sequence())
		}
	}
	// A burst on channel 0 (instrument 0), then early heartbeats doubling up to idle.
	h.offer(quote(0, 1), quote(2, 2))
	h.now += 100
	t1 := h.now
	h.work()
	if p := h.recvData(0); p.MessageCount() != 2 {
		t.Fatalf("data packet holds %d", p.MessageCount())
	}
	at := t1
	for _, gap := range []time.Duration{1, 2, 4, 8, 16, 16} {
		due := at + int64(gap*early)
		h.now = due - 1
		h.work()
		if h.pending(0) {
			t.Fatalf("heartbeat before %v", gap*early)
		}
		h.now = due
		h.work()
		p := h.recv(0)
		if !p.IsHeartbeat() || p.Sequence() != 3 {
			t.Fatalf("after %v: want heartbeat at 3, got count %d seq %d", gap*early, p.Count(), p.Sequence())
		}
		at = due
	}
	// Channel 1 stayed on its idle schedule.
	if got := h.w.Channels()[1].Counters.Heartbeats.Load(); got < 2 {
		t.Fatalf("channel 1 sent %d heartbeats while idle, want >= 2", got)
	}
	if got := h.w.Channels()[0].Counters.Heartbeats.Load(); got != 7 {
		t.Fatalf("channel 0 heartbeats %d, want 7", got)
	}
}

func TestEndOfSession(t *testing.T) {
	h := newHarness(t, 2, func(c *publish.Config) { c.Grace = 50 * time.Millisecond })
	h.offer(quote(0, 1), quote(0, 2), quote(1, 3))
	h.work()
	h.offer(quote(0, 4)) // pending when the session ends: still published
	h.w.EndSession(h.now)
	h.work()
	if p := h.recvData(0); p.MessageCount() != 2 {
		t.Fatalf("first packet %d messages", p.MessageCount())
	}
	if p := h.recvData(0); p.MessageCount() != 1 || p.Sequence() != 3 {
		t.Fatalf("pending packet: %d messages at %d", p.MessageCount(), p.Sequence())
	}
	if p := h.recvData(1); p.MessageCount() != 1 || p.Sequence() != 1 {
		t.Fatalf("channel 1 packet: %d messages at %d", p.MessageCount(), p.Sequence())
	}
	for ch, next := range []uint64{4, 2} {
		p := h.recvData(ch)
		if !p.IsEndOfSession() || p.Sequence() != next || p.Count() != decode.EndOfSessionCount {
			t.Fatalf("channel %d: want end of session at %d, got count %d seq %d", ch, next, p.Count(), p.Sequence())
		}
	}
	late := h.packet(quote(0, 5))
	if h.w.Offer(late) {
		t.Fatal("Offer accepted data after end of session")
	}
	if late.Refs() != 0 {
		t.Fatalf("refused packet still holds %d references: Offer must take the reference", late.Refs())
	}
	if got := h.w.Counters.AfterEnd.Load(); got != 1 {
		t.Fatalf("AfterEnd %d", got)
	}
	// Re-requests are still answered during the grace period.
	r := newRequester(t, "127.0.0.1:0")
	r.request(h.w.Channels()[0].RequestAddr(), h.w.Session(), 2, 2)
	h.now += int64(time.Millisecond)
	h.work()
	if a := r.answer(); a.Sequence() != 2 || a.MessageCount() != 2 {
		t.Fatalf("answer %d messages at %d", a.MessageCount(), a.Sequence())
	}
	// The end of session repeats on the heartbeat schedule.
	if p := h.recv(0); !p.IsEndOfSession() {
		t.Fatalf("want a repeated end of session, got count %d", p.Count())
	}
	select {
	case <-h.w.Done():
		t.Fatal("Done before the grace period")
	default:
	}
	h.now += int64(50 * time.Millisecond)
	h.work()
	select {
	case <-h.w.Done():
	default:
		t.Fatal("Done not closed after the grace period")
	}
}

// TestWorkersSplitChannels runs two workers over one config, each owning
// two of the four channels and seeing every packet: each channel is
// published exactly once, by its owner.
func TestWorkersSplitChannels(t *testing.T) {
	h := newHarness(t, 4, nil)
	h.w.Close() // the harness's own worker is not used here
	w1, err := publish.NewWorker(h.cfg, []int{0, 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Close()
	w2, err := publish.NewWorker(h.cfg, []int{3, 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if w1.Session() != w2.Session() {
		t.Fatalf("sessions differ: %q %q", w1.Session(), w2.Session())
	}
	if _, err := publish.NewWorker(h.cfg, []int{4}); err == nil {
		t.Fatal("a worker for channel 4 of 4 was built")
	}
	want := make([][][]byte, 4)
	for i := 0; i < 10; i++ {
		var msgs [][]byte
		for j := 0; j < 20; j++ {
			inst := uint32(i*20 + j)
			m := quote(inst, uint64(inst))
			msgs = append(msgs, m)
			want[inst%4] = append(want[inst%4], m)
		}
		p := h.packet(msgs...)
		p.Retain() // one reference per worker
		if !w1.Offer(p) || !w2.Offer(p) {
			t.Fatal("Offer refused")
		}
	}
	if _, err := w1.DoWork(h.now); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.DoWork(h.now); err != nil {
		t.Fatal(err)
	}
	h.w = w1 // checkChannels reads the session from h.w
	checkChannels(t, h, want)
	noMoreData(t, h)
	if st := h.pool.Stats(); st.InUse != 0 {
		t.Fatalf("%d packets still referenced after both workers released them", st.InUse)
	}
	if got := len(w2.Channels()); got != 2 || w2.Channels()[0].Index() != 3 {
		t.Fatalf("w2 owns %d channels, first %d", got, w2.Channels()[0].Index())
	}
}
