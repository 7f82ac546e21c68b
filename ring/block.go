//go:build linux

package ring

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"mdcast/internal/clock"
)

// DefaultBlockMaxPark is the longest a Block parks when NewBlock is given
// maxPark <= 0: the agent then runs its DoWork at least this often, which
// bounds how late its timers fire.
const DefaultBlockMaxPark = time.Millisecond

// Before it parks, a Block spins and yields like Backoff (same counts), so
// an agent whose input arrives within a microsecond or so never pays for a
// park, and its producers' Wake finds it unarmed and costs no system call.
// Without this phase a streaming consumer that keeps catching up would arm
// and park per item (measured here: about 1.5 µs per item instead of tens
// of nanoseconds).
const (
	blockSpins  = DefaultBackoffMaxSpins
	blockYields = DefaultBackoffMaxYields
)

// Waker lets producers unpark a consumer that waits in a Block. It wraps a
// non-blocking eventfd and an "armed" flag: the consumer arms the flag
// before it parks, and Wake writes the eventfd only when the flag is set,
// so while the consumer is awake a producer's Wake costs a memory fence and
// one atomic load (of a line nobody writes then), and no system call.
//
// Wake is safe from any number of producer goroutines; a Waker serves one
// consumer (one Block). Wake does not allocate.
type Waker struct {
	_     pad
	armed atomic.Int32 // 4 B: 1 while the consumer is (about to be) parked; written by the consumer and by the Wake that clears it
	_     pad
	fd    int     // read-only: the eventfd
	one   [8]byte // read-only: the value Wake writes (1, host byte order)
	_     pad
}

// NewWaker returns a Waker owning a new eventfd.
func NewWaker() (*Waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("ring: eventfd: %w", err)
	}
	w := &Waker{fd: fd}
	binary.NativeEndian.PutUint64(w.one[:], 1)
	return w, nil
}

// FD returns the eventfd, readable after a Wake of an armed Waker.
func (w *Waker) FD() int { return w.fd }

// Close closes the eventfd. Call it after the consumer and producers have
// stopped using the Waker.
func (w *Waker) Close() error {
	if err := unix.Close(w.fd); err != nil {
		return fmt.Errorf("ring: close eventfd: %w", err)
	}
	return nil
}

// Wake unparks the consumer if it is parked or about to park. Producers call
// it after publishing (after Offer or OfferBatch returned).
//
// Lost-wakeup argument: the producer's publishing store (the ring's tail or
// slot sequence) precedes its load of armed here (fence below); the consumer's store of
// armed (Block's first idle call) precedes its next check of the ring (the
// agent's DoWork) and the poll after it. sync/atomic is sequentially
// consistent, so in the single order of these four operations either the
// producer's load sees armed == 1, and the Swap below hands exactly one
// producer the job of writing the eventfd (which ends or pre-empts the
// poll), or the consumer's check runs after the publish and sees the item.
// A parked consumer therefore never misses a published item.
func (w *Waker) Wake() {
	// The rings publish with release stores (storeRelease), which on
	// amd64 may still sit in the store buffer when the load below runs;
	// fence drains it so the publish comes first in the order the
	// argument above relies on. Where storeRelease is a sequentially
	// consistent store, fence is a no-op.
	fence()
	if w.armed.Load() != 0 && w.armed.Swap(0) != 0 {
		w.signal()
	}
}

// signal writes the eventfd. The counter saturating (EAGAIN) still leaves
// it readable, so the error is of no consequence.
func (w *Waker) signal() {
	_, _ = unix.Write(w.fd, w.one[:])
}

