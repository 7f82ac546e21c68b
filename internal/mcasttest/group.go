package mcasttest

import (
	"hash/fnv"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"mdcast/internal/udpsock"
)

// groups counts Group calls in this process, so one test may take several.
var groups atomic.Uint32

// Group returns an administratively scoped group 239.255.x.y for t. The low
// 16 bits mix the process id, a per-process counter and t's name, so tests
// running in parallel, in this process or in other packages' test binaries,
// rarely share a group; pair it with FreeUDPPort and a collision needs both
// to match. It never returns 239.255.255.250 (SSDP) or a .0/.255 last octet.
func Group(t testing.TB) netip.Addr {
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	v := h.Sum64() ^ uint64(os.Getpid())*0x9e3779b97f4a7c15 ^ uint64(groups.Add(1))*0xbf58476d1ce4e5b9
	v ^= v >> 29
	x, y := byte(v>>8), byte(v)
	if y == 0 || y == 255 || (x == 255 && y == 250) {
		y = 1 + byte(v>>16)%254
		if x == 255 && y == 250 {
			y = 251
		}
	}
	return netip.AddrFrom4([4]byte{239, 255, x, y})
}

// FreeUDPPort returns a UDP port that no socket in this network namespace
// had bound a moment ago, on any address: the kernel's choice of ephemeral
// port for a wildcard bind. Another process may take it before the caller
// does; pair it with Group so that matters little.
func FreeUDPPort(t testing.TB) uint16 {
	t.Helper()
	c, err := udpsock.ListenUnicast(netip.AddrPortFrom(netip.IPv4Unspecified(), 0), udpsock.Options{})
	if err != nil {
		t.Fatalf("mcasttest: FreeUDPPort: %v", err)
	}
	p := c.LocalAddr().Port()
	if err := c.Close(); err != nil {
		t.Fatalf("mcasttest: FreeUDPPort: %v", err)
	}
	return p
}

// RequireLoopbackMulticast skips t, with the reason, unless a datagram sent
// to a fresh group on lo (IP_MULTICAST_IF lo) reaches a socket that joined
// it on lo, within a second.
func RequireLoopbackMulticast(t testing.TB) {
	t.Helper()
	if err := loopbackRoundTrip(t); err != nil {
		t.Skipf("mcasttest: loopback multicast unavailable: %v", err)
	}
}

func loopbackRoundTrip(t testing.TB) error {
	ga := netip.AddrPortFrom(Group(t), FreeUDPPort(t))
	rx, err := udpsock.ListenGroup(ga, "lo", udpsock.Options{})
	if err != nil {
		return err
	}
	defer rx.Close()
	if err := rx.SetRecvTimeout(time.Second); err != nil {
		return err
	}
	tx, err := udpsock.NewSender(netip.AddrPort{}, "lo", udpsock.Options{Loop: true})
	if err != nil {
		return err
	}
	defer tx.Close()
	probe := []byte("mcasttest probe")
	if err := tx.WriteTo(probe, ga); err != nil {
		return err
	}
	buf := make([]byte, 64)
	for {
		n, from, err := rx.ReadFrom(buf)
		if err != nil {
			return err
		}
		// tx is bound to 0.0.0.0: only its port identifies it.
		if from.Port() == tx.LocalAddr().Port() && string(buf[:n]) == string(probe) {
			return nil
		}
	}
}
