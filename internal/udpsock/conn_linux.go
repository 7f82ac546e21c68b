package udpsock

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn is an IPv4 UDP socket on a raw file descriptor. See the package
// documentation for the concurrency and allocation contracts.
type Conn struct {
	// Reader side (ReadFrom, RecvBatch): touched on every receive.
	rd     atomic.Int32          // 4 B, hot: receive calls in flight (Close waits for 0)
	rsaLen uint32                // 4 B, hot: socklen_t for recvfrom
	rsa    unix.RawSockaddrInet4 // 16 B, hot: recvfrom source address
	_      [cacheLine - 24]byte  // keep writer fields off the reader's line

	// Writer side (WriteTo, SendBatch): touched on every send.
	wr  atomic.Int32          // 4 B, hot: send calls in flight
	_   [4]byte               //
	wsa unix.RawSockaddrInet4 // 16 B, hot: sendto destination
	_   [cacheLine - 24]byte  //

	// Shared, read on every call, written once.
	fd       int         // read-only after construction
	nonblock atomic.Bool // O_NONBLOCK state: selects MSG_DONTWAIT and would-block reporting
	closed   atomic.Bool // set by Close before shutdown(2)
	laddr    netip.AddrPort
}

// cacheLine pads the reader's and writer's halves of Conn apart (128 bytes
// covers adjacent-line prefetch on x86 as well as 128-byte lines on arm64).
const cacheLine = 128

func newConn(fd int, nonblock bool) (*Conn, error) {
	la, err := localAddr(fd)
	if err != nil {
		return nil, os.NewSyscallError("getsockname", err)
	}
	c := &Conn{fd: fd, laddr: la}
	c.nonblock.Store(nonblock)
	return c, nil
}

// FD returns the socket's file descriptor, for poll(2)-based idle
// strategies. The Conn still owns it: do not close it or change its flags.
func (c *Conn) FD() int { return c.fd }

// LocalAddr returns the address the socket is bound to (for a ListenGroup
// socket, the group and port).
func (c *Conn) LocalAddr() netip.AddrPort { return c.laddr }

// Close shuts the socket down, waking any goroutine blocked in ReadFrom or
// RecvBatch (they return net.ErrClosed), waits for calls in flight to leave
// the kernel so the descriptor number cannot be reused under them, and closes
// the descriptor. Closing twice returns an error wrapping net.ErrClosed.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return &net.OpError{Op: "close", Net: "udp4", Source: udpAddr(c.laddr), Err: net.ErrClosed}
	}
	// On an unconnected UDP socket shutdown(2) returns ENOTCONN but still
	// marks the socket shut and wakes its waiters; that wake-up is all we
	// want from it.
	_ = unix.Shutdown(c.fd, unix.SHUT_RDWR)
	// Calls that incremented rd/wr before seeing closed are in (or about to
	// enter) the kernel; shutdown makes them return at once. Calls that see
	// closed never touch fd.
	for spins := 0; c.rd.Load() != 0 || c.wr.Load() != 0; spins++ {
		if spins < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
	if err := unix.Close(c.fd); err != nil {
		return &net.OpError{Op: "close", Net: "udp4", Source: udpAddr(c.laddr), Err: os.NewSyscallError("close", err)}
	}
	return nil
}

// SetNonblock switches the socket between blocking and non-blocking mode.
func (c *Conn) SetNonblock(nonblocking bool) error {
	if c.closed.Load() {
		return c.opErr("set", net.ErrClosed)
	}
	if err := unix.SetNonblock(c.fd, nonblocking); err != nil {
		return c.opErr("set", os.NewSyscallError("fcntl(O_NONBLOCK)", err))
	}
	c.nonblock.Store(nonblocking)
	return nil
}

// SetRecvTimeout bounds how long a blocking receive waits (SO_RCVTIMEO);
// zero waits forever. On expiry ReadFrom and RecvBatch return
// os.ErrDeadlineExceeded.
func (c *Conn) SetRecvTimeout(d time.Duration) error {
	if d < 0 {
		d = 0
	}
	if c.closed.Load() {
		return c.opErr("set", net.ErrClosed)
	}
	tv := unix.NsecToTimeval(d.Nanoseconds())
	if d > 0 && tv.Sec == 0 && tv.Usec == 0 {
		tv.Usec = 1 // a zero timeval would mean "forever"
	}
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return c.opErr("set", os.NewSyscallError("setsockopt(SO_RCVTIMEO)", err))
	}
	return nil
}

// RcvBuf returns the socket's effective receive buffer size as the kernel
// reports it (SO_RCVBUF; Linux doubles the requested size for bookkeeping),
// or 0 if it cannot be read.
func (c *Conn) RcvBuf() int { return c.intOpt(unix.SO_RCVBUF) }

