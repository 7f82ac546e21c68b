package udpsock

import "fmt"

// DefaultTTL is the multicast TTL senders use when Options.TTL is zero: one
// hop keeps test and loopback traffic on the local link.
const DefaultTTL = 1

// Options configure a socket at creation. The zero value means kernel
// defaults, blocking I/O, multicast loopback off and TTL DefaultTTL.
type Options struct {
	// RcvBuf is the requested SO_RCVBUF in bytes (0 = kernel default). When
	// it exceeds net.core.rmem_max and the process may use SO_RCVBUFFORCE
	// (root), the cap is bypassed; otherwise the kernel's cap applies
	// silently. Conn.RcvBuf reports what was obtained.
	RcvBuf int
	// SndBuf is the requested SO_SNDBUF in bytes (0 = kernel default), with
	// the same SO_SNDBUFFORCE fallback as RcvBuf.
	SndBuf int
	// NonBlocking opens the socket with O_NONBLOCK for busy-polling agents.
	NonBlocking bool
	// Loop sets IP_MULTICAST_LOOP on senders: deliver multicast sent on a
	// real interface to members on this host too. Needed when publisher and
	// subscribers share a host on eth0; on "lo" delivery is local anyway.
	Loop bool
	// TTL is IP_MULTICAST_TTL on senders (0 = DefaultTTL).
	TTL int
	// ReusePort sets SO_REUSEPORT (the kernel then load-balances unicast
	// datagrams between the sockets sharing the port).
	ReusePort bool
}

func (o Options) validate() error {
	switch {
	case o.RcvBuf < 0:
		return fmt.Errorf("%w: RcvBuf %d is negative", errBadOption, o.RcvBuf)
	case o.SndBuf < 0:
		return fmt.Errorf("%w: SndBuf %d is negative", errBadOption, o.SndBuf)
	case o.TTL < 0 || o.TTL > 255:
		return fmt.Errorf("%w: TTL %d is not in [0, 255]", errBadOption, o.TTL)
	}
	return nil
}

func (o Options) ttl() int {
	if o.TTL == 0 {
		return DefaultTTL
	}
	return o.TTL
}
