package feed

import (
	"testing"
	"time"

	"mdcast/internal/farseq"
)

// TestArbiterFarSequenceDropped: a lone packet (or heartbeat) whose
// sequence lies absurdly far from the stream, as an injector on the feed's
// segment can send, is dropped and counted instead of declaring the whole
// distance lost (ahead) or turning the real stream into duplicates
// (behind).
func TestArbiterFarSequenceDropped(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	h.data(0, sessA, 1, 5, 0)
	h.data(0, sessA, 1<<40, 3, 0)            // far ahead
	h.control(0, sessA, 1<<41, 0, 0)         // a heartbeat far ahead
	h.data(0, sessA, 6, 5, 0)                // the real stream carries on
	h.data(1, sessA, 1, 2, 0)                // B behind, but not far: a duplicate
	h.a.poll(int64(time.Second))             // no gap to declare
	h.data(0, sessA, 11+farseq.Jump+1, 1, 0) // just past the bound
	h.data(0, sessA, 11, 2, 0)
	h.want(seqRange(1, 12)...)
	if got := h.lc[0].FarSequence.Load(); got != 3 {
		t.Fatalf("FarSequence %d, want 3", got)
	}
	if h.c.Gaps.Load() != 0 || h.c.UpstreamLost.Load() != 0 {
		t.Fatalf("gaps %d, lost %d: a far packet was believed", h.c.Gaps.Load(), h.c.UpstreamLost.Load())
	}
	h.noLeak()
}

// TestArbiterFarSequenceResync: when the sender really moved far (only far
// packets arrive, farseq.Resync in a row), the arbiter follows it: ahead
// through the ordinary gap path (counted as upstream loss), behind as a
// late start.
func TestArbiterFarSequenceResync(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	h.data(0, sessA, 1, 5, 0)
	far := uint64(1 << 30)
	for i := 0; i < farseq.Resync; i++ {
		h.data(0, sessA, far+uint64(i), 1, 0)
	}
	if got := h.lc[0].FarSequence.Load(); got != farseq.Resync-1 {
		t.Fatalf("FarSequence %d, want %d", got, farseq.Resync-1)
	}
	h.a.poll(int64(time.Second)) // the gap before the far packet ages out: lost
	h.data(0, sessA, far+farseq.Resync, 1, 0)
	want := seqRange(1, 5)
	want = append(want, far+farseq.Resync-1, far+farseq.Resync)
	h.want(want...)
	if got, wantLost := h.c.UpstreamLost.Load(), far+farseq.Resync-1-6; got != wantLost {
		t.Fatalf("UpstreamLost %d, want %d", got, wantLost)
	}

	// Now far behind: the sender reset its sequences without a new session.
	for i := 0; i < farseq.Resync; i++ {
		h.data(0, sessA, 1+uint64(i), 1, 0)
	}
	h.data(0, sessA, 1+farseq.Resync, 1, 0)
	want = append(want, farseq.Resync, farseq.Resync+1)
	h.want(want...)
	h.noLeak()
}

// TestArbiterFarSequenceScattered: far packets with scattered sequences
// (junk, not a sender that moved) never add up to a resync, however many
// arrive in a row.
func TestArbiterFarSequenceScattered(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	h.data(0, sessA, 1, 5, 0)
	for i := 0; i < 4*farseq.Resync; i++ {
		h.data(0, sessA, uint64(1<<40)+uint64(i)*(2*farseq.Jump), 1, 0)
	}
	h.data(0, sessA, 6, 1, 0)
	h.want(seqRange(1, 6)...)
	if got := h.lc[0].FarSequence.Load(); got != 4*farseq.Resync {
		t.Fatalf("FarSequence %d, want %d", got, 4*farseq.Resync)
	}
	h.noLeak()
}
