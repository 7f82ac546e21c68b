package decode_test

import (
	"bytes"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/decode/capture"
)

// snippetPackets returns copies of the 174 MoldUDP64 payloads of the snippet
// capture (testdata/ATTRIBUTION.md, file 3).
func snippetPackets(tb testing.TB) [][]byte {
	tb.Helper()
	r, err := capture.OpenPcap(snippetPcap)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var pkts [][]byte
	for {
		pl, _, err := r.Next()
		if err == io.EOF {
			return pkts
		}
		if err != nil {
			tb.Fatal(err)
		}
		pkts = append(pkts, bytes.Clone(pl))
	}
}

// threadCPU returns the CPU time of the calling OS thread. On this shared
// machine wall time per op includes time the benchmark spent descheduled;
// the cpu-ns/msg metric (thread CPU time per message, with the goroutine
// locked to its thread) does not.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sink keeps the compiler from discarding the decoded fields.
var sink uint64

// decodeAll wraps every packet, walks every message and reads every field of
// each Add Order; it returns the number of messages and a checksum.
func decodeAll(pkts [][]byte) (n int, sum uint64) {
	var p decode.Packet
	var a decode.AddOrder
	for _, b := range pkts {
		if p.Wrap(b) != nil {
			continue
		}
		sum += p.Sequence()
		it := p.Messages()
		for it.Next() {
			n++
			msg := it.Message()
			if len(msg) == 0 || msg[0] != 'A' || a.Wrap(msg) != nil {
				continue
			}
			st := a.Stock()
			sum += uint64(a.StockLocate()) + uint64(a.TrackingNumber()) + a.Timestamp() + a.OrderRef() +
				uint64(a.Side()) + uint64(a.Shares()) + uint64(a.Price()) + uint64(st[0]) + uint64(st[7])
		}
	}
	return n, sum
}

// decodeAllRange is decodeAll with Packet.All instead of the iterator.
func decodeAllRange(pkts [][]byte) (n int, sum uint64) {
	var p decode.Packet
	var a decode.AddOrder
	for _, b := range pkts {
		if p.Wrap(b) != nil {
			continue
		}
		sum += p.Sequence()
		for _, msg := range p.All() {
			n++
			if len(msg) == 0 || msg[0] != 'A' || a.Wrap(msg) != nil {
				continue
			}
			st := a.Stock()
			sum += uint64(a.StockLocate()) + uint64(a.TrackingNumber()) + a.Timestamp() + a.OrderRef() +
				uint64(a.Side()) + uint64(a.Shares()) + uint64(a.Price()) + uint64(st[0]) + uint64(st[7])
		}
	}
	return n, sum
}

// wrapAll only validates the packets (Packet.Wrap).
func wrapAll(pkts [][]byte) (n int, sum uint64) {
	var p decode.Packet
	for _, b := range pkts {
		if p.Wrap(b) == nil {
			n += p.MessageCount()
		}
	}
	return n, sum
}

// walkAllRange is walkAll with Packet.All.
func walkAllRange(pkts [][]byte) (n int, sum uint64) {
	var p decode.Packet
	for _, b := range pkts {
		if p.Wrap(b) != nil {
			continue
		}
		for _, m := range p.All() {
			n++
			sum += uint64(len(m))
		}
	}
	return n, sum
}

// walkAll is the baseline: framing only, no message fields.
func walkAll(pkts [][]byte) (n int, sum uint64) {
	var p decode.Packet
	for _, b := range pkts {
		if p.Wrap(b) != nil {
			continue
		}
		it := p.Messages()
		for it.Next() {
			n++
			sum += uint64(len(it.Message()))
		}
	}
	return n, sum
}

