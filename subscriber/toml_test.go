package subscriber_test

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"mdcast/decode"
	"mdcast/subscriber"
)

// TestConfigTOML: a subscriber config reads from TOML with durations as
// strings, formats and policies by name, and zero fields left to defaults.
func TestConfigTOML(t *testing.T) {
	const doc = `
interface = "lo"
idle = "spin"
[[channel]]
name = "quotes-0"
group = "239.255.0.1:31001"
request_addr = "127.0.0.1:32001"
format = "itch"
[reorder]
max_wait = "100us"
[retransmit]
deadline = "20ms"
[loss]
rate = 0.01
seed = 3
`
	var c subscriber.Config
	if _, err := toml.Decode(doc, &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Channels[0].Format != decode.FormatITCH || c.Reorder.MaxWait != 100*time.Microsecond ||
		c.Retransmit.Deadline != 20*time.Millisecond || c.Loss.Rate != 0.01 || c.Idle != "spin" {
		t.Errorf("decoded %+v", c)
	}
	var cc subscriber.ConsumerConfig
	if _, err := toml.Decode(`policy = "conflate"`+"\nring_size = 1024", &cc); err != nil {
		t.Fatal(err)
	}
	if cc.Policy != subscriber.Conflate || cc.RingSize != 1024 {
		t.Errorf("consumer %+v", cc)
	}
	if _, err := toml.Decode(`policy = "newest"`, &cc); err == nil || !strings.Contains(err.Error(), "drop-oldest or conflate") {
		t.Errorf("bad policy: %v", err)
	}
}
