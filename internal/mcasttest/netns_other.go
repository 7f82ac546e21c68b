//go:build !linux

package mcasttest

import (
	"errors"
	"net/netip"
	"testing"
)

var errUnsupported = errors.New("mcasttest: network namespaces are Linux only")

// HostIface is the name of each host's interface onto the bridge.
const HostIface = "e0"

// Network is a set of hosts in network namespaces; Linux only.
type Network struct{}

// Host is one namespace on a Network; Linux only.
type Host struct{}

// NewNetwork skips t: network namespaces are Linux only.
func NewNetwork(t testing.TB, hosts ...string) *Network {
	t.Skip("mcasttest: network namespaces are Linux only")
	return nil
}

// Host returns nil.
func (n *Network) Host(name string) *Host { return nil }

// Hosts returns nil.
func (n *Network) Hosts() []*Host { return nil }

// Name returns "".
func (h *Host) Name() string { return "" }

// Namespace returns "".
func (h *Host) Namespace() string { return "" }

// Addr returns the zero Addr.
func (h *Host) Addr() netip.Addr { return netip.Addr{} }

// Do returns an error.
func (h *Host) Do(fn func() error) error { return errUnsupported }

// Run returns an error.
func (h *Host) Run(args ...string) ([]byte, error) { return nil, errUnsupported }

// DropUDP skips t.
func (h *Host) DropUDP(t testing.TB, port uint16, percent int) {
	t.Skip("mcasttest: nftables is Linux only")
}
