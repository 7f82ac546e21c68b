package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"mdcast/decode"
)

var testLoss = decode.UpstreamLossFields{
	Session: decode.Session{'N', 'A', 'S', 'D', 'A', 'Q', '0', '0', '4', '2'}, From: 1001, To: 1100,
}

// render runs fn on a printer writing text or JSON and returns the output.
func render(t *testing.T, js bool, fn func(p *printer)) string {
	t.Helper()
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	fn(&printer{w: w, json: js, sum: &summary{}})
	w.Flush()
	return out.String()
}

// TestUpstreamLossNoticeOutput: the daemon's notice reads well as a live
// loss event and as a raw message of a capture, in text and JSON, and passes
// an instrument filter (it concerns every instrument).
func TestUpstreamLossNoticeOutput(t *testing.T) {
	text := render(t, false, func(p *printer) { p.event("q0", "loss", 58, 58, "upstream", testLoss) })
	if want := "q0 --- loss 58..58 (upstream) upstream-loss session=NASDAQ0042 from=1001 to=1100 count=100\n"; text != want {
		t.Errorf("text event %q, want %q", text, want)
	}
	plain := render(t, false, func(p *printer) { p.event("q0", "loss", 5, 9, "unrecoverable", decode.UpstreamLossFields{}) })
	if want := "q0 --- loss 5..9 (unrecoverable)\n"; plain != want {
		t.Errorf("text event %q, want %q", plain, want)
	}
	var ev struct {
		Channel, Event, Reason string
		Seq, To                uint64
		Upstream               *struct {
			Session         string
			From, To, Count uint64
		}
	}
	js := render(t, true, func(p *printer) { p.event("q0", "loss", 58, 58, "upstream", testLoss) })
	if err := json.Unmarshal([]byte(js), &ev); err != nil {
		t.Fatalf("%q: %v", js, err)
	}
	if ev.Event != "loss" || ev.Reason != "upstream" || ev.Seq != 58 || ev.Upstream == nil ||
		ev.Upstream.Session != "NASDAQ0042" || ev.Upstream.From != 1001 || ev.Upstream.To != 1100 || ev.Upstream.Count != 100 {
		t.Errorf("JSON event %s", js)
	}

	msg := decode.AppendUpstreamLoss(nil, testLoss)
	raw := render(t, false, func(p *printer) {
		p.inst = newInstrumentFilter("7")
		p.message("q0", 58, 0, msg)
	})
	if want := "q0 #58 upstream-loss session=NASDAQ0042 from=1001 to=1100 count=100\n"; raw != want {
		t.Errorf("text message %q, want %q", raw, want)
	}
	rawJS := render(t, true, func(p *printer) { p.message("q0", 58, 0, msg) })
	var m map[string]any
	if err := json.Unmarshal([]byte(rawJS), &m); err != nil {
		t.Fatalf("%q: %v", rawJS, err)
	}
	up, _ := m["upstream"].(map[string]any)
	if m["type"] != "u" || m["seq"] != 58.0 || up == nil || up["from"] != 1001.0 || up["count"] != 100.0 {
		t.Errorf("JSON message %s", rawJS)
	}
	// A malformed one is shown as an unknown message, not as a notice.
	bad := render(t, false, func(p *printer) { p.message("q0", 59, 0, msg[:10]) })
	if strings.Contains(bad, "upstream-loss") {
		t.Errorf("malformed notice printed as one: %q", bad)
	}
}

// TestLiveUpstreamLoss: following a channel whose daemon sent an upstream
// loss notice between two quotes, mdtail prints the quote, the loss event
// with the upstream range, then the next quote.
func TestLiveUpstreamLoss(t *testing.T) {
	sess, _ := decode.MakeSession("LIVE")
	pkt := decode.AppendPacketHeader(nil, sess, 1, 3)
	pkt = decode.AppendMessage(pkt, decode.AppendQuote(nil, decode.QuoteFields{Instrument: 1}))
	pkt = decode.AppendMessage(pkt, decode.AppendUpstreamLoss(nil, testLoss))
	pkt = decode.AppendMessage(pkt, decode.AppendQuote(nil, decode.QuoteFields{Instrument: 2}))
	got := followLive(t, 241, pkt, "-n", "2", "-duration", "10s")
	want := []string{"q #1 q inst=1", "q --- loss 2..2 (upstream) upstream-loss session=NASDAQ0042 from=1001 to=1100 count=100", "q #3 q inst=2"}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("line %d: %q, want prefix %q", i, got[i], want[i])
		}
	}
}
