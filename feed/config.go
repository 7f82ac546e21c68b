package feed

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"mdcast/decode"
	"mdcast/internal/lossinject"
	"mdcast/ring"
)

// Defaults used for zero Config fields.
const (
	DefaultFormat           = "quote"              // message format carried by the feed
	DefaultBatch            = 32                   // datagrams per recvmmsg call
	DefaultGapMaxDistance   = 256                  // sequences ahead of the hole before a gap is declared
	DefaultGapMaxWait       = 2 * time.Millisecond // age of a hole before a gap is declared
	DefaultGapMaxHeld       = 1024                 // packets the reorder buffer holds
	DefaultRecoveryTimeout  = 5 * time.Millisecond // wait for an answer to one re-request
	DefaultRecoveryRetries  = 3                    // re-requests after the first, without progress, before loss
	DefaultInterface        = "lo"                 // interface multicast groups are joined on
	DefaultRcvBuf           = 4 << 20              // SO_RCVBUF bytes per line socket
	DefaultAddr             = "127.0.0.1:31000"    // line A of DefaultConfig
	DefaultReplaySpeed      = 1.0                  // replay at capture speed
	DefaultReplayMaxPayload = 1400                 // BinaryFILE packing budget, UDP payload bytes
	DefaultReplaySession    = "REPLAY"             // session of packets built from a BinaryFILE
)

// Limits enforced by Validate.
const (
	maxBatch        = 1024
	maxLines        = 2
	maxLineNameLen  = 16
	maxUDPPayload   = 65507
	minReplayBudget = decode.PacketHeaderLen + decode.MessageLenSize + 1
)

// EnvLossPrefix is the prefix of the environment variables that set a line's
// injected loss: MDCAST_FEED_LOSS_A and MDCAST_FEED_LOSS_B (the line name,
// upper-cased, follows the prefix). The value uses lossinject.ParseEnv's
// syntax, e.g. MDCAST_FEED_LOSS_A="rate=0.05,seed=1,seq=10:11". A set,
// non-empty variable replaces the line's configured Loss; see ApplyEnv.
const EnvLossPrefix = "MDCAST_FEED_LOSS_"

// Config configures one feed: its lines, how they are arbitrated and how
// upstream gaps are repaired. Zero fields take the Default constants. It
// is plain data, decoded from the daemon's TOML file.
type Config struct {
	// Name labels the feed in logs, counters and the runner's role name.
	Name string `toml:"name"`
	// Format of the messages carried: "itch" or "quote" (DefaultFormat).
	Format string `toml:"format"`
	// Session is the upstream session expected; packets of any other
	// session are counted and dropped. Empty accepts the first session seen
	// and follows later session changes.
	Session string `toml:"session"`
	// Batch is the number of datagrams read per recvmmsg call (DefaultBatch).
	Batch int `toml:"batch"`
	// Pool sizes the packet pool New creates when it is given none.
	Pool ring.PoolConfig `toml:"pool"`
	// Gap sets when a hole in the sequence becomes a gap to repair.
	Gap GapConfig `toml:"gap"`
	// Recovery names the upstream re-request server, if there is one.
	Recovery RecoveryConfig `toml:"recovery"`
	// Lines are the feed's redundant lines: one or two, A then B.
	Lines []LineConfig `toml:"line"`
}

// GapConfig holds the two limits of gap detection: a hole becomes a gap when
// a packet more than MaxDistance sequences past it arrives, or when it is
// older than MaxWait, whichever comes first.
type GapConfig struct {
	MaxDistance uint64        `toml:"max_distance"` // sequences (DefaultGapMaxDistance)
	MaxWait     time.Duration `toml:"max_wait"`     // DefaultGapMaxWait
	// MaxHeld bounds the reorder buffer in packets (DefaultGapMaxHeld).
	// When it is full the oldest hole is declared lost at once.
	MaxHeld int `toml:"max_held"`
}

