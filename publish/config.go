package publish

import (
	"fmt"
	"net/netip"
	"time"

	"mdcast/decode"
)

// Defaults used when a Config field is left at its zero value.
const (
	DefaultFormat             = "quote"
	DefaultInterface          = "lo"
	DefaultTTL                = 1
	DefaultMaxPayload         = 1400
	DefaultHistoryMessages    = 1 << 20
	DefaultHistoryBytes       = 64 << 20
	DefaultHeartbeatIdle      = time.Second
	DefaultHeartbeatEarly     = time.Millisecond
	DefaultRetransmitLinger   = 20 * time.Millisecond
	DefaultMaxInFlight        = 256
	DefaultRateBytes          = 10_000_000
	DefaultBurst              = 256 << 10
	DefaultMaxRequesters      = 256
	DefaultGrace              = 2 * time.Second
	DefaultInputRing          = 1024
	DefaultRetransmitACLEntry = "127.0.0.0/8"

	// MinMaxPayload is the smallest accepted MaxPayload: a header and one
	// mdcast quote.
	MinMaxPayload = decode.PacketHeaderLen + decode.MessageLenSize + decode.QuoteLen
	// MaxMaxPayload is the largest UDP payload over IPv4.
	MaxMaxPayload = 65507
)

// Route modes.
const (
	RouteHash   = "hash"   // channel = key % number of channels
	RouteRanges = "ranges" // channel from an explicit list of key ranges
)

// Config configures the publish side of a daemon: the message format, the
// output interface, the channels, routing, history, heartbeats and the
// retransmission server. Zero values mean the defaults above; DefaultConfig
// returns the whole effective default. All workers of one daemon share one
// Config and differ in the channels they own.
type Config struct {
	// Format of the messages: "itch" or "quote" (decode.ParseFormat). It
	// decides how the routing key is read (decode.InstrumentKey).
	Format string `toml:"format"`
	// Interface is the multicast output interface, a name ("lo") or an IPv4 address.
	Interface string `toml:"interface"`
	// TTL is the multicast time to live.
	TTL int `toml:"ttl"`
	// Loop sets IP_MULTICAST_LOOP (nil = true: subscribers on this host see the traffic).
	Loop *bool `toml:"loop"`
	// MaxPayload is the UDP payload budget of one packet, header included.
	MaxPayload int `toml:"max_payload"`
	// SndBuf is SO_SNDBUF of the sender socket in bytes (0 = the kernel's).
	SndBuf int `toml:"sndbuf"`
	// Session is the MoldUDP64 session name ("" = NewSessionName at start).
	// A daemon running several workers sets it once so every channel carries
	// the same session.
	Session string `toml:"session"`
	// InputRing is the capacity of each worker's input ring (power of two).
	InputRing int `toml:"input_ring"`
	// Channels are the downstream channels; channel indexes are positions here.
	Channels []ChannelConfig `toml:"channel"`
	// Route decides the channel of each message.
	Route RouteConfig `toml:"route"`
	// History bounds what each channel keeps for retransmission.
	History HistoryConfig `toml:"history"`
	// Heartbeat sets the heartbeat schedule.
	Heartbeat HeartbeatConfig `toml:"heartbeat"`
	// Retransmit configures the re-request server.
	Retransmit RetransmitConfig `toml:"retransmit"`
	// Grace is how long re-requests are still answered after end of session.
	Grace time.Duration `toml:"grace"`
}

// ChannelConfig is one downstream channel.
type ChannelConfig struct {
	// Name labels the channel in counters and logs.
	Name string `toml:"name"`
	// Group is the multicast group and port, "239.x.y.z:port".
	Group string `toml:"group"`
	// RequestAddr is the unicast ip:port where the channel's re-requests
	// arrive (port 0: an ephemeral port, see Channel.RequestAddr).
	RequestAddr string `toml:"request_addr"`
}

