package decode

import (
	"encoding/binary"
	"testing"
)

// TestWrapIndex checks the invariant the iterators rely on: after a
// successful Wrap of a packet of at most packetIndexLen messages, idx[i] is
// the end offset of message i found by walking the length prefixes, and the
// last one is the packet length.
func TestWrapIndex(t *testing.T) {
	var s Session
	copy(s[:], "IDX       ")
	for _, n := range []int{1, 2, 57, packetIndexLen} {
		b := AppendPacketHeader(nil, s, 1, uint16(n))
		for i := 0; i < n; i++ {
			b = AppendMessage(b, make([]byte, i%40))
		}
		var p Packet
		if err := p.Wrap(b); err != nil {
			t.Fatal(err)
		}
		if !p.indexed() {
			t.Fatalf("n=%d not indexed", n)
		}
		off := PacketHeaderLen
		for i := 0; i < n; i++ {
			off += MessageLenSize + int(binary.BigEndian.Uint16(b[off:]))
			if int(p.idx[i]) != off {
				t.Fatalf("n=%d idx[%d] = %d, want %d", n, i, p.idx[i], off)
			}
		}
		if off != len(b) {
			t.Fatalf("n=%d walked to %d of %d", n, off, len(b))
		}
	}
	// A failed Wrap leaves nothing to iterate, even with a stale index.
	var p Packet
	good := AppendMessage(AppendPacketHeader(nil, s, 1, 1), []byte("x"))
	if err := p.Wrap(good); err != nil {
		t.Fatal(err)
	}
	if err := p.Wrap(good[:len(good)-1]); err == nil || p.n != 0 || p.b != nil {
		t.Fatalf("failed Wrap: err %v n %d", err, p.n)
	}
	if it := p.Messages(); it.Next() {
		t.Fatal("iterates after a failed Wrap")
	}
}
