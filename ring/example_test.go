package ring_test

import (
	"fmt"
	"strconv"
	"time"

	"mdcast/ring"
)

// reader is a toy producer agent: it fills pooled packets and offers them
// to a ring, counting what it could not hand over.
type reader struct {
	pool    *ring.Pool
	out     *ring.SPSC[*ring.Packet]
	waker   *ring.Waker // wakes the consumer if it is parked
	next    uint64
	last    uint64
	dropped int
}

func (r *reader) RoleName() string { return "reader" }
func (r *reader) OnStart() error   { return nil }
func (r *reader) OnClose()         {}

func (r *reader) DoWork(nowNs int64) (int, error) {
	if r.next > r.last {
		return 0, ring.ErrTerminate
	}
	pk := r.pool.Get()
	pk.N = len(strconv.AppendUint(append(pk.Buf[:0], "packet "...), r.next, 10))
	pk.Seq, pk.RecvNs = r.next, nowNs
	r.next++
	if !r.out.Offer(pk) {
		r.dropped++
		pk.Release()
		return 1, nil
	}
	r.waker.Wake()
	return 1, nil
}

// Example shows a producer agent and a consumer handing pooled packets
// through an SPSC ring, the consumer parking in a Block between packets.
func Example() {
	pool, _ := ring.NewPool(ring.PoolConfig{Packets: 64, BufSize: 64})
	r, _ := ring.NewSPSC[*ring.Packet](16)
	waker, _ := ring.NewWaker()
	defer waker.Close()

	producer := ring.NewRunner(&reader{pool: pool, out: r, waker: waker, next: 1, last: 3},
		ring.RunnerConfig{Idle: ring.Yield{}, CPU: -1})
	if err := producer.Start(); err != nil {
		fmt.Println(err)
		return
	}

	// The consumer loop an agent's DoWork would run, parking when idle.
	idle, _ := ring.NewBlock(nil, waker, 10*time.Millisecond)
	dst := make([]*ring.Packet, 8)
	for got := 0; got < 3; {
		n := r.Poll(dst)
		for _, pk := range dst[:n] {
			fmt.Printf("seq %d: %s\n", pk.Seq, pk.Bytes())
			pk.Release()
		}
		got += n
		idle.Idle(n)
	}
	<-producer.Done()
	producer.Close()
	fmt.Println("in use:", pool.Stats().InUse)
	// Output:
	// seq 1: packet 1
	// seq 2: packet 2
	// seq 3: packet 3
	// in use: 0
}