// SndBuf returns the effective send buffer size (SO_SNDBUF), as RcvBuf does.
func (c *Conn) SndBuf() int { return c.intOpt(unix.SO_SNDBUF) }

func (c *Conn) intOpt(opt int) int {
	if c.closed.Load() {
		return 0
	}
	v, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, opt)
	if err != nil {
		return 0
	}
	return v
}

// Drops returns how many datagrams the kernel has dropped for this socket,
// almost always because its receive buffer was full: this socket's share of
// RcvbufErrors in /proc/net/snmp. The kernel counts in 32 bits, so the value
// wraps at 2^32. It is one getsockopt(SO_MEMINFO) call and does not
// allocate, cheap enough for periodic stats though not meant per datagram.
// It may be called from any goroutine.
func (c *Conn) Drops() (uint64, error) {
	if !c.enterRead() {
		return 0, net.ErrClosed
	}
	var info [skMeminfoVars]uint32
	size := uint32(unsafe.Sizeof(info))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(c.fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	c.rd.Add(-1)
	if e != 0 {
		return 0, e
	}
	if size < (skMeminfoDrops+1)*4 {
		return 0, unix.ENOPROTOOPT // a kernel too old to report drops
	}
	return uint64(info[skMeminfoDrops]), nil
}

// Indices into SO_MEMINFO's array (linux/sock_diag.h).
const (
	skMeminfoDrops = 8
	skMeminfoVars  = 9
)

// JoinGroup joins an additional multicast group on the named interface
// (a name or an IPv4 address). A socket from ListenGroup is bound to its
// group address and only receives datagrams sent to it, so extra groups are
// useful on a socket from ListenUnicast bound to 0.0.0.0:port. Every socket
// here has IP_MULTICAST_ALL off, so it receives only groups it joined itself.
// At most net.ipv4.igmp_max_memberships (20 by default) joins per socket.
func (c *Conn) JoinGroup(group netip.Addr, ifname string) error {
	return c.membership(unix.IP_ADD_MEMBERSHIP, "join", group, ifname)
}

// LeaveGroup leaves a group joined with JoinGroup or ListenGroup.
func (c *Conn) LeaveGroup(group netip.Addr, ifname string) error {
	return c.membership(unix.IP_DROP_MEMBERSHIP, "leave", group, ifname)
}

func (c *Conn) membership(opt int, op string, group netip.Addr, ifname string) error {
	g := group.Unmap()
	if !g.Is4() || !g.IsMulticast() {
		return &net.OpError{Op: op, Net: "udp4", Source: udpAddr(c.laddr), Addr: ipAddr(group), Err: errNotMulticast}
	}
	if c.closed.Load() {
		return c.opErr(op, net.ErrClosed)
	}
	ifi, err := resolveIface(ifname)
	if err != nil {
		return &net.OpError{Op: op, Net: "udp4", Source: udpAddr(c.laddr), Addr: ipAddr(g), Err: err}
	}
	if err := setMembership(c.fd, opt, g, ifi); err != nil {
		return &net.OpError{Op: op, Net: "udp4", Source: udpAddr(c.laddr), Addr: ipAddr(g), Err: err}
	}
	return nil
}

func (c *Conn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "udp4", Source: udpAddr(c.laddr), Err: err}
}

// enterRead marks a receive in flight; false means the Conn is closed and fd
// must not be used. The increment comes before the check (and Close sets
// closed before reading rd), so Close either sees this call or this call
// sees Close.
func (c *Conn) enterRead() bool {
	c.rd.Add(1)
	if c.closed.Load() {
		c.rd.Add(-1)
		return false
	}
	return true
}

func (c *Conn) enterWrite() bool {
	c.wr.Add(1)
	if c.closed.Load() {
		c.wr.Add(-1)
		return false
	}
	return true
}

// ioFlags returns the per-call flags and whether the call must not block.
// Non-blocking calls always pass MSG_DONTWAIT, so they cannot block even if
// O_NONBLOCK is switched off concurrently, and may therefore skip the
// scheduler bookkeeping of unix.Syscall6 (unix.RawSyscall6). Blocking calls
// go through unix.Syscall6 so the thread's P is handed to other goroutines
// while it waits in the kernel.
//
// Pointers are converted to uintptr inside the unix.Syscall6 call
// expressions themselves: the compiler then keeps the memory alive and in
// place (even on a stack) until the call returns.
func (c *Conn) ioFlags() (uintptr, bool) {
	if c.nonblock.Load() {
		return unix.MSG_DONTWAIT, true
	}
	return 0, false
}

func udpAddr(ap netip.AddrPort) net.Addr {
	if !ap.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(ap)
}

func ipAddr(a netip.Addr) net.Addr {
	if !a.IsValid() {
		return nil
	}
	return &net.IPAddr{IP: a.AsSlice()}
}
