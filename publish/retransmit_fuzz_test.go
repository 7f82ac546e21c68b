package publish

import (
	"bytes"
	"net/netip"
	"testing"

	"mdcast/decode"
)

// outcomes sums the counters of which exactly one moves per request.
func outcomes(s ChannelStats) [9]uint64 {
	return [9]uint64{s.Served, s.RefusedACL, s.RefusedSession, s.OutOfHistory,
		s.Suppressed, s.RateLimited, s.Busy, s.MalformedRequests, s.RequesterInFlight}
}

// FuzzRetransmitRequest feeds arbitrary datagrams from an allowed or a
// refused source into the re-request server's handling. It must never
// panic, must count every datagram under exactly one outcome, and every
// answer must be a valid downstream packet of the channel's session holding
// the retained messages from the requested sequence on.
func FuzzRetransmitRequest(f *testing.F) {
	cfg := Config{
		Session: "FUZZ000001",
		Channels: []ChannelConfig{{
			Name: "f", Group: "239.255.77.77:40000", RequestAddr: "127.0.0.1:0",
		}},
		History:    HistoryConfig{Messages: 64, Bytes: 4096},
		Retransmit: RetransmitConfig{MaxInFlight: 4, Burst: 4 * DefaultMaxPayload, RateBytes: 100_000},
	}
	w, err := NewWorker(cfg, nil)
	if err != nil {
		f.Skipf("cannot build a worker here: %v", err)
	}
	f.Cleanup(func() { w.Close() })
	c := w.owned[0]
	for s := uint64(1); s <= 100; s++ { // retains 37..100 (64 messages)
		c.hist.Append(bytes.Repeat([]byte{byte(s)}, 1+int(s%60)))
	}
	sess := c.session
	other, _ := decode.MakeSession("OTHER")
	f.Add(decode.AppendRequest(nil, sess, 40, 5), true, uint16(0))
	f.Add(decode.AppendRequest(nil, sess, 1, 5), true, uint16(1))
	f.Add(decode.AppendRequest(nil, sess, 100, 0xFFFF), true, uint16(2))
	f.Add(decode.AppendRequest(nil, sess, 101, 1), true, uint16(0))
	f.Add(decode.AppendRequest(nil, other, 50, 1), true, uint16(0))
	f.Add(decode.AppendRequest(nil, sess, 50, 1), false, uint16(0))
	f.Add(decode.AppendRequest(nil, sess, ^uint64(0), 1), true, uint16(0))
	f.Add([]byte{}, true, uint16(0))
	f.Add(make([]byte, 21), true, uint16(9))

	allowed := netip.MustParseAddrPort("127.0.0.1:5555")
	refused := netip.MustParseAddrPort("10.9.8.7:5555")
	now := int64(1e9)
	f.Fuzz(func(t *testing.T, b []byte, ok bool, dtMs uint16) {
		now += int64(dtMs) * 1e6
		from := refused
		if ok {
			from = allowed
		}
		before := c.Stats()
		resp := w.rt.handle(c, b, from, now)
		after := c.Stats()
		if after.Requests != before.Requests+1 {
			t.Fatalf("Requests %d -> %d", before.Requests, after.Requests)
		}
		ob, oa := outcomes(before), outcomes(after)
		moved := 0
		for i := range ob {
			moved += int(oa[i] - ob[i])
		}
		if moved != 1 {
			t.Fatalf("%d outcome counters moved for one request (%v -> %v)", moved, ob, oa)
		}
		if (resp != nil) != (after.Served == before.Served+1) {
			t.Fatalf("answer %v but Served %d -> %d", resp != nil, before.Served, after.Served)
		}
		if resp == nil {
			return
		}
		var rq decode.Request
		if err := rq.Wrap(b); err != nil {
			t.Fatalf("answered a request that does not parse: %v", err)
		}
		var p decode.Packet
		if err := p.Wrap(resp); err != nil {
			t.Fatalf("answer is not a valid packet: %v", err)
		}
		// The answer starts at the requested sequence, or at the oldest
		// retained one when only the start of the range was evicted, and
		// never goes past the requested range.
		first := max(rq.Sequence(), c.hist.Oldest())
		if p.Session() != sess || p.Sequence() != first || p.MessageCount() == 0 ||
			p.NextSequence() > rq.Sequence()+uint64(rq.Count()) || len(resp) > DefaultMaxPayload {
			t.Fatalf("answer session %q seq %d count %d (%d bytes) for request seq %d count %d",
				p.Session(), p.Sequence(), p.MessageCount(), len(resp), rq.Sequence(), rq.Count())
		}
		it := p.Messages()
		for it.Next() {
			m, ok := c.hist.Lookup(it.Sequence())
			if !ok || !bytes.Equal(m, it.Message()) {
				t.Fatalf("answer message %d differs from history", it.Sequence())
			}
		}
	})
}