// BenchmarkDecodePackets decodes the 174 packets (1000 messages) of the
// snippet capture per op: wrap-only validates them; framing-only also walks
// every message; addorder-fields also reads every field of the 367 Add
// Orders, with the MessageIterator or with Packet.All.
func BenchmarkDecodePackets(b *testing.B) {
	pkts := snippetPackets(b)
	for _, bc := range []struct {
		name string
		fn   func([][]byte) (int, uint64)
	}{
		{"wrap-only", wrapAll},
		{"framing-only", walkAll},
		{"framing-only-range", walkAllRange},
		{"addorder-fields", decodeAll},
		{"addorder-fields-range", decodeAllRange},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			msgs := 0
			cpu0 := threadCPU()
			for b.Loop() {
				n, s := bc.fn(pkts)
				msgs += n
				sink += s
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs), "ns/msg")
			b.ReportMetric(float64(threadCPU()-cpu0)/float64(msgs), "cpu-ns/msg")
		})
	}
}

func BenchmarkQuoteDecode(b *testing.B) {
	msg := decode.AppendQuote(nil, sampleQuote())
	b.ReportAllocs()
	var q decode.Quote
	for b.Loop() {
		if q.Wrap(msg) != nil {
			b.Fatal("wrap")
		}
		sink += uint64(q.Instrument()) + q.ExchangeTime() + uint64(q.BidPrice()) + uint64(q.AskPrice()) +
			uint64(q.BidSize()) + uint64(q.AskSize()) + uint64(q.Flags()) + q.SendTime() + uint64(q.Version())
	}
}

func BenchmarkQuoteEncode(b *testing.B) {
	buf := make([]byte, 0, decode.QuoteLen)
	f := sampleQuote()
	b.ReportAllocs()
	for b.Loop() {
		f.SendTime++
		buf = decode.AppendQuote(buf[:0], f)
	}
	sink += uint64(buf[47])
}

// BenchmarkPacketWriterAppend fills 1400-byte packets with quotes (28 per
// packet) and reports the cost per appended message.
func BenchmarkPacketWriterAppend(b *testing.B) {
	w := decode.NewPacketWriter(make([]byte, 1400), 1400)
	msg := decode.AppendQuote(nil, sampleQuote())
	sess := mustSession(b, "BENCH")
	b.ReportAllocs()
	seq, msgs := uint64(1), 0
	for b.Loop() {
		w.Reset(sess, seq)
		for w.Append(msg) {
		}
		seq += uint64(w.Count())
		msgs += w.Count()
		sink += uint64(len(w.Bytes()))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs), "ns/msg")
}

func BenchmarkValidateITCH(b *testing.B) {
	var msgs [][]byte
	for _, p := range snippetPackets(b) {
		var pk decode.Packet
		if pk.Wrap(p) != nil {
			b.Fatal("wrap")
		}
		for it := pk.Messages(); it.Next(); {
			msgs = append(msgs, it.Message())
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			t, _ := decode.ValidateITCH(m)
			sink += uint64(t)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
}

func BenchmarkAppendAddOrder(b *testing.B) {
	buf := make([]byte, 0, decode.AddOrderLen)
	f := decode.AddOrderFields{StockLocate: 8381, Timestamp: 34200000092539, OrderRef: 9899132, Side: 'B', Shares: 100, Price: 213300}
	copy(f.Stock[:], "VIXM    ")
	b.ReportAllocs()
	for b.Loop() {
		f.OrderRef++
		buf = decode.AppendAddOrder(buf[:0], f)
	}
	sink += uint64(buf[35])
}

// BenchmarkAddOrderFields is the flyweight alone: wrap each of the 367 real
// Add Orders (already framed) and read every field.
func BenchmarkAddOrderFields(b *testing.B) {
	var adds [][]byte
	for _, m := range readBinaryFile(b) {
		if m[0] == 'A' {
			adds = append(adds, m)
		}
	}
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var a decode.AddOrder
	var sum uint64
	cpu0 := threadCPU()
	for b.Loop() {
		for _, m := range adds {
			if a.Wrap(m) != nil {
				b.Fatal("wrap")
			}
			st := a.Stock()
			sum += uint64(a.StockLocate()) + uint64(a.TrackingNumber()) + a.Timestamp() + a.OrderRef() +
				uint64(a.Side()) + uint64(a.Shares()) + uint64(a.Price()) + uint64(st[0]) + uint64(st[7])
		}
	}
	sink += sum
	msgs := float64(b.N * len(adds))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64(threadCPU()-cpu0)/msgs, "cpu-ns/msg")
}
