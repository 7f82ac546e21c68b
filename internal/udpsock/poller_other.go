//go:build !linux

package udpsock

// Poller is not supported on this platform: NewPoller returns an error.
type Poller struct{}

// NewPoller is not supported on this platform.
func NewPoller() (*Poller, error) { return nil, unsupported("epoll") }

// Add is not supported on this platform.
func (p *Poller) Add(c *Conn, token int32) error { return unsupported("epoll") }

// Poll is not supported on this platform.
func (p *Poller) Poll() (int, error) { return 0, unsupported("epoll") }

// Token is not supported on this platform.
func (p *Poller) Token(i int) int32 { return -1 }

// Close is not supported on this platform.
func (p *Poller) Close() error { return unsupported("epoll") }
