//go:build linux

package publish_test

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/internal/mcasttest"
	"mdcast/internal/udpsock"
	"mdcast/publish"
	"mdcast/ring"
)

// TestMultiHost publishes from one network namespace to two subscriber
// hosts over a bridge: the worker sends on e0 (by address), both hosts
// receive every message, and re-requests are answered only for the host
// the ACL allows. Skips unless root with iproute2.
func TestMultiHost(t *testing.T) {
	nw := mcasttest.NewNetwork(t, "pub", "suba", "subb")
	pub, subA, subB := nw.Host("pub"), nw.Host("suba"), nw.Host("subb")
	group := netip.AddrPortFrom(mcasttest.Group(t), mcasttest.FreeUDPPort(t))
	cfg := publish.Config{
		Session:   "NETNS00001",
		Interface: pub.Addr().String(),
		Channels: []publish.ChannelConfig{{
			Name: "x", Group: group.String(), RequestAddr: netip.AddrPortFrom(pub.Addr(), 0).String(),
		}},
		History:    publish.HistoryConfig{Messages: 1024, Bytes: 1 << 20},
		Retransmit: publish.RetransmitConfig{ACL: []string{subA.Addr().String() + "/32"}},
	}
	var w *publish.Worker
	if err := pub.Do(func() (err error) {
		w, err = publish.NewWorker(cfg, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	type sub struct {
		rx, req *udpsock.Conn
		r       *requester
	}
	var subs []sub
	for _, host := range []*mcasttest.Host{subA, subB} {
		var s sub
		if err := host.Do(func() (err error) {
			if s.rx, err = udpsock.ListenGroup(group, mcasttest.HostIface, udpsock.Options{NonBlocking: true}); err != nil {
				return err
			}
			s.req, err = udpsock.ListenUnicast(netip.AddrPortFrom(host.Addr(), 0), udpsock.Options{NonBlocking: true})
			return err
		}); err != nil {
			t.Fatalf("%s: %v", host.Name(), err)
		}
		defer s.rx.Close()
		defer s.req.Close()
		s.r = &requester{t: t, conn: s.req}
		subs = append(subs, s)
	}

	// Readiness: idle heartbeats until both hosts have seen one, so the
	// bridge ports and memberships are known to forward before data flows.
	now := int64(1e9)
	buf := make([]byte, 2048)
	deadline := time.Now().Add(10 * time.Second)
	for ready := make([]bool, len(subs)); !ready[0] || !ready[1]; {
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat reached the hosts within 10s (ready %v)", ready)
		}
		now += int64(publish.DefaultHeartbeatIdle)
		if _, err := w.DoWork(now); err != nil {
			t.Fatal(err)
		}
		for k, s := range subs {
			if n, ok := readWithin(s.rx, buf, 100*time.Millisecond); ok && n == decode.PacketHeaderLen {
				ready[k] = true
			}
		}
	}
	for _, s := range subs { // drop heartbeats still in flight
		for {
			if _, ok := readWithin(s.rx, buf, 0); !ok {
				break
			}
		}
	}

	pool, err := ring.NewPool(ring.PoolConfig{Packets: 16, BufSize: 2048})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for i := 0; i < 5; i++ {
		p := pool.Get()
		b := decode.AppendPacketHeader(p.Buf[:0], decode.Session{'U'}, uint64(1+20*i), 20)
		for j := 0; j < 20; j++ {
			m := quote(uint32(j), uint64(20*i+j))
			want = append(want, m)
			b = decode.AppendMessage(b, m)
		}
		p.N = len(b)
		w.Offer(p)
	}
	if _, err := w.DoWork(now); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		checkChannels(t, &harness{t: t, rx: []*udpsock.Conn{s.rx}, w: w}, [][][]byte{want})
	}

	to := w.Channels()[0].RequestAddr()
	subs[1].r.request(to, w.Session(), 10, 3) // outside the ACL
	subs[0].r.request(to, w.Session(), 10, 3)
	// The requests cross the bridge asynchronously: work until both are in.
	deadline = time.Now().Add(recvTimeout)
	for w.Channels()[0].Counters.Requests.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 requests arrived within %v", w.Channels()[0].Counters.Requests.Load(), recvTimeout)
		}
		if _, err := w.DoWork(now); err != nil {
			t.Fatal(err)
		}
		runtime.Gosched()
	}
	a := subs[0].r.answer()
	checkAnswer(t, a, w.Session(), 10, want[9:12])
	subs[1].r.none()
	if s := w.Channels()[0].Stats(); s.Served != 1 || s.RefusedACL != 1 {
		t.Fatalf("served %d refused_acl %d, want 1 and 1", s.Served, s.RefusedACL)
	}
}