// RouteConfig maps routing keys (ITCH stock locate or quote instrument) to channels.
type RouteConfig struct {
	// Mode is "hash" (key % channels) or "ranges"; "" means "ranges" when
	// Ranges are given and "hash" otherwise.
	Mode string `toml:"mode"`
	// Ranges list inclusive key ranges and their channel by name. A key in no
	// range is dropped and counted as unrouted.
	Ranges []RangeConfig `toml:"range"`
}

// RangeConfig routes the keys From..To (inclusive) to Channel.
type RangeConfig struct {
	From    uint32 `toml:"from"`
	To      uint32 `toml:"to"`
	Channel string `toml:"channel"`
}

// HistoryConfig bounds each channel's retransmission history; the oldest
// messages are evicted when either bound is reached.
type HistoryConfig struct {
	Messages int `toml:"messages"`
	Bytes    int `toml:"bytes"`
}

// HeartbeatConfig sets when an idle channel sends heartbeats: Early after the
// last data packet of a burst, then doubling up to Idle.
type HeartbeatConfig struct {
	Idle  time.Duration `toml:"idle"`
	Early time.Duration `toml:"early"`
}

// RetransmitConfig configures the re-request server of every channel.
type RetransmitConfig struct {
	// ACL lists the CIDRs allowed to re-request (default loopback only).
	ACL []string `toml:"acl"`
	// Linger: the same (requester, sequence, count) is answered at most once per window.
	Linger time.Duration `toml:"linger"`
	// MaxInFlight caps the responses within one linger window per worker.
	MaxInFlight int `toml:"max_in_flight"`
	// MaxInFlightPerRequester caps one requester's share of them (0: half
	// of MaxInFlight, at least 1), so one source asking for many ranges
	// cannot leave the others nothing but "busy".
	MaxInFlightPerRequester int `toml:"max_in_flight_per_requester"`
	// RateBytes is each requester's sustained budget in bytes per second.
	RateBytes int `toml:"rate_bytes"`
	// Burst is each requester's token bucket depth in bytes (at least MaxPayload).
	Burst int `toml:"burst"`
	// MaxRequesters bounds the requester table of the rate limiter.
	MaxRequesters int `toml:"max_requesters"`
}

// DefaultConfig returns the effective default: quotes, four channels on
// 239.255.0.1..4:31101..31104 through lo, re-requests on
// 127.0.0.1:31201..31204, every other field at its default. Route.Mode is
// left "" (hash, or ranges once ranges are added), so that a config file
// decoded over the default may add ranges without naming the mode.
func DefaultConfig() Config {
	loop := true
	c := Config{
		Format:     DefaultFormat,
		Interface:  DefaultInterface,
		TTL:        DefaultTTL,
		Loop:       &loop,
		MaxPayload: DefaultMaxPayload,
		InputRing:  DefaultInputRing,
		History:    HistoryConfig{Messages: DefaultHistoryMessages, Bytes: DefaultHistoryBytes},
		Heartbeat:  HeartbeatConfig{Idle: DefaultHeartbeatIdle, Early: DefaultHeartbeatEarly},
		Retransmit: RetransmitConfig{
			ACL:           []string{DefaultRetransmitACLEntry},
			Linger:        DefaultRetransmitLinger,
			MaxInFlight:   DefaultMaxInFlight,
			RateBytes:     DefaultRateBytes,
			Burst:         DefaultBurst,
			MaxRequesters: DefaultMaxRequesters,
		},
		Grace: DefaultGrace,
	}
	for i := 0; i < 4; i++ {
		c.Channels = append(c.Channels, ChannelConfig{
			Name:        fmt.Sprintf("ch%d", i),
			Group:       fmt.Sprintf("239.255.0.%d:%d", i+1, 31101+i),
			RequestAddr: fmt.Sprintf("127.0.0.1:%d", 31201+i),
		})
	}
	return c
}

