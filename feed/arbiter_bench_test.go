package feed

import (
	"encoding/binary"
	"testing"

	"mdcast/decode"
	"mdcast/ring"
)

// BenchmarkArbiter measures validate (decode.Packet.Wrap) -> arbitrate ->
// Offer -> Release for one packet of 10 messages, without the socket: the
// receiver's own per-packet cost. "AB" offers every packet on both lines,
// so half the packets are duplicates.
func BenchmarkArbiter(b *testing.B) {
	for _, lines := range []int{1, 2} {
		b.Run(map[int]string{1: "A", 2: "AB"}[lines], func(b *testing.B) {
			b.ReportAllocs()
			pool, err := ring.NewPool(ring.PoolConfig{Packets: 64, BufSize: 256})
			if err != nil {
				b.Fatal(err)
			}
			var c Counters
			a := newArbiter(arbiterConfig{out: &countOutput{}, counters: &c, maxDistance: 256,
				maxWaitNs: 2e6, maxHeld: 64, recoveryLine: LineRecovery, log: quietLog})
			var lcs [2]LineCounters
			var pk decode.Packet
			tmpl := appendTestPacket(nil, sessA, 1, 10)
			seq := uint64(1)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for l := 0; l < lines; l++ {
					p := pool.Get()
					p.N = copy(p.Buf, tmpl)
					binary.BigEndian.PutUint64(p.Buf[10:], seq)
					if err := pk.Wrap(p.Bytes()); err != nil {
						b.Fatal(err)
					}
					a.accept(p, &pk, uint8(l), &lcs[l], int64(i))
				}
				seq += 10
				if i&63 == 0 {
					a.poll(int64(i))
				}
			}
			b.StopTimer()
			if c.EmittedMessages.Load() != uint64(b.N)*10 || c.UpstreamLost.Load() != 0 {
				b.Fatalf("emitted %d of %d", c.EmittedMessages.Load(), b.N*10)
			}
		})
	}
}
