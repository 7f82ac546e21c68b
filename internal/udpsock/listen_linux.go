package udpsock

import (
	"errors"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// ListenGroup opens a multicast receiver: it binds group:port itself (not
// 0.0.0.0) with SO_REUSEADDR, so every socket bound this way, in this process
// or another, receives every datagram sent to the group and port and none sent
// to other groups or to a unicast address on the port. It then joins the group
// on ifname, an interface name ("lo", "eth0") or an IPv4 address string
// ("127.0.0.1"), resolved once here in the calling thread's network namespace.
func ListenGroup(group netip.AddrPort, ifname string, o Options) (*Conn, error) {
	g := group.Addr().Unmap()
	fail := func(err error) (*Conn, error) {
		return nil, &net.OpError{Op: "listen", Net: "udp4", Addr: udpAddr(group), Err: err}
	}
	if !g.Is4() || !g.IsMulticast() {
		return fail(errNotMulticast)
	}
	if err := o.validate(); err != nil {
		return fail(err)
	}
	ifi, err := resolveIface(ifname)
	if err != nil {
		return fail(err)
	}
	fd, err := newSocket(o)
	if err != nil {
		return fail(err)
	}
	err = firstErr(
		setInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR"),
		setReusePort(fd, o),
		setInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL"),
		setBufs(fd, o),
		wrapSys("bind", bindAddr(fd, netip.AddrPortFrom(g, group.Port()))),
		setMembership(fd, unix.IP_ADD_MEMBERSHIP, g, ifi),
	)
	return finish(fd, o, err, fail)
}

// ListenUnicast opens a socket bound to laddr (an IPv4 address, or the zero
// Addr for 0.0.0.0; port 0 picks an ephemeral port, see LocalAddr). A
// multicast laddr is refused: use ListenGroup. IP_MULTICAST_ALL is off, so a
// wildcard-bound socket receives only groups it joins with JoinGroup.
func ListenUnicast(laddr netip.AddrPort, o Options) (*Conn, error) {
	la := wildcard(laddr)
	fail := func(err error) (*Conn, error) {
		return nil, &net.OpError{Op: "listen", Net: "udp4", Addr: udpAddr(la), Err: err}
	}
	if err := checkLocal(la, o); err != nil {
		return fail(err)
	}
	fd, err := newSocket(o)
	if err != nil {
		return fail(err)
	}
	err = firstErr(
		setReusePort(fd, o),
		setInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL"),
		setBufs(fd, o),
		wrapSys("bind", bindAddr(fd, la)),
	)
	return finish(fd, o, err, fail)
}

// NewSender opens a socket for sending multicast on ifname (an interface name
// or an IPv4 address string): IP_MULTICAST_IF names the interface explicitly,
// so sends never follow a route out of the host; IP_MULTICAST_LOOP is o.Loop
// and IP_MULTICAST_TTL is o.TTL (default 1). It is bound to laddr (the zero
// value means 0.0.0.0 and an ephemeral port) and receives unicast replies
// sent there, such as retransmission requests.
func NewSender(laddr netip.AddrPort, ifname string, o Options) (*Conn, error) {
	la := wildcard(laddr)
	fail := func(err error) (*Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "udp4", Source: udpAddr(la), Err: err}
	}
	if err := checkLocal(la, o); err != nil {
		return fail(err)
	}
	ifi, err := resolveIface(ifname)
	if err != nil {
		return fail(err)
	}
	fd, err := newSocket(o)
	if err != nil {
		return fail(err)
	}
	mreq := unix.IPMreqn{Ifindex: int32(ifi.index)}
	if ifi.addr.IsValid() {
		mreq.Address = ifi.addr.As4()
	}
	loop := 0
	if o.Loop {
		loop = 1
	}
	err = firstErr(
		setReusePort(fd, o),
		wrapSys("setsockopt(IP_MULTICAST_IF)", unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &mreq)),
		setInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, loop, "IP_MULTICAST_LOOP"),
		setInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, o.ttl(), "IP_MULTICAST_TTL"),
		setInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL"),
		setBufs(fd, o),
		wrapSys("bind", bindAddr(fd, la)),
	)
	return finish(fd, o, err, fail)
}

