package clock

import (
	"testing"
	"time"
)

var sinkNs int64

// BenchmarkNanotime compares Nanotime with time.Now, the call it replaces on
// hot paths.
func BenchmarkNanotime(b *testing.B) {
	b.Run("clock.Nanotime", func(b *testing.B) {
		b.ReportAllocs()
		var s int64
		for b.Loop() {
			s += Nanotime()
		}
		sinkNs = s
	})
	b.Run("time.Now", func(b *testing.B) {
		b.ReportAllocs()
		var s int64
		for b.Loop() {
			s += time.Now().UnixNano()
		}
		sinkNs = s
	})
}
