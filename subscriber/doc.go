// Package subscriber is the embedded client library of mdcast: it joins
// mdcast channels, repairs gaps by re-request, and hands every consumer its
// messages in order through the consumer's own local ring, with an explicit
// event for anything that cannot be delivered. It speaks only the wire
// protocol (docs/PROTOCOL.md: MoldUDP64 1.00 downstream packets and 20-byte
// re-requests), so it works against any mdcast daemon on the network.
//
// # Joining channels
//
// A Subscriber is built from a Config naming the interface and, per
// channel, its multicast group:port and the unicast address that answers
// its re-requests (an mdcastd config file gives both; see
// cmd/internal/daemon's SubscriberConfig):
//
//	sub, err := subscriber.New(subscriber.Config{
//		Interface: "lo",
//		Channels: []subscriber.ChannelConfig{
//			{Name: "quotes-0", Group: "239.255.0.1:31001", RequestAddr: "127.0.0.1:32001"},
//		},
//	})
//	c, err := sub.NewConsumer(subscriber.ConsumerConfig{Name: "strategy"})
//	err = sub.Start()
//	defer sub.Close()
//
// New opens one socket per channel bound to the group address itself
// (SO_REUSEADDR), so several processes on a host each receive every packet
// of the channel and nothing else, and one unicast socket per channel on an
// ephemeral port that re-requests leave from and retransmissions come back
// to. Start runs the receive agent on its own thread (ring.Runner) with
// Config.Idle: "block" (the default: park in poll(2), nothing spins),
// "backoff" or "spin". An application that owns its thread does not call
// Start: it calls DoWork(nowNs) in its loop (FDs gives the sockets to poll
// on) or composes Agent() into its own ring.Runner.
//
// # Receiving
//
// Each channel's packets are checked for session and sequence. In-order
// messages are delivered at once; a packet that arrives beyond a hole is
// held while the hole waits for reordered packets (Reorder.MaxWait, or until
// Reorder.MaxDistance messages arrived beyond it); then the hole is
// re-requested after a random 0.5-1.5 x Retransmit.BaseDelay, retried with
// backoff until Retransmit.Deadline (see GapDetector). Duplicates are dropped
// and counted. A heartbeat whose sequence is ahead reveals a lost tail. A
// joining subscriber starts at the first packet it sees, or first asks for
// LateJoin.History messages before it. So a subscriber started before the
// channel carries data, whose first data packet is lost, would start after
// it: set LateJoin.History, or let a heartbeat arrive first (Stats shows
// Heartbeats), when the session's first messages matter.
//
// # Two delivery APIs
//
// Consumer.Run(ctx, fn) calls fn with each batch of messages on the
// caller's goroutine, parking when there is nothing to do; the batch is
// valid only during the call. Consumer.Poll(max) returns what is ready
// without waiting, in a buffer owned by the consumer and valid until the
// next Poll. Both deliver Message values: fixed-size, the message bytes
// copied inline (up to MaxMessageLen), with Kind, Channel, Sequence, RecvNs,
// Bytes, Quote and Loss. Neither API allocates per message, and neither
// does the receive path (TestAllocs, BenchmarkReceiveToConsumer). Read a
// batch by index (m := &batch[i]) so that Bytes aliases the slot instead of
// a copy.
//
// # Loss events
//
// A message is never skipped in silence. Every sequence of a channel reaches
// each consumer either as Data or inside a Message of Kind LossEvent, in
// sequence order, whose Loss{Channel, From, To, Reason} says which
// sequences will never come and why:
//
//   - Unrecoverable: the hole was not repaired by its deadline (not in the
//     daemon's history, no RequestAddr, or every request and answer lost);
//   - SlowConsumer: this consumer's own ring overwrote them (DropOldest);
//   - SessionChanged: they were outstanding when the session changed;
//   - TooLarge: longer than MaxMessageLen;
//   - Upstream: not a loss on this channel but the daemon's upstream loss
//     notice (docs/PROTOCOL.md 3.3), which it sends on every channel when
//     its own feed gave up on upstream messages. The event takes the
//     notice's one channel sequence (From = To), and Loss.Upstream gives the
//     upstream session and the range of upstream sequences lost: some of
//     them may have belonged on this channel, so state built from it may
//     be stale. Stats count these notices apart (UpstreamLosses,
//     UpstreamLost), not in Lost or Messages.
//
// A hole still being repaired (a gap) is never reported. A new session (the
// daemon restarted) is delivered as a SessionChange event, after a
// SessionChanged loss for what was outstanding; the stream then resumes at
// sequence 1 of the new session. EndOfSession is delivered once every
// message before it was delivered or reported lost.
//
// # Slow consumers
//
// The receive agent never waits for a consumer: each consumer has its own
// ring (ConsumerConfig.RingSize), and a consumer that stops reading
// overflows only that ring, by its Policy. DropOldest (the default) lets the
// agent overwrite the oldest unread messages; when the consumer reads again
// it gets, per channel, one SlowConsumer loss with the exact range it
// missed, placed before that channel's next message. Conflate stops writing
// to the full ring and keeps the latest message per instrument
// (decode.InstrumentKey of the channel's Format), delivered when the
// consumer catches up, so it sees every instrument's latest quote but not
// every update (Stats counts the replaced ones as Conflated). Events, the
// Upstream loss notice among them, are never conflated and are barriers:
// each is delivered once, in order, and a quote that arrived after an event
// is delivered after it (it replaces only a pending quote queued since the
// last event). Other consumers, other subscribers and the daemon are
// unaffected.
//
// # Concurrency
//
// New, NewConsumer, Start, Close, Stats and ChannelName are safe from any
// goroutine. DoWork belongs to one goroutine at a time (the runner's when
// started). Each Consumer is read by one goroutine (Poll and Run must not be
// called concurrently); Consumer.Stats is safe from anywhere. Stats values
// are plain counters read atomically.
//
// # Loss injection
//
// Config.Loss drops received data packets by sequence (a seeded rate and
// listed sequences, internal/lossinject) before the subscriber sees them,
// retransmissions included, to test recovery without a lossy network.
package subscriber
