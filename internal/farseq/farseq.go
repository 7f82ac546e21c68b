// Package farseq guards a sequenced stream (a MoldUDP64 line or channel)
// against a sequence number far from where the stream is. Multicast and
// UDP are unauthenticated: believed, one forged or corrupt packet far ahead
// declares up to 2^64 messages lost, and one far behind makes the real
// stream look like duplicates. A receiver drops and counts such a packet,
// unless a Run of them says the sender really moved (a long outage, or a
// sequence reset without a new session). The feed's arbiter and the
// subscriber's channels share this rule.
package farseq

const (
	// Jump is how far from the expected sequence a packet is "far": 2^24
	// messages is seconds of the busiest feed, far more than any reorder,
	// outage or history the gap logic repairs.
	Jump = 1 << 24
	// Resync is how many far packets in a row, each within Jump of the one
	// before, make the receiver follow the sender.
	Resync = 64
)

// Far reports whether seq lies more than Jump sequences from ref, either way.
func Far(seq, ref uint64) bool {
	if seq >= ref {
		return seq-ref > Jump
	}
	return ref-seq > Jump
}

// Run counts far packets in a row. A sender that moved sends packets near
// one another; scattered sequences (junk) keep restarting the run. The zero
// value is an empty run; a Run belongs to one receiving goroutine.
type Run struct {
	n    int
	last uint64
}

// Reset ends the run: a packet near the expected sequence arrived.
func (r *Run) Reset() { r.n = 0 }

// Follow records a far packet at seq and reports whether it completes a
// run of Resync: then the receiver follows it (and the run starts afresh);
// otherwise it drops the packet and counts it.
func (r *Run) Follow(seq uint64) bool {
	if r.n > 0 && !Far(seq, r.last) {
		r.n++
	} else {
		r.n = 1
	}
	r.last = seq
	if r.n < Resync {
		return false
	}
	r.n = 0
	return true
}
