package subscriber

import (
	"testing"

	"mdcast/decode"
	"mdcast/internal/farseq"
)

// TestChannelFarSequenceDropped: a forged packet (and heartbeat) of the
// channel's session far ahead of the stream is dropped and counted; the
// stream carries on with no gap and no Loss (simChannel fails on a Loss).
func TestChannelFarSequenceDropped(t *testing.T) {
	sim := newSim(t, 16, 1)
	for seq := uint64(1); seq <= 10; seq++ {
		sim.deliver(sim.packet(seq, 1), false)
		sim.tick()
	}
	forged := decode.AppendMessage(decode.AppendPacketHeader(nil, sim.s, 1<<40, 1), make([]byte, 20))
	sim.deliver(forged, false)
	sim.deliver(decode.AppendPacketHeader(nil, sim.s, 1<<41, 0), false) // heartbeat
	sim.tick()
	for seq := uint64(11); seq <= 20; seq++ {
		sim.deliver(sim.packet(seq, 1), false)
		sim.tick()
	}
	if len(sim.got) != 20 || sim.got[19] != 20 {
		t.Fatalf("delivered %v", sim.got)
	}
	if got := sim.c.ctr.farSequence.Load(); got != 2 {
		t.Fatalf("farSequence %d, want 2", got)
	}
	if sim.c.ctr.gaps.Load() != 0 || len(sim.reqs) != 0 || sim.c.highest != 21 {
		t.Fatalf("gaps %d, requests %d, highest %d: the forged packet was believed", sim.c.ctr.gaps.Load(), len(sim.reqs), sim.c.highest)
	}
}

// TestChannelFarSequenceFollowed: a run of farseq.Resync packets far ahead,
// each near the one before, is a sender that really moved: the channel
// follows it and the skipped range becomes a gap to repair.
func TestChannelFarSequenceFollowed(t *testing.T) {
	sim := newSim(t, 16, 1)
	sim.deliver(sim.packet(1, 1), false)
	far := uint64(1 << 30)
	for i := uint64(0); i < farseq.Resync; i++ {
		sim.deliver(decode.AppendMessage(decode.AppendPacketHeader(nil, sim.s, far+i, 1), make([]byte, 20)), false)
	}
	if got := sim.c.ctr.farSequence.Load(); got != farseq.Resync-1 {
		t.Fatalf("farSequence %d, want %d", got, farseq.Resync-1)
	}
	if sim.c.highest != far+farseq.Resync || sim.c.ctr.gaps.Load() != 1 {
		t.Fatalf("highest %d, gaps %d: the run was not followed", sim.c.highest, sim.c.ctr.gaps.Load())
	}
}

// TestChannelFarSequenceScattered: scattered far sequences never make a
// run, however many arrive.
func TestChannelFarSequenceScattered(t *testing.T) {
	sim := newSim(t, 16, 1)
	sim.deliver(sim.packet(1, 1), false)
	for i := uint64(0); i < 4*farseq.Resync; i++ {
		sim.deliver(decode.AppendPacketHeader(nil, sim.s, 1<<40+i*2*farseq.Jump, 0), false)
	}
	if got := sim.c.ctr.farSequence.Load(); got != 4*farseq.Resync || sim.c.highest != 2 {
		t.Fatalf("farSequence %d, highest %d", got, sim.c.highest)
	}
}
