package daemon

import (
	"sync/atomic"

	"mdcast/decode"
	"mdcast/feed"
	"mdcast/internal/clock"
	"mdcast/publish"
	"mdcast/ring"
)

// noticer is the feed's loss handler: each upstream loss the feed gives up
// on (logged and counted there) becomes one upstream loss notice on every
// channel (docs/PROTOCOL.md 3.3), so subscribers learn of it in-band
// instead of seeing contiguous channel sequences over a hole.
//
// It runs on the receiver's goroutine, inside the feed's gap handling and
// before the packets held behind the hole are emitted, and hands the notice
// to the same Output as the data (the worker inline, the fan-out to every
// worker's input ring in pipeline mode): that is what keeps it between the
// data before the hole and the data after it on every channel. The packet
// comes from the feed's pool, whose only Get caller is that goroutine.
type noticer struct {
	recv *feed.Receiver
	pool *ring.Pool
	out  feed.Output

	sent    atomic.Uint64 // notices handed to every worker
	dropped atomic.Uint64 // notices a worker did not get (full input ring, pool buffer too small)
}

// lost sends the notice of upstream sequences from..to (inclusive).
func (n *noticer) lost(from, to uint64) {
	p := n.pool.Get()
	f := decode.UpstreamLossFields{Session: n.recv.Session(), From: from, To: to}
	if !publish.NoticePacket(p, f, clock.Nanotime()) {
		p.Release()
		n.dropped.Add(1)
		return
	}
	if n.out.Offer(p) { // takes the reference either way
		n.sent.Add(1)
		return
	}
	n.dropped.Add(1)
}
