package udpsock

import (
	"fmt"
	"net"
	"net/netip"
)

// iface is a resolved multicast interface: its index and an IPv4 address on
// it (the zero Addr when it has none, which ip_mreqn allows).
type iface struct {
	name  string
	index int
	addr  netip.Addr
}

// resolveIface turns an interface argument into an index and address, once,
// at setup. s is an interface name ("lo", "eth0") or an IPv4 address string
// ("127.0.0.1") naming the interface that holds that address. It looks up
// interfaces in the network namespace of the calling thread.
func resolveIface(s string) (iface, error) {
	if s == "" {
		return iface{}, errNoInterface
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return ifaceByAddr(a.Unmap())
	}
	ifi, err := net.InterfaceByName(s)
	if err != nil {
		return iface{}, fmt.Errorf("udpsock: interface %q: %w", s, err)
	}
	r := iface{name: ifi.Name, index: ifi.Index}
	addrs, err := ifi.Addrs()
	if err != nil {
		return iface{}, fmt.Errorf("udpsock: interface %q addresses: %w", s, err)
	}
	for _, a := range addrs {
		if p, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(p.IP); ok && ip.Unmap().Is4() {
				r.addr = ip.Unmap()
				break
			}
		}
	}
	return r, nil
}

func ifaceByAddr(a netip.Addr) (iface, error) {
	if !a.Is4() {
		return iface{}, fmt.Errorf("udpsock: interface address %v: %w", a, errNotIPv4)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return iface{}, fmt.Errorf("udpsock: listing interfaces: %w", err)
	}
	for i := range ifs {
		addrs, err := ifs[i].Addrs()
		if err != nil {
			continue
		}
		for _, x := range addrs {
			p, ok := x.(*net.IPNet)
			if !ok {
				continue
			}
			if ip, ok := netip.AddrFromSlice(p.IP); ok && ip.Unmap() == a {
				return iface{name: ifs[i].Name, index: ifs[i].Index, addr: a}, nil
			}
		}
	}
	return iface{}, fmt.Errorf("udpsock: no interface has address %v", a)
}