// WithDefaults returns c with every zero field replaced by its default. The
// default channels apply only when c has none. Slices are copied, so the
// result shares no memory with c.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.Format == "" {
		c.Format = d.Format
	}
	if c.Interface == "" {
		c.Interface = d.Interface
	}
	if c.TTL == 0 {
		c.TTL = d.TTL
	}
	if c.Loop == nil {
		c.Loop = d.Loop
	} else {
		v := *c.Loop
		c.Loop = &v
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = d.MaxPayload
	}
	if c.InputRing == 0 {
		c.InputRing = d.InputRing
	}
	if len(c.Channels) == 0 {
		c.Channels = d.Channels
	} else {
		c.Channels = append([]ChannelConfig(nil), c.Channels...)
	}
	for i := range c.Channels {
		if c.Channels[i].Name == "" {
			c.Channels[i].Name = fmt.Sprintf("ch%d", i)
		}
	}
	c.Route.Ranges = append([]RangeConfig(nil), c.Route.Ranges...)
	if c.Route.Mode == "" {
		c.Route.Mode = RouteHash
		if len(c.Route.Ranges) > 0 {
			c.Route.Mode = RouteRanges
		}
	}
	if c.History.Messages == 0 {
		c.History.Messages = d.History.Messages
	}
	if c.History.Bytes == 0 {
		c.History.Bytes = d.History.Bytes
	}
	if c.Heartbeat.Idle == 0 {
		c.Heartbeat.Idle = d.Heartbeat.Idle
	}
	if c.Heartbeat.Early == 0 {
		c.Heartbeat.Early = d.Heartbeat.Early
	}
	r := &c.Retransmit
	if len(r.ACL) == 0 {
		r.ACL = d.Retransmit.ACL
	} else {
		r.ACL = append([]string(nil), r.ACL...)
	}
	if r.Linger == 0 {
		r.Linger = d.Retransmit.Linger
	}
	if r.MaxInFlight == 0 {
		r.MaxInFlight = d.Retransmit.MaxInFlight
	}
	if r.MaxInFlightPerRequester == 0 {
		r.MaxInFlightPerRequester = max(1, r.MaxInFlight/2)
	}
	if r.RateBytes == 0 {
		r.RateBytes = d.Retransmit.RateBytes
	}
	if r.Burst == 0 {
		r.Burst = d.Retransmit.Burst
	}
	if r.MaxRequesters == 0 {
		r.MaxRequesters = d.Retransmit.MaxRequesters
	}
	if c.Grace == 0 {
		c.Grace = d.Grace
	}
	return c
}

// Validate reports the first invalid field of c (after defaults), naming the
// field and the reason, e.g. `publish: channel[1].group "x": not an ip:port`.
// The returned error wraps ErrConfig.
func (c Config) Validate() error {
	_, err := c.resolve()
	return err
}