// wildcard maps the zero AddrPort's address to 0.0.0.0 and unmaps
// IPv4-mapped IPv6 addresses.
func wildcard(ap netip.AddrPort) netip.AddrPort {
	if !ap.Addr().IsValid() {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func newSocket(o Options) (int, error) {
	typ := unix.SOCK_DGRAM | unix.SOCK_CLOEXEC
	if o.NonBlocking {
		typ |= unix.SOCK_NONBLOCK
	}
	fd, err := unix.Socket(unix.AF_INET, typ, unix.IPPROTO_UDP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// finish closes fd if setup failed, or wraps it in a Conn.
func finish(fd int, o Options, err error, fail func(error) (*Conn, error)) (*Conn, error) {
	if err == nil {
		var c *Conn
		if c, err = newConn(fd, o.NonBlocking); err == nil {
			return c, nil
		}
	}
	unix.Close(fd)
	return fail(err)
}

// firstErr returns the first non-nil error. Its arguments are evaluated in
// order, so setup steps after a failure still run; each is a harmless
// setsockopt on a socket about to be closed.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func wrapSys(call string, err error) error {
	if err == nil {
		return nil
	}
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return err
	}
	return os.NewSyscallError(call, err)
}

func setInt(fd, level, opt, v int, name string) error {
	return wrapSys("setsockopt("+name+")", unix.SetsockoptInt(fd, level, opt, v))
}

func setReusePort(fd int, o Options) error {
	if !o.ReusePort {
		return nil
	}
	return setInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "SO_REUSEPORT")
}

func setBufs(fd int, o Options) error {
	return firstErr(
		setBuf(fd, unix.SO_RCVBUF, unix.SO_RCVBUFFORCE, o.RcvBuf, "SO_RCVBUF"),
		setBuf(fd, unix.SO_SNDBUF, unix.SO_SNDBUFFORCE, o.SndBuf, "SO_SNDBUF"),
	)
}

// setBuf asks for a buffer of want bytes. The kernel caps SO_RCVBUF at
// net.core.rmem_max (SO_SNDBUF at wmem_max) and stores twice the result; if
// the cap bit, the privileged *FORCE option (root or CAP_NET_ADMIN) bypasses
// it. Without the privilege the capped size stays, silently: callers read
// the effective size from Conn.RcvBuf.
func setBuf(fd, opt, force, want int, name string) error {
	if want == 0 {
		return nil
	}
	if err := setInt(fd, unix.SOL_SOCKET, opt, want, name); err != nil {
		return err
	}
	got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, opt)
	if err != nil {
		return wrapSys("getsockopt("+name+")", err)
	}
	if int64(got) >= 2*int64(want) {
		return nil
	}
	err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, want)
	if err == unix.EPERM {
		return nil
	}
	return wrapSys("setsockopt("+name+"FORCE)", err)
}

// setMembership joins or leaves group on ifi with an ip_mreqn, whose
// interface index takes precedence over its address.
func setMembership(fd, opt int, group netip.Addr, ifi iface) error {
	mreq := unix.IPMreqn{Multiaddr: group.As4(), Ifindex: int32(ifi.index)}
	if ifi.addr.IsValid() {
		mreq.Address = ifi.addr.As4()
	}
	name := "setsockopt(IP_ADD_MEMBERSHIP)"
	if opt == unix.IP_DROP_MEMBERSHIP {
		name = "setsockopt(IP_DROP_MEMBERSHIP)"
	}
	return wrapSys(name, unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, opt, &mreq))
}

// checkLocal validates the local address and options shared by
// ListenUnicast and NewSender: an IPv4, non-multicast address.
func checkLocal(la netip.AddrPort, o Options) error {
	switch {
	case !la.Addr().Is4():
		return errNotIPv4
	case la.Addr().IsMulticast():
		return errMulticast
	}
	return o.validate()
}