// RecoveryConfig names an upstream MoldUDP64 re-request server. When Addr
// is empty a gap is counted as upstream loss as soon as it is declared.
type RecoveryConfig struct {
	// Addr is the server's unicast ip:port. Requests are sent from an
	// ephemeral port of the receiver, and the answers come back to it.
	Addr string `toml:"addr"`
	// Timeout is how long to wait for progress after one request
	// (DefaultRecoveryTimeout).
	Timeout time.Duration `toml:"timeout"`
	// Retries is how many more requests are sent without progress before
	// the gap is declared lost (DefaultRecoveryRetries). Progress (part of
	// the range answered) resets the count.
	Retries int `toml:"retries"`
}

// LineConfig configures one line of a feed.
type LineConfig struct {
	// Name is "A" or "B" by default, from the line's position.
	Name string `toml:"name"`
	// Addr is the ip:port the line listens on: a unicast address of this
	// host, or a multicast group joined on Interface.
	Addr string `toml:"addr"`
	// Interface is the interface name or IPv4 address multicast groups are
	// joined on (DefaultInterface). It is ignored for unicast addresses.
	Interface string `toml:"interface"`
	// RcvBuf is the socket receive buffer in bytes (DefaultRcvBuf). It is
	// set with SO_RCVBUFFORCE when the process may, else with SO_RCVBUF
	// (capped by net.core.rmem_max).
	RcvBuf int `toml:"rcvbuf"`
	// Loss injects deterministic loss on this line's receive path, for
	// tests; off by default. The environment can set it too: see
	// EnvLossPrefix.
	Loss lossinject.Config `toml:"loss"`
	// Replay, when File is set, names a capture the daemon replays toward
	// Addr (through Interface) with a Replayer while the feed runs, so a
	// feed can be driven from a file with no exchange attached.
	Replay ReplayConfig `toml:"replay"`
}

// ReplayConfig configures a Replayer.
type ReplayConfig struct {
	// File is a pcap or pcapng capture (each UDP payload is sent as it is),
	// or a NASDAQ BinaryFILE (ITCH messages packed into MoldUDP64 packets).
	// The format is recognised from the file's first bytes.
	File string `toml:"file"`
	// Speed scales the capture's own pacing: 2 replays twice as fast
	// (DefaultReplaySpeed). A BinaryFILE is paced by its ITCH timestamps.
	Speed float64 `toml:"speed"`
	// Rate, when positive, replaces timestamp pacing by a fixed rate in
	// messages per second.
	Rate float64 `toml:"rate"`
	// Session names the session of packets built from a BinaryFILE
	// (DefaultReplaySession); their sequences start at 1.
	Session string `toml:"session"`
	// MaxPayload is the UDP payload budget of packets built from a
	// BinaryFILE (DefaultReplayMaxPayload).
	MaxPayload int `toml:"max_payload"`
}

// DefaultConfig returns a feed of quotes with one line, A, listening on
// DefaultAddr, and every other field at its default.
func DefaultConfig() Config {
	c := Config{Name: "feed", Lines: []LineConfig{{Name: "A", Addr: DefaultAddr}}}
	return c.WithDefaults()
}

