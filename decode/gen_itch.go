//go:build ignore

// gen_itch generates zitch.go, the ITCH 5.0 message views, from the table
// below (NASDAQ TotalView-ITCH 5.0 specification, sections cited per message).
// Run it with `go generate` in package decode.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
)

// Field kinds: how a field is stored on the wire and returned.
const (
	alpha  = "alpha"  // 1 byte, returned as byte
	alpha2 = "alpha2" // 2 bytes, [2]byte
	alpha4 = "alpha4" // 4 bytes, [4]byte
	mpid   = "mpid"   // 4 bytes, MPID
	stock  = "stock"  // 8 bytes, Stock
	u32    = "u32"    // 4 bytes, uint32
	u64    = "u64"    // 8 bytes, uint64
	price4 = "price4" // 4 bytes, Price4
	price8 = "price8" // 8 bytes, Price8
)

var kindSize = map[string]int{alpha: 1, alpha2: 2, alpha4: 4, mpid: 4, stock: 8, u32: 4, u64: 8, price4: 4, price8: 8}
var kindType = map[string]string{alpha: "byte", alpha2: "[2]byte", alpha4: "[4]byte", mpid: "MPID", stock: "Stock", u32: "uint32", u64: "uint64", price4: "Price4", price8: "Price8"}

type field struct {
	name, kind, short, doc string
}

type message struct {
	code    byte
	name    string // Go type name
	title   string // spec title
	section string
	length  int
	fields  []field
}

