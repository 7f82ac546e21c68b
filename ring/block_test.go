//go:build linux

package ring

import (
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func readable(t *testing.T, fd int) bool {
	t.Helper()
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// idleToArm makes the idle calls of a Block's spin and yield phases and the
// one that arms its Waker; none of them may park.
func idleToArm(b *Block) {
	for range blockSpins + blockYields + 1 {
		b.Idle(0)
	}
}

func newWaker(t *testing.T) *Waker {
	t.Helper()
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return w
}

func TestNewBlockErrors(t *testing.T) {
	if _, err := NewBlock(nil, nil, time.Millisecond); !errors.Is(err, ErrNoWakeSource) {
		t.Fatalf("no source: err = %v", err)
	}
	if _, err := NewBlock([]int{-1}, nil, 0); err == nil {
		t.Fatal("negative fd accepted")
	}
	w := newWaker(t)
	b, err := NewBlock(nil, w, 0)
	if err != nil || b.maxPark != DefaultBlockMaxPark {
		t.Fatalf("default maxPark: %v %v", b, err)
	}
}

// TestWakerOnlyWhenArmed checks that Wake writes the eventfd only while
// the consumer has armed it, and only once per arming.
func TestWakerOnlyWhenArmed(t *testing.T) {
	w := newWaker(t)
	w.Wake()
	if readable(t, w.FD()) {
		t.Fatal("Wake of an unarmed Waker wrote the eventfd")
	}
	b, _ := NewBlock(nil, w, time.Minute)
	idleToArm(b) // arms
	if w.armed.Load() != 1 {
		t.Fatal("first idle call did not arm")
	}
	w.Wake()
	if !readable(t, w.FD()) {
		t.Fatal("Wake of an armed Waker did not write the eventfd")
	}
	if w.armed.Load() != 0 {
		t.Fatal("Wake did not disarm")
	}
	// The pending signal ends the next park at once and is drained.
	start := time.Now()
	b.Idle(0)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("park with a pending wake took %v", d)
	}
	if readable(t, w.FD()) {
		t.Fatal("park did not drain the eventfd")
	}
	b.Idle(1)
	idleToArm(b) // arms again
	b.Idle(1)    // work disarms
	if w.armed.Load() != 0 {
		t.Fatal("work did not disarm")
	}
}

// TestBlockParksOnFD checks a Block without a Waker wakes when its fd
// becomes readable and times out at maxPark otherwise.
func TestBlockParksOnFD(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	b, err := NewBlock([]int{p[0]}, nil, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for range blockSpins + blockYields { // no waker: no arming call
		b.Idle(0)
	}
	start := time.Now()
	b.Idle(0)
	if d := time.Since(start); d < 10*time.Millisecond {
		t.Fatalf("park on an idle fd returned after %v, before maxPark", d)
	}
	b, _ = NewBlock([]int{p[0]}, nil, time.Minute)
	for range blockSpins + blockYields {
		b.Idle(0)
	}
	if _, err := unix.Write(p[1], []byte{1}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	b.Idle(0)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("park on a readable fd took %v", d)
	}
}

// TestBlockNoLostWakeup ping-pongs items one at a time between a producer
// and a consumer that parks in a Block with a one-minute maxPark. A lost
// wakeup would stall an item for a minute; each item must arrive within a
// few seconds, so the test fails instead.
func TestBlockNoLostWakeup(t *testing.T) {
	items := 5000
	if raceEnabled || testing.Short() {
		items = 1000
	}
	w := newWaker(t)
	r, _ := NewSPSC[int](16)
	acks := make(chan int, 1)
	go func() {
		b, _ := NewBlock(nil, w, time.Minute)
		dst := make([]int, 16)
		for got := 0; got < items; {
			n := r.Poll(dst)
			for _, v := range dst[:n] {
				acks <- v
			}
			got += n
			b.Idle(n)
		}
	}()
	for i := range items {
		if !r.Offer(i) {
			t.Fatal("ring full in a ping-pong")
		}
		w.Wake()
		select {
		case v := <-acks:
			if v != i {
				t.Fatalf("got %d, want %d", v, i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("item %d not consumed within 5s: lost wakeup", i)
		}
	}
}

// TestBlockNoLostWakeupMPSC streams items from two producers, each Offer
// followed by Wake, into a consumer parked in a Block with a one-minute
// maxPark; producers pause at random so the consumer keeps going through
// arm, re-check and park. A lost wakeup would leave the last items
// undelivered for a minute; the test allows ten seconds.
func TestBlockNoLostWakeupMPSC(t *testing.T) {
	const producers = 2
	per := 20_000
	if raceEnabled || testing.Short() {
		per = 2_000
	}
	w := newWaker(t)
	r, _ := NewMPSC[int](64)
	done := make(chan int, 1)
	go func() {
		b, _ := NewBlock(nil, w, time.Minute)
		dst := make([]int, 16)
		got := 0
		for got < producers*per {
			n := r.Poll(dst)
			got += n
			b.Idle(n)
		}
		done <- got
	}()
	for p := range producers {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(p), 1))
			for i := range per {
				for !r.Offer(i) {
					runtime.Gosched()
				}
				w.Wake()
				if rng.IntN(8) == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	select {
	case got := <-done:
		if got != producers*per {
			t.Fatalf("got %d items, want %d", got, producers*per)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("items not consumed within 10s: lost wakeup")
	}
}

// TestBlockArmRecheck drives both windows of the lost-wakeup argument by
// hand on one goroutine, with a maxPark long enough that a park that
// should not happen (or a wake that is lost) shows as a slow Idle.
func TestBlockArmRecheck(t *testing.T) {
	const maxPark = 3 * time.Second
	quick := func(what string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		if d := time.Since(start); d > maxPark/2 {
			t.Fatalf("%s took %v: parked without a wake", what, d)
		}
	}
	w := newWaker(t)
	b, _ := NewBlock(nil, w, maxPark)
	r, _ := NewSPSC[int](4)
	dst := make([]int, 4)

	// Window 1: the producer publishes after the consumer found the ring
	// empty but before it armed; Wake sees it unarmed and does nothing.
	if r.Poll(dst) != 0 {
		t.Fatal("not empty")
	}
	r.Offer(1)
	w.Wake()
	quick("idle calls up to arming", func() { idleToArm(b) }) // must not park
	if r.Poll(dst) != 1 {                                     // the re-check finds the item
		t.Fatal("re-check missed the item")
	}
	b.Idle(1)

	// Window 2: the producer publishes after the consumer armed and
	// re-checked; Wake sees it armed and signals, so the park ends at once.
	idleToArm(b)
	if r.Poll(dst) != 0 {
		t.Fatal("not empty")
	}
	r.Offer(2)
	w.Wake()
	quick("park after a wake", func() { b.Idle(0) })
	if r.Poll(dst) != 1 || dst[0] != 2 {
		t.Fatal("item lost")
	}
}

// TestBlockParksForMaxParkEachTime guards against ppoll's write-back of the
// time left: the raw system call stores the remaining time into its timeout
// argument, so a Block that reuses it parks for zero after its first full
// timeout and the idle agent spins. Over 200 ms of idling with a 20 ms
// park there can be about ten parks, not thousands of idle calls.
func TestBlockParksForMaxParkEachTime(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	b, err := NewBlock([]int{int(r.Fd())}, nil, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; calls++ {
		b.Idle(0)
	}
	// blockSpins + blockYields idle calls return at once, then each park
	// takes 20 ms: about 25 calls in all; allow scheduling noise.
	if max := blockSpins + blockYields + 40; calls > max {
		t.Fatalf("%d idle calls in 200ms with a 20ms park: parks return early (want <= %d)", calls, max)
	}
}

// TestBlockSetSpin checks the spin window: for SetSpin's duration after the
// last work a Block does not park (idle calls return at once), and after it
// the Block parks as before.
func TestBlockSetSpin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	b, err := NewBlock([]int{int(r.Fd())}, nil, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	b.SetSpin(50 * time.Millisecond)
	b.Idle(1) // work: the window starts at the next idle call
	calls := 0
	for start := time.Now(); time.Since(start) < 10*time.Millisecond; calls++ {
		b.Idle(0)
	}
	// A park would take 20 ms, longer than the whole loop.
	if calls < 100 {
		t.Fatalf("only %d idle calls in the first 10ms of a 50ms spin window: it parked", calls)
	}
	time.Sleep(50 * time.Millisecond) // the window is over
	calls = 0
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; calls++ {
		b.Idle(0)
	}
	if max := blockYields + 40; calls > max {
		t.Fatalf("%d idle calls in 200ms after the spin window: not parking (want <= %d)", calls, max)
	}
}
