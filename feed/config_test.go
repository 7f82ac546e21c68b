package feed

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"mdcast/internal/lossinject"
	"mdcast/ring"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Lines) != 1 || c.Lines[0].Name != "A" || c.Lines[0].Addr != DefaultAddr ||
		c.Lines[0].Interface != DefaultInterface || c.Lines[0].RcvBuf != DefaultRcvBuf {
		t.Errorf("default line %+v", c.Lines)
	}
	if c.Format != "quote" || c.Batch != DefaultBatch || c.Gap.MaxDistance != DefaultGapMaxDistance ||
		c.Gap.MaxWait != DefaultGapMaxWait || c.Gap.MaxHeld != DefaultGapMaxHeld ||
		c.Recovery.Timeout != DefaultRecoveryTimeout || c.Recovery.Retries != DefaultRecoveryRetries ||
		c.Pool.Packets != ring.DefaultPoolPackets || c.Pool.BufSize != ring.DefaultPoolBufSize {
		t.Errorf("defaults %+v", c)
	}
	if c.Lines[0].Loss.Enabled() {
		t.Error("loss injection on by default")
	}
	// WithDefaults copies the lines: the caller's slice is not changed.
	in := Config{Lines: []LineConfig{{Addr: "127.0.0.1:1"}}}
	_ = in.WithDefaults()
	if in.Lines[0].Name != "" {
		t.Error("WithDefaults changed its receiver's lines")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := func() Config {
		return Config{Lines: []LineConfig{{Addr: "239.255.1.2:30000"}, {Addr: "239.255.1.3:30000"}}}
	}
	if err := ok().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		edit  func(*Config)
		field string // must appear in the error
	}{
		{"format", func(c *Config) { c.Format = "fix" }, `feed: format "fix"`},
		{"session", func(c *Config) { c.Session = "ELEVENCHARS" }, "feed: session"},
		{"batch", func(c *Config) { c.Batch = -1 }, "feed: batch -1"},
		{"batch big", func(c *Config) { c.Batch = 5000 }, "feed: batch 5000"},
		{"pool", func(c *Config) { c.Pool.Packets = -1 }, "pool.packets"},
		{"pool buf", func(c *Config) { c.Pool.BufSize = 10 }, "pool.buf_size 10"},
		{"max wait", func(c *Config) { c.Gap.MaxWait = -time.Second }, "gap.max_wait"},
		{"max held", func(c *Config) { c.Gap.MaxHeld = -1 }, "gap.max_held"},
		{"recovery addr", func(c *Config) { c.Recovery.Addr = "nowhere" }, `recovery.addr "nowhere"`},
		{"recovery mcast", func(c *Config) { c.Recovery.Addr = "239.1.1.1:5" }, "recovery.addr"},
		{"recovery timeout", func(c *Config) { c.Recovery.Timeout = -1 }, "recovery.timeout"},
		{"recovery retries", func(c *Config) { c.Recovery.Retries = -1 }, "recovery.retries"},
		{"no lines", func(c *Config) { c.Lines = nil }, "feed: line: 0 lines"},
		{"three lines", func(c *Config) { c.Lines = append(c.Lines, LineConfig{Addr: "127.0.0.1:5"}) }, "feed: line: 3 lines"},
		{"addr", func(c *Config) { c.Lines[1].Addr = "x" }, `feed: line[1].addr "x": not an IPv4 ip:port`},
		{"addr v6", func(c *Config) { c.Lines[0].Addr = "[::1]:5" }, "feed: line[0].addr"},
		{"port 0", func(c *Config) { c.Lines[0].Addr = "127.0.0.1:0" }, "feed: line[0].addr \"127.0.0.1:0\": port 0"},
		{"name", func(c *Config) { c.Lines[0].Name = "a b" }, "feed: line[0].name"},
		{"dup name", func(c *Config) { c.Lines[1].Name = "A" }, `feed: line[1].name "A": used by line[0]`},
		{"interface", func(c *Config) { c.Lines[0].Interface = "::1" }, "feed: line[0].interface"},
		{"rcvbuf", func(c *Config) { c.Lines[0].RcvBuf = -1 }, "feed: line[0].rcvbuf"},
		{"loss", func(c *Config) { c.Lines[1].Loss = lossinject.Config{Rate: 2} }, "feed: line[1].loss"},
		{"replay speed", func(c *Config) { c.Lines[0].Replay = ReplayConfig{File: "f", Speed: -1} }, "feed: line[0].replay.speed"},
		{"replay rate", func(c *Config) { c.Lines[0].Replay = ReplayConfig{File: "f", Rate: -1} }, "feed: line[0].replay.rate"},
		{"replay session", func(c *Config) { c.Lines[0].Replay = ReplayConfig{File: "f", Session: "\x01"} }, "feed: line[0].replay.session"},
		{"replay payload", func(c *Config) { c.Lines[0].Replay = ReplayConfig{File: "f", MaxPayload: 10} }, "feed: line[0].replay.max_payload"},
	}
	for _, tc := range cases {
		c := ok()
		tc.edit(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %q does not name %q", tc.name, err, tc.field)
		}
	}
}

