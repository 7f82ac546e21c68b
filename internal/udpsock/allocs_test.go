//go:build linux

package udpsock_test

import (
	"net/netip"
	"testing"

	"mdcast/internal/udpsock"
)

// TestAllocs proves the hot paths allocate nothing in steady state, as
// net/udpsock_test.go's TestAllocs does for the AddrPort methods.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	ga := netip.AddrPortFrom(testGroup(t), freePort(t))
	rx := listenGroup(t, ga, udpsock.Options{})
	tx := newSender(t)
	payload := make([]byte, 64)
	buf := make([]byte, 2048)

	t.Run("WriteTo+ReadFrom", func(t *testing.T) {
		allocs := testing.AllocsPerRun(100, func() {
			if err := tx.WriteTo(payload, ga); err != nil {
				t.Fatal(err)
			}
			if n, _, err := rx.ReadFrom(buf); err != nil || n != len(payload) {
				t.Fatalf("ReadFrom = %d, %v", n, err)
			}
		})
		if allocs != 0 {
			t.Fatalf("WriteTo+ReadFrom: %v allocations per round, want 0", allocs)
		}
	})

	t.Run("SendBatch+RecvBatch", func(t *testing.T) {
		const n = 8
		sb := udpsock.NewSendBatch(n)
		rb := udpsock.NewRecvBatch(n)
		bufs := make([][]byte, n)
		for i := range bufs {
			bufs[i] = make([]byte, 2048)
			rb.SetBuf(i, bufs[i])
		}
		allocs := testing.AllocsPerRun(100, func() {
			for i := 0; i < n; i++ {
				sb.Add(payload, ga)
			}
			if sent, err := tx.SendBatch(sb); err != nil || sent != n {
				t.Fatalf("SendBatch = %d, %v", sent, err)
			}
			for got := 0; got < n; {
				k, err := rx.RecvBatch(rb, n-got)
				if err != nil {
					t.Fatal(err)
				}
				got += k
			}
		})
		if allocs != 0 {
			t.Fatalf("SendBatch+RecvBatch: %v allocations per round, want 0", allocs)
		}
	})

	t.Run("Drops", func(t *testing.T) {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := rx.Drops(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("Drops: %v allocations per call, want 0", allocs)
		}
	})

	t.Run("NonBlockingEmpty", func(t *testing.T) {
		if err := rx.SetNonblock(true); err != nil {
			t.Fatal(err)
		}
		defer rx.SetNonblock(false)
		rb := udpsock.NewRecvBatch(1)
		rb.SetBuf(0, buf)
		allocs := testing.AllocsPerRun(100, func() {
			if _, _, err := rx.ReadFrom(buf); err != udpsock.ErrWouldBlock {
				t.Fatalf("ReadFrom: %v", err)
			}
			if n, err := rx.RecvBatch(rb, 1); n != 0 || err != nil {
				t.Fatalf("RecvBatch = %d, %v", n, err)
			}
		})
		if allocs != 0 {
			t.Fatalf("would-block reads: %v allocations per round, want 0", allocs)
		}
	})
}
