// Package udpsock provides IPv4 UDP sockets built directly on raw file
// descriptors with golang.org/x/sys/unix, for the hot receive and send paths
// of mdcast: batch I/O with recvmmsg/sendmmsg over caller-owned buffers,
// single-datagram reads and writes, and multicast setup that does exactly
// what the kernel is told.
//
// # Why not net.UDPConn
//
// The sockets bypass Go's netpoller. A blocking read parks the calling OS
// thread in the kernel (through unix.Syscall6, which tells the scheduler, so
// other goroutines keep running); a non-blocking socket is polled by a
// spinning agent (a Poller first tells it, in one epoll_wait, which of its
// sockets have datagrams). Neither path allocates: source addresses are decoded from
// raw sockaddr_in values into netip.AddrPort values, where x/net/ipv4's
// ReadBatch allocates a net.Addr per message and unix.Recvfrom a Sockaddr per
// call.
//
// Multicast receivers bind the group address itself (not 0.0.0.0) with
// SO_REUSEADDR, so that several sockets, in one process or many, each receive
// every datagram sent to group:port and nothing else: no unicast sent to the
// port, no other group sharing the port. net.ListenMulticastUDP binds the
// wildcard address instead. Senders always name their multicast interface
// (IP_MULTICAST_IF); nothing relies on a route for 224.0.0.0/4.
//
// # Multicast on loopback
//
//	rx, err := udpsock.ListenGroup(netip.MustParseAddrPort("239.255.1.1:5000"), "lo", udpsock.Options{})
//	tx, err := udpsock.NewSender(netip.AddrPort{}, "lo", udpsock.Options{Loop: true})
//	err = tx.WriteTo(payload, netip.MustParseAddrPort("239.255.1.1:5000"))
//	n, from, err := rx.ReadFrom(buf)
//
// # Batches
//
//	rb := udpsock.NewRecvBatch(32)
//	for i := 0; i < 32; i++ {
//		rb.SetBuf(i, bufs[i])
//	}
//	n, err := rx.RecvBatch(rb, 32) // datagrams in rb slots [0, n)
//	for i := 0; i < n; i++ {
//		handle(bufs[i][:rb.Len(i)], rb.From(i))
//	}
//
// # Concurrency contract
//
// A Conn may be used by one reading goroutine (ReadFrom, RecvBatch) and one
// writing goroutine (WriteTo, SendBatch) at the same time; each direction has
// its own scratch address. Close, and the setters, may be called from any
// goroutine; Close wakes a reader blocked in the kernel and makes every later
// call return net.ErrClosed. RecvBatch and SendBatch values are not safe for
// concurrent use.
//
// # Allocation contract
//
// ReadFrom, WriteTo, RecvBatch and SendBatch do not allocate. Errors on these
// paths are preallocated values: ErrWouldBlock, net.ErrClosed,
// os.ErrDeadlineExceeded (receive timeout) or a bare unix.Errno. Setup
// functions allocate and wrap their errors in *net.OpError.
//
// The package is Linux only; elsewhere every constructor returns an error.
package udpsock
