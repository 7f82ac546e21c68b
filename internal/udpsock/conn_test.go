//go:build linux

package udpsock_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"mdcast/internal/udpsock"
)

func TestUnicastRoundTrip(t *testing.T) {
	a := listenUnicast(t, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	b := listenUnicast(t, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	if a.LocalAddr().Port() == 0 {
		t.Fatalf("LocalAddr %v: ephemeral port not reported", a.LocalAddr())
	}
	if err := a.WriteTo([]byte("ping"), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	expect(t, b, []byte("ping"), a.LocalAddr())
	if err := b.WriteTo([]byte("pong"), a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	expect(t, a, []byte("pong"), b.LocalAddr())
	// An empty datagram is a datagram, not end of stream.
	if err := a.WriteTo(nil, b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	expect(t, b, []byte{}, a.LocalAddr())
}

// TestMulticastEveryMemberGetsEverything checks what MACHINE.md measured:
// sockets bound to group:port each receive every datagram for the group, and
// none receives unicast sent to the same port.
func TestMulticastEveryMemberGetsEverything(t *testing.T) {
	ga := netip.AddrPortFrom(testGroup(t), freePort(t))
	r1 := listenGroup(t, ga, udpsock.Options{})
	r2 := listenGroup(t, ga, udpsock.Options{})
	if r1.LocalAddr() != ga {
		t.Fatalf("LocalAddr %v, want the group address %v", r1.LocalAddr(), ga)
	}
	tx := newSender(t)
	for i := 0; i < 10; i++ {
		if err := tx.WriteTo(fmt.Appendf(nil, "m%d", i), ga); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []*udpsock.Conn{r1, r2} {
		for i := 0; i < 10; i++ {
			expect(t, r, fmt.Appendf(nil, "m%d", i), tx.LocalAddr())
		}
	}

	// Unicast to 127.0.0.1:port. A unicast socket on that address proves
	// the datagram went through the stack before the multicast marker was
	// sent, so the group members' next datagram must be the marker.
	uc := listenUnicast(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ga.Port()), udpsock.Options{})
	if err := tx.WriteTo([]byte("unicast"), uc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	expect(t, uc, []byte("unicast"), tx.LocalAddr())
	if err := tx.WriteTo([]byte("marker"), ga); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*udpsock.Conn{r1, r2} {
		expect(t, r, []byte("marker"), tx.LocalAddr())
		expectEmpty(t, r)
	}

	// A member can answer the sender's unicast address (a re-request).
	if err := r1.WriteTo([]byte("reply"), tx.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	expect(t, tx, []byte("reply"), netip.AddrPort{})
}

func TestMulticastGroupIsolation(t *testing.T) {
	port := freePort(t)
	x := netip.AddrPortFrom(testGroup(t), port)
	y := netip.AddrPortFrom(testGroup(t), port)
	if x == y {
		t.Fatalf("testGroup returned %v twice", x)
	}
	rx := listenGroup(t, x, udpsock.Options{})
	ry := listenGroup(t, y, udpsock.Options{})
	tx := newSender(t)
	if err := tx.WriteTo([]byte("for y"), y); err != nil {
		t.Fatal(err)
	}
	expect(t, ry, []byte("for y"), tx.LocalAddr())
	if err := tx.WriteTo([]byte("for x"), x); err != nil {
		t.Fatal(err)
	}
	expect(t, rx, []byte("for x"), tx.LocalAddr())
	expectEmpty(t, rx)
	expectEmpty(t, ry)
}

// TestJoinGroupOnWildcard checks the extra-group path: a wildcard socket
// receives the groups it joined and, with IP_MULTICAST_ALL off, not groups
// only other sockets joined.
func TestJoinGroupOnWildcard(t *testing.T) {
	port := freePort(t)
	g1, g2 := testGroup(t), testGroup(t)
	// Both sockets set SO_REUSEPORT: a wildcard bind would otherwise
	// conflict with the group bind on the same port.
	w := listenUnicast(t, netip.AddrPortFrom(netip.IPv4Unspecified(), port), udpsock.Options{ReusePort: true})
	if err := w.JoinGroup(g1, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	other := listenGroup(t, netip.AddrPortFrom(g2, port), udpsock.Options{ReusePort: true})
	tx := newSender(t)
	if err := tx.WriteTo([]byte("g2"), netip.AddrPortFrom(g2, port)); err != nil {
		t.Fatal(err)
	}
	expect(t, other, []byte("g2"), tx.LocalAddr())
	if err := tx.WriteTo([]byte("g1"), netip.AddrPortFrom(g1, port)); err != nil {
		t.Fatal(err)
	}
	expect(t, w, []byte("g1"), tx.LocalAddr())
	expectEmpty(t, w)
	if err := w.LeaveGroup(g1, "lo"); err != nil {
		t.Fatal(err)
	}
	if err := w.JoinGroup(netip.MustParseAddr("127.0.0.1"), "lo"); err == nil {
		t.Fatal("JoinGroup(127.0.0.1) succeeded, want a not-multicast error")
	}
}

func TestSetupErrors(t *testing.T) {
	group := netip.AddrPortFrom(testGroup(t), 5000)
	cases := []struct {
		name string
		open func() (*udpsock.Conn, error)
	}{
		{"ListenGroup unicast address", func() (*udpsock.Conn, error) {
			return udpsock.ListenGroup(netip.MustParseAddrPort("127.0.0.1:5000"), "lo", udpsock.Options{})
		}},
		{"ListenGroup IPv6", func() (*udpsock.Conn, error) {
			return udpsock.ListenGroup(netip.MustParseAddrPort("[ff02::1]:5000"), "lo", udpsock.Options{})
		}},
		{"ListenGroup no interface", func() (*udpsock.Conn, error) {
			return udpsock.ListenGroup(group, "", udpsock.Options{})
		}},
		{"ListenGroup unknown interface", func() (*udpsock.Conn, error) {
			return udpsock.ListenGroup(group, "nosuchif0", udpsock.Options{})
		}},
		{"ListenGroup address on no interface", func() (*udpsock.Conn, error) {
			return udpsock.ListenGroup(group, "192.0.2.1", udpsock.Options{})
		}},
		{"ListenGroup negative RcvBuf", func() (*udpsock.Conn, error) {
			return udpsock.ListenGroup(group, "lo", udpsock.Options{RcvBuf: -1})
		}},
		{"ListenUnicast multicast", func() (*udpsock.Conn, error) {
			return udpsock.ListenUnicast(group, udpsock.Options{})
		}},
		{"NewSender TTL", func() (*udpsock.Conn, error) {
			return udpsock.NewSender(netip.AddrPort{}, "lo", udpsock.Options{TTL: 300})
		}},
		{"NewSender no interface", func() (*udpsock.Conn, error) {
			return udpsock.NewSender(netip.AddrPort{}, "", udpsock.Options{})
		}},
	}
	for _, tc := range cases {
		c, err := tc.open()
		if err == nil {
			c.Close()
			t.Errorf("%s: no error", tc.name)
			continue
		}
		var oe *net.OpError
		if !errors.As(err, &oe) {
			t.Errorf("%s: error %T %v is not a *net.OpError", tc.name, err, err)
		}
	}
}

func TestInterfaceByAddress(t *testing.T) {
	ga := netip.AddrPortFrom(testGroup(t), freePort(t))
	rx, err := udpsock.ListenGroup(ga, "127.0.0.1", udpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	withTimeout(t, rx)
	tx, err := udpsock.NewSender(netip.AddrPort{}, "127.0.0.1", udpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	withTimeout(t, tx)
	if err := tx.WriteTo([]byte("by address"), ga); err != nil {
		t.Fatal(err)
	}
	expect(t, rx, []byte("by address"), netip.AddrPort{})
}

func TestRcvBuf(t *testing.T) {
	const want = 16 << 20 // above this machine's rmem_max of 4 MiB
	ga := netip.AddrPortFrom(testGroup(t), freePort(t))
	def := listenGroup(t, ga, udpsock.Options{})
	big := listenGroup(t, ga, udpsock.Options{RcvBuf: want, SndBuf: 1 << 20})
	if def.RcvBuf() <= 0 {
		t.Fatalf("default RcvBuf %d", def.RcvBuf())
	}
	got := big.RcvBuf()
	if os.Geteuid() == 0 {
		// SO_RCVBUFFORCE ignores rmem_max; Linux reports twice the request.
		if got < 2*want {
			t.Fatalf("as root RcvBuf = %d, want >= %d (SO_RCVBUFFORCE)", got, 2*want)
		}
	} else if got < def.RcvBuf() {
		t.Fatalf("RcvBuf %d smaller than the default %d", got, def.RcvBuf())
	}
	if big.SndBuf() < 1<<20 {
		t.Fatalf("SndBuf %d, want >= %d", big.SndBuf(), 1<<20)
	}
	t.Logf("default SO_RCVBUF %d, asked %d got %d", def.RcvBuf(), want, got)
}

func TestWriteToNonIPv4(t *testing.T) {
	c := listenUnicast(t, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	if err := c.WriteTo([]byte("x"), netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Fatal("WriteTo an IPv6 address succeeded")
	}
	sb := udpsock.NewSendBatch(2)
	if sb.Add([]byte("x"), netip.MustParseAddrPort("[::1]:9")) || sb.Len() != 0 {
		t.Fatal("SendBatch.Add accepted an IPv6 address")
	}
}

// TestDrops overflows a small receive buffer and checks the kernel's drop
// count accounts for every datagram not received.
func TestDrops(t *testing.T) {
	rx := listenUnicast(t, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{RcvBuf: 4096})
	tx := listenUnicast(t, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	if d, err := rx.Drops(); err != nil || d != 0 {
		t.Fatalf("Drops on a fresh socket = %d, %v", d, err)
	}
	const sent = 200
	payload := make([]byte, 512)
	for i := 0; i < sent; i++ {
		if err := tx.WriteTo(payload, rx.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	// Loopback delivery usually completes inside sendto, but under load
	// the kernel may defer it to ksoftirqd: poll until every datagram is
	// accounted for, received or dropped, or the deadline passes.
	if err := rx.SetNonblock(true); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1024)
	got := 0
	var drops uint64
	for deadline := time.Now().Add(waitLimit); ; {
		_, _, err := rx.ReadFrom(buf)
		if err == nil {
			got++
			continue
		}
		if !errors.Is(err, udpsock.ErrWouldBlock) {
			t.Fatal(err)
		}
		if drops, err = rx.Drops(); err != nil {
			t.Fatal(err)
		}
		if got+int(drops) >= sent || time.Now().After(deadline) {
			break
		}
		runtime.Gosched()
	}
	t.Logf("RcvBuf %d: received %d, dropped %d of %d", rx.RcvBuf(), got, drops, sent)
	if drops == 0 || got+int(drops) != sent {
		t.Fatalf("received %d + dropped %d != sent %d", got, drops, sent)
	}
	rx.Close()
	if _, err := rx.Drops(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Drops after Close: %v", err)
	}
}
