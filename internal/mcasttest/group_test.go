package mcasttest_test

import (
	"net/netip"
	"testing"
	"time"

	"mdcast/internal/mcasttest"
	"mdcast/internal/udpsock"
)

func TestGroup(t *testing.T) {
	seen := map[netip.Addr]bool{}
	for i := 0; i < 200; i++ {
		g := mcasttest.Group(t)
		b := g.As4()
		if b[0] != 239 || b[1] != 255 || !g.IsMulticast() || b[3] == 0 || b[3] == 255 || g == netip.MustParseAddr("239.255.255.250") {
			t.Fatalf("Group = %v, want 239.255.x.y with y not 0 or 255, not SSDP", g)
		}
		seen[g] = true
	}
	// 200 draws from ~65000 values: a few birthday collisions at most.
	if len(seen) < 190 {
		t.Fatalf("200 Group calls gave only %d distinct groups", len(seen))
	}
}

func TestFreeUDPPort(t *testing.T) {
	p := mcasttest.FreeUDPPort(t)
	if p == 0 {
		t.Fatal("FreeUDPPort returned 0")
	}
	c, err := udpsock.ListenUnicast(netip.AddrPortFrom(netip.IPv4Unspecified(), p), udpsock.Options{})
	if err != nil {
		t.Fatalf("port %d from FreeUDPPort cannot be bound: %v", p, err)
	}
	c.Close()
	// Never the same port twice in a process, never in the kernel's
	// ephemeral range (where a sender's port-0 bind could take it).
	seen := map[uint16]bool{p: true}
	for range 100 {
		q := mcasttest.FreeUDPPort(t)
		if seen[q] {
			t.Fatalf("port %d handed out twice", q)
		}
		if q < 20000 || q > 30999 {
			t.Fatalf("port %d outside 20000-30999", q)
		}
		seen[q] = true
	}
}

// TestRequireLoopbackMulticast does a loopback round trip by hand first,
// then checks RequireLoopbackMulticast agrees: it must not skip where
// loopback multicast works (a helper that always skipped would pass
// everything while testing nothing).
func TestRequireLoopbackMulticast(t *testing.T) {
	ga := netip.AddrPortFrom(mcasttest.Group(t), mcasttest.FreeUDPPort(t))
	rx, err := udpsock.ListenGroup(ga, "lo", udpsock.Options{})
	if err != nil {
		t.Skipf("cannot join on lo: %v", err)
	}
	defer rx.Close()
	if err := rx.SetRecvTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	tx, err := udpsock.NewSender(netip.AddrPort{}, "lo", udpsock.Options{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if err := tx.WriteTo([]byte("hi"), ga); err != nil {
		t.Skipf("cannot send on lo: %v", err)
	}
	buf := make([]byte, 8)
	if n, _, err := rx.ReadFrom(buf); err != nil || string(buf[:n]) != "hi" {
		t.Skipf("loopback multicast does not work here: %q, %v", buf[:n], err)
	}
	skipped := true
	t.Run("helper", func(t *testing.T) {
		mcasttest.RequireLoopbackMulticast(t)
		skipped = false
	})
	if skipped {
		t.Fatal("RequireLoopbackMulticast skipped although loopback multicast works")
	}
}
