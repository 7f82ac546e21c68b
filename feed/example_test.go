package feed_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"mdcast/decode"
	"mdcast/feed"
	"mdcast/internal/clock"
	"mdcast/ring"
)

// printOutput prints each packet the receiver emits; a real Output is a
// publish worker or a ring.
type printOutput struct {
	pk       decode.Packet
	messages int
}

func (o *printOutput) Offer(p *ring.Packet) bool {
	defer p.Release()
	if o.pk.Wrap(p.Bytes()) != nil {
		return true
	}
	fresh := o.pk.MessageCount() - int(p.Skip)
	o.messages += fresh
	fmt.Printf("line %d: sequence %d, %d new of %d messages\n", p.Line, p.Seq, fresh, o.pk.MessageCount())
	return true
}

// A receiver with one unicast line, driven by hand: the exchange sends the
// same messages twice in differently cut packets (as lines A and B would),
// and each message is delivered once.
func ExampleReceiver() {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0") // find a free port
	if err != nil {
		fmt.Println(err)
		return
	}
	addr := pc.LocalAddr().String()
	pc.Close()

	out := &printOutput{}
	r, err := feed.New(feed.Config{Name: "example", Lines: []feed.LineConfig{{Addr: addr}}}, nil, out)
	if err != nil {
		fmt.Println(err)
		return
	}
	r.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer r.Close()
	if err := r.OnStart(); err != nil { // a ring.Runner calls OnStart, DoWork and OnClose
		fmt.Println(err)
		return
	}

	exchange, err := net.Dial("udp4", addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer exchange.Close()
	s, _ := decode.MakeSession("EXAMPLE")
	packet := func(seq uint64, msgs ...string) []byte {
		b := decode.AppendPacketHeader(nil, s, seq, uint16(len(msgs)))
		for _, m := range msgs {
			b = decode.AppendMessage(b, []byte(m))
		}
		return b
	}
	exchange.Write(packet(1, "m1", "m2"))
	exchange.Write(packet(2, "m2", "m3", "m4")) // m2 again: skipped
	exchange.Write(packet(1, "m1"))             // nothing new: dropped
	exchange.Write(packet(5, "m5"))

	for deadline := time.Now().Add(5 * time.Second); out.messages < 5 && time.Now().Before(deadline); {
		r.DoWork(clock.Nanotime())
	}
	st := r.Stats()
	fmt.Printf("session %s, next %d, duplicate packets %d, duplicate messages %d\n",
		st.Session, st.NextSequence, st.Lines[0].DuplicatePackets, st.Lines[0].DuplicateMessages)
	// Output:
	// line 0: sequence 1, 2 new of 2 messages
	// line 0: sequence 3, 2 new of 3 messages
	// line 0: sequence 5, 1 new of 1 messages
	// session EXAMPLE, next 6, duplicate packets 1, duplicate messages 2
}
