package publish

import (
	"fmt"
	"net/netip"
)

// ACL is the list of networks allowed to send re-requests. The zero ACL
// allows nobody. Allows does not allocate; an ACL is immutable and safe for
// concurrent use.
type ACL []netip.Prefix

// ParseACL parses CIDRs such as "127.0.0.0/8"; a bare address means that
// address alone.
func ParseACL(cidrs []string) (ACL, error) {
	acl := make(ACL, 0, len(cidrs))
	for i, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("[%d] %q: not a CIDR or address", i, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		acl = append(acl, p.Masked())
	}
	return acl, nil
}

// Allows reports whether addr is inside one of the ACL's networks. IPv4
// addresses mapped into IPv6 are matched as IPv4.
func (a ACL) Allows(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range a {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
