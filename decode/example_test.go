package decode_test

import (
	"encoding/hex"
	"fmt"

	"mdcast/decode"
)

// Walk the messages of one MoldUDP64 packet and read the fields of each Add
// Order. The packet is the one of testdata/itch50_two_add_orders_moldudp64.pcap
// (see testdata/ATTRIBUTION.md).
func Example_walkPacket() {
	pkt, _ := hex.DecodeString("30303030303132333435" + "00000000000003e9" + "0002" +
		"0024" + "4120bd00001f1acedb597b0000000000970c7c42000000645649584d2020202000034134" +
		"0024" + "41213f00001f1acedb6f840000000000970c88420000006456585a20202020200002b368")

	var p decode.Packet
	if err := p.Wrap(pkt); err != nil {
		fmt.Println("malformed:", err)
		return
	}
	fmt.Printf("session %s, sequences %d..%d\n", p.Session(), p.Sequence(), p.NextSequence()-1)

	var add decode.AddOrder
	it := p.Messages()
	for it.Next() {
		msg := it.Message()
		t, err := decode.ValidateITCH(msg)
		if err != nil {
			continue // count by reason; skip unknown types by their framed length
		}
		if t != 'A' {
			continue
		}
		_ = add.Wrap(msg) // cannot fail after ValidateITCH
		stock := add.Stock()
		fmt.Printf("%d: locate %d ref %d %c %d %s @ %s\n", it.Sequence(), add.StockLocate(),
			add.OrderRef(), add.Side(), add.Shares(), stock.Trim(), add.Price())
	}
	// Output:
	// session 0000012345, sequences 1001..1002
	// 1001: locate 8381 ref 9899132 B 100 VIXM @ 21.3300
	// 1002: locate 8511 ref 9899144 B 100 VXZ @ 17.7000
}

// Build a MoldUDP64 packet of quotes in a reused buffer, as the generator
// does, then stamp the send time just before sending.
func Example_buildQuotePacket() {
	sess, err := decode.MakeSession("MDC0000001")
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 1400) // one UDP payload, reused for every packet
	msg := make([]byte, 0, decode.QuoteLen)
	w := decode.NewPacketWriter(buf, 1400)

	w.Reset(sess, 1)
	for i := uint32(0); i < 3; i++ {
		msg = decode.AppendQuote(msg[:0], decode.QuoteFields{
			Instrument: 42 + i,
			BidPrice:   2_133_000_000, // 21.33 in 1e-8 units
			AskPrice:   2_134_000_000,
			BidSize:    100,
			AskSize:    300,
		})
		if !w.Append(msg) {
			break // full: send w.Bytes(), then Reset with w.NextSequence()
		}
	}
	pkt := w.Bytes()
	// Stamp the intended send time into the first quote in place: the
	// header is 20 bytes, then each message has a 2-byte length prefix.
	decode.PutQuoteSendTime(pkt[decode.PacketHeaderLen+decode.MessageLenSize:], 123456789)
	fmt.Printf("%d messages, %d bytes, next sequence %d\n", w.Count(), len(pkt), w.NextSequence())

	var p decode.Packet
	var q decode.Quote
	_ = p.Wrap(pkt)
	for seq, m := range p.All() {
		if q.Wrap(m) == nil {
			fmt.Printf("%d: instrument %d bid %d@%d send %d\n", seq, q.Instrument(), q.BidSize(), q.BidPrice(), q.SendTime())
		}
	}
	// Output:
	// 3 messages, 170 bytes, next sequence 4
	// 1: instrument 42 bid 100@2133000000 send 123456789
	// 2: instrument 43 bid 100@2133000000 send 0
	// 3: instrument 44 bid 100@2133000000 send 0
}

// Recognise an upstream loss notice among a channel's messages: the daemon
// sends one on every channel when its feed loses upstream messages. It takes
// a channel sequence like any message; the fields say what was lost upstream.
func Example_upstreamLossNotice() {
	chanSession, _ := decode.MakeSession("MDC0000001")
	upstream, _ := decode.MakeSession("NASDAQ0042")
	w := decode.NewPacketWriter(make([]byte, 1400), 1400)
	w.Reset(chanSession, 57)
	w.Append(decode.AppendQuote(nil, decode.QuoteFields{Instrument: 42}))
	w.Append(decode.AppendUpstreamLoss(nil, decode.UpstreamLossFields{Session: upstream, From: 1001, To: 1100}))

	var p decode.Packet
	_ = p.Wrap(w.Bytes())
	var u decode.UpstreamLoss
	for seq, m := range p.All() {
		if len(m) > 0 && m[0] == decode.UpstreamLossType && u.Wrap(m) == nil {
			f := u.Fields()
			fmt.Printf("%d: upstream %s lost %d..%d (%d messages)\n", seq, f.Session, f.From, f.To, f.Count())
			continue
		}
		fmt.Printf("%d: data type %q\n", seq, m[0])
	}
	// Output:
	// 57: data type 'q'
	// 58: upstream NASDAQ0042 lost 1001..1100 (100 messages)
}
