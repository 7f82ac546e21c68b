package perf_test

import (
	"testing"
	"time"

	"mdcast/perf"
)

var sinkInt int64

func BenchmarkRecorder(b *testing.B) {
	b.Run("Record", func(b *testing.B) {
		r := newRecorder(b, perf.RecorderConfig{})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			r.Record(int64(i&0xffff) + 1000)
		}
		sinkInt = r.Count()
	})
	b.Run("RecordAt", func(b *testing.B) {
		r := newRecorder(b, perf.RecorderConfig{Interval: 100 * time.Millisecond, Span: 10 * time.Second})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			r.RecordAt(int64(i)*100, int64(i&0xffff)+1000)
		}
		sinkInt = r.Count()
	})
}

// BenchmarkGeneratorDoWork sends to a loopback socket; ns/op is one DoWork
// (one sendmmsg of one datagram) and the messages/op metric shows the packing.
func BenchmarkGeneratorDoWork(b *testing.B) {
	for _, c := range []struct {
		name string
		step int64 // ns of schedule per call
		rate float64
	}{
		{"1msg", 1000, 1e6},
		{"25msgs", 1000, 25e6},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := newSink(b)
			g := newGenerator(b, perf.GeneratorConfig{Rate: c.rate, Dst: s.addr()})
			g.Start(0)
			now := int64(0)
			b.ReportAllocs()
			for b.Loop() {
				now += c.step
				if _, err := g.DoWork(now); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(g.Sent())/float64(b.N), "messages/op")
		})
	}
}
