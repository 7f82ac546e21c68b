package subscriber

import (
	"encoding/binary"
	"testing"

	"mdcast/decode"
)

// noticeChannel is one channel with consumers of each policy, driven by hand.
type noticeChannel struct {
	t    *testing.T
	c    *channel
	s    decode.Session
	cons []*Consumer
	now  int64
}

func newNoticeChannel(t *testing.T, ccs ...ConsumerConfig) *noticeChannel {
	cfg := Config{Channels: []ChannelConfig{{Group: "239.1.1.1:1"}}}.withDefaults()
	nc := &noticeChannel{t: t, c: newChannel(0, cfg, &rngSource{seed: 1})}
	nc.s, _ = decode.MakeSession("NOTICE")
	for _, cc := range ccs {
		if cc.RingSize == 0 {
			cc.RingSize = 1024
		}
		if cc.ConflateSlots == 0 {
			cc.ConflateSlots = DefaultConflateSlots
		}
		nc.cons = append(nc.cons, newConsumer(cc, 1, []decode.Format{decode.FormatQuote}, nil))
	}
	nc.c.cons = nc.cons
	return nc
}

func (nc *noticeChannel) send(seq uint64, msgs ...[]byte) {
	b := decode.AppendPacketHeader(nil, nc.s, seq, uint16(len(msgs)))
	for _, m := range msgs {
		b = decode.AppendMessage(b, m)
	}
	nc.now += 1000
	nc.c.nowNs = nc.now
	nc.c.onDatagram(b, nc.now, false)
	for _, con := range nc.cons {
		con.publish()
	}
}

// drain returns everything consumer i has ready, moving a Conflate
// consumer's pending messages into its ring as the receive agent's DoWork
// does.
func (nc *noticeChannel) drain(i int) []Message {
	var out []Message
	con := nc.cons[i]
	for {
		if con.cf != nil && con.cf.pending() {
			con.cf.flush(con.r)
			con.publish()
		}
		b := con.Poll(256)
		if len(b) == 0 {
			return out
		}
		out = append(out, b...)
	}
}

func testQuote(id uint64) []byte {
	return decode.AppendQuote(nil, decode.QuoteFields{Instrument: uint32(id % 4), ExchangeTime: id})
}

var testUpstream = decode.UpstreamLossFields{
	Session: decode.Session{'N', 'A', 'S', 'D', 'A', 'Q', '0', '0', '4', '2'}, From: 1001, To: 1100,
}

// checkStream checks that got is quotes 1..k (sequences 1..k), then the
// notice at k+1, then quotes k+1.. at k+2..
func checkStream(t *testing.T, name string, got []Message, k, total int) {
	t.Helper()
	if len(got) != total+1 {
		t.Fatalf("%s: %d messages, want %d", name, len(got), total+1)
	}
	for i := range got {
		m := &got[i]
		seq := uint64(i + 1)
		if m.Sequence != seq {
			t.Fatalf("%s: item %d at sequence %d, want %d", name, i, m.Sequence, seq)
		}
		if i == k {
			l := m.Loss()
			if m.Kind != LossEvent || l.Reason != Upstream || l.From != seq || l.To != seq || l.Upstream != testUpstream || l.Upstream.Count() != 100 {
				t.Fatalf("%s: at %d got %v %+v, want the upstream loss notice", name, seq, m.Kind, l)
			}
			if len(m.Bytes()) != 0 {
				t.Fatalf("%s: notice event carries %d bytes", name, len(m.Bytes()))
			}
			continue
		}
		id := uint64(i + 1)
		if i > k {
			id = uint64(i)
		}
		q, err := m.Quote()
		if m.Kind != Data || err != nil || q.ExchangeTime() != id {
			t.Fatalf("%s: at %d got %v (%v), want quote %d", name, seq, m.Kind, err, id)
		}
	}
}

