package decode_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pkts := snippetPackets(t)
	for _, c := range []struct {
		name string
		fn   func([][]byte) (int, uint64)
	}{{"wraponly", wrapAll}, {"iter", walkAll}, {"iteradd", decodeAll}, {"rangeadd", decodeAllRange}} {
		best := time.Hour
		for r := 0; r < 5; r++ {
			msgs := 0
			t0 := threadCPU()
			for i := 0; i < 20000; i++ {
				n, s := c.fn(pkts)
				msgs += n
				sink += s
			}
			d := (threadCPU() - t0) / time.Duration(msgs/1000)
			if d < best {
				best = d
			}
		}
		t.Logf("%-10s %.2f ns/msg (thread CPU time, best of 5)", c.name, float64(best)/1000)
	}
}
