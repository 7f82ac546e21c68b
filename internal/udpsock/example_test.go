//go:build linux

package udpsock_test

import (
	"fmt"
	"net/netip"
	"time"

	"mdcast/internal/udpsock"
)

// Two members of a group on the loopback interface each receive a datagram
// sent once, read in a batch. Port 0 lets the kernel pick a free port for the
// group; LocalAddr reports it.
func Example_loopbackMulticast() {
	group := netip.MustParseAddrPort("239.255.42.42:0")
	a, err := udpsock.ListenGroup(group, "lo", udpsock.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	group = a.LocalAddr() // now with the port the kernel chose
	b, err := udpsock.ListenGroup(group, "lo", udpsock.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	tx, err := udpsock.NewSender(netip.MustParseAddrPort("127.0.0.1:0"), "lo", udpsock.Options{Loop: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tx.Close()
	sb := udpsock.NewSendBatch(2)
	sb.Add([]byte("hello"), group)
	sb.Add([]byte("world"), group)
	if _, err := tx.SendBatch(sb); err != nil {
		fmt.Println(err)
		return
	}

	rb := udpsock.NewRecvBatch(2)
	bufs := [][]byte{make([]byte, 1500), make([]byte, 1500)}
	for i := range bufs {
		rb.SetBuf(i, bufs[i])
	}
	for _, member := range []*udpsock.Conn{a, b} {
		member.SetRecvTimeout(5 * time.Second)
		for got := 0; got < 2; {
			// A blocking RecvBatch returns once at least one datagram is in.
			n, err := member.RecvBatch(rb, 2-got)
			if err != nil {
				fmt.Println(err)
				return
			}
			for i := 0; i < n; i++ {
				fmt.Printf("%s from the sender: %v\n", bufs[i][:rb.Len(i)], rb.From(i) == tx.LocalAddr())
			}
			got += n
		}
	}
	// Output:
	// hello from the sender: true
	// world from the sender: true
	// hello from the sender: true
	// world from the sender: true
}
