package decode_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"mdcast/decode"
	"mdcast/decode/capture"
)

// The sample files and the figures checked below are described in
// testdata/ATTRIBUTION.md.
const (
	binaryFilePath = "testdata/12302019_SNIPPET.NASDAQ_ITCH50"
	snippetPcap    = "testdata/itch50_snippet_moldudp64.pcap"
	twoAddsPcap    = "testdata/itch50_two_add_orders_moldudp64.pcap"
	bistStream     = "testdata/bist_itch_moldudp64_stream.dat"
)

// specLengths is typed in from the TotalView-ITCH 5.0 specification,
// independently of the generator's table.
var specLengths = map[byte]int{
	'S': 12, 'R': 39, 'H': 25, 'Y': 20, 'L': 26, 'V': 35, 'W': 12, 'K': 28, 'J': 35, 'h': 21,
	'A': 36, 'F': 40, 'E': 31, 'C': 36, 'X': 23, 'D': 19, 'U': 35, 'P': 44, 'Q': 40, 'B': 19,
	'I': 50, 'N': 20, 'O': 48,
}

func TestITCHLength(t *testing.T) {
	for c := 0; c < 256; c++ {
		if got, want := decode.ITCHLength(byte(c)), specLengths[byte(c)]; got != want {
			t.Errorf("ITCHLength(%q) = %d, want %d", byte(c), got, want)
		}
		if (decode.ITCHName(byte(c)) != "") != (specLengths[byte(c)] != 0) {
			t.Errorf("ITCHName(%q) = %q", byte(c), decode.ITCHName(byte(c)))
		}
	}
}

// readBinaryFile returns copies of every message of the BinaryFILE sample.
func readBinaryFile(t testing.TB) [][]byte {
	t.Helper()
	f, err := capture.OpenBinaryFile(binaryFilePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msgs [][]byte
	for {
		m, err := f.Next()
		if err == io.EOF {
			return msgs
		}
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, bytes.Clone(m))
	}
}

func TestBinaryFileITCH(t *testing.T) {
	msgs := readBinaryFile(t)
	if len(msgs) != 1000 {
		t.Fatalf("%d messages", len(msgs))
	}
	counts := map[byte]int{}
	tracking := map[uint16]int{}
	locates := map[uint16]bool{}
	var last uint64
	var systemEvents, zeroCross, zeroRefTrades int
	zeroCrossStocks := map[string]bool{}
	for i, m := range msgs {
		typ, err := decode.ValidateITCH(m)
		if err != nil {
			t.Fatalf("message %d (%q, %d bytes): %v", i, m[0], len(m), err)
		}
		counts[typ]++
		ts := decode.Timestamp(m)
		if ts < last {
			t.Fatalf("message %d: timestamp %d < %d", i, ts, last)
		}
		if i == 0 && ts != 34_200_000_000_230 {
			t.Fatalf("first timestamp %d", ts)
		}
		last = ts
		tracking[decode.TrackingNumber(m)]++
		locates[decode.StockLocate(m)] = true
		switch typ {
		case 'S':
			var s decode.SystemEvent
			if err := s.Wrap(m); err != nil {
				t.Fatal(err)
			}
			if s.EventCode() != 'Q' || s.Timestamp() != 34_200_000_075_566 {
				t.Fatalf("system event %s", s.String())
			}
			systemEvents++
		case 'Q':
			var q decode.CrossTrade
			if err := q.Wrap(m); err != nil {
				t.Fatal(err)
			}
			if q.Shares() == 0 && q.CrossPrice() == 0 {
				st := q.Stock()
				zeroCrossStocks[string(st.Trim())] = true
				zeroCross++
			}
		case 'F':
			var a decode.AddOrderMPID
			if err := a.Wrap(m); err != nil {
				t.Fatal(err)
			}
			if st := a.Stock(); !isSymbol(st) || (a.Side() != 'B' && a.Side() != 'S') || a.Price() == 0 {
				t.Fatalf("implausible add %s", a.String())
			}
		case 'I':
			var n decode.NOII
			if err := n.Wrap(m); err != nil {
				t.Fatal(err)
			}
			st := n.Stock()
			if !isSymbol(st) || !bytes.ContainsRune([]byte("BSNOP"), rune(n.ImbalanceDirection())) ||
				!bytes.ContainsRune([]byte("OCHA"), rune(n.CrossType())) {
				t.Fatalf("implausible NOII %s", n.String())
			}
		case 'P':
			var p decode.Trade
			if err := p.Wrap(m); err != nil {
				t.Fatal(err)
			}
			if p.OrderRef() == 0 {
				zeroRefTrades++
			}
			if st := p.Stock(); !isSymbol(st) || (p.Side() != 'B' && p.Side() != 'S') {
				t.Fatalf("implausible trade %s", p.String())
			}
		}
	}
	if last != 34_200_002_364_611 {
		t.Fatalf("last timestamp %d", last)
	}
	want := map[byte]int{'A': 367, 'U': 225, 'F': 193, 'D': 167, 'E': 28, 'X': 6, 'I': 4, 'P': 4, 'Q': 4, 'S': 1, 'C': 1}
	if len(counts) != len(want) {
		t.Fatalf("types %v, want %v", counts, want)
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("type %c: %d, want %d", k, counts[k], v)
		}
	}
	if systemEvents != 1 || zeroCross == 0 || zeroRefTrades == 0 {
		t.Fatalf("system events %d, zero crosses %d, zero-ref trades %d", systemEvents, zeroCross, zeroRefTrades)
	}
	if !zeroCrossStocks["PSQ"] || !zeroCrossStocks["VICI"] {
		t.Errorf("opening crosses with 0 shares and price 0: %v, want PSQ and VICI among them", zeroCrossStocks)
	}
	if len(locates) != 322 {
		t.Errorf("%d distinct locates, want 322", len(locates))
	}
	if tracking[0] != 874 || tracking[1] != 78 || tracking[2] != 47 || tracking[4] != 1 || len(tracking) != 4 {
		t.Errorf("tracking numbers %v", tracking)
	}
}

