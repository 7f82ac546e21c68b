package main

import (
	"bufio"
	"encoding/binary"
	"reflect"
	"strconv"

	"mdcast/decode"
)

// printer filters and renders messages, one line each, readable or JSON.
// It also counts what it sees for the summary.
type printer struct {
	w     *bufio.Writer
	json  bool
	quiet bool
	types *[256]bool
	inst  *instrumentFilter
	sum   *summary
	buf   []byte
}

// message handles one message of channel (name) at sequence seq. It returns
// whether the message passed the filters.
func (p *printer) message(channel string, seq uint64, recvNs int64, msg []byte) bool {
	p.sum.message(msg)
	if len(msg) == 0 {
		return false
	}
	t := msg[0]
	if p.types != nil && !p.types[t] {
		return false
	}
	isQuote := t == decode.QuoteType && len(msg) >= decode.QuoteLen
	// The daemon's upstream loss notice (in a capture of its channels)
	// concerns every instrument, so the instrument filter lets it pass.
	var notice decode.UpstreamLoss
	isNotice := t == decode.UpstreamLossType && notice.Wrap(msg) == nil
	if p.inst != nil && !isNotice && !p.inst.match(msg, isQuote) {
		return false
	}
	p.sum.matched++
	if p.quiet {
		return true
	}
	b := p.buf[:0]
	switch {
	case p.json && isNotice:
		b = appendHeaderJSON(b, channel, seq, recvNs)
		b = append(b, `,"type":"u","name":"Upstream Loss","upstream":`...)
		b = append(appendUpstreamJSON(b, notice.Fields()), '}')
	case isNotice:
		b = notice.Fields().AppendText(p.textHeader(b, channel, seq))
	case p.json && isQuote:
		b = appendQuoteJSON(p.header(b, channel, seq, recvNs), msg)
	case p.json:
		b = appendHeaderJSON(b, channel, seq, recvNs)
		b = append(b, `,"type":`...)
		b = appendJSONString(b, string([]byte{t}))
		if f, ok := itchFields(msg); ok {
			b = append(b, `,"name":`...)
			b = appendJSONString(b, decode.ITCHName(t))
			b = appendITCHJSON(b, f)
		} else {
			b = append(b, `,"invalid":`...)
			b = appendJSONString(b, string(decode.AppendITCHText(nil, msg)))
		}
		b = append(b, '}')
	case isQuote:
		b = appendQuoteText(p.textHeader(b, channel, seq), msg)
	default:
		b = decode.AppendITCHText(p.textHeader(b, channel, seq), msg)
	}
	b = append(b, '\n')
	p.w.Write(b)
	p.buf = b
	return true
}

// event prints a subscriber event (loss, session change, end of session).
// up is what the daemon lost upstream, for a loss of reason "upstream"
// (zero otherwise).
func (p *printer) event(channel, kind string, from, to uint64, reason string, up decode.UpstreamLossFields) {
	if p.quiet {
		return
	}
	b := p.buf[:0]
	if p.json {
		b = append(b, `{"channel":`...)
		b = appendJSONString(b, channel)
		b = append(b, `,"event":`...)
		b = appendJSONString(b, kind)
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, from, 10)
		if kind == "loss" {
			b = append(b, `,"to":`...)
			b = strconv.AppendUint(b, to, 10)
			b = append(b, `,"reason":`...)
			b = appendJSONString(b, reason)
			if up != (decode.UpstreamLossFields{}) {
				b = append(b, `,"upstream":`...)
				b = appendUpstreamJSON(b, up)
			}
		}
		b = append(b, "}\n"...)
	} else {
		b = append(b, channel...)
		b = append(b, " --- "...)
		b = append(b, kind...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, from, 10)
		if kind == "loss" {
			b = append(b, ".."...)
			b = strconv.AppendUint(b, to, 10)
			b = append(b, " ("...)
			b = append(b, reason...)
			b = append(b, ')')
			if up != (decode.UpstreamLossFields{}) {
				b = up.AppendText(append(b, ' '))
			}
		}
		b = append(b, '\n')
	}
	p.w.Write(b)
	p.buf = b
}

func (p *printer) textHeader(b []byte, channel string, seq uint64) []byte {
	if channel != "" {
		b = append(b, channel...)
		b = append(b, ' ')
	}
	if seq != 0 {
		b = append(b, '#')
		b = strconv.AppendUint(b, seq, 10)
		b = append(b, ' ')
	}
	return b
}

func (p *printer) header(b []byte, channel string, seq uint64, recvNs int64) []byte {
	return appendHeaderJSON(b, channel, seq, recvNs)
}

