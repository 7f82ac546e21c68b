package subscriber

import "mdcast/decode"

// MaxMessageLen is the largest message a Message carries inline: every
// ITCH 5.0 message (the longest, NOII 'I', is 50 bytes) and the 48-byte
// mdcast quote fit. A longer message is not delivered: the consumer gets a
// Loss with Reason TooLarge for its sequence, and the channel counts it.
const MaxMessageLen = 64

// Kind says what a Message is.
type Kind uint8

// Kinds of Message. Heartbeats are never delivered.
const (
	// Data is a message from the channel, in sequence order.
	Data Kind = iota + 1
	// LossEvent reports sequences that will never be delivered; see Loss.
	LossEvent
	// SessionChange reports that the channel's session changed (the daemon
	// restarted). Sequence is the first sequence of the new session the
	// subscriber resumes from; what was outstanding in the old session came
	// just before as a Loss with Reason SessionChanged.
	SessionChange
	// EndOfSession reports the end of the channel's session: every message
	// of the session before Sequence has been delivered or reported lost.
	EndOfSession
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Data:
		return "data"
	case LossEvent:
		return "loss"
	case SessionChange:
		return "session-change"
	case EndOfSession:
		return "end-of-session"
	}
	return "unknown"
}

// LossReason says why sequences were lost.
type LossReason uint8

// Loss reasons.
const (
	// Unrecoverable: the gap was not repaired before the retransmit
	// deadline (the daemon's history no longer had it, or no request address
	// is configured, or every request or answer was lost).
	Unrecoverable LossReason = iota + 1
	// SlowConsumer: this consumer's own ring overwrote the messages before
	// it read them (DropOldest). Other consumers still got them.
	SlowConsumer
	// SessionChanged: the messages were outstanding when the session changed.
	SessionChanged
	// TooLarge: the message is longer than MaxMessageLen.
	TooLarge
	// Upstream: the daemon lost messages of its own feed (Loss.Upstream
	// says which; its Flags has decode.UpstreamLossDaemonDrop when they
	// reached the daemon but not this channel's publish worker) and said so
	// with an upstream loss notice on the channel. The loss's From..To is the one channel sequence the notice
	// occupied: no channel message is missing, but the lost upstream
	// messages may have belonged on this channel.
	Upstream
)

// String returns the reason's name.
func (r LossReason) String() string {
	switch r {
	case Unrecoverable:
		return "unrecoverable"
	case SlowConsumer:
		return "slow-consumer"
	case SessionChanged:
		return "session-changed"
	case TooLarge:
		return "too-large"
	case Upstream:
		return "upstream"
	}
	return "unknown"
}

// Loss is a range of a channel's sequences, From to To inclusive, that will
// never be delivered to this consumer, and why. A Loss is delivered in the
// stream at the place of the missing messages; a gap that is still being
// repaired is never reported. With Reason Upstream, From..To is the
// sequence of the daemon's notice and Upstream says what the daemon lost.
type Loss struct {
	Channel  int
	From, To uint64
	Reason   LossReason
	// Upstream is, for Reason Upstream, the upstream session and the range
	// of upstream sequences the daemon's feed lost (Upstream.Count() of
	// them); zero for other reasons.
	Upstream decode.UpstreamLossFields
}

// Count returns the number of sequences lost.
func (l Loss) Count() uint64 { return l.To - l.From + 1 }

// Message is one delivered item: a channel message (Kind Data) or an event.
// It is a fixed-size value with the message bytes copied inline, so it holds
// no pointer into any packet buffer; consumers receive it in batches of
// []Message owned by the Consumer. Access it by index (m := &batch[i]):
// Bytes aliases the Message, so calling it on a copy makes that copy escape.
// Quotes have Quote; for ITCH, wrap decode's view of the type over Bytes
// (var a decode.AddOrder; err := a.Wrap(m.Bytes())), which copies nothing.
type Message struct {
	// Sequence is the message's sequence (Data), the first lost sequence
	// (LossEvent; for an Upstream loss, the notice's own sequence), or the
	// next sequence of the session (SessionChange, EndOfSession).
	Sequence uint64
	// RecvNs is when the packet carrying it was received (internal/clock,
	// CLOCK_MONOTONIC ns); for events, when the event was raised.
	RecvNs int64
	// Channel is the index of the channel in Config.Channels.
	Channel int
	to      uint64 // LossEvent: last lost sequence
	epoch   uint32 // session number, counted by the receive agent per channel
	// Kind says what the Message is.
	Kind   Kind
	reason LossReason // LossEvent
	n      uint8      // valid bytes in data
	data   [MaxMessageLen]byte
}

// Bytes returns the message bytes (Data only; empty otherwise). The slice
// aliases m: it is valid as long as m is (for a batch, until the next Poll
// or the end of the Run callback).
func (m *Message) Bytes() []byte { return m.data[:m.n] }

// Type returns the message type byte (the first byte), or 0.
func (m *Message) Type() byte {
	if m.n == 0 {
		return 0
	}
	return m.data[0]
}

// Quote returns a view of the message as an mdcast quote.
func (m *Message) Quote() (decode.Quote, error) {
	var q decode.Quote
	if m.Kind != Data {
		return q, ErrNotData
	}
	err := q.Wrap(m.data[:m.n])
	return q, err
}

// Loss returns the loss a LossEvent message reports (zero Loss otherwise).
func (m *Message) Loss() Loss {
	if m.Kind != LossEvent {
		return Loss{}
	}
	l := Loss{Channel: m.Channel, From: m.Sequence, To: m.to, Reason: m.reason}
	if m.reason == Upstream {
		// The notice's fields ride in the otherwise unused data bytes
		// (channel.emitNotice), so a Message stays its fixed size.
		var u decode.UpstreamLoss
		if u.Wrap(m.data[:decode.UpstreamLossLen]) == nil {
			l.Upstream = u.Fields()
		}
	}
	return l
}

// Instrument returns the message's instrument key for format f (ITCH stock
// locate or quote instrument id), false if it has none.
func (m *Message) Instrument(f decode.Format) (uint32, bool) {
	if m.Kind != Data {
		return 0, false
	}
	return decode.InstrumentKey(f, m.data[:m.n])
}
