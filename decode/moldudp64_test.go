package decode_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"mdcast/decode"
)

func mustSession(t testing.TB, s string) decode.Session {
	t.Helper()
	sess, err := decode.MakeSession(s)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// buildPacket frames msgs with the append helpers (independently of PacketWriter).
func buildPacket(s decode.Session, seq uint64, count uint16, msgs ...[]byte) []byte {
	b := decode.AppendPacketHeader(nil, s, seq, count)
	for _, m := range msgs {
		b = decode.AppendMessage(b, m)
	}
	return b
}

func TestSession(t *testing.T) {
	s := mustSession(t, "ABC")
	if string(s[:]) != "ABC       " {
		t.Fatalf("padding: %q", s[:])
	}
	if s.String() != "ABC" {
		t.Fatalf("String: %q", s.String())
	}
	if _, err := decode.MakeSession("12345678901"); !errors.Is(err, decode.ErrSessionLength) {
		t.Fatalf("long: %v", err)
	}
	if _, err := decode.MakeSession("AB\x00"); !errors.Is(err, decode.ErrSessionChar) {
		t.Fatalf("nul: %v", err)
	}
	if s := mustSession(t, "0123456789"); s.String() != "0123456789" {
		t.Fatalf("full: %q", s.String())
	}
}

func TestPacketRoundTrip(t *testing.T) {
	sess := mustSession(t, "S1")
	buf := make([]byte, 64)
	w := decode.NewPacketWriter(buf, 40)
	w.Reset(sess, 7)
	msgs := [][]byte{[]byte("hello"), {}, []byte("0123456")}
	for _, m := range msgs {
		if !w.Append(m) {
			t.Fatalf("append %q failed at len %d", m, w.Len())
		}
	}
	// 20 + 7 + 2 + 9 = 38; one more 1-byte message needs 3 bytes > 40.
	if w.Append([]byte("x")) {
		t.Fatal("append past budget succeeded")
	}
	if w.Count() != 3 || w.Len() != 38 || w.NextSequence() != 10 {
		t.Fatalf("count %d len %d next %d", w.Count(), w.Len(), w.NextSequence())
	}
	pkt := w.Bytes()
	if want := buildPacket(sess, 7, 3, msgs...); !bytes.Equal(pkt, want) {
		t.Fatalf("writer bytes\n got %x\nwant %x", pkt, want)
	}
	var p decode.Packet
	if err := p.Wrap(pkt); err != nil {
		t.Fatal(err)
	}
	if p.Session() != sess || p.Sequence() != 7 || p.Count() != 3 || p.MessageCount() != 3 || p.NextSequence() != 10 {
		t.Fatalf("header: %v %d %d %d", p.Session(), p.Sequence(), p.Count(), p.MessageCount())
	}
	if p.IsHeartbeat() || p.IsEndOfSession() {
		t.Fatal("data packet reported as heartbeat/end of session")
	}
	it := p.Messages()
	i := 0
	for it.Next() {
		if !bytes.Equal(it.Message(), msgs[i]) || it.Sequence() != uint64(7+i) {
			t.Fatalf("msg %d: %q seq %d", i, it.Message(), it.Sequence())
		}
		i++
	}
	if i != 3 || it.Next() {
		t.Fatalf("iterated %d", i)
	}
	// Reset discards the previous packet.
	w.Reset(sess, 10)
	if w.Len() != decode.PacketHeaderLen || w.Count() != 0 {
		t.Fatalf("after reset len %d count %d", w.Len(), w.Count())
	}
	if err := p.Wrap(w.Bytes()); err != nil || !p.IsHeartbeat() || p.Sequence() != 10 {
		t.Fatalf("empty writer packet: %v hb=%v", err, p.IsHeartbeat())
	}
}

func TestHeartbeatAndEndOfSession(t *testing.T) {
	sess := mustSession(t, "HB")
	var p decode.Packet
	if err := p.Wrap(decode.AppendPacketHeader(nil, sess, 42, 0)); err != nil {
		t.Fatal(err)
	}
	if !p.IsHeartbeat() || p.IsEndOfSession() || p.MessageCount() != 0 || p.NextSequence() != 42 {
		t.Fatalf("heartbeat: hb=%v eos=%v n=%d", p.IsHeartbeat(), p.IsEndOfSession(), p.MessageCount())
	}
	if it := p.Messages(); it.Next() {
		t.Fatal("heartbeat has a message")
	}
	if err := p.Wrap(decode.AppendPacketHeader(nil, sess, 42, decode.EndOfSessionCount)); err != nil {
		t.Fatal(err)
	}
	if p.IsHeartbeat() || !p.IsEndOfSession() || p.MessageCount() != 0 || p.Count() != 0xFFFF || p.NextSequence() != 42 {
		t.Fatalf("eos: hb=%v eos=%v n=%d", p.IsHeartbeat(), p.IsEndOfSession(), p.MessageCount())
	}
	if it := p.Messages(); it.Next() {
		t.Fatal("end of session has a message")
	}
}

func TestPacketMalformed(t *testing.T) {
	sess := mustSession(t, "BAD")
	good := buildPacket(sess, 1, 2, []byte("abc"), []byte("de"))
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, decode.ErrShortPacket},
		{"short header", good[:19], decode.ErrShortPacket},
		{"count larger than messages", buildPacket(sess, 1, 3, []byte("abc"), []byte("de")), decode.ErrMissingMessages},
		{"count 1 nothing present", decode.AppendPacketHeader(nil, sess, 1, 1), decode.ErrMissingMessages},
		{"length past end", append(decode.AppendPacketHeader(nil, sess, 1, 2), 0, 9, 'a'), decode.ErrLengthPastEnd},
		{"truncated last message", good[:len(good)-1], decode.ErrTruncatedMessage},
		{"truncated length prefix", good[:20+5+1], decode.ErrTruncatedMessage},
		{"trailing bytes", append(append([]byte{}, good...), 0), decode.ErrTrailingBytes},
		{"trailing after heartbeat", append(decode.AppendPacketHeader(nil, sess, 1, 0), 0, 1, 'x'), decode.ErrTrailingBytes},
		{"trailing after end of session", append(decode.AppendPacketHeader(nil, sess, 1, 0xFFFF), 0), decode.ErrTrailingBytes},
		{"sequence overflow", buildPacket(sess, ^uint64(0), 2, []byte("a"), []byte("b")), decode.ErrSequenceOverflow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p decode.Packet
			if err := p.Wrap(c.b); !errors.Is(err, c.err) {
				t.Fatalf("Wrap = %v, want %v", err, c.err)
			}
			if p.MessageCount() != 0 || p.Bytes() != nil {
				t.Fatal("failed Wrap left a usable packet")
			}
			if it := p.Messages(); it.Next() {
				t.Fatal("failed Wrap iterates")
			}
			if c.err != decode.ErrTrailingBytes {
				if _, _, err := decode.SplitPacket(c.b); !errors.Is(err, c.err) {
					t.Fatalf("SplitPacket = %v, want %v", err, c.err)
				}
			}
		})
	}
	// The last sequence may be the largest uint64.
	var p decode.Packet
	if err := p.Wrap(buildPacket(sess, ^uint64(0)-1, 1, []byte("a"))); err != nil {
		t.Fatalf("max sequence: %v", err)
	}
}

