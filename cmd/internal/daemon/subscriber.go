package daemon

import (
	"mdcast/decode"
	"mdcast/subscriber"
)

// SubscriberConfig returns a subscriber configuration that joins every
// channel of c on the daemon's output interface, with re-requests to the
// channels' request addresses: what mdtail and mdperf use to follow a
// daemon from its configuration file. The other subscriber fields are left
// at their defaults.
func (c Config) SubscriberConfig() subscriber.Config {
	c = c.WithDefaults()
	format, _ := decode.ParseFormat(c.Publish.Format)
	s := subscriber.Config{Interface: c.Publish.Interface}
	for _, ch := range c.Publish.Channels {
		s.Channels = append(s.Channels, subscriber.ChannelConfig{
			Name:        ch.Name,
			Group:       ch.Group,
			RequestAddr: ch.RequestAddr,
			Format:      format,
		})
	}
	return s
}

// SubscriberConfig returns the subscriber configuration for this running
// daemon; see Config.SubscriberConfig.
func (d *Daemon) SubscriberConfig() subscriber.Config { return d.cfg.SubscriberConfig() }
