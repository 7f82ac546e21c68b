package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"sync/atomic"
)

// binaryFileBufSize is the read buffer of a BinaryFile; records are at most
// 2+65535 bytes, so a record is always read with at most two refills.
const binaryFileBufSize = 1 << 16

// BinaryFile reads a NASDAQ BinaryFILE: records of [u16 big-endian length]
// [message], back to back, with no file header. It is not safe for concurrent
// use (Messages may be read from any goroutine).
type BinaryFile struct {
	r        *bufio.Reader
	c        io.Closer // nil when created with NewBinaryFile
	buf      []byte    // message buffer, reused
	hdr      [2]byte   // length prefix; a field so it does not escape per call
	messages atomic.Uint64
	err      error // sticky
}

// OpenBinaryFile opens the BinaryFILE at path. Close it when done.
func OpenBinaryFile(path string) (*BinaryFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	b := NewBinaryFile(f)
	b.c = f
	return b, nil
}

// NewBinaryFile reads a BinaryFILE stream from r.
func NewBinaryFile(r io.Reader) *BinaryFile {
	return &BinaryFile{r: bufio.NewReaderSize(r, binaryFileBufSize), buf: make([]byte, 0, 64)}
}

// Next returns the next message without its length prefix. The slice aliases
// the reader's buffer and is valid until the next call. At the clean end of
// the file it returns io.EOF; a file that ends inside a record returns
// ErrTruncated. Errors are sticky. Next does not allocate once its buffer has
// grown to the longest message.
func (b *BinaryFile) Next() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	if _, err := io.ReadFull(b.r, b.hdr[:]); err != nil {
		return nil, b.fail(err)
	}
	n := int(binary.BigEndian.Uint16(b.hdr[:]))
	if cap(b.buf) < n {
		b.buf = make([]byte, n)
	}
	msg := b.buf[:n]
	if _, err := io.ReadFull(b.r, msg); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, b.fail(err)
	}
	b.messages.Add(1)
	return msg, nil
}

// fail records the sticky error, mapping a partial record to ErrTruncated.
func (b *BinaryFile) fail(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = ErrTruncated
	}
	b.err = err
	return err
}

// Messages returns how many messages Next has returned.
func (b *BinaryFile) Messages() uint64 { return b.messages.Load() }

// Close closes the file opened by OpenBinaryFile; it is a no-op otherwise.
func (b *BinaryFile) Close() error {
	if b.c == nil {
		return nil
	}
	c := b.c
	b.c = nil
	return c.Close()
}
