package subscriber

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"mdcast/decode"
)

// simChannel drives one channel by hand: a sender with history, a lossy
// reordering "network" and a responder answering re-requests with packets
// of a different packing than the originals.
type simChannel struct {
	t    *testing.T
	c    *channel
	con  *Consumer
	s    decode.Session
	hist [][]byte // hist[seq-1]
	rnd  *rand.Rand
	reqs []request
	now  int64
	got  []uint64 // delivered sequences
	lost uint64
}

type request struct {
	from  uint64
	count uint16
}

func newSim(t *testing.T, hold int, seed uint64) *simChannel {
	cfg := Config{Channels: []ChannelConfig{{Group: "239.1.1.1:1"}}}.withDefaults()
	cfg.Reorder.HoldPackets = hold
	cfg.Retransmit.Deadline = 1e12 // never give up: everything must come
	c := newChannel(0, cfg, &rngSource{seed: seed})
	con := newConsumer(ConsumerConfig{RingSize: 1 << 16}, 1, []decode.Format{decode.FormatQuote}, nil)
	c.cons = []*Consumer{con}
	sim := &simChannel{t: t, c: c, con: con, rnd: rand.New(rand.NewPCG(seed, 9))}
	sim.s, _ = decode.MakeSession("SIM")
	c.sendFn = func(from uint64, count uint16) { sim.reqs = append(sim.reqs, request{from, count}) }
	return sim
}

func (sim *simChannel) msg(seq uint64) []byte {
	for uint64(len(sim.hist)) < seq {
		m := make([]byte, 20)
		binary.BigEndian.PutUint64(m, uint64(len(sim.hist)+1))
		sim.hist = append(sim.hist, m)
	}
	return sim.hist[seq-1]
}

func (sim *simChannel) packet(seq uint64, n int) []byte {
	b := decode.AppendPacketHeader(nil, sim.s, seq, uint16(n))
	for i := 0; i < n; i++ {
		b = decode.AppendMessage(b, sim.msg(seq+uint64(i)))
	}
	return b
}

func (sim *simChannel) deliver(b []byte, retrans bool) {
	sim.now += 1000
	sim.c.nowNs = sim.now
	sim.c.onDatagram(b, sim.now, retrans)
}

func (sim *simChannel) tick() {
	sim.now += 1000
	sim.c.nowNs = sim.now
	sim.c.expire()
	sim.c.gaps.Poll(sim.now, sim.c.highest, sim.c.sendFn)
	sim.con.publish()
	for b := sim.con.Poll(256); len(b) > 0; b = sim.con.Poll(256) {
		for i := range b {
			m := &b[i]
			switch m.Kind {
			case Data:
				if got := binary.BigEndian.Uint64(m.Bytes()); got != m.Sequence {
					sim.t.Fatalf("seq %d carries message %d", m.Sequence, got)
				}
				sim.got = append(sim.got, m.Sequence)
			case LossEvent:
				sim.t.Fatalf("loss %d..%d (%v)", m.Sequence, m.to, m.reason)
			}
		}
	}
}

// TestChannelSimulatedNetwork sends 20k messages in packets of 1-30 with
// drops, reordering and duplicates; the responder answers each request
// with up to 13 messages (another packing than the originals), and drops
// some answers. Every message must be delivered exactly once, in order,
// and the counters must agree.
func TestChannelSimulatedNetwork(t *testing.T) {
	for _, hold := range []int{2, 16, 256} {
		for seed := uint64(1); seed <= 5; seed++ {
			sim := newSim(t, hold, seed)
			const total = 20_000
			var pending [][]byte // reordering window
			seq := uint64(1)
			for seq <= total {
				n := 1 + sim.rnd.IntN(30)
				if seq+uint64(n) > total+1 {
					n = int(total + 1 - seq)
				}
				p := sim.packet(seq, n)
				seq += uint64(n)
				switch r := sim.rnd.IntN(100); {
				case r < 10: // lost
				case r < 20: // delayed
					pending = append(pending, p)
				case r < 23: // duplicated
					sim.deliver(p, false)
					sim.deliver(p, false)
				default:
					sim.deliver(p, false)
				}
				if len(pending) > 0 && sim.rnd.IntN(3) == 0 {
					i := sim.rnd.IntN(len(pending))
					sim.deliver(pending[i], false)
					pending = append(pending[:i], pending[i+1:]...)
				}
				sim.answer()
				sim.tick()
			}
			hb := decode.AppendPacketHeader(nil, sim.s, total+1, 0)
			for i := 0; i < 2_000_000 && uint64(len(sim.got)) < total; i++ {
				if i%50 == 0 {
					sim.deliver(hb, false)
				}
				sim.answer()
				sim.tick()
			}
			for i, s := range sim.got {
				if s != uint64(i+1) {
					t.Fatalf("hold %d seed %d: delivered[%d] = %d", hold, seed, i, s)
				}
			}
			if len(sim.got) != total {
				t.Fatalf("hold %d seed %d: delivered %d of %d; next %d highest %d gaps %d held %d %+v", hold, seed,
					len(sim.got), total, sim.c.next, sim.c.highest, sim.c.gaps.Len(), len(sim.c.held), sim.c.gaps.gaps)
			}
			if m := sim.c.ctr.messages.Load(); m != total {
				t.Fatalf("hold %d seed %d: messages counter %d", hold, seed, m)
			}
		}
	}
}

// answer serves queued requests: 20% lost, the rest answered with up to 13
// messages.
func (sim *simChannel) answer() {
	reqs := sim.reqs
	sim.reqs = nil
	for _, r := range reqs {
		if sim.rnd.IntN(5) == 0 {
			continue
		}
		n := min(int(r.count), 13)
		if r.from+uint64(n) > uint64(len(sim.hist))+1 {
			n = int(uint64(len(sim.hist)) + 1 - r.from)
		}
		if n > 0 {
			sim.deliver(sim.packet(r.from, n), true)
		}
	}
}
