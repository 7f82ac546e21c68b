package decode_test

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"mdcast/decode"
)

// itchView is what every generated ITCH view provides.
type itchView[F any] interface {
	Wrap([]byte) error
	Fields() F
	Bytes() []byte
	String() string
}

// codec ties a type byte to its view and encoder, so tests can treat all 23
// message types alike.
type codec struct {
	typ byte
	// reencode wraps msg in its view and encodes the view's fields again.
	reencode func(msg []byte) ([]byte, error)
	// random encodes random fields and reports whether the view reads them back.
	random func(r *rand.Rand) (msg []byte, ok bool, text string)
}

func newCodec[F comparable, V any, P interface {
	*V
	itchView[F]
}](typ byte, app func([]byte, F) []byte) codec {
	return codec{
		typ: typ,
		reencode: func(msg []byte) ([]byte, error) {
			var v V
			if err := P(&v).Wrap(msg); err != nil {
				return nil, err
			}
			return app(nil, P(&v).Fields()), nil
		},
		random: func(r *rand.Rand) ([]byte, bool, string) {
			var f F
			fillRandom(r, reflect.ValueOf(&f).Elem())
			msg := app(nil, f)
			var v V
			if err := P(&v).Wrap(msg); err != nil {
				return msg, false, err.Error()
			}
			return msg, P(&v).Fields() == f && bytes.Equal(P(&v).Bytes(), msg), P(&v).String()
		},
	}
}

// fillRandom sets every field of the struct v to random values; Timestamp
// keeps 48 bits as on the wire.
func fillRandom(r *rand.Rand, v reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(r.Uint64())
		case reflect.Array:
			for j := 0; j < f.Len(); j++ {
				f.Index(j).SetUint(uint64(r.Uint32()))
			}
		}
		if v.Type().Field(i).Name == "Timestamp" {
			f.SetUint(f.Uint() & (1<<48 - 1))
		}
	}
}

func codecs() []codec {
	return []codec{
		newCodec[decode.SystemEventFields, decode.SystemEvent]('S', decode.AppendSystemEvent),
		newCodec[decode.StockDirectoryFields, decode.StockDirectory]('R', decode.AppendStockDirectory),
		newCodec[decode.StockTradingActionFields, decode.StockTradingAction]('H', decode.AppendStockTradingAction),
		newCodec[decode.RegSHORestrictionFields, decode.RegSHORestriction]('Y', decode.AppendRegSHORestriction),
		newCodec[decode.MarketParticipantPositionFields, decode.MarketParticipantPosition]('L', decode.AppendMarketParticipantPosition),
		newCodec[decode.MWCBDeclineLevelFields, decode.MWCBDeclineLevel]('V', decode.AppendMWCBDeclineLevel),
		newCodec[decode.MWCBStatusFields, decode.MWCBStatus]('W', decode.AppendMWCBStatus),
		newCodec[decode.IPOQuotingPeriodFields, decode.IPOQuotingPeriod]('K', decode.AppendIPOQuotingPeriod),
		newCodec[decode.LULDAuctionCollarFields, decode.LULDAuctionCollar]('J', decode.AppendLULDAuctionCollar),
		newCodec[decode.OperationalHaltFields, decode.OperationalHalt]('h', decode.AppendOperationalHalt),
		newCodec[decode.AddOrderFields, decode.AddOrder]('A', decode.AppendAddOrder),
		newCodec[decode.AddOrderMPIDFields, decode.AddOrderMPID]('F', decode.AppendAddOrderMPID),
		newCodec[decode.OrderExecutedFields, decode.OrderExecuted]('E', decode.AppendOrderExecuted),
		newCodec[decode.OrderExecutedWithPriceFields, decode.OrderExecutedWithPrice]('C', decode.AppendOrderExecutedWithPrice),
		newCodec[decode.OrderCancelFields, decode.OrderCancel]('X', decode.AppendOrderCancel),
		newCodec[decode.OrderDeleteFields, decode.OrderDelete]('D', decode.AppendOrderDelete),
		newCodec[decode.OrderReplaceFields, decode.OrderReplace]('U', decode.AppendOrderReplace),
		newCodec[decode.TradeFields, decode.Trade]('P', decode.AppendTrade),
		newCodec[decode.CrossTradeFields, decode.CrossTrade]('Q', decode.AppendCrossTrade),
		newCodec[decode.BrokenTradeFields, decode.BrokenTrade]('B', decode.AppendBrokenTrade),
		newCodec[decode.NOIIFields, decode.NOII]('I', decode.AppendNOII),
		newCodec[decode.RPIIFields, decode.RPII]('N', decode.AppendRPII),
		newCodec[decode.DLCRPriceDiscoveryFields, decode.DLCRPriceDiscovery]('O', decode.AppendDLCRPriceDiscovery),
	}
}

// TestITCHRoundTripAllTypes encodes random fields for every type and reads
// them back through the view.
func TestITCHRoundTripAllTypes(t *testing.T) {
	cs := codecs()
	if len(cs) != len(specLengths) {
		t.Fatalf("%d codecs for %d types", len(cs), len(specLengths))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range cs {
		for i := 0; i < 100; i++ {
			msg, ok, text := c.random(r)
			if !ok {
				t.Fatalf("%c: random fields did not round trip (%s)", c.typ, text)
			}
			if len(msg) != specLengths[c.typ] || msg[0] != c.typ {
				t.Fatalf("%c: encoded %d bytes, type %q", c.typ, len(msg), msg[0])
			}
			if typ, err := decode.ValidateITCH(msg); err != nil || typ != c.typ {
				t.Fatalf("%c: ValidateITCH = %q, %v", c.typ, typ, err)
			}
			if !strings.HasPrefix(text, string(c.typ)+" loc=") || decode.ITCHString(msg) != text {
				t.Fatalf("%c: text %q / %q", c.typ, text, decode.ITCHString(msg))
			}
			// Every other view rejects the message by type.
			for _, o := range cs {
				if o.typ == c.typ {
					continue
				}
				if _, err := o.reencode(msg); err == nil {
					t.Fatalf("%c view accepted a %c message", o.typ, c.typ)
				}
			}
		}
	}
}

// TestITCHReencodeSnippet decodes every real message into its fields and
// encodes them again: the bytes must be identical.
func TestITCHReencodeSnippet(t *testing.T) {
	byType := map[byte]codec{}
	for _, c := range codecs() {
		byType[c.typ] = c
	}
	for i, m := range readBinaryFile(t) {
		out, err := byType[m[0]].reencode(m)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(out, m) {
			t.Fatalf("message %d (%c) re-encoded\n got %x\nwant %x", i, m[0], out, m)
		}
	}
}
