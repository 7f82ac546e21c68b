package feed

import "errors"

// Sentinel errors of this package. Malformed datagrams are not reported as
// errors at all: they are counted by their decode sentinel (see
// MalformedStats) and released, so the receive loop never builds an error on
// the hot path.
var (
	// ErrClosed is returned by DoWork after the receiver was closed.
	ErrClosed = errors.New("feed: receiver closed")
	// ErrReplayClosed is returned by Replayer.Run after Close.
	ErrReplayClosed = errors.New("feed: replayer closed")
	// ErrReplayFormat is returned when a replay file is neither a pcap, a
	// pcapng nor a BinaryFILE this package can read.
	ErrReplayFormat = errors.New("feed: unknown replay file format")
)
