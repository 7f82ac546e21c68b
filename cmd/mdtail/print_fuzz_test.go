package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"mdcast/decode"
)

// FuzzPrinterMessage renders arbitrary messages as text and JSON: nothing
// panics, and every JSON line parses.
func FuzzPrinterMessage(f *testing.F) {
	f.Add(decode.AppendQuote(nil, decode.QuoteFields{Instrument: 7, BidPrice: -5}))
	f.Add([]byte{'A', 0, 1})
	f.Add(append([]byte{'R'}, make([]byte, 38)...))
	f.Add([]byte{})
	f.Add([]byte{'q', 1})
	f.Add(decode.AppendUpstreamLoss(nil, decode.UpstreamLossFields{Session: decode.Session{'"', 0, 0xff}, From: 1, To: 2}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, js := range []bool{false, true} {
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			p := &printer{w: w, json: js, sum: &summary{}, inst: newInstrumentFilter("AAPL")}
			p.message("ch", 1, 2, msg)
			p.inst = newInstrumentFilter("7")
			p.message("ch", 1, 2, msg)
			p.inst = nil
			p.message("ch", 1, 2, msg)
			w.Flush()
			if !js {
				continue
			}
			for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
				if len(line) == 0 {
					continue
				}
				var v map[string]any
				if err := json.Unmarshal(line, &v); err != nil {
					t.Fatalf("invalid JSON %q: %v", line, err)
				}
			}
		}
	})
}
