// Package mcasttest provides helpers for tests that send multicast: groups
// and ports unlikely to collide with parallel tests, a check that loopback
// multicast works here, and private networks of hosts built from Linux
// network namespaces, like golang.org/x/net/nettest does for interfaces.
//
// # Loopback
//
//	mcasttest.RequireLoopbackMulticast(t)
//	ga := netip.AddrPortFrom(mcasttest.Group(t), mcasttest.FreeUDPPort(t))
//	rx, _ := udpsock.ListenGroup(ga, "lo", udpsock.Options{})
//	tx, _ := udpsock.NewSender(netip.AddrPort{}, "lo", udpsock.Options{Loop: true})
//
// # Several hosts (root only)
//
// NewNetwork builds one namespace per host, each with an interface e0
// addressed in 10.77.0.0/24 and a route for 224.0.0.0/4 through it, and
// joins them with veth pairs to a bridge in a further namespace. Nothing is
// created in the root namespace, and t.Cleanup deletes every namespace
// (which removes the links with them):
//
//	net := mcasttest.NewNetwork(t, "pub", "sub")
//	var rx *udpsock.Conn
//	err := net.Host("sub").Do(func() (err error) {
//		rx, err = udpsock.ListenGroup(ga, "e0", udpsock.Options{})
//		return err
//	})
//
// A socket created inside Do stays in the host's namespace for its whole
// life, so it can be used from any goroutine afterwards. Host.DropUDP adds an
// nftables rule that drops a random percentage of a port's datagrams on the
// host's input path (tc netem is not available on these machines).
//
// Tests that cannot run here (not root, no ip or nft tool, no loopback
// multicast) are skipped with the reason, never failed.
//
// # Concurrency
//
// Group and FreeUDPPort are safe for parallel tests. A Network may be used
// from several goroutines; Do runs each fn on its own locked thread.
package mcasttest
