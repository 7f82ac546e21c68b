package capture_test

import (
	"bytes"
	"os"
	"testing"

	"mdcast/decode/capture"
)

// TestNextAllocs: once a reader's buffers exist, Next allocates nothing.
func TestNextAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	bin, err := os.ReadFile(binaryFilePath)
	if err != nil {
		t.Fatal(err)
	}
	br := capture.NewBinaryFile(bytes.NewReader(bin))
	if _, err := br.Next(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(500, func() {
		if _, err := br.Next(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("BinaryFile.Next: %v allocs", n)
	}

	pc, err := os.ReadFile(snippetPcap)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := capture.NewPcapReader(bytes.NewReader(pc))
	if err != nil {
		t.Fatal(err)
	}
	// The first datagrams grow gopacket's buffer to the snap length.
	for i := 0; i < 3; i++ {
		if _, _, err := pr.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(150, func() {
		if _, _, err := pr.Next(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("PcapReader.Next: %v allocs", n)
	}
}
