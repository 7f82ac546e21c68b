// Package publish runs pinned workers that route messages to channels, frame
// them as MoldUDP64, send them in batches, and serve retransmission requests
// from each channel's history.
//
// A channel is one multicast group:port carrying MoldUDP64 1.00 downstream
// packets (DESIGN.md section 3): a 20-byte header (session, sequence of the
// first message, count) and count messages, each a u16 length and the bytes.
// Messages are carried unchanged; only the framing is rewritten. Each start
// uses a new session (NewSessionName) and every channel's sequences start at
// 1. Heartbeats are count-0 packets carrying the next sequence; the end of
// session is count 0xFFFF.
//
// # The path of a message
//
// A Worker is a ring.Agent. Each upstream packet (a *ring.Packet holding one
// validated MoldUDP64 packet from the feed, whose first Skip messages were
// already delivered) reaches it inline through Offer, called on the worker's
// thread just before DoWork (the feed and the worker in one ring.Composite),
// or through its Input ring from a producer on another thread. For every new
// message the worker reads the routing key (decode.InstrumentKey: the ITCH
// stock locate or the quote's instrument), asks the Router for a channel
// (key modulo the channel count, or explicit key ranges), and appends the
// message to that channel's packet. A packet that cannot take the next
// message is finished: its messages go into the channel's History and the
// datagram joins the worker's sendmmsg batch. When the input runs dry (the
// end of DoWork), every partial packet is finished and the batch is sent:
// smart batching, with no timer between a message and its send.
//
// # Notices
//
// The daemon's own control messages travel the same way as data, so they
// keep their place in the stream: an upstream loss notice
// (decode.AppendUpstreamLoss, made when the feed gives up on upstream
// messages) arrives as a ring.Packet marked LineNotice (NoticePacket) through
// Offer or the Input ring, or through PublishNotice on the worker's thread.
// The worker appends it to every channel it owns, after what the channel
// already holds: it takes one sequence, goes into the History and is
// answered to re-requests like any message, and is counted in
// ChannelCounters.Messages and Notices. Since subscribers recognise the
// notice by its type byte on any channel, an upstream message of that type
// (decode.UpstreamLossType) is dropped and counted (ReservedType).
//
// # Retransmission
//
// Each channel has a unicast request socket. A MoldUDP64 re-request (session,
// sequence, count) is answered by the RetransmitServer with one ordinary
// downstream packet, sent unicast to the requester, holding as many of the
// requested messages as fit. Requests from outside the ACL, for another
// session, or for messages no longer (or not yet) in the History get nothing;
// the same request repeated within the linger window is suppressed; each
// requester has a byte-rate token bucket; answers per linger window are
// capped. Every outcome is counted in ChannelCounters.
//
// # Heartbeats and shutdown
//
// A channel idle since its last data packet sends a heartbeat after
// Heartbeat.Early, then again after doubling intervals up to Heartbeat.Idle,
// so a subscriber learns of a lost last packet within about Early. DoWork
// must run at least that often (a ring.Block idle strategy's maximum park).
// EndSession makes the next DoWork send the end of session on every channel;
// afterwards input is refused, the end of session is repeated on the
// heartbeat schedule, re-requests are still answered, and Done is closed
// after Grace.
//
//	w, err := publish.NewWorker(cfg, nil) // all channels
//	r := ring.NewRunner(ring.Composite{receiver, w}, ring.RunnerConfig{CPU: 1})
//	err = r.Start()
//	...
//	w.EndSession(clock.Nanotime())
//	<-w.Done()
//	r.Close()
//
// # Concurrency
//
// Offer, DoWork, OnStart and OnClose run on the worker's thread, which also
// owns the channels, their histories and the retransmission state, so
// nothing there is locked. The producer side of Input, EndSession, Done,
// Stats and all counters may be used from any goroutine. Several workers may
// split the channels of one Config between them (NewWorker's channel list);
// each then ignores messages routed to channels it does not own.
//
// # Allocation
//
// NewWorker allocates everything: per channel a set of datagram buffers
// reused after each sendmmsg, a history arena and index, and the request
// socket; per worker the send batch, input ring and retransmission pools.
// Offer and DoWork (routing, framing, history, sending, heartbeats,
// re-requests, notices) do not allocate; TestAllocs, TestNoticeAllocs and
// BenchmarkPublish check it.
package publish
