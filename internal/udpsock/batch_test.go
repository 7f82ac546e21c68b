//go:build linux

package udpsock_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"mdcast/internal/udpsock"
)

// TestBatchTwoGroups sends 64 datagrams to two groups in one SendBatch and
// receives each group's 32 with RecvBatch.
func TestBatchTwoGroups(t *testing.T) {
	const n = 64
	port := freePort(t)
	groups := [2]netip.AddrPort{
		netip.AddrPortFrom(testGroup(t), port),
		netip.AddrPortFrom(testGroup(t), port),
	}
	rxs := [2]*udpsock.Conn{listenGroup(t, groups[0], udpsock.Options{}), listenGroup(t, groups[1], udpsock.Options{})}
	tx := newSender(t)

	payloads := make([][]byte, n)
	sb := udpsock.NewSendBatch(n)
	for i := range payloads {
		payloads[i] = binary.BigEndian.AppendUint32(make([]byte, 0, 100), uint32(i))
		payloads[i] = payloads[i][:4+i] // lengths differ per datagram
		if !sb.Add(payloads[i], groups[i%2]) {
			t.Fatalf("Add %d refused", i)
		}
	}
	if sb.Add(payloads[0], groups[0]) {
		t.Fatal("Add to a full batch succeeded")
	}
	sent, err := tx.SendBatch(sb)
	if err != nil || sent != n {
		t.Fatalf("SendBatch = %d, %v; want %d, nil", sent, err, n)
	}
	if sb.Len() != 0 {
		t.Fatalf("SendBatch left %d queued", sb.Len())
	}

	for g, rx := range rxs {
		rb := udpsock.NewRecvBatch(8) // smaller than the 32 expected: several calls
		bufs := make([][]byte, rb.Cap())
		for i := range bufs {
			bufs[i] = make([]byte, 256)
			rb.SetBuf(i, bufs[i])
		}
		next := g
		for next < n {
			got, err := rx.RecvBatch(rb, rb.Cap())
			if err != nil {
				t.Fatalf("group %d: RecvBatch after %d: %v", g, next, err)
			}
			if got <= 0 || got > rb.Cap() {
				t.Fatalf("group %d: RecvBatch returned %d", g, got)
			}
			for i := 0; i < got; i++ {
				b := bufs[i][:rb.Len(i)]
				if len(b) != len(payloads[next]) || binary.BigEndian.Uint32(b) != uint32(next) {
					t.Fatalf("group %d slot %d: got %d bytes seq %d, want %d bytes seq %d",
						g, i, len(b), binary.BigEndian.Uint32(b), len(payloads[next]), next)
				}
				if rb.From(i) != tx.LocalAddr() || rb.Truncated(i) {
					t.Fatalf("group %d slot %d: from %v truncated %v", g, i, rb.From(i), rb.Truncated(i))
				}
				next += 2
			}
		}
		expectEmpty(t, rx)
	}
}

func TestRecvBatchTruncated(t *testing.T) {
	rx := listenUnicast(t, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	tx := listenUnicast(t, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	if err := tx.WriteTo([]byte("0123456789"), rx.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	rb := udpsock.NewRecvBatch(1)
	buf := make([]byte, 4)
	rb.SetBuf(0, buf)
	n, err := rx.RecvBatch(rb, 1)
	if err != nil || n != 1 {
		t.Fatalf("RecvBatch = %d, %v", n, err)
	}
	if !rb.Truncated(0) || rb.Len(0) != 4 || string(buf) != "0123" {
		t.Fatalf("truncated %v len %d buf %q", rb.Truncated(0), rb.Len(0), buf)
	}
}

func TestNonBlocking(t *testing.T) {
	rx := listenUnicast(t, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{NonBlocking: true})
	tx := listenUnicast(t, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{NonBlocking: true})
	buf := make([]byte, 64)
	if _, _, err := rx.ReadFrom(buf); !errors.Is(err, udpsock.ErrWouldBlock) {
		t.Fatalf("ReadFrom on empty non-blocking socket: %v, want ErrWouldBlock", err)
	}
	rb := udpsock.NewRecvBatch(4)
	for i := 0; i < 4; i++ {
		rb.SetBuf(i, make([]byte, 64))
	}
	if n, err := rx.RecvBatch(rb, 4); n != 0 || err != nil {
		t.Fatalf("RecvBatch on empty non-blocking socket = %d, %v; want 0, nil", n, err)
	}
	if err := tx.WriteTo([]byte("polled"), rx.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	// Busy-poll the way a spinning agent does, with a deadline.
	deadline := time.Now().Add(waitLimit)
	for {
		n, err := rx.RecvBatch(rb, 4)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			if rb.Len(0) != len("polled") || rb.From(0) != tx.LocalAddr() {
				t.Fatalf("got len %d from %v", rb.Len(0), rb.From(0))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("datagram never arrived")
		}
		runtime.Gosched()
	}
	// Switching to blocking mode makes an empty read wait for the timeout.
	if err := rx.SetNonblock(false); err != nil {
		t.Fatal(err)
	}
	if err := rx.SetRecvTimeout(time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rx.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blocking ReadFrom after timeout: %v, want os.ErrDeadlineExceeded", err)
	}
	if _, err := rx.RecvBatch(rb, 4); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blocking RecvBatch after timeout: %v, want os.ErrDeadlineExceeded", err)
	}
}
