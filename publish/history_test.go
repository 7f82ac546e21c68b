package publish

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// msgOf returns a message of n bytes that encodes seq, so a lookup can be
// checked against the sequence it was stored under.
func msgOf(seq uint64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seq) + byte(i)
	}
	if n >= 8 {
		binary.BigEndian.PutUint64(b, seq)
	}
	return b
}

func checkRetained(t *testing.T, h *History, oldest, next uint64, size func(uint64) int) {
	t.Helper()
	if h.Oldest() != oldest || h.Next() != next || h.Len() != int(next-oldest) {
		t.Fatalf("oldest %d next %d len %d, want %d %d %d", h.Oldest(), h.Next(), h.Len(), oldest, next, next-oldest)
	}
	total := 0
	for s := oldest; s < next; s++ {
		m, ok := h.Lookup(s)
		if !ok || !bytes.Equal(m, msgOf(s, size(s))) {
			t.Fatalf("lookup %d: ok %v, content differs", s, ok)
		}
		total += len(m)
	}
	if h.Bytes() != total {
		t.Fatalf("Bytes %d, want %d", h.Bytes(), total)
	}
	for _, s := range []uint64{0, oldest - 1, next, next + 1} {
		if s >= oldest && s < next {
			continue
		}
		if _, ok := h.Lookup(s); ok {
			t.Fatalf("lookup %d outside [%d,%d) succeeded", s, oldest, next)
		}
	}
}

func TestHistoryMessageBound(t *testing.T) {
	h, err := NewHistory(100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	fixed := func(uint64) int { return 48 }
	checkRetained(t, h, 1, 1, fixed)
	for s := uint64(1); s <= 100; s++ {
		h.Append(msgOf(s, 48))
	}
	checkRetained(t, h, 1, 101, fixed)
	// Past the bound, and around the index ring (128 slots) several times.
	for s := uint64(101); s <= 1000; s++ {
		h.Append(msgOf(s, 48))
	}
	checkRetained(t, h, 901, 1001, fixed)
	if h.Evicted() != 900 {
		t.Fatalf("evicted %d, want 900", h.Evicted())
	}
}

func TestHistoryByteBound(t *testing.T) {
	// 1000 bytes of arena; messages of varying size so the arena wraps at
	// odd offsets and skips tails.
	h, err := NewHistory(1000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	size := func(s uint64) int { return int(s*37%150) + 1 }
	for s := uint64(1); s <= 5000; s++ {
		h.Append(msgOf(s, size(s)))
		if h.Bytes() > 1000 {
			t.Fatalf("after %d: %d bytes retained > bound", s, h.Bytes())
		}
		if s%97 == 0 {
			checkRetained(t, h, h.Oldest(), s+1, size)
		}
	}
	checkRetained(t, h, h.Oldest(), 5001, size)
	if h.Len() < 1000/151 {
		t.Fatalf("only %d messages retained in 1000 bytes", h.Len())
	}
	// Eviction stopped as soon as the newest messages fit: with the
	// previous message the span would have exceeded the arena. The span
	// holds each message's block (2 more bytes) and, being at most 1300
	// bytes long, at most two skipped tails (< 152 each).
	used := 0
	for s := h.Oldest(); s < h.Next(); s++ {
		used += size(s) + 2
	}
	if older := size(h.Oldest()-1) + 2; used+older <= 1000-304 {
		t.Fatalf("evicted too much: %d bytes retained, the previous message of %d would fit", used, older)
	}
}

func TestHistoryExactFit(t *testing.T) {
	// Blocks of 2+23 bytes: four fill the 100-byte arena exactly.
	h, _ := NewHistory(10, 100)
	size := func(uint64) int { return 23 }
	for s := uint64(1); s <= 4; s++ {
		h.Append(msgOf(s, 23))
	}
	checkRetained(t, h, 1, 5, size)
	h.Append(msgOf(5, 23)) // wraps to offset 0: evicts message 1 only
	checkRetained(t, h, 2, 6, size)
	if !h.Append(msgOf(6, 98)) { // the whole arena
		t.Fatal("a message filling the arena was refused")
	}
	checkRetained(t, h, 6, 7, func(uint64) int { return 98 })
	if h.Append(make([]byte, 99)) {
		t.Fatal("a message larger than the arena was stored")
	}
	if h.Next() != 7 {
		t.Fatalf("refused append advanced Next to %d", h.Next())
	}
}

// framed returns the message area of a packet holding msgs.
func framed(msgs ...[]byte) []byte {
	var body []byte
	for _, m := range msgs {
		body = binary.BigEndian.AppendUint16(body, uint16(len(m)))
		body = append(body, m...)
	}
	return body
}

func TestHistoryAppendFramed(t *testing.T) {
	h, _ := NewHistory(10, 100)
	ten := func(uint64) int { return 10 }
	h.appendFramed(framed(msgOf(1, 10), msgOf(2, 10), msgOf(3, 10)), 3)
	checkRetained(t, h, 1, 4, ten)
	h.appendFramed(framed(msgOf(4, 10), msgOf(5, 10))[:15], 2) // cut short: the whole message only
	checkRetained(t, h, 1, 5, ten)
	// 51 bytes used (the cut block reserved its 15): a 60-byte block does
	// not fit before the end, starts again at offset 0 and so evicts every
	// message stored before it.
	h.appendFramed(framed(msgOf(5, 10), msgOf(6, 10), msgOf(7, 10), msgOf(8, 10), msgOf(9, 10)), 5)
	checkRetained(t, h, 5, 10, ten)
	// More messages than the count bound: stored one by one, newest kept.
	var many [][]byte
	for s := uint64(10); s < 10+12; s++ {
		many = append(many, msgOf(s, 1))
	}
	h.appendFramed(framed(many...), len(many))
	checkRetained(t, h, 12, 22, func(uint64) int { return 1 })
}

func TestHistoryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	h, _ := NewHistory(64, 4096)
	m := msgOf(1, 48)
	allocs := testing.AllocsPerRun(1000, func() {
		h.Append(m)
		if _, ok := h.Lookup(h.Next() - 1); !ok {
			t.Fatal("lookup of the newest failed")
		}
	})
	if allocs != 0 {
		t.Fatalf("Append+Lookup allocate %.1f times", allocs)
	}
}

func BenchmarkHistoryAppend(b *testing.B) {
	h, _ := NewHistory(1<<16, 4<<20)
	m := msgOf(1, 48)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.Append(m)
	}
}
