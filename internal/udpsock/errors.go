package udpsock

import "errors"

// ErrWouldBlock is returned by ReadFrom and WriteTo on a non-blocking Conn
// when no datagram is queued (or the send buffer is full). RecvBatch reports
// the same condition as (0, nil).
var ErrWouldBlock = errors.New("udpsock: would block")

var (
	errNotIPv4      = errors.New("udpsock: not an IPv4 address")
	errNotMulticast = errors.New("udpsock: not an IPv4 multicast address")
	errMulticast    = errors.New("udpsock: multicast address; use ListenGroup")
	errNoInterface  = errors.New("udpsock: interface required (a name such as \"lo\" or an IPv4 address)")
	errUnsupported  = errors.New("udpsock: not supported on this platform")
	errBadOption    = errors.New("udpsock: invalid option")
)