var messages = []message{
	{'S', "SystemEvent", "System Event", "1.1", 12, []field{
		{"EventCode", alpha, "event", "the system event code (O S Q M E C)"},
	}},
	{'R', "StockDirectory", "Stock Directory", "1.2.1", 39, []field{
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"MarketCategory", alpha, "mkt", "the listing market category"},
		{"FinancialStatus", alpha, "fin", "the financial status indicator"},
		{"RoundLotSize", u32, "lot", "the number of shares in a round lot"},
		{"RoundLotsOnly", alpha, "rlo", "whether only round lots are accepted (Y/N)"},
		{"IssueClassification", alpha, "class", "the issue classification"},
		{"IssueSubType", alpha2, "sub", "the issue sub-type"},
		{"Authenticity", alpha, "auth", "P for a live/production security, T for a test security"},
		{"ShortSaleThreshold", alpha, "sst", "the Reg SHO short sale threshold indicator"},
		{"IPOFlag", alpha, "ipo", "whether the security is a new IPO"},
		{"LULDReferencePriceTier", alpha, "luld", "the LULD reference price tier"},
		{"ETPFlag", alpha, "etp", "whether the security is an exchange traded product"},
		{"ETPLeverageFactor", u32, "lev", "the ETP's leverage factor"},
		{"InverseIndicator", alpha, "inv", "whether the ETP is an inverse ETP"},
	}},
	{'H', "StockTradingAction", "Stock Trading Action", "1.2.2", 25, []field{
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"TradingState", alpha, "state", "the trading state (H P Q T)"},
		{"Reserved", alpha, "rsv", "a reserved byte"},
		{"Reason", alpha4, "reason", "the trading action reason code"},
	}},
	{'Y', "RegSHORestriction", "Reg SHO Short Sale Price Test Restricted Indicator", "1.2.3", 20, []field{
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"RegSHOAction", alpha, "action", "the Reg SHO action (0 1 2)"},
	}},
	{'L', "MarketParticipantPosition", "Market Participant Position", "1.2.4", 26, []field{
		{"MPID", mpid, "mpid", "the market participant identifier"},
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"PrimaryMarketMaker", alpha, "primary", "whether the participant is a primary market maker"},
		{"MarketMakerMode", alpha, "mode", "the market maker mode"},
		{"ParticipantState", alpha, "state", "the market participant state"},
	}},
	{'V', "MWCBDeclineLevel", "MWCB Decline Level", "1.2.5.1", 35, []field{
		{"Level1", price8, "l1", "the market-wide circuit breaker level 1 price"},
		{"Level2", price8, "l2", "the level 2 price"},
		{"Level3", price8, "l3", "the level 3 price"},
	}},
	{'W', "MWCBStatus", "MWCB Status", "1.2.5.2", 12, []field{
		{"BreachedLevel", alpha, "level", "the MWCB level breached (1 2 3)"},
	}},
	{'K', "IPOQuotingPeriod", "IPO Quoting Period Update", "1.2.6", 28, []field{
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"ReleaseTime", u32, "release", "the IPO quotation release time in seconds since midnight"},
		{"ReleaseQualifier", alpha, "qual", "the IPO quotation release qualifier (A C)"},
		{"IPOPrice", price4, "price", "the IPO price"},
	}},
	{'J', "LULDAuctionCollar", "LULD Auction Collar", "1.2.7", 35, []field{
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"ReferencePrice", price4, "ref", "the auction collar reference price"},
		{"UpperPrice", price4, "upper", "the upper auction collar price"},
		{"LowerPrice", price4, "lower", "the lower auction collar price"},
		{"Extension", u32, "ext", "the number of auction collar extensions"},
	}},
	{'h', "OperationalHalt", "Operational Halt", "1.2.8", 21, []field{
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"MarketCode", alpha, "market", "the market code (Q B X)"},
		{"HaltAction", alpha, "action", "H for halted, T for resumed"},
	}},
	{'A', "AddOrder", "Add Order - No MPID Attribution", "1.3.1", 36, []field{
		{"OrderRef", u64, "ref", "the order reference number, unique for the day"},
		{"Side", alpha, "side", "B for buy, S for sell"},
		{"Shares", u32, "shares", "the number of shares"},
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"Price", price4, "price", "the display price"},
	}},
	{'F', "AddOrderMPID", "Add Order with MPID Attribution", "1.3.2", 40, []field{
		{"OrderRef", u64, "ref", "the order reference number, unique for the day"},
		{"Side", alpha, "side", "B for buy, S for sell"},
		{"Shares", u32, "shares", "the number of shares"},
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"Price", price4, "price", "the display price"},
		{"Attribution", mpid, "mpid", "the market participant identifier"},
	}},
	{'E', "OrderExecuted", "Order Executed", "1.4.1", 31, []field{
		{"OrderRef", u64, "ref", "the reference number of the executed order"},
		{"ExecutedShares", u32, "shares", "the number of shares executed"},
		{"MatchNumber", u64, "match", "the match number of the execution"},
	}},
	{'C', "OrderExecutedWithPrice", "Order Executed With Price", "1.4.2", 36, []field{
		{"OrderRef", u64, "ref", "the reference number of the executed order"},
		{"ExecutedShares", u32, "shares", "the number of shares executed"},
		{"MatchNumber", u64, "match", "the match number of the execution"},
		{"Printable", alpha, "printable", "whether the execution should be printed (Y/N)"},
		{"ExecutionPrice", price4, "price", "the execution price"},
	}},
	{'X', "OrderCancel", "Order Cancel", "1.4.3", 23, []field{
		{"OrderRef", u64, "ref", "the reference number of the reduced order"},
		{"CanceledShares", u32, "shares", "the number of shares removed from the order"},
	}},
	{'D', "OrderDelete", "Order Delete", "1.4.4", 19, []field{
		{"OrderRef", u64, "ref", "the reference number of the deleted order"},
	}},
	{'U', "OrderReplace", "Order Replace", "1.4.5", 35, []field{
		{"OriginalOrderRef", u64, "orig", "the reference number of the replaced order"},
		{"NewOrderRef", u64, "ref", "the reference number of the new order"},
		{"Shares", u32, "shares", "the new number of shares"},
		{"Price", price4, "price", "the new display price"},
	}},
	{'P', "Trade", "Trade Message (Non-Cross)", "1.5.1", 44, []field{
		{"OrderRef", u64, "ref", "the reference number of the non-displayed order (0 since 2016)"},
		{"Side", alpha, "side", "B for buy, S for sell"},
		{"Shares", u32, "shares", "the number of shares"},
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"Price", price4, "price", "the match price"},
		{"MatchNumber", u64, "match", "the match number of the trade"},
	}},
	{'Q', "CrossTrade", "Cross Trade", "1.5.2", 40, []field{
		{"Shares", u64, "shares", "the number of shares matched in the cross"},
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"CrossPrice", price4, "price", "the cross price"},
		{"MatchNumber", u64, "match", "the match number of the cross"},
		{"CrossType", alpha, "cross", "the cross type (O C H I)"},
	}},
	{'B', "BrokenTrade", "Broken Trade / Order Execution", "1.5.3", 19, []field{
		{"MatchNumber", u64, "match", "the match number of the broken execution"},
	}},
	{'I', "NOII", "Net Order Imbalance Indicator", "1.6", 50, []field{
		{"PairedShares", u64, "paired", "the number of shares matched at the current reference price"},
		{"ImbalanceShares", u64, "imb", "the number of shares not paired at the current reference price"},
		{"ImbalanceDirection", alpha, "dir", "the imbalance direction (B S N O P)"},
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"FarPrice", price4, "far", "the hypothetical clearing price for cross orders only"},
		{"NearPrice", price4, "near", "the hypothetical clearing price for cross and continuous orders"},
		{"CurrentReferencePrice", price4, "ref", "the price at which the NOII shares are calculated"},
		{"CrossType", alpha, "cross", "the cross type (O C H A)"},
		{"PriceVariationIndicator", alpha, "var", "the absolute deviation of the near price from the reference price"},
	}},
	{'N', "RPII", "Retail Price Improvement Indicator", "1.7", 20, []field{
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"InterestFlag", alpha, "interest", "the retail interest side (B S A N)"},
	}},
	{'O', "DLCRPriceDiscovery", "Direct Listing with Capital Raise Price Discovery", "1.8", 48, []field{
		{"Stock", stock, "stock", "the security symbol, space padded"},
		{"OpenEligibilityStatus", alpha, "open", "whether the security is eligible to open (N Y)"},
		{"MinAllowablePrice", price4, "min", "the minimum allowable price"},
		{"MaxAllowablePrice", price4, "max", "the maximum allowable price"},
		{"NearExecutionPrice", price4, "near", "the near execution price"},
		{"NearExecutionTime", u64, "neart", "the time the near execution price was set"},
		{"LowerPriceRangeCollar", price4, "lower", "the lower price range collar"},
		{"UpperPriceRangeCollar", price4, "upper", "the upper price range collar"},
	}},
}

