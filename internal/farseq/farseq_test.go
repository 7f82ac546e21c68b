package farseq

import "testing"

func TestFar(t *testing.T) {
	for _, c := range []struct {
		seq, ref uint64
		far      bool
	}{
		{100, 100, false},
		{100 + Jump, 100, false},
		{101 + Jump, 100, true},
		{100, 100 + Jump, false},
		{100, 101 + Jump, true},
		{^uint64(0), 0, true},
		{0, ^uint64(0), true},
	} {
		if got := Far(c.seq, c.ref); got != c.far {
			t.Errorf("Far(%d, %d) = %v, want %v", c.seq, c.ref, got, c.far)
		}
	}
}

// TestRun: Resync far packets near one another are followed on the last;
// scattered ones never are; Reset restarts the count.
func TestRun(t *testing.T) {
	var r Run
	base := uint64(1) << 40
	for i := range uint64(Resync - 1) {
		if r.Follow(base + i) {
			t.Fatalf("followed after %d packets", i+1)
		}
	}
	if !r.Follow(base + Resync) {
		t.Fatal("not followed after Resync packets in a row")
	}
	if r.Follow(base + Resync + 1) {
		t.Fatal("run did not restart after following")
	}
	r.Reset()
	for i := range uint64(4 * Resync) {
		if r.Follow(base + i*2*Jump) { // each far from the one before
			t.Fatalf("scattered packets followed at %d", i)
		}
	}
	for i := range uint64(Resync - 1) {
		r.Follow(base + i)
	}
	r.Reset()
	if r.Follow(base) {
		t.Fatal("Reset did not restart the count")
	}
}