// appendHeaderJSON opens the object with where the message came from.
func appendHeaderJSON(b []byte, channel string, seq uint64, recvNs int64) []byte {
	b = append(b, '{')
	sep := false
	if channel != "" {
		b = append(b, `"channel":`...)
		b = appendJSONString(b, channel)
		sep = true
	}
	if seq != 0 {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"seq":`...)
		b = strconv.AppendUint(b, seq, 10)
		sep = true
	}
	if recvNs != 0 {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"recv_ns":`...)
		b = strconv.AppendInt(b, recvNs, 10)
		sep = true
	}
	if !sep {
		b = append(b, `"seq":0`...) // keep the object well formed for the members that follow
	}
	return b
}

// appendUpstreamJSON appends an upstream loss as a JSON object.
func appendUpstreamJSON(b []byte, f decode.UpstreamLossFields) []byte {
	b = append(b, `{"session":`...)
	b = appendJSONString(b, f.Session.String())
	b = append(b, `,"from":`...)
	b = strconv.AppendUint(b, f.From, 10)
	b = append(b, `,"to":`...)
	b = strconv.AppendUint(b, f.To, 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendUint(b, f.Count(), 10)
	if f.Flags&decode.UpstreamLossDaemonDrop != 0 {
		b = append(b, `,"daemon_drop":true`...)
	}
	return append(b, '}')
}

// appendQuoteJSON appends every field of a quote and closes the object.
// Prices keep their 8 decimal places (quotes are in 1e-8 units).
func appendQuoteJSON(b, msg []byte) []byte {
	var q decode.Quote
	if err := q.Wrap(msg); err != nil {
		b = append(b, `,"type":"q","invalid":`...)
		b = appendJSONString(b, err.Error())
		return append(b, '}')
	}
	b = append(b, `,"type":"q","version":`...)
	b = strconv.AppendUint(b, uint64(q.Version()), 10)
	b = append(b, `,"flags":`...)
	b = strconv.AppendUint(b, uint64(q.Flags()), 10)
	b = append(b, `,"instrument":`...)
	b = strconv.AppendUint(b, uint64(q.Instrument()), 10)
	b = append(b, `,"exchange_time":`...)
	b = strconv.AppendUint(b, q.ExchangeTime(), 10)
	b = append(b, `,"bid_price":"`...)
	b = appendFixed(b, q.BidPrice(), 8)
	b = append(b, `","ask_price":"`...)
	b = appendFixed(b, q.AskPrice(), 8)
	b = append(b, `","bid_size":`...)
	b = strconv.AppendUint(b, uint64(q.BidSize()), 10)
	b = append(b, `,"ask_size":`...)
	b = strconv.AppendUint(b, uint64(q.AskSize()), 10)
	b = append(b, `,"send_time":`...)
	b = strconv.AppendUint(b, q.SendTime(), 10)
	return append(b, '}')
}

// appendQuoteText appends a readable quote with prices to 4 decimals.
func appendQuoteText(b, msg []byte) []byte {
	var q decode.Quote
	if err := q.Wrap(msg); err != nil {
		return append(append(b, "q invalid: "...), err.Error()...)
	}
	b = append(b, "q inst="...)
	b = strconv.AppendUint(b, uint64(q.Instrument()), 10)
	b = append(b, " bid="...)
	b = strconv.AppendUint(b, uint64(q.BidSize()), 10)
	b = append(b, '@')
	b = appendFixed(b, q.BidPrice()/10_000, 4)
	b = append(b, " ask="...)
	b = strconv.AppendUint(b, uint64(q.AskSize()), 10)
	b = append(b, '@')
	b = appendFixed(b, q.AskPrice()/10_000, 4)
	b = append(b, " xt="...)
	b = strconv.AppendUint(b, q.ExchangeTime(), 10)
	b = append(b, " st="...)
	b = strconv.AppendUint(b, q.SendTime(), 10)
	return b
}

// appendFixed appends v / 10^dec with dec decimal places.
func appendFixed(b []byte, v int64, dec int) []byte {
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = -u
	}
	p := uint64(1)
	for i := 0; i < dec; i++ {
		p *= 10
	}
	b = strconv.AppendUint(b, u/p, 10)
	b = append(b, '.')
	frac := strconv.AppendUint(nil, u%p+p, 10) // leading 1 keeps the zeros
	return append(b, frac[1:]...)
}

// match reports whether msg belongs to the filtered instrument.
func (f *instrumentFilter) match(msg []byte, isQuote bool) bool {
	format := decode.FormatITCH
	if isQuote {
		format = decode.FormatQuote
	}
	if f.symbol == "" {
		k, ok := decode.InstrumentKey(format, msg)
		return ok && k == f.key
	}
	if isQuote || len(msg) < 3 {
		return false
	}
	locate := binary.BigEndian.Uint16(msg[1:])
	if f.locate[locate] {
		return true
	}
	// A message with a Stock field (the Stock Directory among them)
	// teaches us the symbol's locate.
	if fs, ok := itchFields(msg); ok {
		if st := reflect.ValueOf(fs).FieldByName("Stock"); st.IsValid() {
			s := st.Interface().(decode.Stock)
			if string(s.Trim()) == f.symbol {
				f.locate[locate] = true
				return true
			}
		}
	}
	return false
}
