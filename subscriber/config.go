package subscriber

import (
	"fmt"
	"math/bits"
	"net/netip"
	"time"

	"mdcast/decode"
	"mdcast/internal/lossinject"
)

// Defaults used when a Config or ConsumerConfig field is zero.
const (
	DefaultInterface     = "lo"
	DefaultBatch         = 32      // datagrams per recvmmsg
	DefaultRcvBuf        = 4 << 20 // SO_RCVBUF per channel socket
	DefaultPacketSize    = 2048    // receive buffer per datagram; MoldUDP64 payloads are <= MTU
	DefaultMaxDistance   = 64      // messages beyond a hole before it is re-requested early
	DefaultMaxWait       = 50 * time.Microsecond
	DefaultHoldPackets   = 1024 // reordered packets held per channel
	DefaultMaxGaps       = 64   // gap records per channel
	DefaultBaseDelay     = 50 * time.Microsecond
	DefaultRetryDelay    = 250 * time.Microsecond
	DefaultBackoff       = 2.0
	DefaultMaxDelay      = 5 * time.Millisecond
	DefaultDeadline      = 50 * time.Millisecond
	DefaultMaxRequest    = 1024 // messages per re-request
	DefaultIdle          = "block"
	DefaultSeed          = 0x6d64636173742d73 // "mdcast-s"
	DefaultRingSize      = 65536
	DefaultConflateSlots = 4096
)

// Config configures a Subscriber. The zero value of every field means its
// default (the DefaultX constants); Validate names the first bad field.
type Config struct {
	// Interface is the interface name ("lo", "eth0") or IPv4 address the
	// channel groups are joined on.
	Interface string `toml:"interface"`
	// Channels lists the channels to join; the index in this slice is the
	// Channel number carried by every Message.
	Channels []ChannelConfig `toml:"channel"`
	// Batch is the number of datagrams read per recvmmsg call.
	Batch int `toml:"batch"`
	// RcvBuf is SO_RCVBUF of each channel socket, in bytes.
	RcvBuf int `toml:"rcvbuf"`
	// PacketSize is the receive buffer per datagram; longer datagrams are
	// truncated and counted as malformed.
	PacketSize int `toml:"packet_size"`
	// Reorder bounds how long a hole waits for reordered packets.
	Reorder ReorderConfig `toml:"reorder"`
	// Retransmit configures re-requests.
	Retransmit RetransmitConfig `toml:"retransmit"`
	// LateJoin asks for history when joining mid-session.
	LateJoin LateJoinConfig `toml:"late_join"`
	// Loss injects deterministic drops on the receive path, by packet
	// sequence, for tests (see internal/lossinject). Zero = none.
	Loss lossinject.Config `toml:"loss"`
	// Idle is the receive agent's idle strategy when Start runs it:
	// "block" (park in poll(2) on the sockets; the default, nothing spins),
	// "backoff" (spin, yield, then park briefly) or "spin" (busy-poll a
	// core). Set "spin" also when the caller busy-polls DoWork on its own
	// thread: DoWork then finds the readable sockets with one epoll_wait(2)
	// instead of reading each socket.
	Idle string `toml:"idle"`
	// Pin locks the receive agent to CPU (when Start runs it).
	Pin bool `toml:"pin"`
	// CPU is the CPU the receive agent is pinned to when Pin is set.
	CPU int `toml:"cpu"`
	// Seed seeds the re-request jitter (and, unless Loss.Seed is set, the
	// loss injector), so a run is reproducible.
	Seed uint64 `toml:"seed"`
}

// ChannelConfig names one channel: a multicast group:port carrying
// MoldUDP64, and the unicast address that answers its re-requests.
type ChannelConfig struct {
	// Name is how mdtail and Stats show the channel (default "ch<index>").
	Name string `toml:"name"`
	// Group is the channel's multicast "ip:port".
	Group string `toml:"group"`
	// RequestAddr is the "ip:port" re-requests are sent to. Empty disables
	// recovery: every gap becomes a Loss at its deadline.
	RequestAddr string `toml:"request_addr"`
	// Format is the message format ("quote", the default, or "itch"); it
	// decides the instrument key used by Conflate consumers.
	Format decode.Format `toml:"format"`
}

// ReorderConfig bounds the wait for reordered packets: a hole is
// re-requested when it is older than MaxWait or when more than MaxDistance
// messages have arrived beyond it, whichever comes first.
type ReorderConfig struct {
	MaxDistance uint64        `toml:"max_distance"`
	MaxWait     time.Duration `toml:"max_wait"`
	// HoldPackets is how many out-of-order packets each channel keeps while
	// a hole before them is repaired. A packet that finds no room is dropped
	// and its range re-requested with the hole.
	HoldPackets int `toml:"hold_packets"`
	// MaxGaps is the number of distinct holes tracked per channel; past it
	// new holes merge into the last one (over-requesting, never losing).
	MaxGaps int `toml:"max_gaps"`
}

