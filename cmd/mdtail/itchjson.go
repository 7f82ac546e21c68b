package main

import (
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"mdcast/decode"
)

// view is an ITCH 5.0 message view with a Fields copy (decode's generated
// views all have this shape).
type view[F any] interface {
	Wrap(msg []byte) error
	Fields() F
}

func fieldsOf[F any, V any, PV interface {
	*V
	view[F]
}](msg []byte) (any, bool) {
	var v V
	if PV(&v).Wrap(msg) != nil {
		return nil, false
	}
	return PV(&v).Fields(), true
}

// itchFields returns the Fields struct of an ITCH 5.0 message, false if the
// message is not a valid one.
func itchFields(msg []byte) (any, bool) {
	t, err := decode.ValidateITCH(msg)
	if err != nil {
		return nil, false
	}
	switch t {
	case 'S':
		return fieldsOf[decode.SystemEventFields, decode.SystemEvent](msg)
	case 'R':
		return fieldsOf[decode.StockDirectoryFields, decode.StockDirectory](msg)
	case 'H':
		return fieldsOf[decode.StockTradingActionFields, decode.StockTradingAction](msg)
	case 'Y':
		return fieldsOf[decode.RegSHORestrictionFields, decode.RegSHORestriction](msg)
	case 'L':
		return fieldsOf[decode.MarketParticipantPositionFields, decode.MarketParticipantPosition](msg)
	case 'V':
		return fieldsOf[decode.MWCBDeclineLevelFields, decode.MWCBDeclineLevel](msg)
	case 'W':
		return fieldsOf[decode.MWCBStatusFields, decode.MWCBStatus](msg)
	case 'K':
		return fieldsOf[decode.IPOQuotingPeriodFields, decode.IPOQuotingPeriod](msg)
	case 'J':
		return fieldsOf[decode.LULDAuctionCollarFields, decode.LULDAuctionCollar](msg)
	case 'h':
		return fieldsOf[decode.OperationalHaltFields, decode.OperationalHalt](msg)
	case 'A':
		return fieldsOf[decode.AddOrderFields, decode.AddOrder](msg)
	case 'F':
		return fieldsOf[decode.AddOrderMPIDFields, decode.AddOrderMPID](msg)
	case 'E':
		return fieldsOf[decode.OrderExecutedFields, decode.OrderExecuted](msg)
	case 'C':
		return fieldsOf[decode.OrderExecutedWithPriceFields, decode.OrderExecutedWithPrice](msg)
	case 'X':
		return fieldsOf[decode.OrderCancelFields, decode.OrderCancel](msg)
	case 'D':
		return fieldsOf[decode.OrderDeleteFields, decode.OrderDelete](msg)
	case 'U':
		return fieldsOf[decode.OrderReplaceFields, decode.OrderReplace](msg)
	case 'P':
		return fieldsOf[decode.TradeFields, decode.Trade](msg)
	case 'Q':
		return fieldsOf[decode.CrossTradeFields, decode.CrossTrade](msg)
	case 'B':
		return fieldsOf[decode.BrokenTradeFields, decode.BrokenTrade](msg)
	case 'I':
		return fieldsOf[decode.NOIIFields, decode.NOII](msg)
	case 'N':
		return fieldsOf[decode.RPIIFields, decode.RPII](msg)
	case 'O':
		return fieldsOf[decode.DLCRPriceDiscoveryFields, decode.DLCRPriceDiscovery](msg)
	}
	return nil, false
}

// specNames maps decode's Go field names to the ITCH 5.0 specification's
// field names where they differ by more than spelling; the rest are the Go
// names in snake case ("RoundLotSize" -> "round_lot_size").
var specNames = map[string]string{
	"OrderRef":         "order_reference_number",
	"OriginalOrderRef": "original_order_reference_number",
	"NewOrderRef":      "new_order_reference_number",
	"Side":             "buy_sell_indicator",
	"CanceledShares":   "cancelled_shares",
}

// jsonName returns the JSON key of a Fields struct field.
func jsonName(goName string) string {
	if n, ok := specNames[goName]; ok {
		return n
	}
	var b strings.Builder
	rs := []rune(goName)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

var (
	price4Type = reflect.TypeFor[decode.Price4]()
	price8Type = reflect.TypeFor[decode.Price8]()
)

// appendITCHJSON appends the fields of an ITCH message (after the common
// keys the caller wrote) as JSON members: text fields as trimmed strings,
// one-byte codes as one-character strings, prices as decimal strings (4
// places, 8 for the Price(8) fields), integers as numbers.
func appendITCHJSON(dst []byte, f any) []byte {
	v := reflect.ValueOf(f)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		fv := v.Field(i)
		dst = append(dst, ',')
		dst = appendJSONString(dst, jsonName(t.Field(i).Name))
		dst = append(dst, ':')
		switch {
		case fv.Type() == price4Type:
			dst = append(dst, '"')
			dst = decode.Price4(fv.Uint()).Append(dst)
			dst = append(dst, '"')
		case fv.Type() == price8Type:
			dst = append(dst, '"')
			dst = decode.Price8(fv.Uint()).Append(dst)
			dst = append(dst, '"')
		case fv.Kind() == reflect.Array: // Stock, MPID, [2]byte, [4]byte
			b := make([]byte, fv.Len())
			reflect.Copy(reflect.ValueOf(b), fv)
			dst = appendJSONString(dst, strings.TrimRight(string(b), " "))
		case fv.Kind() == reflect.Uint8: // alpha code
			dst = appendJSONString(dst, string([]byte{byte(fv.Uint())}))
		case fv.CanUint():
			dst = strconv.AppendUint(dst, fv.Uint(), 10)
		case fv.CanInt():
			dst = strconv.AppendInt(dst, fv.Int(), 10)
		default:
			dst = appendJSONString(dst, fv.String())
		}
	}
	return dst
}

// appendJSONString appends s as a JSON string. Bytes outside printable
// ASCII (ITCH alpha fields may hold anything on a damaged feed) are written
// as \u00XX escapes, so the output is always valid JSON and plain ASCII.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c >= 0x7f:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
