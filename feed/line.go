package feed

import (
	"fmt"
	"net/netip"

	"mdcast/decode"
	"mdcast/internal/clock"
	"mdcast/internal/lossinject"
	"mdcast/internal/udpsock"
	"mdcast/ring"
)

// LineRecovery is the Packet.Line of packets that came from the upstream
// re-request server rather than from line A (0) or B (1).
const LineRecovery uint8 = 0xFF

// line is one receive socket of a feed (line A, line B, or the re-request
// socket) with its batch of pooled packets. It belongs to the receiver's
// goroutine.
type line struct {
	// hot
	conn  *udpsock.Conn
	rb    *udpsock.RecvBatch
	slots []*ring.Packet       // slot i receives into slots[i].Buf; nil until filled
	inj   *lossinject.Injector // nil: no injected loss
	src   netip.AddrPort       // when valid, datagrams from any other source are dropped
	idx   uint8                // Packet.Line of what it emits
	c     LineCounters

	name string
	addr netip.AddrPort
}

// openLine opens the socket of line i as configured (defaults applied).
func openLine(i int, lc LineConfig, batch int) (*line, error) {
	ap, err := netip.ParseAddrPort(lc.Addr)
	if err != nil {
		return nil, fmt.Errorf("feed: line[%d].addr %q: %w", i, lc.Addr, err)
	}
	o := udpsock.Options{RcvBuf: lc.RcvBuf, NonBlocking: true}
	var conn *udpsock.Conn
	if ap.Addr().IsMulticast() {
		conn, err = udpsock.ListenGroup(ap, lc.Interface, o)
	} else {
		conn, err = udpsock.ListenUnicast(ap, o)
	}
	if err != nil {
		return nil, fmt.Errorf("feed: line %s: %w", lc.Name, err)
	}
	l := &line{
		conn:  conn,
		rb:    udpsock.NewRecvBatch(batch),
		slots: make([]*ring.Packet, batch),
		idx:   uint8(i),
		name:  lc.Name,
		addr:  ap,
	}
	if lc.Loss.Enabled() {
		l.inj = lossinject.New(lc.Loss)
	}
	return l, nil
}

// openRecovery opens the unicast socket re-requests are sent from and
// answered to (an ephemeral port on every address).
func openRecovery(server netip.AddrPort, rcvBuf, batch int) (*line, error) {
	conn, err := udpsock.ListenUnicast(netip.AddrPortFrom(netip.IPv4Unspecified(), 0),
		udpsock.Options{RcvBuf: rcvBuf, NonBlocking: true})
	if err != nil {
		return nil, fmt.Errorf("feed: recovery socket: %w", err)
	}
	return &line{
		conn:  conn,
		rb:    udpsock.NewRecvBatch(batch),
		slots: make([]*ring.Packet, batch),
		src:   server,
		idx:   LineRecovery,
		name:  "recovery",
		addr:  conn.LocalAddr(),
	}, nil
}

// fill gives every empty slot a packet from the pool.
func (l *line) fill(pool *ring.Pool) {
	for i, p := range l.slots {
		if p == nil {
			p = pool.Get()
			l.slots[i] = p
			l.rb.SetBuf(i, p.Buf)
		}
	}
}

// read receives one batch and passes every valid packet to the arbiter. It
// returns the number of datagrams read. Rejected datagrams leave their
// packet in its slot for the next batch, so only accepted packets cost a
// pool Get.
func (l *line) read(r *Receiver) (int, error) {
	n, err := l.conn.RecvBatch(l.rb, len(l.slots))
	if n == 0 {
		return 0, err
	}
	now := clock.Nanotime() // after the syscall: the receive time, not the loop's
	var bytes, packets, messages uint64
	pk := &r.pk
	for i := 0; i < n; i++ {
		size := l.rb.Len(i)
		bytes += uint64(size)
		if l.rb.Truncated(i) {
			l.c.Malformed[reasonOversize].Add(1)
			continue
		}
		if l.src.IsValid() && l.rb.From(i) != l.src {
			l.c.Strangers.Add(1)
			continue
		}
		p := l.slots[i]
		if err := pk.Wrap(p.Buf[:size]); err != nil {
			l.c.Malformed[reasonOf(err)].Add(1)
			continue
		}
		mc := uint64(pk.MessageCount())
		if l.inj != nil && mc > 0 && l.inj.Drop(pk.Sequence()) {
			l.c.InjectedDrops.Add(1)
			l.c.InjectedMessages.Add(mc)
			continue
		}
		packets++
		messages += mc
		p.N, p.RecvNs = size, now
		q := r.pool.Get()
		l.slots[i] = q
		l.rb.SetBuf(i, q.Buf)
		r.arb.accept(p, pk, l.idx, &l.c, now)
	}
	l.c.Datagrams.Add(uint64(n))
	l.c.Bytes.Add(bytes)
	if packets > 0 {
		l.c.Packets.Add(packets)
		l.c.Messages.Add(messages)
	}
	return n, nil
}

// close closes the socket and returns the slots' packets to the pool.
func (l *line) close() error {
	for i, p := range l.slots {
		if p != nil {
			p.Release()
			l.slots[i] = nil
		}
	}
	return l.conn.Close()
}

func (l *line) stats() LineStats {
	s := l.c.Snapshot()
	s.Name = l.name
	s.Addr = l.addr.String()
	return s
}

// requestWriter sends re-requests from the recovery socket; its buffer is
// reused, so a request does not allocate.
type requestWriter struct {
	conn   *udpsock.Conn
	server netip.AddrPort
	buf    [decode.RequestLen]byte
}

func (w *requestWriter) send(s decode.Session, seq uint64, count uint16) error {
	return w.conn.WriteTo(decode.AppendRequest(w.buf[:0], s, seq, count), w.server)
}
