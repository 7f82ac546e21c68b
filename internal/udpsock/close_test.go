//go:build linux

package udpsock_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mdcast/internal/udpsock"
)

// waitInSyscall waits until thread tid is blocked in system call nr, read
// from /proc/self/task/TID/syscall. It reports false if that file cannot be
// read here; the caller then closes without that certainty (the test still
// checks that the read returns).
func waitInSyscall(t *testing.T, tid int, nr uintptr) bool {
	t.Helper()
	path := fmt.Sprintf("/proc/self/task/%d/syscall", tid)
	want := fmt.Sprintf("%d ", nr)
	deadline := time.Now().Add(waitLimit)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Logf("cannot read %s (%v): closing without knowing the reader is blocked", path, err)
			return false
		}
		if strings.HasPrefix(string(b), want) {
			return true
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d never blocked in syscall %d (last: %q)", tid, nr, b)
		}
		runtime.Gosched()
	}
}

// TestCloseUnblocksReader checks that Close wakes a thread blocked in the
// kernel in RecvBatch or ReadFrom, and that the call reports net.ErrClosed.
func TestCloseUnblocksReader(t *testing.T) {
	for _, mode := range []string{"RecvBatch", "ReadFrom"} {
		t.Run(mode, func(t *testing.T) {
			ga := netip.AddrPortFrom(testGroup(t), freePort(t))
			rx, err := udpsock.ListenGroup(ga, "lo", udpsock.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// A timeout far beyond the test's wait: if Close did not wake
			// the reader, the reader would still return eventually.
			if err := rx.SetRecvTimeout(3 * waitLimit); err != nil {
				t.Fatal(err)
			}
			tids := make(chan int, 1)
			done := make(chan error, 1)
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				tids <- unix.Gettid()
				if mode == "RecvBatch" {
					rb := udpsock.NewRecvBatch(4)
					for i := 0; i < 4; i++ {
						rb.SetBuf(i, make([]byte, 64))
					}
					_, err := rx.RecvBatch(rb, 4)
					done <- err
					return
				}
				_, _, err := rx.ReadFrom(make([]byte, 64))
				done <- err
			}()
			nr := uintptr(unix.SYS_RECVMMSG)
			if mode == "ReadFrom" {
				nr = unix.SYS_RECVFROM
			}
			waitInSyscall(t, <-tids, nr)
			start := time.Now()
			if err := rx.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("%s after Close: %v, want net.ErrClosed", mode, err)
				}
			case <-time.After(waitLimit):
				t.Fatalf("%s still blocked %v after Close", mode, waitLimit)
			}
			t.Logf("%s returned %v after Close", mode, time.Since(start))
		})
	}
}

func TestUseAfterClose(t *testing.T) {
	c, err := udpsock.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dst := c.LocalAddr()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := c.ReadFrom(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrom: %v", err)
	}
	if err := c.WriteTo([]byte("x"), dst); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo: %v", err)
	}
	rb := udpsock.NewRecvBatch(1)
	if _, err := c.RecvBatch(rb, 1); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("RecvBatch: %v", err)
	}
	sb := udpsock.NewSendBatch(1)
	sb.Add([]byte("x"), dst)
	if _, err := c.SendBatch(sb); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SendBatch: %v", err)
	}
	if err := c.SetNonblock(true); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SetNonblock: %v", err)
	}
}

// TestConcurrentReadWriteClose runs a reader and a writer on one Conn and
// closes it under them, for the race detector.
func TestConcurrentReadWriteClose(t *testing.T) {
	c, err := udpsock.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetRecvTimeout(waitLimit); err != nil {
		t.Fatal(err)
	}
	dst := c.LocalAddr()
	got := make(chan int, 1)
	errs := make(chan error, 2)
	go func() {
		buf := make([]byte, 64)
		n := 0
		for {
			_, _, err := c.ReadFrom(buf)
			if err != nil {
				got <- n
				errs <- err
				return
			}
			if n++; n == 100 {
				got <- n
			}
		}
	}()
	go func() {
		sb := udpsock.NewSendBatch(10)
		for {
			for i := 0; i < 10; i++ {
				sb.Add([]byte("data"), dst)
			}
			if _, err := c.SendBatch(sb); err != nil {
				errs <- err
				return
			}
		}
	}()
	select {
	case <-got:
	case <-time.After(waitLimit):
		t.Fatal("reader received fewer than 100 datagrams")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("after Close: %v", err)
			}
		case <-time.After(waitLimit):
			t.Fatal("reader or writer did not stop after Close")
		}
	}
}
