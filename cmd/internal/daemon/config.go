package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"mdcast/feed"
	"mdcast/internal/affinity"
	"mdcast/publish"
)

// Profiles select the idle strategy and CPU placement of the daemon's agents.
const (
	// ProfileDefault never spins while idle: agents park in poll(2) on
	// their sockets (after polling for agents.spin past their last work,
	// so a steady feed pays no wake-up per datagram), so mdcastd shares a
	// small machine politely.
	ProfileDefault = "default"
	// ProfileLowLatency busy-polls the agent on a pinned CPU of its own.
	ProfileLowLatency = "low-latency"
)

// Idle strategy names accepted in agents.idle.
const (
	IdleBlock   = "block"   // park in poll(2) on the agent's sockets (default profile)
	IdleBackoff = "backoff" // spin, then yield, then park (Agrona's backoff)
	IdleYield   = "yield"   // runtime.Gosched between empty duty cycles
	IdleSpin    = "spin"    // busy-spin, yielding the core to other runnable threads every 16 idle polls (low-latency profile)
)

// Defaults of the daemon's own fields.
const (
	DefaultHTTPAddr = "127.0.0.1:9180"
	DefaultMaxPark  = time.Millisecond
	DefaultSpin     = 50 * time.Microsecond
	DefaultLogLevel = "info"
	DefaultLogFmt   = "text"
)

// Config is the whole mdcastd configuration: one TOML file whose every field
// has a default. The zero Config means "all defaults"; WithDefaults fills the
// effective values in, and Validate names the first bad field.
type Config struct {
	// Profile is "default" (agents park in poll(2) when idle, after
	// polling agents.spin past their last work) or "low-latency" (the agent
	// busy-polls on a pinned CPU).
	Profile string         `toml:"profile"`
	Feed    feed.Config    `toml:"feed"`
	Publish publish.Config `toml:"publish"`
	Agents  AgentsConfig   `toml:"agents"`
	HTTP    HTTPConfig     `toml:"http"`
	Log     LogConfig      `toml:"log"`
}

// AgentsConfig places the daemon's agents on threads and CPUs.
type AgentsConfig struct {
	// Workers is the number of publish workers on threads of their own.
	// 0 (the default) runs one inline agent that receives, routes, frames
	// and sends on a single thread: on a 2-core machine this avoids a
	// cross-core wake-up per packet, which costs more than the work.
	Workers int `toml:"workers"`
	// Idle overrides the profile's idle strategy: block, backoff, yield or spin.
	Idle string `toml:"idle"`
	// CPU pins the inline agent (or the receiver): "auto" (the default:
	// the last CPU in the low-latency profile, none otherwise), "none", or
	// a CPU number.
	CPU string `toml:"cpu"`
	// WorkerCPUs pins publish workers (pipeline mode), one CPU per worker
	// in order; empty means unpinned.
	WorkerCPUs []int `toml:"worker_cpus"`
	// MaxPark bounds one park of the block and backoff strategies; it is
	// also the resolution of heartbeat timers while idle.
	MaxPark time.Duration `toml:"max_park"`
	// Spin is how long the block strategy keeps polling after the last
	// work before it parks: a feed whose datagrams arrive closer together
	// than Spin never pays a wake-up per datagram, and an idle daemon parks
	// Spin after its last datagram. "-1ns" turns it off.
	Spin time.Duration `toml:"spin"`
}

// HTTPConfig configures the observability endpoint.
type HTTPConfig struct {
	// Addr serves /metrics, /stats and /debug/pprof ("off" disables it).
	Addr string `toml:"addr"`
}

// LogConfig configures log/slog.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// Default returns the built-in configuration: a quote feed on
// 127.0.0.1:31000, four channels on 239.255.0.1-4 through lo, re-requests
// and HTTP on 127.0.0.1. It touches nothing but loopback.
func Default() Config { return Config{}.WithDefaults() }

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Profile == "" {
		c.Profile = ProfileDefault
	}
	if len(c.Feed.Lines) == 0 {
		def := feed.DefaultConfig()
		c.Feed.Lines = def.Lines
		if c.Feed.Name == "" {
			c.Feed.Name = def.Name
		}
	}
	if c.Feed.Name == "" {
		c.Feed.Name = "feed"
	}
	// The feed and the publisher must agree on the message format.
	if c.Publish.Format == "" {
		c.Publish.Format = c.Feed.Format
	}
	if c.Feed.Format == "" {
		c.Feed.Format = c.Publish.Format
	}
	c.Feed = c.Feed.WithDefaults()
	c.Publish = c.Publish.WithDefaults()
	if c.Agents.Idle == "" {
		c.Agents.Idle = IdleBlock
		if c.Profile == ProfileLowLatency {
			c.Agents.Idle = IdleSpin
		}
	}
	if c.Agents.CPU == "" {
		c.Agents.CPU = "auto"
	}
	if c.Agents.MaxPark == 0 {
		c.Agents.MaxPark = DefaultMaxPark
	}
	if c.Agents.Spin == 0 {
		c.Agents.Spin = DefaultSpin
	}
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = DefaultHTTPAddr
	}
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	if c.Log.Format == "" {
		c.Log.Format = DefaultLogFmt
	}
	return c
}

