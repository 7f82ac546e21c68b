package mcasttest

import (
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"os"
	"sync"
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
// had bound a moment ago, on any address, and that this process has not
// handed out before. It picks from 20000-30999, below the kernel's
// ephemeral range (32768 and up by default) and the mdcastd defaults
// (31000 and up), so no socket bound to port 0 (every test's sender) can
// take it between this check and the caller's bind: with the kernel's own
// choice of port, a sender or a second FreeUDPPort call could get the
// port just returned, and a daemon then failed with "address already in
// use". Another process may still pick it; pair it with Group so that
// matters little.
func FreeUDPPort(t testing.TB) uint16 {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	var lastErr error
	for range 200 {
		p := uint16(freePortLo + rand.IntN(freePortHi-freePortLo+1))
		if portsGiven[p] {
			continue
		}
		c, err := udpsock.ListenUnicast(netip.AddrPortFrom(netip.IPv4Unspecified(), p), udpsock.Options{})
		if err != nil {
			lastErr = err
			continue
		}
		if err := c.Close(); err != nil {
			t.Fatalf("mcasttest: FreeUDPPort: %v", err)
		}
		portsGiven[p] = true
		return p
	}
	t.Fatalf("mcasttest: FreeUDPPort: no free port in %d-%d after 200 tries (last: %v)", freePortLo, freePortHi, lastErr)
	return 0
}

// The range FreeUDPPort picks from, and what it has handed out.
const (
	freePortLo = 20000
	freePortHi = 30999
)

var (
	portsMu    sync.Mutex
	portsGiven = map[uint16]bool{}
)

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