// resolved is a Config after defaults, with every address parsed.
type resolved struct {
	Config
	format  decode.Format
	session decode.Session // zero when Config.Session is ""
	groups  []netip.AddrPort
	reqs    []netip.AddrPort
	acl     ACL
	router  *Router
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// resolve applies defaults, validates every field and parses addresses.
func (c Config) resolve() (*resolved, error) {
	c = c.WithDefaults()
	r := &resolved{Config: c}
	var err error
	if r.format, err = decode.ParseFormat(c.Format); err != nil {
		return nil, invalid("format %q: not \"itch\" or \"quote\"", c.Format)
	}
	if c.TTL < 0 || c.TTL > 255 {
		return nil, invalid("ttl %d: not in 0..255", c.TTL)
	}
	if c.MaxPayload < MinMaxPayload || c.MaxPayload > MaxMaxPayload {
		return nil, invalid("max_payload %d: not in %d..%d", c.MaxPayload, MinMaxPayload, MaxMaxPayload)
	}
	if c.SndBuf < 0 {
		return nil, invalid("sndbuf %d: negative", c.SndBuf)
	}
	if c.Session != "" {
		if r.session, err = decode.MakeSession(c.Session); err != nil {
			return nil, invalid("session %q: %v", c.Session, err)
		}
	}
	if c.InputRing < 0 || c.InputRing&(c.InputRing-1) != 0 {
		return nil, invalid("input_ring %d: not a power of two", c.InputRing)
	}
	names := make(map[string]int, len(c.Channels))
	seenGroup := make(map[netip.AddrPort]int, len(c.Channels))
	seenReq := make(map[netip.AddrPort]int, len(c.Channels))
	for i, ch := range c.Channels {
		if j, dup := names[ch.Name]; dup {
			return nil, invalid("channel[%d].name %q: same as channel[%d]", i, ch.Name, j)
		}
		names[ch.Name] = i
		g, err := netip.ParseAddrPort(ch.Group)
		switch {
		case err != nil || !g.Addr().Is4():
			return nil, invalid("channel[%d].group %q: not an IPv4 ip:port", i, ch.Group)
		case !g.Addr().IsMulticast():
			return nil, invalid("channel[%d].group %q: not a multicast address", i, ch.Group)
		case g.Port() == 0:
			return nil, invalid("channel[%d].group %q: port 0", i, ch.Group)
		}
		if j, dup := seenGroup[g]; dup {
			return nil, invalid("channel[%d].group %q: same as channel[%d]", i, ch.Group, j)
		}
		seenGroup[g] = i
		q, err := netip.ParseAddrPort(ch.RequestAddr)
		switch {
		case err != nil || !q.Addr().Is4():
			return nil, invalid("channel[%d].request_addr %q: not an IPv4 ip:port", i, ch.RequestAddr)
		}
		if j, dup := seenReq[q]; dup && q.Port() != 0 {
			return nil, invalid("channel[%d].request_addr %q: same as channel[%d]", i, ch.RequestAddr, j)
		}
		seenReq[q] = i
		r.groups = append(r.groups, g)
		r.reqs = append(r.reqs, q)
	}
	if r.router, err = newRouter(c.Route, c.Channels); err != nil {
		return nil, err
	}
	h := c.History
	if h.Messages < 0 {
		return nil, invalid("history.messages %d: negative", h.Messages)
	}
	if h.Bytes < c.MaxPayload {
		return nil, invalid("history.bytes %d: smaller than max_payload %d", h.Bytes, c.MaxPayload)
	}
	hb := c.Heartbeat
	if hb.Idle < 0 {
		return nil, invalid("heartbeat.idle %v: negative", hb.Idle)
	}
	if hb.Early < 0 || hb.Early > hb.Idle {
		return nil, invalid("heartbeat.early %v: not in 0..idle (%v)", hb.Early, hb.Idle)
	}
	rt := c.Retransmit
	if r.acl, err = ParseACL(rt.ACL); err != nil {
		return nil, invalid("retransmit.acl: %v", err)
	}
	switch {
	case rt.Linger < 0:
		return nil, invalid("retransmit.linger %v: negative", rt.Linger)
	case rt.MaxInFlight < 0:
		return nil, invalid("retransmit.max_in_flight %d: negative", rt.MaxInFlight)
	case rt.MaxInFlightPerRequester < 0:
		return nil, invalid("retransmit.max_in_flight_per_requester %d: negative", rt.MaxInFlightPerRequester)
	case rt.RateBytes < 0:
		return nil, invalid("retransmit.rate_bytes %d: negative", rt.RateBytes)
	case rt.Burst < c.MaxPayload:
		return nil, invalid("retransmit.burst %d: smaller than max_payload %d", rt.Burst, c.MaxPayload)
	case rt.MaxRequesters < 0:
		return nil, invalid("retransmit.max_requesters %d: negative", rt.MaxRequesters)
	case c.Grace < 0:
		return nil, invalid("grace %v: negative", c.Grace)
	}
	return r, nil
}
