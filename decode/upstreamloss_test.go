package decode_test

import (
	"bytes"
	"errors"
	"testing"

	"mdcast/decode"
)

func sampleUpstreamLoss(t testing.TB) decode.UpstreamLossFields {
	return decode.UpstreamLossFields{
		Session: mustSession(t, "NASDAQ0042"),
		From:    1_000_001,
		To:      1_000_100,
	}
}

func TestUpstreamLossRoundTrip(t *testing.T) {
	f := sampleUpstreamLoss(t)
	b := decode.AppendUpstreamLoss(make([]byte, 0, 64), f)
	if len(b) != decode.UpstreamLossLen || b[0] != decode.UpstreamLossType || b[1] != decode.UpstreamLossVersion {
		t.Fatalf("encoded % x", b)
	}
	if decode.ITCHLength(b[0]) != 0 || b[0] == decode.QuoteType {
		t.Fatalf("type %q collides with ITCH or the quote", b[0])
	}
	var u decode.UpstreamLoss
	if err := u.Wrap(b); err != nil {
		t.Fatal(err)
	}
	if u.Fields() != f || u.Version() != 1 || u.Fields().Count() != 100 {
		t.Fatalf("fields %+v (count %d), want %+v", u.Fields(), u.Fields().Count(), f)
	}
	if got, want := u.String(), "upstream-loss session=NASDAQ0042 from=1000001 to=1000100 count=100"; got != want {
		t.Fatalf("String %q, want %q", got, want)
	}
	// A later version with extra fields is still readable.
	v2 := append(append([]byte{}, b...), 0xAA, 0xBB)
	v2[1] = 2
	if err := u.Wrap(v2); err != nil || u.Version() != 2 || u.Fields() != f {
		t.Fatalf("v2: %v v%d %+v", err, u.Version(), u.Fields())
	}
	// One lost message: From == To.
	one := decode.AppendUpstreamLoss(nil, decode.UpstreamLossFields{Session: f.Session, From: 7, To: 7})
	if err := u.Wrap(one); err != nil || u.Fields().Count() != 1 {
		t.Fatalf("one message: %v count %d", err, u.Fields().Count())
	}
	if (decode.UpstreamLossFields{}).Count() != 0 {
		t.Fatal("zero fields count a loss")
	}
	// The daemon-drop flag survives the round trip and shows in the text.
	dd := f
	dd.Flags = decode.UpstreamLossDaemonDrop
	if err := u.Wrap(decode.AppendUpstreamLoss(nil, dd)); err != nil || u.Fields() != dd {
		t.Fatalf("daemon drop: %v %+v", err, u.Fields())
	}
	if got, want := u.String(), "upstream-loss session=NASDAQ0042 from=1000001 to=1000100 count=100 daemon-drop"; got != want {
		t.Fatalf("String %q, want %q", got, want)
	}
}

func TestUpstreamLossMalformed(t *testing.T) {
	good := decode.AppendUpstreamLoss(nil, sampleUpstreamLoss(t))
	notU := bytes.Clone(good)
	notU[0] = decode.QuoteType
	v0 := bytes.Clone(good)
	v0[1] = 0
	reversed := decode.AppendUpstreamLoss(nil, decode.UpstreamLossFields{From: 9, To: 8})
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, decode.ErrShortUpstreamLoss},
		{"short", good[:decode.UpstreamLossLen-1], decode.ErrShortUpstreamLoss},
		{"type", notU, decode.ErrNotUpstreamLoss},
		{"version 0", v0, decode.ErrUpstreamLossVersion},
		{"reversed", reversed, decode.ErrUpstreamLossRange},
	}
	for _, c := range cases {
		var u decode.UpstreamLoss
		if err := u.Wrap(c.b); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
		if u.From() != 0 || u.To() != 0 || u.Version() != 0 || u.Session() != (decode.Session{}) {
			t.Errorf("%s: failed Wrap left fields readable", c.name)
		}
		if u.String() != "u <invalid>" {
			t.Errorf("%s: String %q", c.name, u.String())
		}
	}
}

// TestUpstreamLossInPacket: a notice framed in a packet among quotes is an
// ordinary message block to a plain MoldUDP64 reader, and has no quote
// routing key (so a quote feed's router would never take it for data).
func TestUpstreamLossInPacket(t *testing.T) {
	w := decode.NewPacketWriter(make([]byte, 1400), 1400)
	w.Reset(mustSession(t, "MDC0000001"), 41)
	q := decode.AppendQuote(nil, sampleQuote())
	n := decode.AppendUpstreamLoss(nil, sampleUpstreamLoss(t))
	if !w.Append(q) || !w.Append(n) || !w.Append(q) {
		t.Fatal("append")
	}
	var p decode.Packet
	if err := p.Wrap(w.Bytes()); err != nil {
		t.Fatal(err)
	}
	var u decode.UpstreamLoss
	found := 0
	for seq, m := range p.All() {
		if u.Wrap(m) == nil {
			found++
			if seq != 42 || u.Fields() != sampleUpstreamLoss(t) {
				t.Fatalf("notice at %d: %+v", seq, u.Fields())
			}
		}
	}
	if found != 1 {
		t.Fatalf("%d notices found", found)
	}
	if _, ok := decode.InstrumentKey(decode.FormatQuote, n); ok {
		t.Fatal("a notice has a quote routing key")
	}
}
