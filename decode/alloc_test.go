package decode_test

import (
	"testing"

	"mdcast/decode"
)

// TestAllocs proves the allocation contract of the doc: wrapping, iterating,
// reading fields and encoding into a buffer with room never allocate.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation may add allocations")
	}
	pkts := snippetPackets(t)
	quote := decode.AppendQuote(nil, sampleQuote())
	notice := decode.AppendUpstreamLoss(nil, sampleUpstreamLoss(t))
	sess := mustSession(t, "ALLOC")
	w := decode.NewPacketWriter(make([]byte, 1400), 1400)
	buf := make([]byte, 0, 256)
	var reqView decode.Request
	req := decode.AppendRequest(nil, sess, 1, 10)
	checks := []struct {
		name string
		fn   func()
	}{
		{"decode packets and add orders", func() { _, s := decodeAll(pkts); sink += s }},
		{"quote wrap and fields", func() {
			var q decode.Quote
			if q.Wrap(quote) == nil {
				f := q.Fields()
				sink += f.SendTime
			}
		}},
		{"upstream loss wrap and fields", func() {
			var u decode.UpstreamLoss
			if u.Wrap(notice) == nil {
				f := u.Fields()
				sink += f.Count() + uint64(f.Session[0])
			}
		}},
		{"request wrap", func() {
			if reqView.Wrap(req) == nil {
				sink += reqView.Sequence() + uint64(reqView.Count())
				s := reqView.Session()
				sink += uint64(s[0])
			}
		}},
		{"packet writer", func() {
			w.Reset(sess, 1)
			for w.Append(quote) {
			}
			sink += uint64(len(w.Bytes()))
		}},
		{"encoders", func() {
			b := decode.AppendPacketHeader(buf[:0], sess, 1, 2)
			b = decode.AppendMessage(b, quote)
			b = decode.AppendAddOrder(b, decode.AddOrderFields{Shares: 1})
			b = decode.AppendRequest(b, sess, 1, 1)
			b = decode.AppendUpstreamLoss(b, decode.UpstreamLossFields{Session: sess, From: 1, To: 2})
			decode.PutCount(b, 1)
			decode.PutQuoteSendTime(b[22:], 5)
			sink += uint64(len(b))
		}},
		{"validate and key", func() {
			for _, p := range pkts[:3] {
				var pk decode.Packet
				_ = pk.Wrap(p)
				it := pk.Messages() // before the loop: see the MessageIterator doc
				for it.Next() {
					typ, _ := decode.ValidateITCH(it.Message())
					k, _ := decode.InstrumentKey(decode.FormatITCH, it.Message())
					sink += uint64(typ) + uint64(k)
				}
			}
		}},
		{"range All", func() {
			var a decode.AddOrder
			for _, p := range pkts[:3] {
				var pk decode.Packet
				_ = pk.Wrap(p)
				for seq, m := range pk.All() {
					if a.Wrap(m) == nil {
						sink += seq + a.OrderRef()
					}
				}
			}
		}},
		{"for-clause iterator, reused Packet", func() {
			var pk decode.Packet
			for _, p := range pkts[:3] {
				_ = pk.Wrap(p)
				for it := pk.Messages(); it.Next(); {
					sink += it.Sequence() + uint64(len(it.Message()))
				}
			}
		}},
		{"stock trim", func() {
			var a decode.AddOrder
			_ = a.Wrap(decode.AppendAddOrder(buf[:0], decode.AddOrderFields{}))
			st := a.Stock()
			sink += uint64(len(st.Trim()))
		}},
	}
	for _, c := range checks {
		if n := testing.AllocsPerRun(100, c.fn); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", c.name, n)
		}
	}
}
