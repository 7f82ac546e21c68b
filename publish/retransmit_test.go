package publish_test

import (
	"bytes"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/publish"
)

// publishQuotes sends n quotes on channel 0 of a one-channel harness and
// returns them as received from the multicast group, index i = sequence i+1.
func publishQuotes(t *testing.T, h *harness, n int) [][]byte {
	t.Helper()
	for i := 0; i < n; i += 20 {
		var msgs [][]byte
		for j := i; j < i+20 && j < n; j++ {
			msgs = append(msgs, quote(uint32(j), uint64(j)))
		}
		h.offer(msgs...)
	}
	h.work()
	var got [][]byte
	for len(got) < n {
		p := h.recvData(0)
		it := p.Messages()
		for it.Next() {
			got = append(got, append([]byte(nil), it.Message()...))
		}
	}
	return got
}

func checkAnswer(t *testing.T, a *decode.Packet, session decode.Session, seq uint64, want [][]byte) {
	t.Helper()
	if a.Session() != session || a.Sequence() != seq {
		t.Fatalf("answer session %q seq %d, want %q %d", a.Session(), a.Sequence(), session, seq)
	}
	if a.MessageCount() != len(want) {
		t.Fatalf("answer holds %d messages, want %d", a.MessageCount(), len(want))
	}
	it := a.Messages()
	for i := 0; it.Next(); i++ {
		if !bytes.Equal(it.Message(), want[i]) {
			t.Fatalf("answer message %d (seq %d) differs from the original", i, it.Sequence())
		}
	}
}

