package publish_test

import (
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"mdcast/decode/capture"
	"mdcast/publish"
)

// TestRouteITCHSample routes the 1000 real ITCH 5.0 messages of the NASDAQ
// sample by stock locate over three channels: every message arrives on
// channel locate % 3, unchanged and in order.
func TestRouteITCHSample(t *testing.T) {
	f, err := capture.OpenBinaryFile("testdata/12302019_SNIPPET.NASDAQ_ITCH50")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newHarness(t, 3, func(c *publish.Config) { c.Format = "itch" })
	want := make([][][]byte, 3)
	var batch [][]byte
	total := 0
	for {
		msg, err := f.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		m := append([]byte(nil), msg...)
		locate := binary.BigEndian.Uint16(m[1:])
		want[locate%3] = append(want[locate%3], m)
		batch = append(batch, m)
		total++
		if len(batch) == 25 {
			h.offer(batch...)
			batch = batch[:0]
			h.work()
		}
	}
	if len(batch) > 0 {
		h.offer(batch...)
	}
	h.work()
	if total != 1000 {
		t.Fatalf("read %d messages from the sample, want 1000", total)
	}
	checkChannels(t, h, want)
	noMoreData(t, h)
	if s := h.w.Counters.Snapshot(); s.MessagesIn != 1000 || s.NoKey != 0 {
		t.Fatalf("worker counters %+v", s)
	}
}
