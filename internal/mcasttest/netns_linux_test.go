package mcasttest_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"mdcast/internal/mcasttest"
	"mdcast/internal/udpsock"
)

func netnsLink() (string, error) { return os.Readlink("/proc/thread-self/ns/net") }

// inHost creates a socket inside h with open and registers its Close.
func inHost(t *testing.T, h *mcasttest.Host, open func() (*udpsock.Conn, error)) *udpsock.Conn {
	t.Helper()
	var c *udpsock.Conn
	if err := h.Do(func() (err error) { c, err = open(); return err }); err != nil {
		t.Fatalf("on %s: %v", h.Name(), err)
	}
	if err := c.SetRecvTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *udpsock.Conn, want string) netip.AddrPort {
	t.Helper()
	buf := make([]byte, 256)
	n, from, err := c.ReadFrom(buf)
	if err != nil || string(buf[:n]) != want {
		t.Fatalf("ReadFrom on %v = %q, %v; want %q", c.LocalAddr(), buf[:n], err, want)
	}
	return from
}

func TestNetworkMulticastAndUnicast(t *testing.T) {
	n := mcasttest.NewNetwork(t, "pub", "sub1", "sub2")
	pub, sub1, sub2 := n.Host("pub"), n.Host("sub1"), n.Host("sub2")
	if n.Host("nope") != nil || len(n.Hosts()) != 3 {
		t.Fatal("Host/Hosts wrong")
	}
	if pub.Addr() != netip.MustParseAddr("10.77.0.1") || sub2.Addr() != netip.MustParseAddr("10.77.0.3") {
		t.Fatalf("addresses %v %v", pub.Addr(), sub2.Addr())
	}

	ga := netip.AddrPortFrom(mcasttest.Group(t), 40000)
	r1 := inHost(t, sub1, func() (*udpsock.Conn, error) { return udpsock.ListenGroup(ga, mcasttest.HostIface, udpsock.Options{}) })
	r2 := inHost(t, sub2, func() (*udpsock.Conn, error) { return udpsock.ListenGroup(ga, mcasttest.HostIface, udpsock.Options{}) })
	tx := inHost(t, pub, func() (*udpsock.Conn, error) {
		return udpsock.NewSender(netip.AddrPortFrom(pub.Addr(), 0), mcasttest.HostIface, udpsock.Options{})
	})
	if tx.LocalAddr().Addr() != pub.Addr() {
		t.Fatalf("sender bound to %v", tx.LocalAddr())
	}

	// The sockets are used here, outside Do: they stay in their hosts.
	start := time.Now()
	defer func() { t.Logf("exchange took %v", time.Since(start)) }()
	if err := tx.WriteTo([]byte("quote"), ga); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*udpsock.Conn{r1, r2} {
		if from := read(t, r, "quote"); from != tx.LocalAddr() {
			t.Fatalf("multicast from %v, want %v", from, tx.LocalAddr())
		}
	}
	// Unicast back across the bridge, as a re-request would go.
	if err := r2.WriteTo([]byte("request"), tx.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if from := read(t, tx, "request"); from.Addr() != sub2.Addr() {
		t.Fatalf("unicast from %v, want %v", from, sub2.Addr())
	}
}

func TestDoSwitchesAndRestores(t *testing.T) {
	n := mcasttest.NewNetwork(t, "a")
	h := n.Host("a")
	root, err := netnsLink()
	if err != nil {
		t.Skipf("cannot read /proc/thread-self/ns/net: %v", err)
	}
	var inside string
	err = h.Do(func() error {
		var err error
		inside, err = netnsLink()
		if err != nil {
			return err
		}
		// The host's interface exists here and its address is usable.
		c, err := udpsock.ListenUnicast(netip.AddrPortFrom(h.Addr(), 0), udpsock.Options{})
		if err != nil {
			return err
		}
		return c.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside == root {
		t.Fatalf("Do ran fn in the root namespace %s", root)
	}
	if _, err := udpsock.ListenUnicast(netip.AddrPortFrom(h.Addr(), 0), udpsock.Options{}); err == nil {
		t.Fatalf("%v is bindable outside the host: namespace leaked", h.Addr())
	}
	// Every thread the runtime has, after many Do calls, is back in root.
	for i := 0; i < 20; i++ {
		if err := h.Do(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan string, 2*runtime.GOMAXPROCS(0))
	for i := 0; i < cap(done); i++ {
		go func() { s, _ := netnsLink(); done <- s }()
	}
	for i := 0; i < cap(done); i++ {
		if s := <-done; s != root {
			t.Fatalf("a goroutine runs in %s, not the root namespace %s", s, root)
		}
	}

	wantErr := errors.New("from fn")
	if err := h.Do(func() error { return wantErr }); !errors.Is(err, wantErr) {
		t.Fatalf("Do returned %v, want fn's error", err)
	}
	if err := h.Do(func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Do with a panicking fn returned %v", err)
	}
}

func TestHostRun(t *testing.T) {
	n := mcasttest.NewNetwork(t, "a")
	h := n.Host("a")
	out, err := h.Run("ip", "-4", "-o", "addr", "show", "dev", mcasttest.HostIface)
	if err != nil {
		t.Fatalf("Run: %v: %s", err, out)
	}
	if !strings.Contains(string(out), h.Addr().String()+"/24") {
		t.Fatalf("ip addr in %s: %s", h.Namespace(), out)
	}
	out, err = h.Run("ip", "route", "show", "224.0.0.0/4")
	if err != nil || !strings.Contains(string(out), "dev "+mcasttest.HostIface) {
		t.Fatalf("multicast route: %v: %s", err, out)
	}
	if _, err := h.Run("false"); err == nil {
		t.Fatal("Run(false) succeeded")
	}
}

func TestNamespacesRemoved(t *testing.T) {
	var names []string
	t.Run("build", func(t *testing.T) {
		n := mcasttest.NewNetwork(t, "x", "y")
		for _, h := range n.Hosts() {
			names = append(names, h.Namespace())
		}
	})
	if len(names) == 0 {
		t.Skip("no network was built")
	}
	for _, ns := range names {
		if _, err := os.Stat("/var/run/netns/" + ns); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("namespace %s still exists after cleanup (%v)", ns, err)
		}
	}
}

// TestDropUDP checks the nftables rule drops about the configured share of
// a port's datagrams and none of another port's.
func TestDropUDP(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft not installed")
	}
	n := mcasttest.NewNetwork(t, "tx", "rx")
	src, dst := n.Host("tx"), n.Host("rx")
	const lossy, clean, count, percent = 41000, 41001, 2000, 30
	dst.DropUDP(t, lossy, percent)
	opts := udpsock.Options{RcvBuf: 8 << 20}
	rl := inHost(t, dst, func() (*udpsock.Conn, error) {
		return udpsock.ListenUnicast(netip.AddrPortFrom(dst.Addr(), lossy), opts)
	})
	rc := inHost(t, dst, func() (*udpsock.Conn, error) {
		return udpsock.ListenUnicast(netip.AddrPortFrom(dst.Addr(), clean), opts)
	})
	tx := inHost(t, src, func() (*udpsock.Conn, error) {
		return udpsock.ListenUnicast(netip.AddrPortFrom(src.Addr(), 0), udpsock.Options{})
	})
	for i := 0; i < count; i++ {
		msg := []byte(fmt.Sprint(i))
		if err := tx.WriteTo(msg, netip.AddrPortFrom(dst.Addr(), lossy)); err != nil {
			t.Fatal(err)
		}
		if err := tx.WriteTo(msg, netip.AddrPortFrom(dst.Addr(), clean)); err != nil {
			t.Fatal(err)
		}
	}
	// The clean port's last datagram arriving means the lossy port's were
	// all processed (same sender, same path, sent before it).
	buf := make([]byte, 64)
	for got := 0; got < count; got++ {
		if _, _, err := rc.ReadFrom(buf); err != nil {
			t.Fatalf("clean port: %d of %d datagrams, then %v", got, count, err)
		}
	}
	if err := rl.SetNonblock(true); err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		_, _, err := rl.ReadFrom(buf)
		if errors.Is(err, udpsock.ErrWouldBlock) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got++
	}
	loss := 100 * float64(count-got) / count
	t.Logf("configured %d%% loss, measured %.1f%% (%d of %d delivered)", percent, loss, got, count)
	if loss < percent-8 || loss > percent+8 {
		t.Fatalf("measured loss %.1f%%, want %d%% +- 8", loss, percent)
	}
}