func TestRetransmitRetained(t *testing.T) {
	h := newHarness(t, 1, nil)
	orig := publishQuotes(t, h, 100)
	ch := h.w.Channels()[0]
	r := newRequester(t, "127.0.0.1:0")

	r.request(ch.RequestAddr(), h.w.Session(), 10, 5)
	h.work()
	checkAnswer(t, r.answer(), h.w.Session(), 10, orig[9:14])

	// A request past the last message sent is answered up to it.
	r.request(ch.RequestAddr(), h.w.Session(), 95, 50)
	h.work()
	checkAnswer(t, r.answer(), h.w.Session(), 95, orig[94:100])

	// A request larger than one packet is answered with as many as fit.
	r.request(ch.RequestAddr(), h.w.Session(), 1, 100)
	h.work()
	fit := (publish.DefaultMaxPayload - decode.PacketHeaderLen) / (decode.MessageLenSize + decode.QuoteLen)
	checkAnswer(t, r.answer(), h.w.Session(), 1, orig[:fit])

	s := ch.Stats()
	if s.Requests != 3 || s.Served != 3 || s.ServedMessages != uint64(5+6+fit) || s.ServedBytes == 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRetransmitRefused(t *testing.T) {
	h := newHarness(t, 1, func(c *publish.Config) {
		c.History = publish.HistoryConfig{Messages: 50, Bytes: 1 << 20}
	})
	orig := publishQuotes(t, h, 100)
	ch := h.w.Channels()[0]
	to := ch.RequestAddr()
	r := newRequester(t, "127.0.0.1:0")
	other, _ := decode.MakeSession("OTHER")

	cases := []struct {
		name    string
		send    func()
		counter func(publish.ChannelStats) uint64
	}{
		{"evicted", func() { r.request(to, h.w.Session(), 1, 10) }, func(s publish.ChannelStats) uint64 { return s.OutOfHistory }},
		{"not yet sent", func() { r.request(to, h.w.Session(), 101, 1) }, func(s publish.ChannelStats) uint64 { return s.OutOfHistory }},
		{"wrong session", func() { r.request(to, other, 60, 1) }, func(s publish.ChannelStats) uint64 { return s.RefusedSession }},
		{"short", func() { r.send(to, []byte("hello")) }, func(s publish.ChannelStats) uint64 { return s.MalformedRequests }},
		{"long", func() { r.send(to, make([]byte, 200)) }, func(s publish.ChannelStats) uint64 { return s.MalformedRequests }},
		{"count zero", func() { r.request(to, h.w.Session(), 60, 0) }, func(s publish.ChannelStats) uint64 { return s.MalformedRequests }},
	}
	for _, c := range cases {
		before := c.counter(ch.Stats())
		c.send()
		h.work()
		r.none()
		if got := c.counter(ch.Stats()); got != before+1 {
			t.Errorf("%s: counter %d -> %d, want +1", c.name, before, got)
		}
	}
	if s := ch.Stats(); s.Served != 0 || s.Requests != uint64(len(cases)) {
		t.Fatalf("served %d requests %d", s.Served, s.Requests)
	}

	// A range whose start alone was evicted (history holds 51..100) is
	// answered from the oldest retained message, so the requester repairs
	// what is left and only the evicted part is lost.
	r.request(to, h.w.Session(), 50, 3)
	h.work()
	checkAnswer(t, r.answer(), h.w.Session(), 51, orig[50:52])
	if s := ch.Stats(); s.PartlyEvicted != 1 || s.Served != 1 {
		t.Fatalf("straddling eviction: partly evicted %d, served %d", s.PartlyEvicted, s.Served)
	}
	if s := ch.Stats(); s.HistoryMessages != 50 || s.HistoryEvicted != 50 {
		t.Fatalf("history gauges %d retained %d evicted", s.HistoryMessages, s.HistoryEvicted)
	}
	// The oldest retained message is still served, exactly.
	r.request(to, h.w.Session(), 51, 3)
	h.work()
	checkAnswer(t, r.answer(), h.w.Session(), 51, orig[50:53])
}

func TestRetransmitACL(t *testing.T) {
	h := newHarness(t, 1, func(c *publish.Config) { c.Retransmit.ACL = []string{"127.0.0.1/32"} })
	orig := publishQuotes(t, h, 30)
	to := h.w.Channels()[0].RequestAddr()
	outside := newRequester(t, "127.0.0.2:0") // loopback, but outside the ACL
	inside := newRequester(t, "127.0.0.1:0")

	outside.request(to, h.w.Session(), 1, 5)
	h.work()
	outside.none()
	if got := h.w.Channels()[0].Counters.RefusedACL.Load(); got != 1 {
		t.Fatalf("RefusedACL %d, want 1", got)
	}
	inside.request(to, h.w.Session(), 1, 5)
	h.work()
	checkAnswer(t, inside.answer(), h.w.Session(), 1, orig[:5])
	outside.none()
}

func TestRetransmitLinger(t *testing.T) {
	linger := 20 * time.Millisecond
	h := newHarness(t, 1, func(c *publish.Config) { c.Retransmit.Linger = linger })
	orig := publishQuotes(t, h, 30)
	ch := h.w.Channels()[0]
	to := ch.RequestAddr()
	r := newRequester(t, "127.0.0.1:0")
	r2 := newRequester(t, "127.0.0.1:0")

	r.request(to, h.w.Session(), 3, 4)
	h.work()
	checkAnswer(t, r.answer(), h.w.Session(), 3, orig[2:6])
	// The same range from the same requester within the linger window: suppressed.
	h.now += int64(linger) - 1
	r.request(to, h.w.Session(), 3, 4)
	h.work()
	r.none()
	if got := ch.Counters.Suppressed.Load(); got != 1 {
		t.Fatalf("Suppressed %d, want 1", got)
	}
	// Another requester, or another range, is answered.
	r2.request(to, h.w.Session(), 3, 4)
	r.request(to, h.w.Session(), 3, 5)
	h.work()
	checkAnswer(t, r2.answer(), h.w.Session(), 3, orig[2:6])
	checkAnswer(t, r.answer(), h.w.Session(), 3, orig[2:7])
	// After the window the same range is answered again.
	h.now++
	r.request(to, h.w.Session(), 3, 4)
	h.work()
	checkAnswer(t, r.answer(), h.w.Session(), 3, orig[2:6])
	if got := ch.Counters.Served.Load(); got != 4 {
		t.Fatalf("Served %d, want 4", got)
	}
}

func TestRetransmitRateLimit(t *testing.T) {
	const rate = 14000 // bytes per second
	h := newHarness(t, 1, func(c *publish.Config) {
		c.Retransmit.RateBytes = rate
		c.Retransmit.Burst = publish.DefaultMaxPayload
	})
	orig := publishQuotes(t, h, 100)
	ch := h.w.Channels()[0]
	to := ch.RequestAddr()
	r := newRequester(t, "127.0.0.1:0")

	r.request(to, h.w.Session(), 1, 27) // a full packet: about 1370 bytes
	h.work()
	checkAnswer(t, r.answer(), h.w.Session(), 1, orig[:27])
	r.request(to, h.w.Session(), 28, 27)
	h.work()
	r.none()
	if got := ch.Counters.RateLimited.Load(); got != 1 {
		t.Fatalf("RateLimited %d, want 1", got)
	}
	// Another requester has its own bucket.
	r2 := newRequester(t, "127.0.0.1:0")
	r2.request(to, h.w.Session(), 28, 27)
	h.work()
	checkAnswer(t, r2.answer(), h.w.Session(), 28, orig[27:54])
	// 1370 bytes at 14000 B/s refill in about 98 ms.
	h.now += int64(100 * time.Millisecond)
	r.request(to, h.w.Session(), 28, 27)
	h.work()
	checkAnswer(t, r.answer(), h.w.Session(), 28, orig[27:54])
}

func TestRetransmitBusy(t *testing.T) {
	h := newHarness(t, 1, func(c *publish.Config) {
		c.Retransmit.MaxInFlight = 2
		c.Retransmit.MaxInFlightPerRequester = 2 // this test is about the worker's cap
		c.Retransmit.Linger = 10 * time.Millisecond
	})
	orig := publishQuotes(t, h, 30)
	ch := h.w.Channels()[0]
	to := ch.RequestAddr()
	r := newRequester(t, "127.0.0.1:0")
	for seq := uint64(1); seq <= 2; seq++ {
		r.request(to, h.w.Session(), seq, 1)
	}
	h.work()
	checkAnswer(t, r.answer(), h.w.Session(), 1, orig[0:1])
	checkAnswer(t, r.answer(), h.w.Session(), 2, orig[1:2])
	// Both answers are in flight: a second requester finds no free action.
	r2 := newRequester(t, "127.0.0.1:0")
	r2.request(to, h.w.Session(), 3, 1)
	h.work()
	r2.none()
	if got := ch.Counters.Busy.Load(); got != 1 {
		t.Fatalf("Busy %d, want 1", got)
	}
	h.now += int64(10 * time.Millisecond)
	r2.request(to, h.w.Session(), 3, 1)
	h.work()
	checkAnswer(t, r2.answer(), h.w.Session(), 3, orig[2:3])
}

// TestRetransmitFairShare: one requester asking for many ranges takes at
// most its share of the answers in flight (refused beyond it, counted in
// RequesterInFlight), so another requester still gets its answer instead
// of "busy".
func TestRetransmitFairShare(t *testing.T) {
	h := newHarness(t, 1, func(c *publish.Config) {
		c.Retransmit.MaxInFlight = 4
		c.Retransmit.MaxInFlightPerRequester = 2
		c.Retransmit.Linger = 10 * time.Millisecond
	})
	orig := publishQuotes(t, h, 30)
	ch := h.w.Channels()[0]
	to := ch.RequestAddr()
	greedy := newRequester(t, "127.0.0.1:0")
	for seq := uint64(1); seq <= 4; seq++ {
		greedy.request(to, h.w.Session(), seq, 1)
	}
	h.work()
	checkAnswer(t, greedy.answer(), h.w.Session(), 1, orig[0:1])
	checkAnswer(t, greedy.answer(), h.w.Session(), 2, orig[1:2])
	greedy.none()
	other := newRequester(t, "127.0.0.1:0")
	other.request(to, h.w.Session(), 10, 1)
	h.work()
	checkAnswer(t, other.answer(), h.w.Session(), 10, orig[9:10])
	if got, busy := ch.Counters.RequesterInFlight.Load(), ch.Counters.Busy.Load(); got != 2 || busy != 0 {
		t.Fatalf("RequesterInFlight %d, Busy %d; want 2 and 0", got, busy)
	}
	// After the linger window the greedy requester's share is free again.
	h.now += int64(10 * time.Millisecond)
	greedy.request(to, h.w.Session(), 3, 1)
	h.work()
	checkAnswer(t, greedy.answer(), h.w.Session(), 3, orig[2:3])
}
