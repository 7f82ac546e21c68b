//go:build !linux

package ring

import "time"

// DefaultBlockMaxPark is the longest a Block parks when NewBlock is given
// maxPark <= 0.
const DefaultBlockMaxPark = time.Millisecond

// Waker needs eventfd, which only Linux has; NewWaker returns ErrUnsupported
// elsewhere.
type Waker struct{}

// NewWaker returns ErrUnsupported outside Linux.
func NewWaker() (*Waker, error) { return nil, ErrUnsupported }

// FD returns -1 outside Linux.
func (w *Waker) FD() int { return -1 }

// Close does nothing outside Linux.
func (w *Waker) Close() error { return nil }

// Wake does nothing outside Linux.
func (w *Waker) Wake() {}

// Block needs ppoll and eventfd, which this port does not implement outside
// Linux; NewBlock returns ErrUnsupported. Use Backoff instead.
type Block struct{}

// NewBlock returns ErrUnsupported outside Linux.
func NewBlock(fds []int, w *Waker, maxPark time.Duration) (*Block, error) {
	return nil, ErrUnsupported
}

// Idle does nothing outside Linux.
func (b *Block) Idle(workCount int) {}

// Reset does nothing outside Linux.
func (b *Block) Reset() {}

// Wake does nothing outside Linux.
func (b *Block) Wake() {}