func TestPacketWriterLimits(t *testing.T) {
	w := decode.NewPacketWriter(make([]byte, 0, 1<<20), 0)
	if !w.Fits(0xFFFF) || w.Fits(0x10000) {
		t.Fatal("Fits length limit")
	}
	if w.Append(make([]byte, 0x10000)) {
		t.Fatal("appended a message longer than 65535")
	}
	for i := 0; i < decode.MaxMessageCount; i++ {
		if !w.Append(nil) {
			t.Fatalf("append %d failed", i)
		}
	}
	if w.Append(nil) || w.Fits(0) {
		t.Fatal("appended past MaxMessageCount")
	}
	var p decode.Packet
	if err := p.Wrap(w.Bytes()); err != nil || p.MessageCount() != decode.MaxMessageCount {
		t.Fatalf("wrap full writer: %v %d", err, p.MessageCount())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("NewPacketWriter with a tiny buffer did not panic")
		}
	}()
	decode.NewPacketWriter(make([]byte, 10), 0)
}

// TestSplitPacketBIST reads the raw back-to-back MoldUDP64 stream described in
// testdata/ATTRIBUTION.md section 2: three packets (seq 1/15, 16/13, 29/13)
// whose last message is 5 bytes short.
func TestSplitPacketBIST(t *testing.T) {
	data, err := os.ReadFile("testdata/bist_itch_moldudp64_stream.dat")
	if err != nil {
		t.Fatal(err)
	}
	type hdr struct {
		seq   uint64
		count uint16
	}
	want := []hdr{{1, 15}, {16, 13}, {29, 13}}
	var got []hdr
	rest := data
	var lastErr error
	for len(rest) > 0 {
		pkt, r, err := decode.SplitPacket(rest)
		if err != nil {
			// A packet whose header is intact but whose last message is cut:
			// report it from the header alone.
			got = append(got, hdr{binary.BigEndian.Uint64(rest[10:]), binary.BigEndian.Uint16(rest[18:])})
			lastErr = err
			break
		}
		var p decode.Packet
		if err := p.Wrap(pkt); err != nil {
			t.Fatalf("Wrap of split packet: %v", err)
		}
		if p.Session() != (decode.Session{}) {
			t.Fatalf("session %x, want zero bytes", p.Session())
		}
		n := 0
		for it := p.Messages(); it.Next(); n++ {
			if it.Sequence() != p.Sequence()+uint64(n) {
				t.Fatalf("sequence %d", it.Sequence())
			}
		}
		if n != int(p.Count()) {
			t.Fatalf("iterated %d of %d", n, p.Count())
		}
		got = append(got, hdr{p.Sequence(), p.Count()})
		rest = r
	}
	if len(got) != len(want) {
		t.Fatalf("packets %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("packet %d = %v, want %v", i, got[i], want[i])
		}
	}
	if !errors.Is(lastErr, decode.ErrTruncatedMessage) {
		t.Fatalf("last packet error %v, want ErrTruncatedMessage", lastErr)
	}
	// Wrap of the cut packet reports the same.
	var p decode.Packet
	last := data[len(data)-len(rest):]
	if err := p.Wrap(last); !errors.Is(err, decode.ErrTruncatedMessage) {
		t.Fatalf("Wrap of last packet: %v", err)
	}
	// With the 5 missing bytes restored, the last packet is whole.
	fixed := append(append([]byte{}, last...), 0, 0, 0, 0, 0)
	if err := p.Wrap(fixed); err != nil || p.NextSequence() != 42 {
		t.Fatalf("restored last packet: %v next %d", err, p.NextSequence())
	}
}