// Block parks the agent's goroutine (and its OS thread) in ppoll(2) on the
// agent's file descriptors plus a Waker's eventfd, for at most maxPark. It
// suits agents that must not spin: a receiver blocks until a socket is
// readable, a worker until a producer signals its input ring.
//
// After work, the first idle calls spin and then yield (blockSpins,
// blockYields). Then, with a Waker, one idle call only arms the Waker and
// returns, so the agent checks its inputs once more before the next idle
// call parks: arm, re-check, then poll (see Waker.Wake for why no wakeup is
// lost). Without a Waker the fds are level-triggered and there is no arming
// step. After a park, Block disarms the Waker and drains its eventfd; it
// keeps parking on idle calls until work resets it.
//
// A Block belongs to one agent's goroutine; Idle does not allocate.
type Block struct {
	_       pad
	pfds    []unix.PollFd // the agent's fds, then the waker's eventfd last
	ts      unix.Timespec // maxPark, reloaded before each ppoll; kept here so the pointer argument does not escape per call
	waker   *Waker        // may be nil
	armed   bool          // the waker is armed and the re-check has been given
	spins   int           // idle spins since the last work
	yields  int           // idle yields since the last work
	drain   [8]byte       // eventfd read buffer
	maxPark time.Duration
	spinNs  int64 // SetSpin: keep spinning this long after the last work
	idleNs  int64 // clock.Nanotime() of the first idle call since work
	_       pad
}

// SetSpin makes the Block keep spinning for d after the last work before
// it yields and parks (0, the default, spins only blockSpins times). A
// stream whose items arrive closer together than d then never parks, so it
// pays no wake-up per item (10-25 µs across cores on a small VM), while an
// idle agent still parks d after its last work. Call it before the agent
// runs.
func (b *Block) SetSpin(d time.Duration) { b.spinNs = int64(d) }

// NewBlock returns a Block waiting on fds (for readability) and on w's
// eventfd. w may be nil and fds empty, but not both (ErrNoWakeSource).
// maxPark <= 0 means DefaultBlockMaxPark.
func NewBlock(fds []int, w *Waker, maxPark time.Duration) (*Block, error) {
	if len(fds) == 0 && w == nil {
		return nil, ErrNoWakeSource
	}
	if maxPark <= 0 {
		maxPark = DefaultBlockMaxPark
	}
	b := &Block{waker: w, maxPark: maxPark, ts: unix.NsecToTimespec(int64(maxPark))}
	for _, fd := range fds {
		if fd < 0 {
			return nil, fmt.Errorf("ring: block fd %d: negative", fd)
		}
		b.pfds = append(b.pfds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	if w != nil {
		b.pfds = append(b.pfds, unix.PollFd{Fd: int32(w.fd), Events: unix.POLLIN})
	}
	return b, nil
}

// Idle returns at once after work; otherwise it spins, yields, arms the
// Waker, or parks, in that order over consecutive idle calls.
func (b *Block) Idle(workCount int) {
	if workCount > 0 {
		b.Reset()
		return
	}
	if b.spins < blockSpins {
		if b.spins == 0 && b.spinNs > 0 {
			b.idleNs = clock.Nanotime()
		}
		b.spins++
		procyield(1)
		return
	}
	if b.spinNs > 0 && b.yields == 0 && clock.Nanotime()-b.idleNs < b.spinNs {
		procyield(1)
		return
	}
	if b.yields < blockYields {
		b.yields++
		runtime.Gosched()
		return
	}
	if b.waker != nil && !b.armed {
		b.waker.armed.Store(1)
		b.armed = true
		return // let the agent re-check its inputs before parking
	}
	b.park()
}

// park waits in ppoll for readability or the timeout. EINTR (the Go
// runtime's preemption signal) just ends the park early.
func (b *Block) park() {
	for i := range b.pfds {
		b.pfds[i].Revents = 0
	}
	// The raw ppoll system call writes the time left back into its
	// timeout argument (glibc's wrapper hides this), so after one full
	// timeout b.ts would read zero and every later park would return at
	// once: an idle agent would spin. Reload it before each call.
	b.ts = unix.NsecToTimespec(int64(b.maxPark))
	_, _ = unix.Ppoll(b.pfds, &b.ts, nil)
	if b.waker == nil {
		return
	}
	b.waker.armed.Store(0)
	b.armed = false
	if b.pfds[len(b.pfds)-1].Revents&unix.POLLIN != 0 {
		_, _ = unix.Read(b.waker.fd, b.drain[:])
	}
}

// Reset disarms the Waker and restarts the spin phase.
func (b *Block) Reset() {
	b.spins, b.yields = 0, 0
	if b.armed {
		b.waker.armed.Store(0)
		b.armed = false
	}
}

// Wake unparks the Block's own goroutine through its Waker, if it has one;
// Runner.Close uses it to stop a parked agent promptly.
func (b *Block) Wake() {
	if b.waker != nil {
		b.waker.Wake()
	}
}
