package subscriber

import (
	"testing"

	"mdcast/decode"
)

// FuzzChannelDatagram feeds arbitrary datagrams (as channel packets or as
// retransmissions) into a channel: nothing panics, every datagram that fails
// MoldUDP64 validation is counted as malformed, and the consumer's stream
// stays ordered (data sequences increase within a session).
func FuzzChannelDatagram(f *testing.F) {
	s, _ := decode.MakeSession("FUZZ")
	q := decode.AppendQuote(nil, decode.QuoteFields{Instrument: 7, ExchangeTime: 1})
	pkt := func(seq uint64, msgs ...[]byte) []byte {
		b := decode.AppendPacketHeader(nil, s, seq, uint16(len(msgs)))
		for _, m := range msgs {
			b = decode.AppendMessage(b, m)
		}
		return b
	}
	f.Add(pkt(1, q, q), false)
	f.Add(pkt(1, q, decode.AppendUpstreamLoss(nil, decode.UpstreamLossFields{Session: s, From: 3, To: 9}), q), false)
	f.Add(pkt(2, decode.AppendUpstreamLoss(nil, decode.UpstreamLossFields{From: 9, To: 3})), false)
	f.Add(pkt(5, q), true)
	f.Add(decode.AppendPacketHeader(nil, s, 9, 0), false)
	f.Add(decode.AppendPacketHeader(nil, s, 9, decode.EndOfSessionCount), false)
	f.Add(pkt(1, make([]byte, 100)), false)
	f.Add([]byte("garbage"), false)
	f.Add(pkt(^uint64(0)-1, q), false)
	cfg := Config{Channels: []ChannelConfig{{Group: "239.1.1.1:1"}}}.withDefaults()
	cfg.Reorder.HoldPackets = 4
	f.Fuzz(func(t *testing.T, b []byte, retrans bool) {
		c := newChannel(0, cfg, &rngSource{seed: 1})
		con := newConsumer(ConsumerConfig{RingSize: 1024}, 1, []decode.Format{decode.FormatQuote}, nil)
		c.cons = []*Consumer{con}
		// Feed b, then b split in two, as separate datagrams.
		for i, d := range [][]byte{b, b[:len(b)/2], b[len(b)/2:], b} {
			c.nowNs = int64(i) * 1e9
			var p decode.Packet
			bad := p.Wrap(d) != nil
			before := c.ctr.malformed.Load()
			c.onDatagram(d, c.nowNs, retrans && i%2 == 1)
			if got := c.ctr.malformed.Load() - before; bad != (got == 1) {
				t.Fatalf("datagram %d: invalid=%v, malformed counted %d", i, bad, got)
			}
			c.expire()
			c.gaps.Poll(c.nowNs, c.highest, c.sendFn)
		}
		con.publish()
		last := map[uint32]uint64{}
		for batch := con.Poll(64); len(batch) > 0; batch = con.Poll(64) {
			for i := range batch {
				m := &batch[i]
				if m.Kind == Data || m.Kind == LossEvent {
					if m.Sequence < last[m.epoch] {
						t.Fatalf("sequence went back: %d after %d", m.Sequence, last[m.epoch])
					}
					last[m.epoch] = m.Sequence
				}
			}
		}
	})
}
