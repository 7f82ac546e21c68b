// Package decode provides zero-copy views over MoldUDP64 packets, NASDAQ
// TotalView-ITCH 5.0 messages, mdcast quotes and mdcast upstream loss
// notices, and encoders for each.
//
// It implements the NASDAQ MoldUDP64 Protocol Specification version 1.00
// (downstream packets and request packets), the NASDAQ TotalView-ITCH 5.0
// specification (all 23 message types, section 1.1 to 1.8, with their exact
// lengths, big-endian integers, 6-byte timestamps, Price(4) and Price(8)
// fields), the mdcast quote message and the mdcast upstream loss notice (the
// control message the daemon sends on every channel when its feed gives up
// on upstream messages; type UpstreamLossType, never an ITCH or quote type).
// docs/PROTOCOL.md specifies the bytes mdcast puts on the wire, with worked
// examples that the tests check against the encoder.
//
// # Views
//
// A view (Packet, Request, Quote, UpstreamLoss, and one type per ITCH message such as
// AddOrder or OrderExecuted) is a small value that points into a []byte. Its
// Wrap method checks the bytes once and returns an error value for malformed
// input; after a successful Wrap the accessors read fields in place without
// further checks that can fail. Packet.Wrap validates the whole MoldUDP64
// framing: header, every message length, the count against the messages
// present, and that nothing follows the last message. Field accessors have no
// Get prefix; String methods exist for mdtail and debugging and allocate.
//
// Calling an accessor of an ITCH view that was never wrapped successfully is
// a programmer error and panics; Packet, Request, Quote and UpstreamLoss accessors return
// zero values instead. No input, however malformed, makes Wrap or an
// iterator panic.
//
// # Walking a packet
//
//	var p decode.Packet
//	if err := p.Wrap(datagram); err != nil {
//		// count by reason: errors.Is(err, decode.ErrTruncatedMessage), ...
//	}
//	it := p.Messages()
//	for it.Next() {
//		msg := it.Message() // aliases datagram
//		switch t, err := decode.ValidateITCH(msg); {
//		case err != nil:
//			// ErrUnknownType: skip by the framed length and count it
//		case t == 'A':
//			var a decode.AddOrder
//			_ = a.Wrap(msg)
//			use(it.Sequence(), a.OrderRef(), a.Side(), a.Shares(), a.Stock(), a.Price())
//		}
//	}
//
// Declare the iterator before the loop (not in the for clause, which copies
// it for every iteration since Go 1.22), or range over Packet.All, which the
// compiler inlines into a loop whose state stays in registers.
//
// # Encoding
//
// Encoders append to a buffer the caller owns, in the style of
// binary.BigEndian.AppendUint64: AppendPacketHeader, AppendMessage,
// AppendRequest, AppendQuote, AppendUpstreamLoss and one Append function per
// ITCH message type.
// PacketWriter builds one downstream packet in a fixed buffer up to a byte
// budget and patches the count in place; PutCount and PutQuoteSendTime patch
// encoded bytes.
//
// # Files
//
// Package decode/capture reads recorded data for replay and tests: NASDAQ
// BinaryFILE files and pcap/pcapng captures (UDP payloads of Ethernet/IPv4
// frames).
//
// # Concurrency
//
// Views and writers are not safe for concurrent use. A view aliases its
// buffer: it is valid only while the buffer is unchanged, so it must not be
// shared with, or outlive, a goroutine that rewrites or recycles the buffer
// (for example a pooled packet that has been released). Copy the fields out
// (Fields methods) to keep them.
//
// # Allocation
//
// Wrap, every accessor, Next, All, ValidateITCH, InstrumentKey, the
// PacketWriter and the Append functions (given a buffer with room) do not
// allocate; TestAllocs proves it with testing.AllocsPerRun and the benchmarks
// report allocations. Errors are preallocated sentinels (errors.go), so a
// malformed packet costs no allocation either. String, AppendText into a
// short buffer, and ITCHString allocate.
package decode
