package udpsock

import (
	"net"
	"net/netip"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReadFrom receives one datagram into b and returns its length and source.
// A datagram longer than b is truncated to len(b). On a non-blocking Conn
// with nothing queued it returns ErrWouldBlock; on a blocking Conn whose
// SetRecvTimeout expired, os.ErrDeadlineExceeded; after Close, net.ErrClosed.
// Other failures are bare unix.Errno values. It does not allocate.
func (c *Conn) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	if !c.enterRead() {
		return 0, netip.AddrPort{}, net.ErrClosed
	}
	flags, nb := c.ioFlags()
	for {
		c.rsaLen = sizeofSockaddrInet4
		var r uintptr
		var e unix.Errno
		if nb {
			r, _, e = unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(c.fd),
				uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), flags,
				uintptr(unsafe.Pointer(&c.rsa)), uintptr(unsafe.Pointer(&c.rsaLen)))
		} else {
			r, _, e = unix.Syscall6(unix.SYS_RECVFROM, uintptr(c.fd),
				uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), flags,
				uintptr(unsafe.Pointer(&c.rsa)), uintptr(unsafe.Pointer(&c.rsaLen)))
		}
		if e == unix.EINTR {
			continue
		}
		// shutdown(2) in Close makes a blocked recv return 0 bytes: check
		// closed before trusting any result.
		if c.closed.Load() {
			c.rd.Add(-1)
			return 0, netip.AddrPort{}, net.ErrClosed
		}
		c.rd.Add(-1)
		if e != 0 {
			return 0, netip.AddrPort{}, recvErr(e, nb)
		}
		return int(r), addrPort(&c.rsa), nil
	}
}

// WriteTo sends b as one datagram to dst (IPv4). On a non-blocking Conn
// whose send buffer is full it returns ErrWouldBlock; after Close,
// net.ErrClosed; a non-IPv4 dst, unix.EAFNOSUPPORT. It does not allocate.
func (c *Conn) WriteTo(b []byte, dst netip.AddrPort) error {
	if !c.enterWrite() {
		return net.ErrClosed
	}
	if !putSockaddr(&c.wsa, dst) {
		c.wr.Add(-1)
		return unix.EAFNOSUPPORT
	}
	flags, nb := c.ioFlags()
	for {
		var e unix.Errno
		if nb {
			_, _, e = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(c.fd),
				uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), flags,
				uintptr(unsafe.Pointer(&c.wsa)), uintptr(sizeofSockaddrInet4))
		} else {
			_, _, e = unix.Syscall6(unix.SYS_SENDTO, uintptr(c.fd),
				uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), flags,
				uintptr(unsafe.Pointer(&c.wsa)), uintptr(sizeofSockaddrInet4))
		}
		if e == unix.EINTR {
			continue
		}
		c.wr.Add(-1)
		switch {
		case e == 0:
			return nil
		case c.closed.Load():
			return net.ErrClosed
		case e == unix.EAGAIN && nb:
			return ErrWouldBlock
		}
		return e
	}
}

// recvErr maps a receive errno to the package's preallocated errors.
// EAGAIN means "nothing queued" on a non-blocking socket and "SO_RCVTIMEO
// expired" on a blocking one.
func recvErr(e unix.Errno, nonblock bool) error {
	if e == unix.EAGAIN {
		if nonblock {
			return ErrWouldBlock
		}
		return os.ErrDeadlineExceeded
	}
	return e
}