// Validate reports the first invalid field of c after defaults, naming it
// and the reason.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch c.Profile {
	case ProfileDefault, ProfileLowLatency:
	default:
		return fmt.Errorf("profile %q: want %q or %q", c.Profile, ProfileDefault, ProfileLowLatency)
	}
	if err := c.Feed.Validate(); err != nil {
		return err
	}
	if err := c.Publish.Validate(); err != nil {
		return err
	}
	if c.Feed.Format != c.Publish.Format {
		return fmt.Errorf("publish.format %q: differs from feed.format %q", c.Publish.Format, c.Feed.Format)
	}
	a := c.Agents
	if a.Workers < 0 || a.Workers > len(c.Publish.Channels) {
		return fmt.Errorf("agents.workers %d: want 0 (inline) to %d (one per channel)", a.Workers, len(c.Publish.Channels))
	}
	switch a.Idle {
	case IdleBlock, IdleBackoff, IdleYield, IdleSpin:
	default:
		return fmt.Errorf("agents.idle %q: want block, backoff, yield or spin", a.Idle)
	}
	if _, err := c.cpu(); err != nil {
		return err
	}
	if len(a.WorkerCPUs) > 0 && len(a.WorkerCPUs) != a.Workers {
		return fmt.Errorf("agents.worker_cpus: %d CPUs for %d workers", len(a.WorkerCPUs), a.Workers)
	}
	for i, cpu := range a.WorkerCPUs {
		if cpu < 0 {
			return fmt.Errorf("agents.worker_cpus[%d] %d: negative", i, cpu)
		}
	}
	if a.MaxPark < 0 {
		return fmt.Errorf("agents.max_park %v: negative", a.MaxPark)
	}
	if c.HTTP.Addr != "off" {
		if _, err := netip.ParseAddrPort(c.HTTP.Addr); err != nil {
			return fmt.Errorf("http.addr %q: not an ip:port (or \"off\")", c.HTTP.Addr)
		}
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		return err
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return fmt.Errorf("log.format %q: want text or json", c.Log.Format)
	}
	return nil
}

// cpu returns the CPU the inline agent (or receiver) is pinned to, -1 for none.
func (c Config) cpu() (int, error) {
	switch c.Agents.CPU {
	case "none":
		return -1, nil
	case "auto", "":
		if c.Profile == ProfileLowLatency {
			return autoCPU(), nil
		}
		return -1, nil
	}
	n, err := strconv.Atoi(c.Agents.CPU)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("agents.cpu %q: want auto, none or a CPU number", c.Agents.CPU)
	}
	return n, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log.level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Load reads a TOML file over the zero Config (so a field left out takes its
// default) and rejects keys it does not know, which are usually typos.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a TOML configuration; see Load.
func Parse(r io.Reader) (Config, error) {
	var c Config
	md, err := toml.NewDecoder(r).Decode(&c)
	if err != nil {
		return Config{}, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	return c, nil
}

// TOML renders the effective configuration (defaults filled in), as
// `mdcastd -print-config` prints it. The output parses back to the same Config.
func (c Config) TOML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# mdcastd effective configuration\n")
	if err := toml.NewEncoder(&b).Encode(c.WithDefaults()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// errConfig marks configuration errors so mdcastd can exit with status 2.
var errConfig = errors.New("invalid config")

// IsConfigError reports whether err came from Validate inside New.
func IsConfigError(err error) bool { return errors.Is(err, errConfig) }

// autoCPU is the CPU of the low-latency inline agent: affinity's layout
// keeps it off CPU 0 and leaves the other core to the load generator.
func autoCPU() int {
	l, err := affinity.DefaultLayout()
	if err != nil {
		return -1
	}
	return l.Agent
}
