package udpsock

import (
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RecvBatch holds the mmsghdr, iovec and sockaddr_in arrays for recvmmsg,
// allocated once by NewRecvBatch and reused by every Conn.RecvBatch call, so
// receiving allocates nothing. Slots point at caller-owned buffers (SetBuf).
// A RecvBatch is not safe for concurrent use.
type RecvBatch struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	addrs []unix.RawSockaddrInet4
}

// NewRecvBatch returns a batch of n slots (n >= 1), each with no buffer yet.
func NewRecvBatch(n int) *RecvBatch {
	n = max(n, 1)
	rb := &RecvBatch{
		hdrs:  make([]unix.Mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		addrs: make([]unix.RawSockaddrInet4, n),
	}
	for i := range rb.hdrs {
		h := &rb.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&rb.addrs[i]))
		h.Iov = &rb.iovs[i]
		h.SetIovlen(1)
	}
	return rb
}

// Cap returns the number of slots.
func (rb *RecvBatch) Cap() int { return len(rb.hdrs) }

// SetBuf points slot i at b (for example a pooled packet's Buf): the next
// datagram received into slot i is written to b[:len(b)], truncated if
// longer. The batch keeps b reachable until the slot is pointed elsewhere.
func (rb *RecvBatch) SetBuf(i int, b []byte) {
	rb.iovs[i].Base = unsafe.SliceData(b)
	rb.iovs[i].SetLen(len(b))
}

// Len returns the length of the datagram last received into slot i.
func (rb *RecvBatch) Len(i int) int { return int(rb.hdrs[i].Len) }

// From returns the source address of the datagram last received into slot i.
func (rb *RecvBatch) From(i int) netip.AddrPort { return addrPort(&rb.addrs[i]) }

// Truncated reports whether the datagram in slot i was longer than the
// slot's buffer (MSG_TRUNC); Len is then the buffer's length.
func (rb *RecvBatch) Truncated(i int) bool { return rb.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 }

// RecvBatch receives up to n datagrams (clamped to rb.Cap()) into slots
// [0, n) with one recvmmsg call and returns how many arrived. A blocking Conn
// waits for the first datagram only (MSG_WAITFORONE) and then takes whatever
// else is queued. A non-blocking Conn with nothing queued returns (0, nil).
// On a blocking Conn whose SetRecvTimeout expired it returns
// (0, os.ErrDeadlineExceeded); after Close, (0, net.ErrClosed). It does not
// allocate.
func (c *Conn) RecvBatch(rb *RecvBatch, n int) (int, error) {
	n = min(n, len(rb.hdrs))
	if n <= 0 {
		return 0, nil
	}
	if !c.enterRead() {
		return 0, net.ErrClosed
	}
	flags, nb := c.ioFlags()
	if !nb {
		flags = unix.MSG_WAITFORONE
	}
	for i := range rb.hdrs[:n] {
		// The kernel overwrites the name length with the source's.
		rb.hdrs[i].Hdr.Namelen = sizeofSockaddrInet4
	}
	for {
		var r uintptr
		var e unix.Errno
		if nb {
			r, _, e = unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(c.fd),
				uintptr(unsafe.Pointer(&rb.hdrs[0])), uintptr(n), flags, 0, 0)
		} else {
			r, _, e = unix.Syscall6(unix.SYS_RECVMMSG, uintptr(c.fd),
				uintptr(unsafe.Pointer(&rb.hdrs[0])), uintptr(n), flags, 0, 0)
		}
		if e == unix.EINTR {
			continue
		}
		// After shutdown(2) recvmmsg reports zero-length "datagrams":
		// check closed before trusting any result.
		if c.closed.Load() {
			c.rd.Add(-1)
			return 0, net.ErrClosed
		}
		c.rd.Add(-1)
		if e != 0 {
			if e == unix.EAGAIN && nb {
				return 0, nil
			}
			return 0, recvErr(e, nb)
		}
		return int(r), nil
	}
}

// SendBatch queues datagrams for one sendmmsg call. Add records the caller's
// slice (not a copy), so the bytes must stay unchanged until Conn.SendBatch
// returns. The arrays are allocated once by NewSendBatch and reused. A
// SendBatch is not safe for concurrent use.
type SendBatch struct {
	n     int
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	addrs []unix.RawSockaddrInet4
}

// NewSendBatch returns an empty batch with room for n datagrams (n >= 1).
func NewSendBatch(n int) *SendBatch {
	n = max(n, 1)
	sb := &SendBatch{
		hdrs:  make([]unix.Mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		addrs: make([]unix.RawSockaddrInet4, n),
	}
	for i := range sb.hdrs {
		h := &sb.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&sb.addrs[i]))
		h.Namelen = sizeofSockaddrInet4
		h.Iov = &sb.iovs[i]
		h.SetIovlen(1)
	}
	return sb
}

// Add queues b for dst. It returns false, queuing nothing, when the batch is
// full or dst is not an IPv4 address.
func (sb *SendBatch) Add(b []byte, dst netip.AddrPort) bool {
	if sb.n == len(sb.hdrs) || !putSockaddr(&sb.addrs[sb.n], dst) {
		return false
	}
	sb.iovs[sb.n].Base = unsafe.SliceData(b)
	sb.iovs[sb.n].SetLen(len(b))
	sb.n++
	return true
}

// Len returns the number of queued datagrams.
func (sb *SendBatch) Len() int { return sb.n }

// Cap returns the batch's capacity.
func (sb *SendBatch) Cap() int { return len(sb.hdrs) }

// Reset empties the batch and drops its references to the queued slices.
func (sb *SendBatch) Reset() {
	for i := range sb.iovs[:sb.n] {
		sb.iovs[i].Base = nil
	}
	sb.n = 0
}

// SendBatch sends every datagram queued in sb, calling sendmmsg again after
// a partial send, then resets sb. It returns how many were sent. A datagram
// the kernel refuses (for example EPERM from a firewall) is skipped, the
// rest are still sent, and the first such error is returned. On a
// non-blocking Conn whose send buffer fills it stops and returns
// ErrWouldBlock; the unsent rest are dropped (count them from the return
// value). After Close it returns net.ErrClosed. It does not allocate.
func (c *Conn) SendBatch(sb *SendBatch) (int, error) {
	defer sb.Reset()
	if sb.n == 0 {
		return 0, nil
	}
	if !c.enterWrite() {
		return 0, net.ErrClosed
	}
	flags, nb := c.ioFlags()
	var first error
	sent, off := 0, 0
	for off < sb.n {
		var r uintptr
		var e unix.Errno
		if nb {
			r, _, e = unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(c.fd),
				uintptr(unsafe.Pointer(&sb.hdrs[off])), uintptr(sb.n-off), flags, 0, 0)
		} else {
			r, _, e = unix.Syscall6(unix.SYS_SENDMMSG, uintptr(c.fd),
				uintptr(unsafe.Pointer(&sb.hdrs[off])), uintptr(sb.n-off), flags, 0, 0)
		}
		switch {
		case e == 0 && r > 0:
			sent += int(r)
			off += int(r)
		case e == 0:
			off++ // cannot happen for a non-empty vector; never loop forever
		case e == unix.EINTR:
		case c.closed.Load():
			c.wr.Add(-1)
			return sent, net.ErrClosed
		case e == unix.EAGAIN && nb:
			c.wr.Add(-1)
			return sent, ErrWouldBlock
		default:
			// sendmmsg fails only when its first datagram fails: skip it.
			if first == nil {
				first = e
			}
			off++
		}
	}
	c.wr.Add(-1)
	return sent, first
}