// TestUpstreamLossNotice: the daemon's notice, in order among quotes and in
// a packet that arrived ahead of a hole, reaches a DropOldest and a
// Conflate consumer as one Upstream LossEvent at its own sequence; nothing
// else is reported lost, and the channel counts it apart from messages.
func TestUpstreamLossNotice(t *testing.T) {
	nc := newNoticeChannel(t, ConsumerConfig{Name: "all"}, ConsumerConfig{Name: "conflate", Policy: Conflate})
	notice := decode.AppendUpstreamLoss(nil, testUpstream)
	nc.send(1, testQuote(1), testQuote(2))
	nc.send(5, testQuote(4), testQuote(5)) // ahead of the hole at 3..4: held
	nc.send(3, testQuote(3), notice)       // fills it
	for i, name := range []string{"all", "conflate"} {
		checkStream(t, name, nc.drain(i), 3, 5)
	}
	k := nc.c.ctr
	if k.upstreamLosses.Load() != 1 || k.upstreamLost.Load() != 100 || k.messages.Load() != 5 || k.lost.Load() != 0 || k.malformedNotices.Load() != 0 {
		t.Fatalf("counters: notices %d upstream lost %d messages %d lost %d malformed %d",
			k.upstreamLosses.Load(), k.upstreamLost.Load(), k.messages.Load(), k.lost.Load(), k.malformedNotices.Load())
	}
}

// TestUpstreamLossNoticeFullRings: a Conflate consumer whose ring is full
// keeps the notice like any event: delivered once, after everything before
// it, when the consumer catches up, and a barrier: a quote that arrived
// after it comes after it even when an older quote of its instrument is
// still pending.
func TestUpstreamLossNoticeFullRings(t *testing.T) {
	nc := newNoticeChannel(t, ConsumerConfig{Name: "conflate", Policy: Conflate, RingSize: 4})
	notice := decode.AppendUpstreamLoss(nil, testUpstream)
	for id := uint64(1); id <= 8; id++ { // fills the ring of 4, then conflates
		nc.send(id, testQuote(id))
	}
	nc.send(9, notice)
	nc.send(10, testQuote(10))
	got := nc.drain(0)
	var seqs []uint64
	events := 0
	for i := range got {
		m := &got[i]
		seqs = append(seqs, m.Sequence)
		if m.Kind == LossEvent {
			events++
			if l := m.Loss(); l.Reason != Upstream || l.From != 9 || l.Upstream != testUpstream {
				t.Fatalf("loss %+v, want the notice at 9", l)
			}
			for _, s := range seqs[:len(seqs)-1] {
				if s > 9 {
					t.Fatalf("sequence %d before the notice", s)
				}
			}
		}
	}
	// 1..4 in the ring; 5..8 pending; 10 (instrument 2, like 6) arrived
	// after the notice, so it does not replace 6 but follows the notice.
	want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if events != 1 || len(seqs) != len(want) {
		t.Fatalf("conflate consumer: %d events, sequences %v, want %v", events, seqs, want)
	}
	for i := range want {
		if seqs[i] != want[i] {
			t.Fatalf("conflate consumer: sequences %v, want %v", seqs, want)
		}
	}
}

// TestMalformedNoticeIsData: a message of the notice type that is not a
// valid notice is counted and delivered as Data, so its sequence is still
// accounted for.
func TestMalformedNoticeIsData(t *testing.T) {
	nc := newNoticeChannel(t, ConsumerConfig{Name: "all"})
	bad := decode.AppendUpstreamLoss(nil, decode.UpstreamLossFields{From: 9, To: 1})
	nc.send(1, testQuote(1), bad, testQuote(2))
	got := nc.drain(0)
	if len(got) != 3 || got[1].Kind != Data || got[1].Type() != decode.UpstreamLossType || got[2].Sequence != 3 {
		t.Fatalf("got %+v", got)
	}
	if nc.c.ctr.malformedNotices.Load() != 1 || nc.c.ctr.upstreamLosses.Load() != 0 {
		t.Fatalf("malformed %d notices %d", nc.c.ctr.malformedNotices.Load(), nc.c.ctr.upstreamLosses.Load())
	}
}

// TestNoticeAllocs: delivering a notice does not allocate.
func TestNoticeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	nc := newNoticeChannel(t, ConsumerConfig{Name: "all"})
	pkt := decode.AppendPacketHeader(nil, nc.s, 1, 1)
	pkt = decode.AppendMessage(pkt, decode.AppendUpstreamLoss(nil, testUpstream))
	seq := uint64(1)
	allocs := testing.AllocsPerRun(200, func() {
		binary.BigEndian.PutUint64(pkt[decode.SessionLen:], seq)
		seq++
		nc.c.onDatagram(pkt, 1, false)
		nc.cons[0].publish()
		nc.cons[0].Poll(256)
	})
	if allocs != 0 {
		t.Fatalf("a notice allocates %.2f times", allocs)
	}
	if nc.c.ctr.upstreamLosses.Load() < 200 {
		t.Fatalf("notice path not exercised: %d", nc.c.ctr.upstreamLosses.Load())
	}
}
