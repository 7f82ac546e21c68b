package capture_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"mdcast/decode/capture"
)

// BenchmarkPcapReader reads the 174 datagrams of the snippet capture per op
// with a new reader (its buffers are the allocations reported).
func BenchmarkPcapReader(b *testing.B) {
	data, err := os.ReadFile(snippetPcap)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var n int
	for b.Loop() {
		r, err := capture.NewPcapReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			pl, _, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(pl)
		}
	}
	_ = n
}

// BenchmarkBinaryFile reads the 1000 messages of the BinaryFILE sample per
// op with a new reader: the allocations reported are the reader's buffers,
// made once per reader (TestNextAllocs shows Next itself makes none).
func BenchmarkBinaryFile(b *testing.B) {
	data, err := os.ReadFile(binaryFilePath)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var n int
	for b.Loop() {
		r := capture.NewBinaryFile(bytes.NewReader(data))
		for {
			m, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(m)
		}
	}
	_ = n
}
