package capture

import "errors"

// Sentinel errors. File-level problems end the stream; frame-level problems
// are counted in Stats instead.
var (
	// ErrTruncated: the file ends inside a record.
	ErrTruncated = errors.New("capture: file ends inside a record")
	// ErrFormat: the file is neither pcap nor pcapng (unknown magic number).
	ErrFormat = errors.New("capture: not a pcap or pcapng file")
	// ErrCorrupt: the capture parser failed on malformed input.
	ErrCorrupt = errors.New("capture: corrupt capture file")
)
