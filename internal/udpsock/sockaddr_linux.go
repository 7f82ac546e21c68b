package udpsock

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sizeofSockaddrInet4 is passed as socklen_t to the kernel.
const sizeofSockaddrInet4 = uint32(unix.SizeofSockaddrInet4)

// putSockaddr fills a raw sockaddr_in from an IPv4 (or IPv4-mapped IPv6)
// address and port. It reports false for anything else. It does not
// allocate, unlike building a unix.SockaddrInet4 and letting unix.Sendto
// convert it.
func putSockaddr(sa *unix.RawSockaddrInet4, ap netip.AddrPort) bool {
	a := ap.Addr().Unmap()
	if !a.Is4() {
		return false
	}
	sa.Family = unix.AF_INET
	// sin_port is in network byte order whatever the host order: write the
	// two bytes directly rather than swapping a uint16.
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	port := ap.Port()
	p[0], p[1] = byte(port>>8), byte(port)
	sa.Addr = a.As4()
	return true
}

// addrPort decodes a raw sockaddr_in filled in by the kernel. A family other
// than AF_INET (which an IPv4 socket never reports) yields the zero AddrPort.
func addrPort(sa *unix.RawSockaddrInet4) netip.AddrPort {
	if sa.Family != unix.AF_INET {
		return netip.AddrPort{}
	}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
}

// localAddr asks the kernel which address and port fd is bound to.
func localAddr(fd int) (netip.AddrPort, error) {
	var sa unix.RawSockaddrInet4
	n := sizeofSockaddrInet4
	_, _, e := unix.Syscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return netip.AddrPort{}, e
	}
	return addrPort(&sa), nil
}

// bindAddr binds fd to ap (an IPv4 address, possibly unspecified).
func bindAddr(fd int, ap netip.AddrPort) error {
	var sa unix.RawSockaddrInet4
	if !putSockaddr(&sa, ap) {
		return errNotIPv4
	}
	_, _, e := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(sizeofSockaddrInet4))
	if e != 0 {
		return e
	}
	return nil
}