// WithDefaults returns a copy of c with every zero field set to its
// default, so the daemon can print the effective configuration. The Lines
// slice is copied.
func (c Config) WithDefaults() Config {
	if c.Format == "" {
		c.Format = DefaultFormat
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.Pool.Packets == 0 {
		c.Pool.Packets = ring.DefaultPoolPackets
	}
	if c.Pool.BufSize == 0 {
		c.Pool.BufSize = ring.DefaultPoolBufSize
	}
	if c.Gap.MaxDistance == 0 {
		c.Gap.MaxDistance = DefaultGapMaxDistance
	}
	if c.Gap.MaxWait == 0 {
		c.Gap.MaxWait = DefaultGapMaxWait
	}
	if c.Gap.MaxHeld == 0 {
		c.Gap.MaxHeld = DefaultGapMaxHeld
	}
	if c.Recovery.Timeout == 0 {
		c.Recovery.Timeout = DefaultRecoveryTimeout
	}
	if c.Recovery.Retries == 0 {
		c.Recovery.Retries = DefaultRecoveryRetries
	}
	lines := make([]LineConfig, len(c.Lines))
	for i, l := range c.Lines {
		if l.Name == "" && i < maxLines {
			l.Name = string(rune('A' + i))
		}
		if l.Interface == "" {
			l.Interface = DefaultInterface
		}
		if l.RcvBuf == 0 {
			l.RcvBuf = DefaultRcvBuf
		}
		if l.Replay.File != "" {
			l.Replay = l.Replay.WithDefaults()
		}
		lines[i] = l
	}
	c.Lines = lines
	return c
}

// WithDefaults returns a copy of r with every zero field set to its default.
func (r ReplayConfig) WithDefaults() ReplayConfig {
	if r.Speed == 0 {
		r.Speed = DefaultReplaySpeed
	}
	if r.Session == "" {
		r.Session = DefaultReplaySession
	}
	if r.MaxPayload == 0 {
		r.MaxPayload = DefaultReplayMaxPayload
	}
	return r
}

// Validate reports the first invalid field, naming it and the reason, e.g.
// `feed: line[1].addr "x": not an ip:port`. Zero fields are valid (they take
// defaults), except that at least one line with an address is required.
func (c Config) Validate() error {
	if c.Format != "" {
		if _, err := decode.ParseFormat(c.Format); err != nil {
			return fmt.Errorf("feed: format %q: must be \"itch\" or \"quote\"", c.Format)
		}
	}
	if c.Session != "" {
		if _, err := decode.MakeSession(c.Session); err != nil {
			return fmt.Errorf("feed: session %q: %w", c.Session, err)
		}
	}
	if c.Batch < 0 || c.Batch > maxBatch {
		return fmt.Errorf("feed: batch %d: must be between 0 (default) and %d", c.Batch, maxBatch)
	}
	if err := c.Pool.Validate(); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	if bs := c.Pool.BufSize; bs != 0 && bs < decode.PacketHeaderLen {
		return fmt.Errorf("feed: pool.buf_size %d: smaller than a MoldUDP64 header", bs)
	}
	if c.Gap.MaxWait < 0 {
		return fmt.Errorf("feed: gap.max_wait %v: must not be negative", c.Gap.MaxWait)
	}
	if c.Gap.MaxHeld < 0 {
		return fmt.Errorf("feed: gap.max_held %d: must not be negative", c.Gap.MaxHeld)
	}
	if err := c.Recovery.validate(); err != nil {
		return err
	}
	if len(c.Lines) == 0 || len(c.Lines) > maxLines {
		return fmt.Errorf("feed: line: %d lines configured, need 1 or 2", len(c.Lines))
	}
	for i, l := range c.Lines {
		if err := l.validate(); err != nil {
			return fmt.Errorf("feed: line[%d].%w", i, err)
		}
		for j := 0; j < i; j++ {
			if lineName(c.Lines[j], j) == lineName(l, i) {
				return fmt.Errorf("feed: line[%d].name %q: used by line[%d] too", i, lineName(l, i), j)
			}
		}
	}
	return nil
}

// lineName is the name line i gets once defaults are applied.
func lineName(l LineConfig, i int) string {
	if l.Name == "" {
		return string(rune('A' + i))
	}
	return l.Name
}

func (r RecoveryConfig) validate() error {
	if r.Addr != "" {
		ap, err := netip.ParseAddrPort(r.Addr)
		if err != nil || !ap.Addr().Is4() || ap.Port() == 0 {
			return fmt.Errorf("feed: recovery.addr %q: not an IPv4 ip:port", r.Addr)
		}
		if ap.Addr().IsMulticast() || ap.Addr().IsUnspecified() {
			return fmt.Errorf("feed: recovery.addr %q: must be a unicast address", r.Addr)
		}
	}
	if r.Timeout < 0 {
		return fmt.Errorf("feed: recovery.timeout %v: must not be negative", r.Timeout)
	}
	if r.Retries < 0 {
		return fmt.Errorf("feed: recovery.retries %d: must not be negative", r.Retries)
	}
	return nil
}

// validate returns errors that start with the field name, for Config.Validate
// to prefix with the line index.
func (l LineConfig) validate() error {
	if l.Name != "" {
		if len(l.Name) > maxLineNameLen || !isIdent(l.Name) {
			return fmt.Errorf("name %q: want 1 to %d letters, digits or '_'", l.Name, maxLineNameLen)
		}
	}
	ap, err := netip.ParseAddrPort(l.Addr)
	if err != nil || !ap.Addr().Is4() {
		return fmt.Errorf("addr %q: not an IPv4 ip:port", l.Addr)
	}
	if ap.Port() == 0 {
		return fmt.Errorf("addr %q: port 0", l.Addr)
	}
	if ap.Addr().IsMulticast() && l.Interface != "" {
		if a, err := netip.ParseAddr(l.Interface); err == nil && !a.Is4() {
			return fmt.Errorf("interface %q: not an IPv4 address or interface name", l.Interface)
		}
	}
	if l.RcvBuf < 0 {
		return fmt.Errorf("rcvbuf %d: must not be negative", l.RcvBuf)
	}
	if err := l.Loss.Validate(); err != nil {
		return fmt.Errorf("loss: %w", err)
	}
	if l.Replay.File != "" {
		if err := l.Replay.validate(); err != nil {
			return fmt.Errorf("replay.%w", err)
		}
	}
	return nil
}

// Validate reports the first invalid field of a replay configuration.
func (r ReplayConfig) Validate() error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("feed: replay.%w", err)
	}
	return nil
}

