//go:build linux

package udpsock_test

import (
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"mdcast/internal/udpsock"
)

var sinkN int

// threadCPU returns the CPU time (user+system) the calling OS thread has
// used. With the thread locked, the difference over a run is what receiving
// cost that thread, whatever the sender and the wait for it cost.
func threadCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureRx runs recv(n) b.N times' worth on a locked thread and reports the
// receiving thread's CPU time per datagram as rx-cpu-ns/op beside the
// elapsed ns/op.
func measureRx(b *testing.B, recv func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	start := threadCPU(b)
	recv()
	b.StopTimer()
	b.ReportMetric(float64(threadCPU(b)-start)/float64(b.N), "rx-cpu-ns/op")
}

// blast sends 64-byte datagrams to dst from one goroutine, 32 per sendmmsg,
// until stop is called. The same sender feeds every receiver variant, so the
// sub-benchmarks differ only in how they receive.
func blast(b *testing.B, dst netip.AddrPort) (stop func()) {
	tx, err := udpsock.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var quit atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		payload := make([]byte, 64)
		sb := udpsock.NewSendBatch(32)
		for !quit.Load() {
			for sb.Add(payload, dst) {
			}
			if _, err := tx.SendBatch(sb); err != nil {
				return
			}
		}
	}()
	return func() {
		quit.Store(true)
		wg.Wait()
		tx.Close()
	}
}

// BenchmarkLoopback receives datagrams over loopback unicast: the net
// package's netpoller path as the baseline, then udpsock's single-datagram
// and batch reads. ns/op is elapsed time per datagram received, which is
// mostly the sender's cost: on loopback the whole kernel receive path,
// including waking a sleeping receiver, runs on the sending CPU, so a
// receiver that drains faster and sleeps more can lower it rather than
// raise it. rx-cpu-ns/op is the receiving thread's own CPU time per
// datagram, the figure batching improves (for net.UDPConn it leaves out the
// netpoller's work on other threads); dgrams/call is the mean batch that
// RecvBatch found queued. Kernel drops are not counted.
func BenchmarkLoopback(b *testing.B) {
	const rcvBuf = 4 << 20
	b.Run("net.UDPConn.ReadFromUDPAddrPort", func(b *testing.B) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		c.SetReadBuffer(rcvBuf)
		stop := blast(b, c.LocalAddr().(*net.UDPAddr).AddrPort())
		defer stop()
		c.SetReadDeadline(time.Now().Add(time.Minute))
		buf := make([]byte, 2048)
		measureRx(b, func() {
			n := 0
			for i := 0; i < b.N; i++ {
				k, _, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					b.Fatal(err)
				}
				n += k
			}
			sinkN = n
		})
	})
	b.Run("udpsock.ReadFrom", func(b *testing.B) {
		c := listenUnicast(b, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{RcvBuf: rcvBuf})
		stop := blast(b, c.LocalAddr())
		defer stop()
		buf := make([]byte, 2048)
		measureRx(b, func() {
			n := 0
			for i := 0; i < b.N; i++ {
				k, _, err := c.ReadFrom(buf)
				if err != nil {
					b.Fatal(err)
				}
				n += k
			}
			sinkN = n
		})
	})
	b.Run("udpsock.RecvBatch32", func(b *testing.B) {
		c := listenUnicast(b, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{RcvBuf: rcvBuf})
		stop := blast(b, c.LocalAddr())
		defer stop()
		rb := udpsock.NewRecvBatch(32)
		for i := 0; i < rb.Cap(); i++ {
			rb.SetBuf(i, make([]byte, 2048))
		}
		calls := 0
		defer func() { b.ReportMetric(float64(b.N)/float64(max(calls, 1)), "dgrams/call") }()
		measureRx(b, func() {
			n := 0
			for got := 0; got < b.N; calls++ {
				k, err := c.RecvBatch(rb, min(rb.Cap(), b.N-got))
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < k; i++ {
					n += rb.Len(i)
				}
				got += k
			}
			sinkN = n
		})
	})
}

// BenchmarkPingPong measures one round trip over loopback unicast (64-byte
// datagrams, an echo goroutine on the other end): the netpoller baseline,
// udpsock blocking in the kernel, and udpsock busy-polling non-blocking
// sockets on both ends. ns/op is a round trip, two one-way hops. The
// busy-poll variant needs two otherwise idle CPUs to mean anything.
func BenchmarkPingPong(b *testing.B) {
	b.Run("net.UDPConn", func(b *testing.B) {
		srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		cli, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		defer cli.Close()
		deadline := time.Now().Add(time.Minute)
		srv.SetReadDeadline(deadline)
		cli.SetReadDeadline(deadline)
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 2048)
			for {
				n, from, err := srv.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				srv.WriteToUDPAddrPort(buf[:n], from)
			}
		}()
		dst := srv.LocalAddr().(*net.UDPAddr).AddrPort()
		payload, buf := make([]byte, 64), make([]byte, 2048)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := cli.WriteToUDPAddrPort(payload, dst); err != nil {
				b.Fatal(err)
			}
			if _, _, err := cli.ReadFromUDPAddrPort(buf); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		srv.Close()
		<-done
	})
	for _, nb := range []bool{false, true} {
		name := "udpsock.blocking"
		if nb {
			name = "udpsock.busypoll"
		}
		b.Run(name, func(b *testing.B) {
			o := udpsock.Options{NonBlocking: nb}
			srv := listenUnicast(b, netip.MustParseAddrPort("127.0.0.1:0"), o)
			cli := listenUnicast(b, netip.MustParseAddrPort("127.0.0.1:0"), o)
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 2048)
				for {
					n, from, err := srv.ReadFrom(buf)
					if err == udpsock.ErrWouldBlock {
						continue
					}
					if err != nil {
						return
					}
					srv.WriteTo(buf[:n], from)
				}
			}()
			payload, buf := make([]byte, 64), make([]byte, 2048)
			dst := srv.LocalAddr()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := cli.WriteTo(payload, dst); err != nil {
					b.Fatal(err)
				}
				for {
					_, _, err := cli.ReadFrom(buf)
					if err == nil {
						break
					}
					if err != udpsock.ErrWouldBlock {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			srv.Close()
			<-done
		})
	}
}
