// Package feed receives exchange feeds (UDP unicast or multicast on lines A and B,
// BinaryFILE and pcap replays), validates MoldUDP64 framing, arbitrates lines by
// sequence and publishes packets to a ring.
//
// The wire format is MoldUDP64 1.00 (NASDAQ): a 20-byte header (session,
// sequence of the first message, count) then count length-prefixed
// messages; count 0 is a heartbeat and 0xFFFF the end of the session. The
// messages are ITCH 5.0 or mdcast quotes (Config.Format) and are carried
// unchanged: the feed looks only at the framing.
//
// # Receiving
//
// A Receiver is a ring.Agent. New opens one non-blocking socket per line
// (a multicast group joined on an interface, or a unicast address) and,
// when Config.Recovery.Addr is set, one unicast socket on an ephemeral port
// for re-requests. Each DoWork reads a batch from every socket with
// recvmmsg straight into packets of a ring.Pool, stamps them with the
// receive time, validates them with decode.Packet.Wrap and arbitrates them.
// Malformed datagrams are counted by reason (one counter per decode
// sentinel) and their buffers reused.
//
// # Arbitration
//
// Lines A and B carry the same sequence; the first copy of each message
// wins, at message level. With next the next sequence to deliver, a packet
// covering [s, s+n) is
//   - a duplicate when s+n <= next: counted and dropped;
//   - emitted when s <= next < s+n, with Packet.Seq = next and
//     Packet.Skip = next-s, the leading messages the consumer must skip;
//   - held when s > next, in a bounded reorder buffer ordered by sequence,
//     and emitted as soon as the hole before it is filled, by either line
//     or by recovery.
//
// The first packet of a session sets next (a late start owes nothing
// before it). Heartbeats and end-of-session packets are never emitted, but
// they show the sequence the sender will use next, so a lost tail is
// detected too.
//
// # Gaps, recovery and loss
//
// A hole becomes a gap when a packet more than Gap.MaxDistance sequences
// past it has arrived, when its oldest evidence is older than Gap.MaxWait,
// or when the reorder buffer is full. With a re-request server configured
// the receiver then sends MoldUDP64 requests (decode.AppendRequest) for the
// hole, asks again for what is still missing whenever part of it arrives,
// and retries Recovery.Retries times, Recovery.Timeout apart, without
// progress. The answers are ordinary downstream packets and go through the
// same validation and arbitration (their Packet.Line is LineRecovery).
// When recovery is not configured or fails, the messages are counted as
// upstream loss (Counters.Losses, Counters.UpstreamLost), logged through a
// throttle, reported to the loss handler (SetLossHandler, with Session),
// and delivery resumes after the hole. The handler runs before what was held
// behind the hole is emitted; the daemon uses it to put an upstream loss
// notice (docs/PROTOCOL.md 3.3) in order on every downstream channel, so
// subscribers see the loss too. Nothing is skipped without being counted.
//
// A packet of another session is dropped and counted when Config.Session
// is set. Otherwise the first session seen is followed, and a later one is
// taken as an upstream restart: the old session's holes are given up as
// loss, what it still held is delivered, and arbitration restarts at the
// new session's first packet; stragglers of the old session are dropped.
//
// # Output
//
// Emitted packets go to an Output, declared here on the consumer's side:
// the daemon passes a publish worker (inline, same goroutine) or a ring.
// Offer always takes over the caller's reference; false says the consumer
// was full and dropped the packet, which the receiver counts with its new
// messages as lost (Counters.OutputFullPackets, OutputFullMessages).
//
// # Loss injection
//
// Each line may drop packets on its receive path, after validation and by
// the packet's first sequence, as configured in LineConfig.Loss (a seeded
// random rate and a list of sequences; see internal/lossinject) or by the
// environment variables MDCAST_FEED_LOSS_A and MDCAST_FEED_LOSS_B, e.g.
//
//	MDCAST_FEED_LOSS_A="rate=0.05,seed=1" MDCAST_FEED_LOSS_B="seq=10:11:500" mdcastd
//
// Heartbeats are never dropped. Injected drops are counted per line.
//
// # Replay
//
// A Replayer sends a capture to a UDP address, paced by its timestamps
// (times a speed factor) or at a fixed message rate: the UDP payloads of a
// pcap or pcapng unchanged, or the messages of a NASDAQ BinaryFILE packed
// into MoldUDP64 packets. When a line's LineConfig.Replay names a file,
// the daemon runs a Replayer toward that line's Addr through its Interface,
// so the feed can run from a file with no exchange attached.
//
// # Concurrency
//
// A Receiver's DoWork, OnStart and OnClose run on one goroutine, the
// runner's, which is also the only caller of its pool's Get. Stats,
// Counters, FDs and LocalAddrs are safe from any goroutine. A Replayer
// belongs to one goroutine; its Stats are safe from any.
//
// # Allocation
//
// In steady state (no gap, no session change) DoWork allocates nothing per
// packet or message: the recvmmsg arrays, the packets, the reorder buffer
// and the request buffer are allocated by New, and counters are atomics.
// TestAllocs proves it for in-order A/B traffic and for reordering; Stats
// allocates. Logging happens only on state changes, through a throttle.
package feed
