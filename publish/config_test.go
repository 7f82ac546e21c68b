package publish_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"mdcast/publish"
)

func TestDefaultConfigValid(t *testing.T) {
	d := publish.DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	if err := (publish.Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	z := publish.Config{}.WithDefaults()
	if len(z.Channels) != 4 || z.Channels[3].Group != "239.255.0.4:31104" || z.Channels[0].RequestAddr != "127.0.0.1:31201" {
		t.Fatalf("default channels %+v", z.Channels)
	}
	if z.MaxPayload != 1400 || z.Interface != "lo" || z.TTL != 1 || !*z.Loop || z.Grace != 2*time.Second ||
		z.Heartbeat.Early != time.Millisecond || z.Heartbeat.Idle != time.Second ||
		z.History.Messages != 1<<20 || z.History.Bytes != 64<<20 || z.Route.Mode != "hash" ||
		len(z.Retransmit.ACL) != 1 || z.Retransmit.ACL[0] != "127.0.0.0/8" || z.Retransmit.Linger != 20*time.Millisecond {
		t.Fatalf("defaults %+v", z)
	}
}

func TestConfigTOML(t *testing.T) {
	const doc = `
format = "itch"
max_payload = 1200
session = "ABC"
[[channel]]
name = "a"
group = "239.1.2.3:5000"
request_addr = "127.0.0.1:6000"
[[channel]]
name = "b"
group = "239.1.2.4:5000"
request_addr = "127.0.0.1:6001"
[route]
[[route.range]]
from = 0
to = 9
channel = "b"
[heartbeat]
idle = "500ms"
early = "2ms"
[retransmit]
acl = ["10.0.0.0/8", "127.0.0.1"]
linger = "5ms"
`
	var c publish.Config
	if _, err := toml.Decode(doc, &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Heartbeat.Idle != 500*time.Millisecond || c.Retransmit.Linger != 5*time.Millisecond || len(c.Route.Ranges) != 1 {
		t.Fatalf("decoded %+v", c)
	}
	r, err := publish.NewRouter(c.Route, c.Channels)
	if err != nil {
		t.Fatal(err)
	}
	if r.Route(5) != 1 || r.Route(10) != -1 {
		t.Fatalf("route 5 -> %d, 10 -> %d", r.Route(5), r.Route(10))
	}
}

func TestConfigValidateNamesField(t *testing.T) {
	cases := []struct {
		edit func(*publish.Config)
		want string
	}{
		{func(c *publish.Config) { c.Format = "fix" }, `format "fix"`},
		{func(c *publish.Config) { c.MaxPayload = 10 }, "max_payload 10"},
		{func(c *publish.Config) { c.TTL = 300 }, "ttl 300"},
		{func(c *publish.Config) { c.Session = "ELEVENCHARS" }, `session "ELEVENCHARS"`},
		{func(c *publish.Config) { c.Channels[1].Group = "x" }, `channel[1].group "x": not an IPv4 ip:port`},
		{func(c *publish.Config) { c.Channels[1].Group = "10.0.0.1:5" }, `channel[1].group "10.0.0.1:5": not a multicast`},
		{func(c *publish.Config) { c.Channels[1].Group = c.Channels[0].Group }, "channel[1].group"},
		{func(c *publish.Config) { c.Channels[2].RequestAddr = "localhost" }, `channel[2].request_addr "localhost"`},
		{func(c *publish.Config) { c.Channels[2].RequestAddr = c.Channels[0].RequestAddr }, "same as channel[0]"},
		{func(c *publish.Config) { c.Channels[3].Name = "ch0" }, `channel[3].name "ch0"`},
		{func(c *publish.Config) { c.Route.Mode = "random" }, `route.mode "random"`},
		{func(c *publish.Config) { c.Route.Mode = "ranges" }, "route.range: mode ranges with no range"},
		{func(c *publish.Config) {
			c.Route.Ranges = []publish.RangeConfig{{From: 0, To: 10, Channel: "nope"}}
		}, `route.range[0].channel "nope"`},
		{func(c *publish.Config) {
			c.Route.Ranges = []publish.RangeConfig{{From: 5, To: 1, Channel: "ch0"}}
		}, "route.range[0]: from 5 > to 1"},
		{func(c *publish.Config) {
			c.Route.Ranges = []publish.RangeConfig{{From: 0, To: 10, Channel: "ch0"}, {From: 10, To: 20, Channel: "ch1"}}
		}, "overlaps"},
		{func(c *publish.Config) { c.History.Bytes = 100 }, "history.bytes 100"},
		{func(c *publish.Config) { c.History.Messages = -1 }, "history.messages -1"},
		{func(c *publish.Config) { c.Heartbeat.Early = 2 * time.Second }, "heartbeat.early 2s"},
		{func(c *publish.Config) { c.Retransmit.ACL = []string{"10.0.0.0/33"} }, "retransmit.acl"},
		{func(c *publish.Config) { c.Retransmit.Burst = 100 }, "retransmit.burst 100"},
		{func(c *publish.Config) { c.Retransmit.Linger = -time.Second }, "retransmit.linger"},
		{func(c *publish.Config) { c.Grace = -1 }, "grace"},
		{func(c *publish.Config) { c.InputRing = 1000 }, "input_ring 1000"},
	}
	for _, tc := range cases {
		c := publish.DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !errors.Is(err, publish.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want error containing %q, got %v", tc.want, err)
		}
	}
}

func TestRouter(t *testing.T) {
	chans := publish.DefaultConfig().Channels
	h, err := publish.NewRouter(publish.RouteConfig{}, chans)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []uint32{0, 1, 2, 3, 4, 7, 1 << 31, ^uint32(0)} {
		if got := h.Route(k); got != int(k%4) {
			t.Fatalf("hash route %d -> %d", k, got)
		}
	}
	r, err := publish.NewRouter(publish.RouteConfig{Ranges: []publish.RangeConfig{
		{From: 1000, To: 1999, Channel: "ch3"},
		{From: 0, To: 0, Channel: "ch1"},
		{From: 10, To: 999, Channel: "ch0"},
		{From: 4000000000, To: ^uint32(0), Channel: "ch2"},
	}}, chans)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[uint32]int{0: 1, 1: -1, 9: -1, 10: 0, 999: 0, 1000: 3, 1999: 3, 2000: -1, 3999999999: -1, 4000000000: 2, ^uint32(0): 2} {
		if got := r.Route(k); got != want {
			t.Errorf("range route %d -> %d, want %d", k, got, want)
		}
	}
}

func TestACL(t *testing.T) {
	acl, err := publish.ParseACL([]string{"127.0.0.0/8", "10.1.2.3", "192.168.1.77/24"})
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"127.0.0.1": true, "127.255.1.2": true, "10.1.2.3": true, "10.1.2.4": false,
		"192.168.1.1": true, "192.168.2.1": false, "::ffff:127.0.0.1": true, "8.8.8.8": false,
	} {
		if got := acl.Allows(netip.MustParseAddr(s)); got != want {
			t.Errorf("Allows(%s) = %v", s, got)
		}
	}
	if (publish.ACL{}).Allows(netip.MustParseAddr("127.0.0.1")) {
		t.Error("an empty ACL allowed an address")
	}
}

func TestRateLimiter(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.0.1:1000")
	b := netip.MustParseAddrPort("127.0.0.1:1001")
	c := netip.MustParseAddrPort("127.0.0.1:1002")
	l := publish.NewRateLimiter(1000, 500, 2) // 1000 B/s, 500 B burst, 2 requesters
	now := int64(0)
	if ok, _ := l.Allow(a, 400, now); !ok {
		t.Fatal("first 400 bytes refused")
	}
	if ok, _ := l.Allow(a, 200, now); ok {
		t.Fatal("over the burst allowed")
	}
	if ok, _ := l.Check(a, 100, now); !ok {
		t.Fatal("100 bytes left refused")
	}
	now += 100e6 // +100 bytes
	if ok, _ := l.Allow(a, 200, now); !ok {
		t.Fatal("refill not applied")
	}
	if ok, _ := l.Allow(b, 500, now); !ok {
		t.Fatal("second requester refused")
	}
	// The table is full and both entries are still limited: c is refused.
	if ok, full := l.Allow(c, 1, now); ok || !full {
		t.Fatalf("third requester: ok %v full %v, want refused as full", ok, full)
	}
	// Once an entry's bucket has refilled completely it can be reused.
	now += 500e6
	if ok, full := l.Allow(c, 1, now); !ok || full {
		t.Fatalf("third requester after refill: ok %v full %v", ok, full)
	}
}

// TestConfigRoundTrip encodes the default config as TOML (what the daemon's
// -print-config does) and decodes it back to the same valid config.
func TestConfigRoundTrip(t *testing.T) {
	var b strings.Builder
	d := publish.DefaultConfig()
	if err := toml.NewEncoder(&b).Encode(d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`early = "1ms"`, `grace = "2s"`, "loop = true", `group = "239.255.0.4:31104"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("encoded default lacks %s:\n%s", want, b.String())
		}
	}
	var c publish.Config
	if _, err := toml.Decode(b.String(), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Heartbeat != d.Heartbeat || c.Retransmit.Linger != d.Retransmit.Linger || *c.Loop != *d.Loop ||
		len(c.Channels) != 4 || c.Channels[2] != d.Channels[2] || c.History != d.History {
		t.Fatalf("round trip changed the config:\n%+v\n%+v", c, d)
	}
}
