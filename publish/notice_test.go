package publish_test

import (
	"bytes"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/publish"
)

func upstreamLoss(from, to uint64) decode.UpstreamLossFields {
	return decode.UpstreamLossFields{Session: decode.Session{'U', 'P', 'S', 'T', 'R', 'E', 'A', 'M', ' ', ' '}, From: from, To: to}
}

// channelMessages reads channel ch until it has n messages (heartbeats
// skipped) and returns them, index i = sequence i+1.
func channelMessages(t *testing.T, h *harness, ch, n int) [][]byte {
	t.Helper()
	var got [][]byte
	for len(got) < n {
		p := h.recvData(ch)
		if p.Sequence() != uint64(len(got))+1 {
			t.Fatalf("channel %d: packet at %d, want %d", ch, p.Sequence(), len(got)+1)
		}
		it := p.Messages()
		for it.Next() {
			got = append(got, append([]byte(nil), it.Message()...))
		}
	}
	return got
}

// TestNotice: a notice offered between two upstream packets (inline
// through Offer, then through the Input ring as the pipeline does) is
// framed on every channel at its place among the data, takes one sequence,
// is kept in the history, answered to a re-request and counted.
func TestNotice(t *testing.T) {
	for _, via := range []string{"offer", "input"} {
		t.Run(via, func(t *testing.T) {
			h := newHarness(t, 3, nil)
			send := func(p func() bool) {
				t.Helper()
				if !p() {
					t.Fatal("input refused")
				}
			}
			// Two quotes per channel (instrument i goes to channel i%3).
			var before, after [][]byte
			for i := uint32(0); i < 6; i++ {
				before = append(before, quote(i, uint64(i)))
				after = append(after, quote(i, uint64(100+i)))
			}
			notice := upstreamLoss(1001, 1100)
			n := h.pool.Get()
			if !publish.NoticePacket(n, notice, h.now) {
				t.Fatal("NoticePacket refused a 2048-byte buffer")
			}
			if via == "offer" {
				h.offer(before...)
				send(func() bool { return h.w.Offer(n) })
				h.offer(after...)
			} else {
				in := h.w.Input()
				send(func() bool { return in.Offer(h.packet(before...)) })
				send(func() bool { return in.Offer(n) })
				send(func() bool { return in.Offer(h.packet(after...)) })
			}
			h.work()
			enc := decode.AppendUpstreamLoss(nil, notice)
			for ch := 0; ch < 3; ch++ {
				got := channelMessages(t, h, ch, 5)
				want := [][]byte{before[ch], before[ch+3], enc, after[ch], after[ch+3]}
				for i := range want {
					if !bytes.Equal(got[i], want[i]) {
						t.Fatalf("channel %d seq %d: % x, want % x", ch, i+1, got[i], want[i])
					}
				}
				c := h.w.Channels()[ch]
				if m, ok := c.History().Lookup(3); !ok || !bytes.Equal(m, enc) {
					t.Fatalf("channel %d: history at 3 holds % x (%v)", ch, m, ok)
				}
				if s := c.Stats(); s.Notices != 1 || s.Messages != 5 || s.NextSeq != 6 {
					t.Fatalf("channel %d stats: notices %d messages %d next %d", ch, s.Notices, s.Messages, s.NextSeq)
				}
			}
			noMoreData(t, h)

			// A subscriber that missed the notice gets it back.
			r := newRequester(t, "127.0.0.1:0")
			r.request(h.w.Channels()[1].RequestAddr(), h.w.Session(), 3, 1)
			h.work()
			checkAnswer(t, r.answer(), h.w.Session(), 3, [][]byte{enc})

			if s := h.w.Counters.Snapshot(); s.Notices != 1 || s.Malformed != 0 || s.MessagesIn != 12 {
				t.Fatalf("worker counters %+v", s)
			}
		})
	}
}

// TestNoticeRefused: a malformed notice, a notice after the end of session
// and an upstream message of the reserved notice type publish nothing and
// are counted.
func TestNoticeRefused(t *testing.T) {
	h := newHarness(t, 2, nil)
	bad := decode.AppendUpstreamLoss(nil, upstreamLoss(5, 4)) // reversed range
	if h.w.PublishNotice(bad) {
		t.Fatal("published a malformed notice")
	}
	p := h.pool.Get()
	publish.NoticePacket(p, upstreamLoss(1, 2), h.now)
	p.N = 3 // cut short
	h.w.Offer(p)
	// Upstream may not forge a notice: a well-formed one inside an
	// upstream packet is dropped, the quote beside it published.
	forged := decode.AppendUpstreamLoss(nil, upstreamLoss(1, 2))
	h.offer(forged, quote(0, 1))
	h.work()
	got := channelMessages(t, h, 0, 1)
	if !bytes.Equal(got[0], quote(0, 1)) {
		t.Fatalf("channel 0 carries % x", got[0])
	}
	noMoreData(t, h)
	if s := h.w.Counters.Snapshot(); s.Malformed != 2 || s.ReservedType != 1 || s.Notices != 0 {
		t.Fatalf("worker counters %+v", s)
	}

	h.w.EndSession(h.now)
	h.work()
	if h.w.PublishNotice(decode.AppendUpstreamLoss(nil, upstreamLoss(1, 2))) {
		t.Fatal("published a notice after the end of session")
	}
	if s := h.w.Counters.Snapshot(); s.AfterEnd != 1 || s.Notices != 0 {
		t.Fatalf("worker counters after end %+v", s)
	}
	for ch := range h.w.Channels() {
		if s := h.w.Channels()[ch].Stats(); s.Notices != 0 || s.Messages != uint64(1-ch) {
			t.Fatalf("channel %d stats %+v", ch, s)
		}
	}
}

// TestNoticeAllocs: publishing a notice through a pooled packet does not
// allocate.
func TestNoticeAllocs(t *testing.T) {
	if publish.RaceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	h := newHarness(t, 2, nil)
	f := upstreamLoss(1, 10)
	allocs := testing.AllocsPerRun(500, func() {
		p := h.pool.Get()
		publish.NoticePacket(p, f, h.now)
		h.w.Offer(p)
		h.now += int64(time.Millisecond)
		if _, err := h.w.DoWork(h.now); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a notice allocates %.2f times", allocs)
	}
	if s := h.w.Counters.Snapshot(); s.Notices < 500 {
		t.Fatalf("notice path not exercised: %+v", s)
	}
}