// RetransmitConfig schedules re-requests for a hole: the first after a
// random 0.5-1.5 x BaseDelay (so subscribers that lost the same packet do not
// all ask at once), a retry RetryDelay later if the answer has not come,
// then at delays multiplied by Backoff up to MaxDelay, until Deadline after
// the hole was seen (or last shrank), when it is delivered as a Loss.
type RetransmitConfig struct {
	BaseDelay time.Duration `toml:"base_delay"`
	// RetryDelay should exceed the request round trip, or answers arrive
	// twice.
	RetryDelay time.Duration `toml:"retry_delay"`
	Backoff    float64       `toml:"backoff"`
	MaxDelay   time.Duration `toml:"max_delay"`
	Deadline   time.Duration `toml:"deadline"`
	// MaxRequest caps the message count of one request.
	MaxRequest uint16 `toml:"max_request"`
}

// LateJoinConfig configures joining mid-session.
type LateJoinConfig struct {
	// History asks, on the first packet seen, for the History messages
	// before it; they are delivered first, in order. Zero starts at the
	// first packet seen.
	History int `toml:"history"`
}

// Validate reports the first invalid field, naming it and the reason. It
// does not modify c; zero fields are valid (they mean the default).
func (c Config) Validate() error {
	if len(c.Channels) == 0 {
		return fmt.Errorf("%w: channel: none configured", ErrConfig)
	}
	names := make(map[string]int, len(c.Channels))
	for i, ch := range c.Channels {
		if _, err := netip.ParseAddrPort(ch.Group); err != nil {
			return fmt.Errorf("%w: channel[%d].group %q: not an ip:port", ErrConfig, i, ch.Group)
		} else if ap, _ := netip.ParseAddrPort(ch.Group); !ap.Addr().Is4() || !ap.Addr().IsMulticast() || ap.Port() == 0 {
			return fmt.Errorf("%w: channel[%d].group %q: not an IPv4 multicast group with a port", ErrConfig, i, ch.Group)
		}
		if ch.RequestAddr != "" {
			ap, err := netip.ParseAddrPort(ch.RequestAddr)
			if err != nil || !ap.Addr().Is4() || ap.Port() == 0 {
				return fmt.Errorf("%w: channel[%d].request_addr %q: not an IPv4 ip:port", ErrConfig, i, ch.RequestAddr)
			}
		}
		if ch.Format != 0 && ch.Format != decode.FormatITCH && ch.Format != decode.FormatQuote {
			return fmt.Errorf("%w: channel[%d].format %d: unknown", ErrConfig, i, ch.Format)
		}
		name := c.channelName(i)
		if j, dup := names[name]; dup {
			return fmt.Errorf("%w: channel[%d].name %q: same as channel[%d]", ErrConfig, i, name, j)
		}
		names[name] = i
	}
	switch {
	case c.Batch < 0 || c.Batch > 1024:
		return fmt.Errorf("%w: batch %d: want 0..1024", ErrConfig, c.Batch)
	case c.RcvBuf < 0:
		return fmt.Errorf("%w: rcvbuf %d: negative", ErrConfig, c.RcvBuf)
	case c.PacketSize != 0 && (c.PacketSize < decode.PacketHeaderLen || c.PacketSize > 65536):
		return fmt.Errorf("%w: packet_size %d: want %d..65536", ErrConfig, c.PacketSize, decode.PacketHeaderLen)
	case c.Reorder.MaxWait < 0:
		return fmt.Errorf("%w: reorder.max_wait %v: negative", ErrConfig, c.Reorder.MaxWait)
	case c.Reorder.HoldPackets < 0 || c.Reorder.HoldPackets > 1<<16:
		return fmt.Errorf("%w: reorder.hold_packets %d: want 0..65536", ErrConfig, c.Reorder.HoldPackets)
	case c.Reorder.MaxGaps < 0 || c.Reorder.MaxGaps > 1<<12:
		return fmt.Errorf("%w: reorder.max_gaps %d: want 0..4096", ErrConfig, c.Reorder.MaxGaps)
	case c.Retransmit.BaseDelay < 0:
		return fmt.Errorf("%w: retransmit.base_delay %v: negative", ErrConfig, c.Retransmit.BaseDelay)
	case c.Retransmit.RetryDelay < 0:
		return fmt.Errorf("%w: retransmit.retry_delay %v: negative", ErrConfig, c.Retransmit.RetryDelay)
	case c.Retransmit.Backoff != 0 && c.Retransmit.Backoff < 1:
		return fmt.Errorf("%w: retransmit.backoff %v: want >= 1", ErrConfig, c.Retransmit.Backoff)
	case c.Retransmit.MaxDelay < 0:
		return fmt.Errorf("%w: retransmit.max_delay %v: negative", ErrConfig, c.Retransmit.MaxDelay)
	case c.Retransmit.Deadline < 0:
		return fmt.Errorf("%w: retransmit.deadline %v: negative", ErrConfig, c.Retransmit.Deadline)
	case c.LateJoin.History < 0:
		return fmt.Errorf("%w: late_join.history %d: negative", ErrConfig, c.LateJoin.History)
	case c.Pin && c.CPU < 0:
		return fmt.Errorf("%w: cpu %d: negative", ErrConfig, c.CPU)
	}
	switch c.Idle {
	case "", "block", "backoff", "spin":
	default:
		return fmt.Errorf("%w: idle %q: want block, backoff or spin", ErrConfig, c.Idle)
	}
	if err := c.Loss.Validate(); err != nil {
		return fmt.Errorf("%w: loss: %v", ErrConfig, err)
	}
	return nil
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Interface == "" {
		c.Interface = DefaultInterface
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Batch, DefaultBatch)
	def(&c.RcvBuf, DefaultRcvBuf)
	def(&c.PacketSize, DefaultPacketSize)
	def(&c.Reorder.HoldPackets, DefaultHoldPackets)
	def(&c.Reorder.MaxGaps, DefaultMaxGaps)
	if c.Reorder.MaxDistance == 0 {
		c.Reorder.MaxDistance = DefaultMaxDistance
	}
	if c.Reorder.MaxWait == 0 {
		c.Reorder.MaxWait = DefaultMaxWait
	}
	r := &c.Retransmit
	if r.BaseDelay == 0 {
		r.BaseDelay = DefaultBaseDelay
	}
	if r.RetryDelay == 0 {
		r.RetryDelay = DefaultRetryDelay
	}
	if r.Backoff == 0 {
		r.Backoff = DefaultBackoff
	}
	if r.MaxDelay == 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.Deadline == 0 {
		r.Deadline = DefaultDeadline
	}
	if r.MaxRequest == 0 {
		r.MaxRequest = DefaultMaxRequest
	}
	if c.Idle == "" {
		c.Idle = DefaultIdle
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	c.Channels = append([]ChannelConfig(nil), c.Channels...)
	for i := range c.Channels {
		c.Channels[i].Name = c.channelName(i)
		if c.Channels[i].Format == 0 {
			c.Channels[i].Format = decode.FormatQuote
		}
	}
	return c
}

func (c Config) channelName(i int) string {
	if c.Channels[i].Name != "" {
		return c.Channels[i].Name
	}
	return fmt.Sprintf("ch%d", i)
}

// Policy decides what a Consumer's ring does when the consumer falls a whole
// ring behind. The receive agent never waits for a consumer.
type Policy uint8

// Policies.
const (
	// DropOldest overwrites the oldest unread messages; the consumer then
	// receives a Loss event with Reason SlowConsumer and the exact range of
	// each channel's sequences it missed. The default.
	DropOldest Policy = iota
	// Conflate stops writing to the full ring and keeps only the latest
	// message per instrument (decode.InstrumentKey of the channel's Format),
	// delivered when the consumer catches up; replaced messages are counted
	// as conflated, not reported as Loss. Events are barriers: a message
	// never replaces one queued before an event, so nothing that arrived
	// after an event is delivered before it.
	Conflate
)

// String returns "drop-oldest" or "conflate".
func (p Policy) String() string {
	if p == Conflate {
		return "conflate"
	}
	return "drop-oldest"
}

// MarshalText implements encoding.TextMarshaler ("drop-oldest", "conflate").
func (p Policy) MarshalText() ([]byte, error) {
	if p > Conflate {
		return nil, fmt.Errorf("%w: policy %d: unknown", ErrConfig, p)
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, so TOML configs name
// the policy.
func (p *Policy) UnmarshalText(b []byte) error {
	switch string(b) {
	case "drop-oldest", "":
		*p = DropOldest
	case "conflate":
		*p = Conflate
	default:
		return fmt.Errorf("%w: policy %q: want drop-oldest or conflate", ErrConfig, b)
	}
	return nil
}

// ConsumerConfig configures one Consumer.
type ConsumerConfig struct {
	// Name shows in Stats (default "consumer<index>").
	Name string `toml:"name"`
	// RingSize is the number of Message slots of the consumer's ring, a
	// power of two (default 65536).
	RingSize int `toml:"ring_size"`
	// Policy decides what happens when the ring is full.
	Policy Policy `toml:"policy"`
	// Channels lists the channel names this consumer receives; nil = all.
	Channels []string `toml:"channels"`
	// ConflateSlots bounds the number of pending conflated messages
	// (instruments plus events) of a Conflate consumer (default 4096).
	ConflateSlots int `toml:"conflate_slots"`
}

// Validate reports the first invalid field.
func (c ConsumerConfig) Validate() error {
	if c.RingSize != 0 && (c.RingSize < 2 || bits.OnesCount(uint(c.RingSize)) != 1 || c.RingSize > 1<<24) {
		return fmt.Errorf("%w: consumer %q ring_size %d: not a power of two in 2..2^24", ErrConfig, c.Name, c.RingSize)
	}
	if c.Policy > Conflate {
		return fmt.Errorf("%w: consumer %q policy %d: unknown", ErrConfig, c.Name, c.Policy)
	}
	if c.ConflateSlots < 0 || c.ConflateSlots > 1<<20 {
		return fmt.Errorf("%w: consumer %q conflate_slots %d: want 0..2^20", ErrConfig, c.Name, c.ConflateSlots)
	}
	return nil
}