func TestPacketAll(t *testing.T) {
	sess := mustSession(t, "ALL")
	msgs := [][]byte{[]byte("a"), []byte("bb"), {}, []byte("dddd")}
	var p decode.Packet
	if err := p.Wrap(buildPacket(sess, 100, 4, msgs...)); err != nil {
		t.Fatal(err)
	}
	i := 0
	for seq, m := range p.All() {
		if seq != uint64(100+i) || !bytes.Equal(m, msgs[i]) || cap(m) != len(m) {
			t.Fatalf("message %d: seq %d %q cap %d", i, seq, m, cap(m))
		}
		i++
	}
	if i != 4 {
		t.Fatalf("All yielded %d", i)
	}
	i = 0
	for range p.All() {
		i++
		if i == 2 {
			break
		}
	}
	if i != 2 {
		t.Fatal("break")
	}
	for _, b := range [][]byte{
		decode.AppendPacketHeader(nil, sess, 5, 0),
		decode.AppendPacketHeader(nil, sess, 5, decode.EndOfSessionCount),
	} {
		if err := p.Wrap(b); err != nil {
			t.Fatal(err)
		}
		for range p.All() {
			t.Fatal("heartbeat/end of session yields a message")
		}
	}
	var zero decode.Packet
	for range zero.All() {
		t.Fatal("zero Packet yields a message")
	}
	if it := zero.Messages(); it.Next() || it.Message() != nil && len(it.Message()) != 0 {
		t.Fatal("zero Packet iterates")
	}
}

