package publish

import (
	"net/netip"
	"time"

	"mdcast/decode"
	"mdcast/internal/udpsock"
)

// buffersPerChannel is how many datagram buffers each channel cycles through.
// A finished packet stays queued in the worker's SendBatch (which references
// its buffer) until the next sendmmsg; the channel keeps building in its next
// buffer meanwhile, and forces a send only when all of them are queued.
const buffersPerChannel = 8

// Channel is one downstream channel as a worker publishes it: its group, the
// MoldUDP64 framing state (session, next sequence, the packet being built),
// its History, its heartbeat schedule, its re-request socket and counters.
//
// A Channel belongs to one Worker and is used only on the worker's thread;
// Counters may be read from any goroutine.
type Channel struct {
	// Hot path: touched for every message.
	w        *decode.PacketWriter   // the packet being built (writers[cur])
	queued   int                    // 8 B: buffers waiting in the worker's SendBatch
	cur      int                    // 8 B: index of the buffer w writes into
	writers  []*decode.PacketWriter // one per buffer
	hist     *History
	session  decode.Session
	group    netip.AddrPort
	sentData bool // a data packet went out since the last heartbeat check

	// Heartbeats: time is DoWork's nowNs.
	hbInterval int64 // current back-off interval, ns
	hbNextNs   int64 // when the next heartbeat is due

	index   int
	name    string
	reqAddr netip.AddrPort
	req     *udpsock.Conn // re-request socket (non-blocking); responses leave from it

	// Counters are the channel's counters; read them from any goroutine.
	Counters ChannelCounters
}

func newChannel(index int, name string, group, reqAddr netip.AddrPort, s decode.Session, maxPayload int, hist *History) *Channel {
	c := &Channel{
		index:   index,
		name:    name,
		group:   group,
		reqAddr: reqAddr,
		session: s,
		hist:    hist,
		writers: make([]*decode.PacketWriter, buffersPerChannel),
	}
	// One allocation for all the channel's datagram buffers.
	mem := make([]byte, buffersPerChannel*maxPayload)
	for i := range c.writers {
		c.writers[i] = decode.NewPacketWriter(mem[i*maxPayload:(i+1)*maxPayload:(i+1)*maxPayload], maxPayload)
	}
	c.w = c.writers[0]
	c.w.Reset(s, hist.Next())
	return c
}

// Index returns the channel's position in Config.Channels.
func (c *Channel) Index() int { return c.index }

// Name returns the channel's name.
func (c *Channel) Name() string { return c.name }

// Group returns the channel's multicast group and port.
func (c *Channel) Group() netip.AddrPort { return c.group }

// RequestAddr returns the address of the channel's re-request socket.
func (c *Channel) RequestAddr() netip.AddrPort {
	if c.req != nil {
		return c.req.LocalAddr()
	}
	return c.reqAddr
}

// Session returns the channel's MoldUDP64 session.
func (c *Channel) Session() decode.Session { return c.session }

// NextSequence returns the sequence the channel's next message will get.
// Use it on the worker's thread (or when the worker is not running); other
// goroutines use Stats().NextSeq.
func (c *Channel) NextSequence() uint64 { return c.hist.Next() }

// History returns the channel's history. Use it only on the worker's thread
// (or when the worker is not running).
func (c *Channel) History() *History { return c.hist }

// Stats returns the channel's counters and identity. It may be called from
// any goroutine; NextSeq follows from the Messages counter.
func (c *Channel) Stats() ChannelStats {
	s := c.Counters.Snapshot()
	s.Index = c.index
	s.Name = c.name
	s.Group = c.group.String()
	s.RequestAddr = c.RequestAddr().String()
	s.Session = c.session.String()
	s.NextSeq = c.Counters.Messages.Load() + 1
	return s
}

// NewSessionName returns a 10-character session name made from t: the Unix
// time in microseconds in base 36 (0-9, A-Z), zero padded. Names sort by
// start time and differ between starts at least a microsecond apart; they
// wrap after the year 2085.
func NewSessionName(t time.Time) decode.Session {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	v := uint64(t.UnixMicro())
	var s decode.Session
	for i := decode.SessionLen - 1; i >= 0; i-- {
		s[i] = digits[v%36]
		v /= 36
	}
	return s
}
