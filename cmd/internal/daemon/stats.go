package daemon

import (
	"time"

	"mdcast/feed"
	"mdcast/publish"
	"mdcast/ring"
)

// Stats is a snapshot of every counter of the daemon, as /stats serves it
// in JSON and /metrics exports it.
type Stats struct {
	Session       string          `json:"session"`
	Profile       string          `json:"profile"`
	UptimeSeconds float64         `json:"uptime_seconds"`
	Feed          feed.Stats      `json:"feed"`
	Workers       []publish.Stats `json:"workers"`
	Pool          ring.PoolStats  `json:"pool"`
	FanoutDrops   uint64          `json:"fanout_drops"` // pipeline mode: packets a full worker ring refused
	// FanoutDropNotices counts the notices (flag daemon drop) that told a
	// worker's channels which upstream range those refused packets held.
	FanoutDropNotices uint64 `json:"fanout_drop_notices"`
	// UpstreamLossNotices counts upstream losses sent as a notice on every
	// channel; NoticesDropped those some worker did not get at once (in
	// pipeline mode their range reaches it in its next daemon-drop notice).
	UpstreamLossNotices uint64             `json:"upstream_loss_notices"`
	NoticesDropped      uint64             `json:"upstream_loss_notices_dropped"`
	AgentErrors         map[string]uint64  `json:"agent_errors"`
	Replays             []feed.ReplayStats `json:"replays,omitempty"`
}

// Stats returns a snapshot of the daemon's counters. It allocates; call it
// from monitoring, not from a hot path.
func (d *Daemon) Stats() Stats {
	s := Stats{
		Session:     d.session,
		Profile:     d.cfg.Profile,
		Feed:        d.recv.Stats(),
		Pool:        d.pool.Stats(),
		AgentErrors: make(map[string]uint64, len(d.runners)),
	}
	if !d.started.IsZero() {
		s.UptimeSeconds = time.Since(d.started).Seconds()
	}
	for _, w := range d.workers {
		s.Workers = append(s.Workers, w.Stats())
	}
	if d.fan != nil {
		s.FanoutDrops = d.fan.dropped.Load()
		s.FanoutDropNotices = d.fan.notices.Load()
	}
	if d.notices != nil {
		s.UpstreamLossNotices = d.notices.sent.Load()
		s.NoticesDropped = d.notices.dropped.Load()
	}
	d.mu.Lock()
	for _, r := range d.runners {
		s.AgentErrors[r.Role()] = r.Errors()
	}
	d.mu.Unlock()
	for _, rp := range d.replayers {
		s.Replays = append(s.Replays, rp.r.Stats())
	}
	return s
}
