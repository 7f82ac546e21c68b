package decode_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"mdcast/decode"
)

// The fuzz targets are seeded from the samples in testdata (see
// testdata/ATTRIBUTION.md); crashers found are kept in testdata/fuzz.

func FuzzPacket(f *testing.F) {
	for i, p := range snippetPackets(f) {
		if i%20 == 0 {
			f.Add(p)
		}
	}
	if bist, err := os.ReadFile(bistStream); err == nil {
		f.Add(bist)
		f.Add(bist[:200])
	}
	sess, _ := decode.MakeSession("FUZZ")
	f.Add(decode.AppendPacketHeader(nil, sess, 5, 0))
	f.Add(decode.AppendPacketHeader(nil, sess, 5, decode.EndOfSessionCount))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p decode.Packet
		err := p.Wrap(data)
		pkt, rest, serr := decode.SplitPacket(data)
		switch {
		case err == nil:
			if serr != nil || !bytes.Equal(pkt, data) || len(rest) != 0 {
				t.Fatalf("SplitPacket disagrees with Wrap: %v, %d rest", serr, len(rest))
			}
		case errors.Is(err, decode.ErrTrailingBytes):
			if serr != nil || len(rest) == 0 || len(pkt)+len(rest) != len(data) {
				t.Fatalf("SplitPacket on trailing bytes: %v", serr)
			}
			var q decode.Packet
			if err := q.Wrap(pkt); err != nil {
				t.Fatalf("Wrap of split packet: %v", err)
			}
			return
		default:
			if !errors.Is(serr, err) {
				t.Fatalf("SplitPacket error %v, Wrap error %v", serr, err)
			}
			if p.MessageCount() != 0 || p.Bytes() != nil {
				t.Fatal("failed Wrap left a usable packet")
			}
			return
		}
		// Walk with both iterators, then rebuild the packet with the writer.
		var msgs [][]byte
		it := p.Messages()
		for it.Next() {
			if it.Sequence() != p.Sequence()+uint64(len(msgs)) {
				t.Fatalf("sequence %d at message %d", it.Sequence(), len(msgs))
			}
			msgs = append(msgs, it.Message())
		}
		if len(msgs) != p.MessageCount() || p.NextSequence() != p.Sequence()+uint64(len(msgs)) {
			t.Fatalf("iterated %d, MessageCount %d", len(msgs), p.MessageCount())
		}
		i := 0
		for seq, m := range p.All() {
			if i >= len(msgs) || seq != p.Sequence()+uint64(i) || !bytes.Equal(m, msgs[i]) {
				t.Fatalf("All disagrees with Messages at %d", i)
			}
			i++
		}
		if i != len(msgs) {
			t.Fatalf("All yielded %d of %d", i, len(msgs))
		}
		if p.IsEndOfSession() {
			if len(msgs) != 0 || !bytes.Equal(data, decode.AppendPacketHeader(nil, p.Session(), p.Sequence(), decode.EndOfSessionCount)) {
				t.Fatal("end of session does not re-encode")
			}
			return
		}
		w := decode.NewPacketWriter(make([]byte, len(data)), len(data))
		w.Reset(p.Session(), p.Sequence())
		for _, m := range msgs {
			if !w.Append(m) {
				t.Fatalf("writer refused message of %d bytes at len %d", len(m), w.Len())
			}
		}
		if !bytes.Equal(w.Bytes(), data) {
			t.Fatalf("writer round trip\n got %x\nwant %x", w.Bytes(), data)
		}
	})
}

func FuzzRequest(f *testing.F) {
	sess, _ := decode.MakeSession("SNIP123019")
	f.Add(decode.AppendRequest(nil, sess, 1, 10))
	f.Add(decode.AppendRequest(nil, sess, 0, 0))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r decode.Request
		if err := r.Wrap(data); err != nil {
			if r.Count() != 0 || r.Sequence() != 0 || r.Session() != (decode.Session{}) {
				t.Fatal("failed Wrap left fields readable")
			}
			return
		}
		if r.Count() == 0 || r.Sequence() == 0 {
			t.Fatal("accepted an empty request")
		}
		if !bytes.Equal(decode.AppendRequest(nil, r.Session(), r.Sequence(), r.Count()), data) {
			t.Fatal("request does not re-encode")
		}
	})
}

