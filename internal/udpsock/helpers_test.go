//go:build linux

package udpsock_test

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"mdcast/internal/mcasttest"
	"mdcast/internal/udpsock"
)

// testGroup and freePort come from mcasttest (which imports udpsock; this
// external test package may import it).
func testGroup(t testing.TB) netip.Addr { return mcasttest.Group(t) }

func freePort(t testing.TB) uint16 { return mcasttest.FreeUDPPort(t) }

const waitLimit = 5 * time.Second

// withTimeout gives a blocking Conn a receive timeout so no test can hang.
func withTimeout(t testing.TB, c *udpsock.Conn) *udpsock.Conn {
	t.Helper()
	if err := c.SetRecvTimeout(waitLimit); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func listenGroup(t testing.TB, ap netip.AddrPort, o udpsock.Options) *udpsock.Conn {
	t.Helper()
	c, err := udpsock.ListenGroup(ap, "lo", o)
	if err != nil {
		t.Fatalf("ListenGroup(%v, lo): %v", ap, err)
	}
	return withTimeout(t, c)
}

func newSender(t testing.TB) *udpsock.Conn {
	t.Helper()
	c, err := udpsock.NewSender(netip.MustParseAddrPort("127.0.0.1:0"), "lo", udpsock.Options{Loop: true})
	if err != nil {
		t.Fatalf("NewSender(lo): %v", err)
	}
	return withTimeout(t, c)
}

func listenUnicast(t testing.TB, ap netip.AddrPort, o udpsock.Options) *udpsock.Conn {
	t.Helper()
	c, err := udpsock.ListenUnicast(ap, o)
	if err != nil {
		t.Fatalf("ListenUnicast(%v): %v", ap, err)
	}
	return withTimeout(t, c)
}

// expect reads one datagram and checks its payload (and source, if valid).
func expect(t testing.TB, c *udpsock.Conn, want []byte, from netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 2048)
	n, src, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("ReadFrom on %v: %v (want %q)", c.LocalAddr(), err, want)
	}
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("ReadFrom on %v: got %q, want %q", c.LocalAddr(), buf[:n], want)
	}
	if from.IsValid() && src != from {
		t.Fatalf("ReadFrom on %v: source %v, want %v", c.LocalAddr(), src, from)
	}
}

// expectEmpty checks that nothing is queued on c, without waiting: c is
// switched to non-blocking for one read.
func expectEmpty(t testing.TB, c *udpsock.Conn) {
	t.Helper()
	if err := c.SetNonblock(true); err != nil {
		t.Fatal(err)
	}
	defer c.SetNonblock(false)
	buf := make([]byte, 2048)
	n, src, err := c.ReadFrom(buf)
	if !errors.Is(err, udpsock.ErrWouldBlock) {
		t.Fatalf("%v: unexpected datagram %q from %v (err %v)", c.LocalAddr(), buf[:n], src, err)
	}
}
