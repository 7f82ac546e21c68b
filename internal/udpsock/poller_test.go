//go:build linux

package udpsock_test

import (
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"mdcast/internal/udpsock"
)

// TestPoller checks that Poll reports exactly the sockets with datagrams
// queued, by their tokens, keeps reporting a socket until it is drained
// (level-triggered), and reports nothing once all are drained.
func TestPoller(t *testing.T) {
	p, err := udpsock.NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var conns []*udpsock.Conn
	for i := range 3 {
		c := listenUnicast(t, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{NonBlocking: true})
		if err := p.Add(c, int32(10+i)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	ready := func() []int32 {
		t.Helper()
		n, err := p.Poll()
		if err != nil {
			t.Fatal(err)
		}
		var toks []int32
		for i := range n {
			toks = append(toks, p.Token(i))
		}
		slices.Sort(toks)
		return toks
	}
	if got := ready(); len(got) != 0 {
		t.Fatalf("nothing sent, Poll reports %v", got)
	}
	s := newSender(t)
	for _, i := range []int{0, 2, 2} {
		if err := s.WriteTo([]byte{byte(i)}, conns[i].LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := ready(), []int32{10, 12}; !slices.Equal(got, want) {
		t.Fatalf("Poll reports %v, want %v", got, want)
	}
	rb := udpsock.NewRecvBatch(1)
	buf := make([]byte, 16)
	rb.SetBuf(0, buf)
	if n, err := conns[2].RecvBatch(rb, 1); n != 1 || err != nil {
		t.Fatalf("RecvBatch = %d, %v", n, err)
	}
	// conns[2] still holds one datagram: it must still be reported.
	if got, want := ready(), []int32{10, 12}; !slices.Equal(got, want) {
		t.Fatalf("after a partial read Poll reports %v, want %v", got, want)
	}
	for _, i := range []int{0, 2} {
		if n, err := conns[i].RecvBatch(rb, 1); n != 1 || err != nil {
			t.Fatalf("RecvBatch(%d) = %d, %v", i, n, err)
		}
	}
	if got := ready(); len(got) != 0 {
		t.Fatalf("all drained, Poll reports %v", got)
	}
}

// BenchmarkIdlePoll compares what a busy-polling agent with four sockets
// pays per idle cycle: one Poller.Poll, one poll(2) of all four, or one
// empty RecvBatch per socket.
func BenchmarkIdlePoll(b *testing.B) {
	var conns []*udpsock.Conn
	for range 4 {
		conns = append(conns, listenUnicast(b, netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{NonBlocking: true}))
	}
	b.Run("poller-4", func(b *testing.B) {
		p, err := udpsock.NewPoller()
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		for i, c := range conns {
			if err := p.Add(c, int32(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			if n, _ := p.Poll(); n != 0 {
				b.Fatal("ready")
			}
		}
	})
	b.Run("poll-4", func(b *testing.B) { // poll(2), which the retransmit server used before
		fds := make([]unix.PollFd, len(conns))
		for i, c := range conns {
			fds[i] = unix.PollFd{Fd: int32(c.FD()), Events: unix.POLLIN}
		}
		b.ReportAllocs()
		for b.Loop() {
			// EINTR (the runtime's preemption signal) is an idle cycle too.
			if n, err := unix.Poll(fds, 0); n != 0 && err != unix.EINTR {
				b.Fatalf("ready: %d %v", n, err)
			}
		}
	})
	b.Run("recvbatch-4", func(b *testing.B) {
		rb := udpsock.NewRecvBatch(8)
		for i := range 8 {
			rb.SetBuf(i, make([]byte, 1500))
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, c := range conns {
				if n, _ := c.RecvBatch(rb, 8); n != 0 {
					b.Fatal("ready")
				}
			}
		}
	})
}