// The TOML names decode into the Config, and the effective config prints
// and reads back unchanged.
func TestConfigTOML(t *testing.T) {
	const file = `
name = "nasdaq"
format = "itch"
session = "SNIP123019"
batch = 16
[pool]
packets = 1024
buf_size = 1600
[gap]
max_distance = 100
max_wait = "5ms"
max_held = 64
[recovery]
addr = "127.0.0.1:26400"
timeout = "20ms"
retries = 5
[[line]]
name = "A"
addr = "233.54.12.111:26477"
interface = "127.0.0.1"
rcvbuf = 8388608
[line.loss]
rate = 0.01
seed = 7
sequences = [10, 11]
[[line]]
addr = "233.54.12.112:26477"
[line.replay]
file = "x.pcap"
speed = 2.0
`
	var c Config
	md, err := toml.Decode(file, &c)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) != 0 {
		t.Fatalf("undecoded keys %v", u)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Gap.MaxWait != 5*time.Millisecond || c.Recovery.Timeout != 20*time.Millisecond ||
		c.Lines[0].Loss.Seed != 7 || len(c.Lines[0].Loss.Sequences) != 2 || c.Lines[1].Replay.Speed != 2 ||
		c.Pool.BufSize != 1600 || c.Gap.MaxHeld != 64 {
		t.Fatalf("decoded %+v", c)
	}
	eff := c.WithDefaults()
	if eff.Lines[1].Name != "B" || eff.Lines[1].Interface != "lo" || eff.Lines[1].Replay.Session != DefaultReplaySession {
		t.Fatalf("effective line B %+v", eff.Lines[1])
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(eff); err != nil {
		t.Fatal(err)
	}
	var back Config
	if _, err := toml.Decode(buf.String(), &back); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if back.Gap.MaxWait != eff.Gap.MaxWait || back.Lines[1].Addr != eff.Lines[1].Addr || back.Recovery != eff.Recovery {
		t.Fatalf("round trip differs:\n%s", buf.String())
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{"MDCAST_FEED_LOSS_B": "rate=0.05,seed=3", "MDCAST_FEED_LOSS_A": " "}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c := Config{Lines: []LineConfig{{Addr: "127.0.0.1:1"}, {Addr: "127.0.0.1:2"}}}
	orig := c.Lines
	if err := c.ApplyEnv(lookup); err != nil {
		t.Fatal(err)
	}
	if c.Lines[1].Loss.Rate != 0.05 || c.Lines[1].Loss.Seed != 3 || c.Lines[0].Loss.Enabled() {
		t.Fatalf("loss after env: A %+v B %+v", c.Lines[0].Loss, c.Lines[1].Loss)
	}
	if orig[1].Loss.Enabled() {
		t.Error("ApplyEnv wrote through to the caller's lines slice")
	}
	env["MDCAST_FEED_LOSS_A"] = "rate=x"
	if err := c.ApplyEnv(lookup); err == nil || !strings.Contains(err.Error(), "MDCAST_FEED_LOSS_A") {
		t.Fatalf("bad env value: %v", err)
	}
	if LossEnvVar("b") != "MDCAST_FEED_LOSS_B" {
		t.Error(LossEnvVar("b"))
	}
}