func FuzzITCH(f *testing.F) {
	msgs := readBinaryFile(f)
	seen := map[byte]bool{}
	for _, m := range msgs {
		if !seen[m[0]] {
			seen[m[0]] = true
			f.Add(m)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("Z unknown"))
	cs := codecs()
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, err := decode.ValidateITCH(data)
		switch {
		case len(data) == 0:
			if !errors.Is(err, decode.ErrEmptyMessage) {
				t.Fatalf("empty: %v", err)
			}
		case decode.ITCHLength(data[0]) == 0:
			if !errors.Is(err, decode.ErrUnknownType) {
				t.Fatalf("unknown type: %v", err)
			}
		case decode.ITCHLength(data[0]) != len(data):
			if !errors.Is(err, decode.ErrITCHLength) {
				t.Fatalf("bad length: %v", err)
			}
		default:
			if err != nil || typ != data[0] {
				t.Fatalf("valid message: %q %v", typ, err)
			}
		}
		_ = decode.ITCHString(data)
		_, _ = decode.InstrumentKey(decode.FormatITCH, data)
		// Every view: on the input as is, and on the input forced to the
		// view's type and length, so every accessor sees arbitrary bytes.
		for _, c := range cs {
			out, err := c.reencode(data)
			if err == nil && !bytes.Equal(out, data) {
				t.Fatalf("%c: re-encode differs", c.typ)
			}
			forced := make([]byte, decode.ITCHLength(c.typ))
			copy(forced, data)
			forced[0] = c.typ
			out, err = c.reencode(forced)
			if err != nil || !bytes.Equal(out, forced) {
				t.Fatalf("%c: forced message: %v", c.typ, err)
			}
			_ = decode.ITCHString(forced)
		}
	})
}

func FuzzQuote(f *testing.F) {
	f.Add(decode.AppendQuote(nil, sampleQuote()))
	v2 := append(decode.AppendQuote(nil, sampleQuote()), 1, 2, 3)
	v2[1] = 2
	f.Add(v2)
	f.Add([]byte("q"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var q decode.Quote
		_, keyOK := decode.InstrumentKey(decode.FormatQuote, data)
		if err := q.Wrap(data); err != nil {
			if q.Instrument() != 0 || q.Version() != 0 {
				t.Fatal("failed Wrap left fields readable")
			}
			return
		}
		if !keyOK {
			t.Fatal("valid quote has no instrument key")
		}
		_ = q.String()
		out := decode.AppendQuote(nil, q.Fields())
		if !bytes.Equal(out[2:], data[2:decode.QuoteLen]) || q.Version() != data[1] || q.Version() == 0 {
			t.Fatalf("quote re-encode\n got %x\nwant %x", out, data[:decode.QuoteLen])
		}
		decode.PutQuoteSendTime(data, 42)
		if q.SendTime() != 42 {
			t.Fatal("PutQuoteSendTime")
		}
	})
}

func FuzzUpstreamLoss(f *testing.F) {
	f.Add(decode.AppendUpstreamLoss(nil, sampleUpstreamLoss(f)))
	v2 := append(decode.AppendUpstreamLoss(nil, sampleUpstreamLoss(f)), 1, 2, 3)
	v2[1] = 2
	f.Add(v2)
	f.Add(decode.AppendUpstreamLoss(nil, decode.UpstreamLossFields{From: 2, To: 1}))
	f.Add([]byte("u"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var u decode.UpstreamLoss
		if err := u.Wrap(data); err != nil {
			if u.From() != 0 || u.To() != 0 || u.Version() != 0 || u.Session() != (decode.Session{}) {
				t.Fatal("failed Wrap left fields readable")
			}
			return
		}
		f := u.Fields()
		if f.From > f.To || u.Version() == 0 || u.Version() != data[1] {
			t.Fatalf("accepted %+v v%d", f, u.Version())
		}
		_ = u.String()
		out := decode.AppendUpstreamLoss(nil, f)
		// Everything but the version and the reserved bytes re-encodes.
		if out[0] != data[0] || !bytes.Equal(out[2:4], data[2:4]) || !bytes.Equal(out[6:], data[6:decode.UpstreamLossLen]) {
			t.Fatalf("notice re-encode\n got %x\nwant %x", out, data[:decode.UpstreamLossLen])
		}
	})
}
