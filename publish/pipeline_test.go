package publish_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/internal/clock"
	"mdcast/publish"
	"mdcast/ring"
)

// TestPipelineRunner runs a worker under a ring.Runner fed through its Input
// ring by a producer goroutine, with stats read concurrently and the session
// ended from a third goroutine (run it with -race). Every message must reach
// its channel complete and in order.
func TestPipelineRunner(t *testing.T) {
	h := newHarness(t, 4, func(c *publish.Config) { c.Grace = 10 * time.Millisecond })
	const packets, perPacket = 500, 20
	want := make([][][]byte, 4)
	all := make([][][]byte, packets)
	for i := range all {
		for j := 0; j < perPacket; j++ {
			inst := uint32(i*7 + j*13)
			m := quote(inst, uint64(i*perPacket+j))
			all[i] = append(all[i], m)
			want[inst%4] = append(want[inst%4], m)
		}
	}

	r := ring.NewRunner(h.w, ring.RunnerConfig{Idle: ring.Yield{}, CPU: -1})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // producer: owns the pool
		defer wg.Done()
		pool, err := ring.NewPool(ring.PoolConfig{Packets: 64, BufSize: 2048})
		if err != nil {
			t.Error(err)
			return
		}
		up := uint64(1)
		for _, msgs := range all {
			p := pool.Get()
			b := decode.AppendPacketHeader(p.Buf[:0], decode.Session{'U'}, up, uint16(len(msgs)))
			for _, m := range msgs {
				b = decode.AppendMessage(b, m)
			}
			p.N = len(b)
			up += uint64(len(msgs))
			for !h.w.Input().Offer(p) {
				runtime.Gosched()
			}
		}
	}()
	go func() { // a stats reader, as the daemon's HTTP handler would be
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = h.w.Stats()
				runtime.Gosched()
			}
		}
	}()

	deadline := time.Now().Add(10 * time.Second)
	for h.w.Counters.MessagesIn.Load() < packets*perPacket {
		if time.Now().After(deadline) {
			t.Fatalf("worker processed %d of %d messages in 10s", h.w.Counters.MessagesIn.Load(), packets*perPacket)
		}
		runtime.Gosched()
	}
	h.w.EndSession(clock.Nanotime())
	select {
	case <-h.w.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed 10s after EndSession")
	}
	close(stop)
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	checkChannels(t, h, want)
	for ch := range want {
		p := h.recv(ch)
		for p.IsHeartbeat() {
			p = h.recv(ch)
		}
		if !p.IsEndOfSession() {
			t.Fatalf("channel %d: data after the expected messages (count %d at %d)", ch, p.Count(), p.Sequence())
		}
		if p.Sequence() != uint64(len(want[ch]))+1 {
			t.Fatalf("channel %d: end of session at %d, want %d", ch, p.Sequence(), len(want[ch])+1)
		}
	}
	if s := h.w.Counters.Snapshot(); s.PacketsIn != packets || s.SendErrors != 0 || s.AfterEnd != 0 {
		t.Fatalf("worker counters %+v", s)
	}
}

// TestAllocs checks that the steady-state publish loop (Offer, DoWork with
// its flush and sendmmsg, heartbeats and a re-request answered or refused)
// does not allocate.
func TestAllocs(t *testing.T) {
	if publish.RaceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	h := newHarness(t, 4, nil)
	var msgs [][]byte
	for j := 0; j < 20; j++ {
		msgs = append(msgs, quote(uint32(j), uint64(j)))
	}
	h.offer(msgs...)
	h.work()
	req := newRequester(t, "127.0.0.1:0")
	to := h.w.Channels()[0].RequestAddr()
	request := decode.AppendRequest(nil, h.w.Session(), 1, 3)
	buf := make([]byte, 2048)
	allocs := testing.AllocsPerRun(1000, func() {
		p := h.pool.Get()
		b := decode.AppendPacketHeader(p.Buf[:0], decode.Session{}, 1, uint16(len(msgs)))
		for _, m := range msgs {
			b = decode.AppendMessage(b, m)
		}
		p.N = len(b)
		h.w.Offer(p)
		_ = req.conn.WriteTo(request, to)
		h.now += int64(time.Millisecond)
		if _, err := h.w.DoWork(h.now); err != nil {
			t.Fatal(err)
		}
		_, _, _ = req.conn.ReadFrom(buf)
	})
	if allocs != 0 {
		t.Fatalf("Offer+DoWork allocate %.2f times per run", allocs)
	}
	if s := h.w.Channels()[0].Stats(); s.Served == 0 || s.Requests < 1000 {
		t.Fatalf("re-request path not exercised: %+v", s)
	}
	if s := h.w.Counters.Snapshot(); s.MessagesIn < 20000 || s.SendCalls < 1000 {
		t.Fatalf("publish path not exercised: %+v", s)
	}
}

// TestBlockIdleWakesOnRequest parks the worker's runner in poll(2) on the
// worker's request sockets (ring.Block on FDs) with a park far longer than
// the test's wait: a re-request must wake it and be answered.
func TestBlockIdleWakesOnRequest(t *testing.T) {
	h := newHarness(t, 2, func(c *publish.Config) {
		c.Heartbeat = publish.HeartbeatConfig{Early: time.Hour, Idle: time.Hour}
	})
	h.offer(quote(1, 1), quote(1, 2), quote(1, 3))
	h.work()
	waker, err := ring.NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer waker.Close()
	if len(h.w.FDs()) != 2 {
		t.Fatalf("FDs %v, want one per channel", h.w.FDs())
	}
	idle, err := ring.NewBlock(h.w.FDs(), waker, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r := ring.NewRunner(h.w, ring.RunnerConfig{Idle: idle, CPU: -1})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Once the runner has found no work it parks for up to a minute; only
	// the request socket's readiness can wake it within recvTimeout.
	q := newRequester(t, "127.0.0.1:0")
	q.request(h.w.Channels()[1].RequestAddr(), h.w.Session(), 2, 2)
	a := q.answer() // fails after recvTimeout, far less than the park
	if a.Sequence() != 2 || a.MessageCount() != 2 {
		t.Fatalf("answer %d messages at %d", a.MessageCount(), a.Sequence())
	}
	waker.Wake()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