// isSymbol reports whether st looks like a NASDAQ symbol: upper-case
// letters (and a few separators), space padded, not empty.
func isSymbol(st decode.Stock) bool {
	trimmed := st.Trim()
	if len(trimmed) == 0 {
		return false
	}
	for _, c := range trimmed {
		if !(c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '+' || c == '=') {
			return false
		}
	}
	return true
}

// TestSnippetPcap checks the MoldUDP64 capture of the same 1000 messages.
func TestSnippetPcap(t *testing.T) {
	msgs := readBinaryFile(t)
	r, err := capture.OpenPcap(snippetPcap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sess := mustSession(t, "SNIP123019")
	packets, next := 0, uint64(1)
	for {
		pl, _, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var p decode.Packet
		if err := p.Wrap(pl); err != nil {
			t.Fatalf("packet %d: %v", packets, err)
		}
		if p.Session() != sess || p.Sequence() != next || p.IsHeartbeat() || p.IsEndOfSession() {
			t.Fatalf("packet %d: session %q seq %d (want %d)", packets, p.Session().String(), p.Sequence(), next)
		}
		for it := p.Messages(); it.Next(); {
			if it.Sequence() != next {
				t.Fatalf("message sequence %d, want %d", it.Sequence(), next)
			}
			if next > uint64(len(msgs)) || !bytes.Equal(it.Message(), msgs[next-1]) {
				t.Fatalf("message %d differs from the BinaryFILE", next)
			}
			next++
		}
		if p.NextSequence() != next {
			t.Fatalf("NextSequence %d, want %d", p.NextSequence(), next)
		}
		packets++
	}
	if packets != 174 || next != 1001 {
		t.Fatalf("%d packets, last sequence %d", packets, next-1)
	}
}

func TestTwoAddOrders(t *testing.T) {
	r, err := capture.OpenPcap(twoAddsPcap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pl, _, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	var p decode.Packet
	if err := p.Wrap(pl); err != nil {
		t.Fatal(err)
	}
	if p.Session() != mustSession(t, "0000012345") || p.Sequence() != 1001 || p.Count() != 2 {
		t.Fatalf("header %q %d %d", p.Session().String(), p.Sequence(), p.Count())
	}
	stock := func(s string) decode.Stock {
		st, err := decode.MakeStock(s)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	want := []decode.AddOrderFields{
		{StockLocate: 8381, TrackingNumber: 0, Timestamp: 34200000092539, OrderRef: 9899132, Side: 'B', Shares: 100, Stock: stock("VIXM"), Price: 213300},
		{StockLocate: 8511, TrackingNumber: 0, Timestamp: 34200000098180, OrderRef: 9899144, Side: 'B', Shares: 100, Stock: stock("VXZ"), Price: 177000},
	}
	wantHex := []string{
		"4120bd00001f1acedb597b0000000000970c7c42000000645649584d2020202000034134",
		"41213f00001f1acedb6f840000000000970c88420000006456585a20202020200002b368",
	}
	wantText := []string{
		"A loc=8381 trk=0 ts=34200000092539 ref=9899132 side=B shares=100 stock=VIXM price=21.3300",
		"A loc=8511 trk=0 ts=34200000098180 ref=9899144 side=B shares=100 stock=VXZ price=17.7000",
	}
	i := 0
	for it := p.Messages(); it.Next(); i++ {
		var a decode.AddOrder
		if err := a.Wrap(it.Message()); err != nil {
			t.Fatal(err)
		}
		if a.Fields() != want[i] {
			t.Fatalf("add %d = %+v, want %+v", i, a.Fields(), want[i])
		}
		if hex.EncodeToString(it.Message()) != wantHex[i] {
			t.Fatalf("add %d hex %x", i, it.Message())
		}
		if got := decode.AppendAddOrder(nil, want[i]); !bytes.Equal(got, it.Message()) {
			t.Fatalf("AppendAddOrder %d = %x", i, got)
		}
		if a.String() != wantText[i] || decode.ITCHString(it.Message()) != wantText[i] {
			t.Fatalf("text %q", a.String())
		}
		if a.Price().String() != []string{"21.3300", "17.7000"}[i] {
			t.Fatalf("price %s", a.Price())
		}
		if k, ok := decode.InstrumentKey(decode.FormatITCH, it.Message()); !ok || k != uint32(want[i].StockLocate) {
			t.Fatalf("key %d", k)
		}
	}
	if i != 2 {
		t.Fatalf("%d messages", i)
	}
}

func TestITCHMalformed(t *testing.T) {
	add := decode.AppendAddOrder(nil, decode.AddOrderFields{StockLocate: 1})
	cases := []struct {
		name string
		msg  []byte
		err  error
	}{
		{"empty", nil, decode.ErrEmptyMessage},
		{"unknown type", []byte("Zxxxxxxxxxxxxxxxx"), decode.ErrUnknownType},
		{"short", add[:35], decode.ErrITCHLength},
		{"long", append(bytes.Clone(add), 0), decode.ErrITCHLength},
	}
	for _, c := range cases {
		if _, err := decode.ValidateITCH(c.msg); !errors.Is(err, c.err) {
			t.Errorf("%s: ValidateITCH = %v, want %v", c.name, err, c.err)
		}
		if s := decode.ITCHString(c.msg); len(s) < 8 || s[:8] != "invalid " {
			t.Errorf("%s: ITCHString = %q", c.name, s)
		}
	}
	var a decode.AddOrder
	if err := a.Wrap(add[:35]); !errors.Is(err, decode.ErrITCHLength) {
		t.Fatalf("short add: %v", err)
	}
	if err := a.Wrap(nil); !errors.Is(err, decode.ErrEmptyMessage) {
		t.Fatalf("empty add: %v", err)
	}
	var d decode.OrderDelete
	if err := d.Wrap(add); !errors.Is(err, decode.ErrWrongType) {
		t.Fatalf("add as delete: %v", err)
	}
	if a.String() != "A <not wrapped>" {
		t.Fatalf("unwrapped String %q", a.String())
	}
	if _, err := decode.MakeStock("TOOLONGSYM"); !errors.Is(err, decode.ErrStockLength) {
		t.Fatalf("MakeStock: %v", err)
	}
	// The free header helpers tolerate short input.
	if decode.StockLocate([]byte{'A', 1}) != 0 || decode.TrackingNumber([]byte{'A', 1, 2, 3}) != 0 || decode.Timestamp(add[:10]) != 0 {
		t.Fatal("header helpers read past short input")
	}
}

func TestPrices(t *testing.T) {
	for _, c := range []struct {
		p    decode.Price4
		want string
	}{{0, "0.0000"}, {1, "0.0001"}, {213300, "21.3300"}, {0xFFFFFFFF, "429496.7295"}} {
		if c.p.String() != c.want {
			t.Errorf("Price4(%d) = %s, want %s", uint32(c.p), c.p, c.want)
		}
	}
	if decode.Price4(213300).Float64() != 21.33 {
		t.Error("Price4.Float64")
	}
	if s := decode.Price8(123_45678901).String(); s != "123.45678901" {
		t.Errorf("Price8 = %s", s)
	}
	if decode.Price8(150_000_000).Float64() != 1.5 {
		t.Error("Price8.Float64")
	}
}
