package feed

import (
	"fmt"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/ring"
)

// fuzzOutput checks, for whatever the arbiter emits, that messages are
// delivered in sequence with no hole that the loss handler did not report
// first, and that packet metadata matches the packet.
type fuzzOutput struct {
	c           *Counters
	expect      uint64 // next sequence due; 0 = unknown (start, session change)
	seenChanges uint64
	pk          decode.Packet
	err         error
	delivered   uint64
}

func (o *fuzzOutput) resync() {
	if n := o.c.SessionChanges.Load(); n != o.seenChanges {
		o.seenChanges, o.expect = n, 0
	}
}

func (o *fuzzOutput) Offer(p *ring.Packet) bool {
	defer p.Release()
	o.resync()
	if err := o.pk.Wrap(p.Bytes()); err != nil {
		o.fail("emitted packet does not wrap: %v", err)
		return true
	}
	n := o.pk.MessageCount()
	if p.Skip < 0 || int(p.Skip) >= n || o.pk.Sequence()+uint64(p.Skip) != p.Seq {
		o.fail("packet %d+%d emitted with Seq %d Skip %d", o.pk.Sequence(), n, p.Seq, p.Skip)
	}
	if o.expect != 0 && p.Seq != o.expect {
		o.fail("delivered %d, expected %d", p.Seq, o.expect)
	}
	o.expect = o.pk.Sequence() + uint64(n)
	o.delivered += uint64(n) - uint64(p.Skip)
	return true
}

func (o *fuzzOutput) loss(from, to uint64) {
	o.resync()
	if to < from {
		o.fail("loss %d..%d reversed", from, to)
	}
	if o.expect != 0 && from != o.expect {
		o.fail("loss from %d, expected %d", from, o.expect)
	}
	o.expect = to + 1
}

func (o *fuzzOutput) fail(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf(format, args...)
	}
}

// FuzzArbiter drives the arbiter with arbitrary packets from two lines and
// the recovery server (any sequence, count, session, heartbeat, end of
// session) and arbitrary time steps. Whatever the input, nothing panics,
// delivery is in order with every skipped range reported as a loss, and
// every packet returns to the pool.
func FuzzArbiter(f *testing.F) {
	f.Add([]byte{0, 1, 3, 0, 1, 1, 3, 0, 0, 4, 3, 0})                             // in order, duplicates
	f.Add([]byte{0, 1, 3, 0, 0, 9, 2, 0, 1, 4, 5, 0, 3, 0, 0, 200})               // reorder, then time passes
	f.Add([]byte{0, 1, 1, 0, 0, 200, 1, 0, 3, 0, 0, 0})                           // gap by distance
	f.Add([]byte{0, 1, 2, 0, 0, 10, 2, 0, 2, 3, 7, 0, 3, 0, 0, 255, 7, 50, 0, 1}) // recovery answer, heartbeat
	f.Add([]byte{0, 1, 4, 0, 0x40, 1, 4, 0, 0, 5, 2, 0, 0x43, 9, 0, 0})           // session change, end of session
	f.Fuzz(fuzzArbiter)
}

func fuzzArbiter(t *testing.T, ops []byte) {
	{
		pool, err := ring.NewPool(ring.PoolConfig{Packets: 64, BufSize: 512})
		if err != nil {
			t.Fatal(err)
		}
		var c Counters
		out := &fuzzOutput{c: &c}
		var sent []testRequest
		a := newArbiter(arbiterConfig{
			out: out, counters: &c,
			maxDistance: 40, maxWaitNs: int64(time.Millisecond), maxHeld: 8,
			send: func(s decode.Session, seq uint64, count uint16) error {
				sent = append(sent, testRequest{s, seq, count})
				return nil
			},
			timeoutNs: int64(time.Millisecond), retries: 1, recoveryLine: LineRecovery,
			log: quietLog,
		})
		a.onLoss = out.loss
		var lcs [3]LineCounters
		var pk decode.Packet
		now := int64(0)
		buf := make([]byte, 0, 512)
		for len(ops) >= 4 {
			op, b1, b2, b3 := ops[0], ops[1], ops[2], ops[3]
			ops = ops[4:]
			now += int64(b3) * int64(20*time.Microsecond)
			line := op & 3
			sess := sessA
			if op&0x40 != 0 {
				sess = sessB
			}
			seq := uint64(b1) + uint64(op>>2&3)*200
			if line == 3 { // control: heartbeat, end of session, or just time
				switch b2 % 3 {
				case 0:
					a.poll(now)
					continue
				case 1:
					buf = decode.AppendPacketHeader(buf[:0], sess, seq, 0)
				case 2:
					buf = decode.AppendPacketHeader(buf[:0], sess, seq, decode.EndOfSessionCount)
				}
			} else {
				buf = appendTestPacket(buf[:0], sess, seq, int(b2%24))
			}
			if pk.Wrap(buf) != nil {
				continue
			}
			p := pool.Get()
			p.N = copy(p.Buf, buf)
			p.RecvNs = now
			if pk.Wrap(p.Bytes()) != nil {
				t.Fatal("copy does not wrap")
			}
			idx := line
			if line == 2 {
				line = LineRecovery
			}
			if idx == 3 {
				idx = 0
			}
			a.accept(p, &pk, line, &lcs[idx], now)
			a.poll(now)
			if out.err != nil {
				t.Fatal(out.err)
			}
			if len(a.held) > cap(a.held) || len(a.held) > 8 {
				t.Fatalf("reorder buffer over its bound: %d", len(a.held))
			}
		}
		// Let every deadline pass: nothing may stay held forever.
		for i := 0; i < 1000 && a.highest > a.next; i++ {
			now += int64(10 * time.Millisecond)
			a.poll(now)
		}
		if out.err != nil {
			t.Fatal(out.err)
		}
		if a.highest > a.next || len(a.held) != 0 {
			t.Fatalf("hole %d..%d still open with %d held after all deadlines", a.next, a.highest, len(a.held))
		}
		for _, r := range sent {
			if r.count == 0 {
				t.Fatalf("request for zero messages: %+v", r)
			}
		}
		a.release()
		if st := pool.Stats(); st.InUse != 0 {
			t.Fatalf("%d packets leaked", st.InUse)
		}
		if c.EmittedMessages.Load() != out.delivered {
			t.Fatalf("EmittedMessages %d, output counted %d", c.EmittedMessages.Load(), out.delivered)
		}
	}
}
