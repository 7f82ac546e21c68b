//go:build !linux

package udpsock

import (
	"net"
	"net/netip"
	"time"
)

// Conn is an IPv4 UDP socket. This platform is not supported: the
// constructors return errors and no Conn exists.
type Conn struct{}

func unsupported(op string) error { return &net.OpError{Op: op, Net: "udp4", Err: errUnsupported} }

// ListenGroup is not supported on this platform.
func ListenGroup(group netip.AddrPort, ifname string, o Options) (*Conn, error) {
	return nil, unsupported("listen")
}

// ListenUnicast is not supported on this platform.
func ListenUnicast(laddr netip.AddrPort, o Options) (*Conn, error) {
	return nil, unsupported("listen")
}

// NewSender is not supported on this platform.
func NewSender(laddr netip.AddrPort, ifname string, o Options) (*Conn, error) {
	return nil, unsupported("dial")
}

// FD returns -1.
func (c *Conn) FD() int { return -1 }

// LocalAddr returns the zero AddrPort.
func (c *Conn) LocalAddr() netip.AddrPort { return netip.AddrPort{} }

// Close returns an error.
func (c *Conn) Close() error { return unsupported("close") }

// SetNonblock returns an error.
func (c *Conn) SetNonblock(bool) error { return unsupported("set") }

// SetRecvTimeout returns an error.
func (c *Conn) SetRecvTimeout(time.Duration) error { return unsupported("set") }

// RcvBuf returns 0.
func (c *Conn) RcvBuf() int { return 0 }

// SndBuf returns 0.
func (c *Conn) SndBuf() int { return 0 }

// Drops returns an error.
func (c *Conn) Drops() (uint64, error) { return 0, errUnsupported }

// JoinGroup returns an error.
func (c *Conn) JoinGroup(netip.Addr, string) error { return unsupported("join") }

// LeaveGroup returns an error.
func (c *Conn) LeaveGroup(netip.Addr, string) error { return unsupported("leave") }

// ReadFrom returns an error.
func (c *Conn) ReadFrom([]byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, errUnsupported
}

// WriteTo returns an error.
func (c *Conn) WriteTo([]byte, netip.AddrPort) error { return errUnsupported }

// RecvBatch is a receive batch; unusable on this platform.
type RecvBatch struct{ n int }

// NewRecvBatch returns a batch of n slots.
func NewRecvBatch(n int) *RecvBatch { return &RecvBatch{n: max(n, 1)} }

// Cap returns the number of slots.
func (rb *RecvBatch) Cap() int { return rb.n }

// SetBuf does nothing on this platform.
func (rb *RecvBatch) SetBuf(int, []byte) {}

// Len returns 0.
func (rb *RecvBatch) Len(int) int { return 0 }

// From returns the zero AddrPort.
func (rb *RecvBatch) From(int) netip.AddrPort { return netip.AddrPort{} }

// Truncated returns false.
func (rb *RecvBatch) Truncated(int) bool { return false }

// RecvBatch returns an error.
func (c *Conn) RecvBatch(*RecvBatch, int) (int, error) { return 0, errUnsupported }

// SendBatch is a send batch; unusable on this platform.
type SendBatch struct{ n, cap int }

// NewSendBatch returns an empty batch of capacity n.
func NewSendBatch(n int) *SendBatch { return &SendBatch{cap: max(n, 1)} }

// Add queues nothing and reports false.
func (sb *SendBatch) Add([]byte, netip.AddrPort) bool { return false }

// Len returns 0.
func (sb *SendBatch) Len() int { return sb.n }

// Cap returns the capacity.
func (sb *SendBatch) Cap() int { return sb.cap }

// Reset does nothing.
func (sb *SendBatch) Reset() {}

// SendBatch returns an error.
func (c *Conn) SendBatch(*SendBatch) (int, error) { return 0, errUnsupported }
