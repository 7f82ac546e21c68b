package perf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"mdcast/decode"
	"mdcast/decode/capture"
)

// Replay holds the ITCH messages of a file in memory, so the generator can
// send them at a fixed rate (looping over the file when the run needs more)
// without touching the disk or allocating. It is read-only after LoadReplay
// and safe for concurrent readers.
type Replay struct {
	// Path is the file the messages came from.
	Path string
	// Source is "binaryfile" or "pcap".
	Source string
	// Skipped counts records that could not be used: datagrams that are not
	// MoldUDP64, and messages shorter than the 11-byte ITCH header.
	Skipped int

	data   []byte
	ends   []int // message i is data[ends[i-1]:ends[i]]
	maxLen int
}

// pcap and pcapng magic numbers, as the first four bytes of the file.
var pcapMagics = [][]byte{
	{0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, // microsecond pcap, both byte orders
	{0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, // nanosecond pcap
	{0x0a, 0x0d, 0x0d, 0x0a}, // pcapng section header block
}

// LoadReplay reads every ITCH message from path: a pcap or pcapng capture of
// MoldUDP64 datagrams (recognised by its magic number), or otherwise a
// NASDAQ BinaryFILE ([u16 length][message]...).
func LoadReplay(path string) (*Replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [4]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	r := &Replay{Path: path}
	isPcap := false
	for _, m := range pcapMagics {
		if n == 4 && bytes.Equal(magic[:], m) {
			isPcap = true
		}
	}
	if isPcap {
		r.Source = "pcap"
		err = r.loadPcap(f)
	} else {
		r.Source = "binaryfile"
		err = r.loadBinaryFile(f)
	}
	if err != nil {
		return nil, fmt.Errorf("perf: replay %s: %w", path, err)
	}
	if len(r.ends) == 0 {
		return nil, fmt.Errorf("perf: replay %s: %w", path, ErrNoMessages)
	}
	return r, nil
}

func (r *Replay) loadBinaryFile(f io.Reader) error {
	bf := capture.NewBinaryFile(f)
	for {
		msg, err := bf.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		r.add(msg)
	}
}

func (r *Replay) loadPcap(f io.Reader) error {
	pr, err := capture.NewPcapReader(f)
	if err != nil {
		return err
	}
	var p decode.Packet
	for {
		payload, _, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if p.Wrap(payload) != nil {
			r.Skipped++
			continue
		}
		it := p.Messages()
		for it.Next() {
			r.add(it.Message())
		}
	}
}

func (r *Replay) add(msg []byte) {
	if len(msg) < itchHeaderLen {
		r.Skipped++
		return
	}
	r.data = append(r.data, msg...)
	r.ends = append(r.ends, len(r.data))
	r.maxLen = max(r.maxLen, len(msg))
}

// Len returns the number of messages.
func (r *Replay) Len() int { return len(r.ends) }

// MaxLen returns the length of the longest message.
func (r *Replay) MaxLen() int { return r.maxLen }

// Message returns message i (0 <= i < Len). It aliases the Replay's memory:
// do not modify it.
func (r *Replay) Message(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.data[start:r.ends[i]:r.ends[i]]
}
