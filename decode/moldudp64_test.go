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
