// Package daemon assembles mdcastd: its TOML configuration (defaults,
// validation, -print-config), the wiring of the feed receiver, the packet
// pool and the publish workers onto agents and runners, the shutdown
// sequence, and the HTTP endpoint that exports every package's counters
// (/metrics in Prometheus text format, /stats in JSON, /debug/pprof).
//
// mdcastd runs it, mdperf starts it in-process, and mdtail reads its
// configuration file to find the channels.
//
// # Agents
//
// With agents.workers = 0 (the default) one inline agent receives a batch
// from the feed, routes, frames and sends it, and serves re-requests, all on
// one locked OS thread: on a 2-core machine a hand-off to another thread
// costs a cross-core wake-up (10–25 µs here) per packet, more than the work.
// With workers > 0 the receiver fans packets out to the workers' input
// rings and each worker owns every n-th channel.
//
// The default profile parks idle agents in poll(2) on their sockets, after
// polling for agents.spin (50 µs) past their last work so that a steady
// feed does not pay a cross-core wake-up per datagram; the low-latency
// profile busy-polls the inline agent on a pinned CPU.
//
// # Upstream loss
//
// When the feed gives up on upstream messages (no re-request server, or it
// did not answer), the feed counts and logs the loss, and the daemon's loss
// handler sends one upstream loss notice (docs/PROTOCOL.md 3.3) to every
// channel: a pooled packet marked publish.LineNotice, handed to the feed's
// Output like data, so on every channel it lands after the messages before
// the hole and before those after it. Stats counts the notices
// (upstream_loss_notices, and upstream_loss_notices_dropped for one a full
// worker ring refused); each channel counts its own (Notices). In pipeline
// mode a worker whose input ring refused packets (or a notice) gets, before
// its next packet, one notice of the upstream range it missed with the
// daemon-drop flag (fanout_drop_notices).
//
// # Shutdown
//
// Shutdown stops reading input, has each worker flush and send end of
// session on every channel, keeps answering re-requests for the grace
// period, then stops the agents and the HTTP endpoint.
package daemon
