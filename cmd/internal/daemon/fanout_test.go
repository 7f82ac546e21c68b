package daemon

import (
	"testing"

	"mdcast/decode"
	"mdcast/publish"
	"mdcast/ring"
)

// TestFanoutDropNotice checks that a worker whose input ring refused
// packets is told, before the next packet it takes, which upstream range
// it missed (one notice with the daemon-drop flag, in place), while a
// worker that kept up gets every packet and no notice.
func TestFanoutDropNotice(t *testing.T) {
	session, err := decode.MakeSession("FANOUT0001")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := ring.NewPool(ring.PoolConfig{Packets: 64, BufSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	f := &fanout{pool: pool, session: func() decode.Session { return session }, owed: make([]owedRange, 2)}
	for range 2 {
		r, err := ring.NewSPSC[*ring.Packet](4)
		if err != nil {
			t.Fatal(err)
		}
		w, err := ring.NewWaker()
		if err != nil {
			t.Skipf("no eventfd: %v", err)
		}
		defer w.Close()
		f.rings = append(f.rings, r)
		f.wakers = append(f.wakers, w)
	}

	// packet returns a pooled upstream packet with two messages, seq and
	// seq+1, as the feed emits it (Seq: the first new sequence).
	wr := decode.NewPacketWriter(make([]byte, 256), 256)
	packet := func(seq uint64) *ring.Packet {
		wr.Reset(session, seq)
		wr.Append([]byte("m1"))
		wr.Append([]byte("m2"))
		p := pool.Get()
		p.N = copy(p.Buf, wr.Bytes())
		p.Seq, p.Skip, p.Line = seq, 0, 0
		return p
	}
	buf := make([]*ring.Packet, 8)
	take := func(i int) []*ring.Packet {
		n := f.rings[i].Poll(buf)
		return buf[:n]
	}
	var got0 []uint64 // worker 0's packets, by sequence
	keepUp := func() {
		for _, p := range take(0) {
			if p.Line == publish.LineNotice {
				t.Fatalf("worker 0 kept up but got a notice")
			}
			got0 = append(got0, p.Seq)
			p.Release()
		}
	}

	// Worker 1 does not read: its ring (4) fills with 1-2 .. 7-8, then
	// refuses 9-10 and 11-12.
	for seq := uint64(1); seq <= 11; seq += 2 {
		f.Offer(packet(seq))
		keepUp()
	}
	if d := f.dropped.Load(); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
	if o := f.owed[1]; !o.set || o.from != 9 || o.to != 12 {
		t.Fatalf("owed to worker 1: %+v, want 9..12", o)
	}
	var seqs []uint64
	for _, p := range take(1) {
		seqs = append(seqs, p.Seq)
		p.Release()
	}
	if len(seqs) != 4 || seqs[0] != 1 || seqs[3] != 7 {
		t.Fatalf("worker 1 got %v before the drops, want 1 3 5 7", seqs)
	}

	// The next packet reaches worker 1 after the notice of 9..12.
	f.Offer(packet(13))
	keepUp()
	ps := take(1)
	if len(ps) != 2 {
		t.Fatalf("worker 1 got %d packets, want the notice and 13-14", len(ps))
	}
	if ps[0].Line != publish.LineNotice {
		t.Fatalf("worker 1's first packet is not a notice (line %d)", ps[0].Line)
	}
	var u decode.UpstreamLoss
	if err := u.Wrap(ps[0].Bytes()); err != nil {
		t.Fatal(err)
	}
	if u.From() != 9 || u.To() != 12 || u.Session() != session || u.Flags()&decode.UpstreamLossDaemonDrop == 0 {
		t.Fatalf("notice %+v, want 9..12 of %s with the daemon-drop flag", u.Fields(), session)
	}
	if ps[1].Seq != 13 {
		t.Fatalf("after the notice: packet %d, want 13", ps[1].Seq)
	}
	for _, p := range ps {
		p.Release()
	}
	if n := f.notices.Load(); n != 1 || f.owed[1].set {
		t.Fatalf("notices %d, still owed %v", n, f.owed[1].set)
	}
	if len(got0) != 7 || got0[6] != 13 {
		t.Fatalf("worker 0 got %v, want every packet 1..13", got0)
	}
	// Every packet, the refused copies and the notice included, went back.
	if s := pool.Stats(); s.InUse != 0 {
		t.Fatalf("%d packets still in use after every copy was released: %+v", s.InUse, s)
	}
}