// TestIteratorBufferChanged: a buffer rewritten after Wrap (a misuse) never
// makes the iterators panic. Small packets iterate by the offsets Wrap
// recorded; packets of more than 128 messages walk the length prefixes, yield
// nil for a message that now runs past the end, and stop.
func TestIteratorBufferChanged(t *testing.T) {
	sess := mustSession(t, "CHG")
	for _, n := range []int{2, 200} {
		msgs := make([][]byte, n)
		for i := range msgs {
			msgs[i] = []byte("abc")
		}
		b := buildPacket(sess, 1, uint16(n), msgs...)
		var p decode.Packet
		if err := p.Wrap(b); err != nil {
			t.Fatal(err)
		}
		b[20], b[21] = 0xff, 0xff // first length now runs far past the end
		got, gotAll, nils := 0, 0, 0
		for it := p.Messages(); it.Next(); {
			if it.Message() == nil {
				nils++
			}
			got++
		}
		for _, m := range p.All() {
			if m == nil {
				nils++
			}
			gotAll++
		}
		want, wantNils := n, 0
		if n > 128 {
			want, wantNils = 1, 2
		}
		if nils != wantNils {
			t.Fatalf("%d messages: %d nil messages, want %d", n, nils, wantNils)
		}
		if got != want || gotAll != want {
			t.Fatalf("%d messages: iterated %d / %d, want %d", n, got, gotAll, want)
		}
	}
}

// TestLargePacket covers packets too large for Wrap's offset index.
func TestLargePacket(t *testing.T) {
	sess := mustSession(t, "BIG")
	for _, n := range []int{127, 128, 129, 1000} {
		msgs := make([][]byte, n)
		for i := range msgs {
			msgs[i] = []byte{byte(i), byte(i >> 8)}
		}
		var p decode.Packet
		if err := p.Wrap(buildPacket(sess, 1, uint16(n), msgs...)); err != nil {
			t.Fatal(err)
		}
		i := 0
		for it := p.Messages(); it.Next(); i++ {
			if !bytes.Equal(it.Message(), msgs[i]) || it.Sequence() != uint64(i+1) {
				t.Fatalf("n=%d message %d", n, i)
			}
		}
		j := 0
		for seq, m := range p.All() {
			if !bytes.Equal(m, msgs[j]) || seq != uint64(j+1) {
				t.Fatalf("n=%d All message %d", n, j)
			}
			j++
		}
		if i != n || j != n {
			t.Fatalf("n=%d: iterated %d, All %d", n, i, j)
		}
		// The same errors on both paths.
		bad := buildPacket(sess, 1, uint16(n+1), msgs...)
		if err := p.Wrap(bad); !errors.Is(err, decode.ErrMissingMessages) {
			t.Fatalf("n=%d: %v", n, err)
		}
		bad = append(buildPacket(sess, 1, uint16(n), msgs...), 0)
		if err := p.Wrap(bad); !errors.Is(err, decode.ErrTrailingBytes) {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
	// A datagram over 64 KiB (not UDP, but Wrap takes any slice).
	big := make([]byte, 40000)
	var p decode.Packet
	if err := p.Wrap(buildPacket(sess, 1, 2, big, big[:30010])); err != nil || p.MessageCount() != 2 {
		t.Fatal(err)
	}
	n := 0
	for _, m := range p.All() {
		n += len(m)
	}
	if n != 70010 {
		t.Fatalf("read %d bytes", n)
	}
}

func TestZeroIterator(t *testing.T) {
	var it decode.MessageIterator
	if it.Next() || it.Message() != nil || it.Sequence() != 0 {
		t.Fatal("zero MessageIterator")
	}
}