func (r ReplayConfig) validate() error {
	if r.File == "" {
		return errors.New("file: empty")
	}
	if r.Speed < 0 || math.IsNaN(r.Speed) {
		return fmt.Errorf("speed %v: must be positive (0 = default)", r.Speed)
	}
	if r.Rate < 0 || math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0) {
		return fmt.Errorf("rate %v: must be a positive number of messages per second (0 = paced by timestamps)", r.Rate)
	}
	if r.Session != "" {
		if _, err := decode.MakeSession(r.Session); err != nil {
			return fmt.Errorf("session %q: %w", r.Session, err)
		}
	}
	if r.MaxPayload != 0 && (r.MaxPayload < minReplayBudget || r.MaxPayload > maxUDPPayload) {
		return fmt.Errorf("max_payload %d: must be between %d and %d", r.MaxPayload, minReplayBudget, maxUDPPayload)
	}
	return nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_') {
			return false
		}
	}
	return true
}

// LossEnvVar returns the environment variable that sets the injected loss of
// the line named name: EnvLossPrefix followed by the upper-cased name.
func LossEnvVar(name string) string { return EnvLossPrefix + strings.ToUpper(name) }

// ApplyEnv replaces the Loss of every line whose variable (see LossEnvVar)
// lookup reports set and non-empty, parsed with lossinject.ParseEnv. Pass
// os.LookupEnv; New does so itself, on its own copy of the Config, so the
// variables work whatever builds the receiver. A variable that does not
// parse is an error naming it.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	if lookup == nil {
		return nil
	}
	lines := make([]LineConfig, len(c.Lines))
	copy(lines, c.Lines)
	for i := range lines {
		name := LossEnvVar(lineName(lines[i], i))
		v, ok := lookup(name)
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		lc, err := lossinject.ParseEnv(v)
		if err != nil {
			return fmt.Errorf("feed: %s=%q: %w", name, v, err)
		}
		lines[i].Loss = lc
	}
	c.Lines = lines
	return nil
}
