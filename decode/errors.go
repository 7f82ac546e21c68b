package decode

import "errors"

// Sentinel errors returned by the views and readers of this package. They are
// exported because callers count malformed input by reason. They are
// preallocated, so returning one never allocates.
var (
	// ErrShortPacket: a datagram shorter than the 20-byte MoldUDP64 header.
	ErrShortPacket = errors.New("decode: packet shorter than MoldUDP64 header")
	// ErrMissingMessages: the header count is larger than the number of messages present.
	ErrMissingMessages = errors.New("decode: message count exceeds messages present")
	// ErrLengthPastEnd: a message before the last one declares a length that runs past the end of the datagram.
	ErrLengthPastEnd = errors.New("decode: message length runs past end of packet")
	// ErrTruncatedMessage: the last message (or its length prefix) is cut short.
	ErrTruncatedMessage = errors.New("decode: truncated message")
	// ErrTrailingBytes: bytes follow the last message the header counts (or follow a heartbeat or end of session header).
	ErrTrailingBytes = errors.New("decode: trailing bytes after last message")
	// ErrSequenceOverflow: sequence plus count does not fit in a uint64.
	ErrSequenceOverflow = errors.New("decode: sequence overflows uint64")

	// ErrRequestLength: a re-request that is not exactly 20 bytes.
	ErrRequestLength = errors.New("decode: request is not 20 bytes")
	// ErrRequestCount: a re-request asking for zero messages.
	ErrRequestCount = errors.New("decode: request count is zero")
	// ErrRequestSequence: a re-request for sequence zero (the first message is 1).
	ErrRequestSequence = errors.New("decode: request sequence is zero")

	// ErrShortQuote: a quote shorter than QuoteLen.
	ErrShortQuote = errors.New("decode: quote shorter than 48 bytes")
	// ErrNotQuote: a message whose type byte is not QuoteType.
	ErrNotQuote = errors.New("decode: not a quote message")
	// ErrQuoteVersion: a quote with version 0.
	ErrQuoteVersion = errors.New("decode: unsupported quote version")

	// ErrShortUpstreamLoss: an upstream loss notice shorter than UpstreamLossLen.
	ErrShortUpstreamLoss = errors.New("decode: upstream loss notice shorter than 32 bytes")
	// ErrNotUpstreamLoss: a message whose type byte is not UpstreamLossType.
	ErrNotUpstreamLoss = errors.New("decode: not an upstream loss notice")
	// ErrUpstreamLossVersion: an upstream loss notice with version 0.
	ErrUpstreamLossVersion = errors.New("decode: unsupported upstream loss notice version")
	// ErrUpstreamLossRange: an upstream loss notice whose first sequence is after its last.
	ErrUpstreamLossRange = errors.New("decode: upstream loss notice range is reversed")

	// ErrSessionLength: a session name longer than 10 bytes.
	ErrSessionLength = errors.New("decode: session longer than 10 bytes")
	// ErrSessionChar: a session name with a byte outside printable ASCII.
	ErrSessionChar = errors.New("decode: session has non-printable byte")

	// ErrUnknownFormat: ParseFormat was given a name other than "itch" or "quote".
	ErrUnknownFormat = errors.New("decode: unknown message format")

	// ErrEmptyMessage: a zero-length message where a typed message is expected.
	ErrEmptyMessage = errors.New("decode: empty message")
	// ErrUnknownType: an ITCH message type this package does not know. Skip
	// the message by its framed length and count it.
	ErrUnknownType = errors.New("decode: unknown ITCH message type")
	// ErrWrongType: a view's Wrap was given a message of another type.
	ErrWrongType = errors.New("decode: wrong ITCH message type for view")
	// ErrStockLength: MakeStock was given more than 8 bytes.
	ErrStockLength = errors.New("decode: stock symbol longer than 8 bytes")
	// ErrITCHLength: an ITCH message whose length differs from the spec length of its type.
	ErrITCHLength = errors.New("decode: ITCH message length does not match its type")
)
