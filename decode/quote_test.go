package decode_test

import (
	"errors"
	"testing"

	"mdcast/decode"
)

func sampleQuote() decode.QuoteFields {
	return decode.QuoteFields{
		Instrument:   0x01020304,
		ExchangeTime: 34_200_000_092_539,
		BidPrice:     21_3300_0000, // 21.33
		AskPrice:     -5,
		BidSize:      100,
		AskSize:      0xFFFFFFFF,
		Flags:        0x8001,
		SendTime:     1<<63 + 7,
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	f := sampleQuote()
	b := decode.AppendQuote(make([]byte, 0, 64), f)
	if len(b) != decode.QuoteLen || b[0] != decode.QuoteType || b[1] != decode.QuoteVersion {
		t.Fatalf("encoded % x", b)
	}
	var q decode.Quote
	if err := q.Wrap(b); err != nil {
		t.Fatal(err)
	}
	if q.Fields() != f || q.Version() != 1 {
		t.Fatalf("fields %+v, want %+v", q.Fields(), f)
	}
	decode.PutQuoteSendTime(b, 99)
	if q.SendTime() != 99 {
		t.Fatalf("send time %d after patch", q.SendTime())
	}
	decode.PutQuoteSendTime(b[:10], 1) // too short: no-op, no panic
	// A later version with extra fields is still readable.
	v2 := append(append([]byte{}, b...), 0xAA, 0xBB, 0xCC)
	v2[1] = 2
	if err := q.Wrap(v2); err != nil || q.Version() != 2 || q.Instrument() != f.Instrument || q.SendTime() != 99 {
		t.Fatalf("v2: %v v%d", err, q.Version())
	}
	if s := q.String(); s == "" {
		t.Fatal("empty String")
	}
}

func TestQuoteMalformed(t *testing.T) {
	good := decode.AppendQuote(nil, sampleQuote())
	notQ := append([]byte{}, good...)
	notQ[0] = 'A'
	v0 := append([]byte{}, good...)
	v0[1] = 0
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, decode.ErrShortQuote},
		{"short", good[:47], decode.ErrShortQuote},
		{"type", notQ, decode.ErrNotQuote},
		{"version 0", v0, decode.ErrQuoteVersion},
	}
	for _, c := range cases {
		var q decode.Quote
		if err := q.Wrap(c.b); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
		if q.Instrument() != 0 || q.SendTime() != 0 {
			t.Errorf("%s: failed Wrap left fields readable", c.name)
		}
	}
}

func TestFormatAndInstrumentKey(t *testing.T) {
	for _, c := range []struct {
		s string
		f decode.Format
	}{{"itch", decode.FormatITCH}, {"quote", decode.FormatQuote}} {
		f, err := decode.ParseFormat(c.s)
		if err != nil || f != c.f || f.String() != c.s {
			t.Fatalf("ParseFormat(%q) = %v, %v", c.s, f, err)
		}
		var g decode.Format
		if err := g.UnmarshalText([]byte(c.s)); err != nil || g != c.f {
			t.Fatalf("UnmarshalText(%q) = %v, %v", c.s, g, err)
		}
		if txt, err := f.MarshalText(); err != nil || string(txt) != c.s {
			t.Fatalf("MarshalText = %q, %v", txt, err)
		}
	}
	if _, err := decode.ParseFormat("ITCH"); !errors.Is(err, decode.ErrUnknownFormat) {
		t.Fatalf("ParseFormat(ITCH) = %v", err)
	}
	if _, err := decode.Format(9).MarshalText(); !errors.Is(err, decode.ErrUnknownFormat) {
		t.Fatalf("MarshalText(9) = %v", err)
	}

	add := []byte{'A', 0x20, 0xbd, 0, 0}
	if k, ok := decode.InstrumentKey(decode.FormatITCH, add); !ok || k != 8381 {
		t.Fatalf("ITCH key %d %v", k, ok)
	}
	if _, ok := decode.InstrumentKey(decode.FormatITCH, add[:2]); ok {
		t.Fatal("ITCH key from 2 bytes")
	}
	q := decode.AppendQuote(nil, sampleQuote())
	if k, ok := decode.InstrumentKey(decode.FormatQuote, q); !ok || k != 0x01020304 {
		t.Fatalf("quote key %x %v", k, ok)
	}
	if _, ok := decode.InstrumentKey(decode.FormatQuote, q[:7]); ok {
		t.Fatal("quote key from 7 bytes")
	}
	if _, ok := decode.InstrumentKey(decode.FormatQuote, add); ok {
		t.Fatal("quote key from an ITCH message")
	}
	if _, ok := decode.InstrumentKey(0, q); ok {
		t.Fatal("key for format 0")
	}
}