func main() {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("// Code generated by gen_itch.go; DO NOT EDIT.\n\npackage decode\n\n")
	p("import (\n\"encoding/binary\"\n\"strconv\"\n)\n\n")

	p("// ITCH 5.0 message lengths in bytes, type byte included.\nconst (\n")
	for _, m := range messages {
		p("%sLen = %d // '%c'\n", m.name, m.length, m.code)
	}
	p(")\n\n")

	p("// itchLengths maps a type byte to its spec length (0 = unknown). It is\n// read-only.\nvar itchLengths = [256]uint8{\n")
	for _, m := range messages {
		p("'%c': %sLen,\n", m.code, m.name)
	}
	p("}\n\n")

	p("// ITCHName returns the spec name of an ITCH 5.0 message type, or \"\" if unknown.\nfunc ITCHName(t byte) string {\nswitch t {\n")
	for _, m := range messages {
		p("case '%c':\nreturn %q\n", m.code, m.title)
	}
	p("}\nreturn \"\"\n}\n\n")

	p("// appendITCH appends the text form of a validated message of type t.\nfunc appendITCH(dst []byte, t byte, msg []byte) []byte {\nswitch t {\n")
	for _, m := range messages {
		p("case '%c':\nreturn (&%s{b: (*[%sLen]byte)(msg)}).AppendText(dst)\n", m.code, m.name, m.name)
	}
	p("}\nreturn dst\n}\n\n")

	for _, m := range messages {
		off := 11
		for _, f := range m.fields {
			off += kindSize[f.kind]
		}
		if off != m.length {
			log.Fatalf("%s: fields sum to %d, spec length %d", m.name, off, m.length)
		}
		n := m.name
		p("// %s is a view over an ITCH 5.0 %s message\n// ('%c', %d bytes, spec section %s).\n//\n", n, m.title, m.code, m.length, m.section)
		p("// Wrap checks the type and length once; the accessors then read the fields\n// in place without checks. It aliases the wrapped buffer and never allocates\n// (except String). Calling an accessor other than AppendText or String on a\n// view that was never wrapped successfully panics: that is a programmer error.\n")
		p("type %s struct {\nb *[%sLen]byte\n}\n\n", n, n)
		p("// Wrap points m at msg after checking its type byte ('%c') and length (%d).\n", m.code, m.length)
		p("func (m *%s) Wrap(msg []byte) error {\nif err := checkITCH(msg, '%c', %sLen); err != nil {\nm.b = nil\nreturn err\n}\nm.b = (*[%sLen]byte)(msg)\nreturn nil\n}\n\n", n, m.code, n, n)
		p("// Bytes returns the wrapped message.\nfunc (m *%s) Bytes() []byte { return m.b[:] }\n\n", n)
		p("// StockLocate returns the locate code of the security (0 for market-wide messages).\nfunc (m *%s) StockLocate() uint16 { return binary.BigEndian.Uint16(m.b[1:]) }\n\n", n)
		p("// TrackingNumber returns the NASDAQ internal tracking number.\nfunc (m *%s) TrackingNumber() uint16 { return binary.BigEndian.Uint16(m.b[3:]) }\n\n", n)
		p("// Timestamp returns nanoseconds since midnight.\nfunc (m *%s) Timestamp() uint64 { return timestamp(m.b[3:11]) }\n\n", n)
		off = 11
		for _, f := range m.fields {
			p("// %s returns %s.\n", f.name, f.doc)
			end := off + kindSize[f.kind]
			switch f.kind {
			case alpha:
				p("func (m *%s) %s() byte { return m.b[%d] }\n\n", n, f.name, off)
			case alpha2, alpha4, mpid, stock:
				p("func (m *%s) %s() %s { return %s(m.b[%d:%d]) }\n\n", n, f.name, kindType[f.kind], kindType[f.kind], off, end)
			case u32:
				p("func (m *%s) %s() uint32 { return binary.BigEndian.Uint32(m.b[%d:]) }\n\n", n, f.name, off)
			case u64:
				p("func (m *%s) %s() uint64 { return binary.BigEndian.Uint64(m.b[%d:]) }\n\n", n, f.name, off)
			case price4:
				p("func (m *%s) %s() Price4 { return Price4(binary.BigEndian.Uint32(m.b[%d:])) }\n\n", n, f.name, off)
			case price8:
				p("func (m *%s) %s() Price8 { return Price8(binary.BigEndian.Uint64(m.b[%d:])) }\n\n", n, f.name, off)
			}
			off = end
		}
		// Fields struct.
		p("// %sFields holds the fields of one %s message ('%c'), for\n// Append%s and %s.Fields.\n", n, m.title, m.code, n, n)
		p("type %sFields struct {\nStockLocate uint16\nTrackingNumber uint16\nTimestamp uint64 // ns since midnight; 48 bits on the wire\n", n)
		for _, f := range m.fields {
			p("%s %s\n", f.name, kindType[f.kind])
		}
		p("}\n\n")
		p("// Fields returns a copy of every field of m.\nfunc (m *%s) Fields() %sFields {\nreturn %sFields{\nStockLocate: m.StockLocate(),\nTrackingNumber: m.TrackingNumber(),\nTimestamp: m.Timestamp(),\n", n, n, n)
		for _, f := range m.fields {
			p("%s: m.%s(),\n", f.name, f.name)
		}
		p("}\n}\n\n")
		// Append.
		p("// Append%s appends one %s message ('%c', %d bytes) to\n// dst. Timestamp keeps its low 48 bits. It does not allocate when dst has room.\n", n, m.title, m.code, m.length)
		p("func Append%s(dst []byte, f %sFields) []byte {\ndst = appendHeader(dst, '%c', f.StockLocate, f.TrackingNumber, f.Timestamp)\n", n, n, m.code)
		for _, f := range m.fields {
			switch f.kind {
			case alpha:
				p("dst = append(dst, f.%s)\n", f.name)
			case alpha2, alpha4, mpid, stock:
				p("dst = append(dst, f.%s[:]...)\n", f.name)
			case u32:
				p("dst = binary.BigEndian.AppendUint32(dst, f.%s)\n", f.name)
			case u64:
				p("dst = binary.BigEndian.AppendUint64(dst, f.%s)\n", f.name)
			case price4:
				p("dst = binary.BigEndian.AppendUint32(dst, uint32(f.%s))\n", f.name)
			case price8:
				p("dst = binary.BigEndian.AppendUint64(dst, uint64(f.%s))\n", f.name)
			}
		}
		p("return dst\n}\n\n")
		// Text.
		p("// AppendText appends a one-line text form of m to dst, for mdtail and\n// debugging.\n")
		p("func (m *%s) AppendText(dst []byte) []byte {\nif m.b == nil {\nreturn append(dst, \"%c <not wrapped>\"...)\n}\ndst = appendTextHeader(dst, '%c', m.StockLocate(), m.TrackingNumber(), m.Timestamp())\n", n, m.code, m.code)
		for _, f := range m.fields {
			p("dst = append(dst, \" %s=\"...)\n", f.short)
			switch f.kind {
			case alpha:
				p("dst = appendAlpha(dst, m.%s())\n", f.name)
			case alpha2, alpha4, mpid, stock:
				p("v%s := m.%s()\ndst = appendText(dst, v%s[:])\n", f.name, f.name, f.name)
			case u32:
				p("dst = strconv.AppendUint(dst, uint64(m.%s()), 10)\n", f.name)
			case u64:
				p("dst = strconv.AppendUint(dst, m.%s(), 10)\n", f.name)
			case price4, price8:
				p("dst = m.%s().Append(dst)\n", f.name)
			}
		}
		p("return dst\n}\n\n")
		p("// String returns the text form of m. It allocates; use it for debugging only.\nfunc (m *%s) String() string { return string(m.AppendText(make([]byte, 0, 128))) }\n\n", n)
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		os.WriteFile("zitch.go.broken", b.Bytes(), 0o644)
		log.Fatal(err)
	}
	if err := os.WriteFile("zitch.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}
