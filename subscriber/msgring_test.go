package subscriber

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"mdcast/decode"
)

// TestDropOldestConcurrent runs the receive-agent side (offer, publish) and
// a consumer that stalls at random against a 64-slot ring. Per channel the
// consumer must see every sequence exactly once, as data whose bytes match
// its sequence (a torn copy would not) or inside a loss, in order.
func TestDropOldestConcurrent(t *testing.T) {
	const total = 200_000
	const nch = 3
	c := newConsumer(ConsumerConfig{RingSize: 64}, nch, []decode.Format{1, 2, 2}, make(chan struct{}))
	var wg sync.WaitGroup
	var done sync.WaitGroup
	done.Add(1)
	finished := make(chan struct{})
	wg.Add(1)
	go func() { // producer: the receive agent
		defer wg.Done()
		defer close(finished)
		var m Message
		seq := [nch]uint64{1, 1, 1}
		rnd := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < total; i++ {
			ch := i % nch
			m = Message{Channel: ch, epoch: 1}
			if rnd.IntN(500) == 0 { // an upstream loss of 3
				m.Kind, m.Sequence, m.to, m.reason = LossEvent, seq[ch], seq[ch]+2, Unrecoverable
				seq[ch] += 3
			} else {
				m.Kind, m.Sequence, m.n = Data, seq[ch], 16
				binary.BigEndian.PutUint64(m.data[:], seq[ch])
				binary.BigEndian.PutUint64(m.data[8:], ^seq[ch])
				seq[ch]++
			}
			c.offer(&m)
			if rnd.IntN(4) == 0 {
				c.publish()
			}
		}
		c.publish()
	}()
	exp := [nch]uint64{1, 1, 1}
	var slowLost uint64
	rnd := rand.New(rand.NewPCG(3, 4))
	check := func(b []Message) {
		for i := range b {
			m := &b[i]
			ch := m.Channel
			switch {
			case m.Kind == Data && m.Sequence == exp[ch]:
				if binary.BigEndian.Uint64(m.data[:]) != m.Sequence || binary.BigEndian.Uint64(m.data[8:]) != ^m.Sequence {
					t.Fatalf("torn message: seq %d bytes %x", m.Sequence, m.data[:16])
				}
				exp[ch]++
			case m.Kind == LossEvent && m.Sequence == exp[ch]:
				if m.reason == SlowConsumer {
					slowLost += m.to - m.Sequence + 1
				}
				exp[ch] = m.to + 1
			default:
				t.Fatalf("channel %d: got kind %v seq %d..%d, want %d", ch, m.Kind, m.Sequence, m.to, exp[ch])
			}
		}
	}
	for {
		select {
		case <-finished:
			for b := c.Poll(1 + rnd.IntN(64)); len(b) > 0; b = c.Poll(64) {
				check(b)
			}
			wg.Wait()
			total := exp[0] + exp[1] + exp[2] - 3
			t.Logf("covered %d sequences, %d lost to the slow consumer, dropped %d", total, slowLost, c.dropped.Load())
			if slowLost == 0 {
				t.Error("the consumer was never lapped")
			}
			if c.dropped.Load() == 0 {
				t.Error("dropped counter not counting")
			}
			return
		default:
		}
		check(c.Poll(1 + rnd.IntN(64)))
		switch rnd.IntN(100) {
		case 0:
			time.Sleep(50 * time.Microsecond)
		case 1, 2, 3:
			runtime.Gosched()
		}
	}
}

// TestInferFullBuffer: an inserted loss in a full batch pushes the last
// message to the next Poll, which must not report it twice.
func TestInferFullBuffer(t *testing.T) {
	c := newConsumer(ConsumerConfig{RingSize: 8}, 1, []decode.Format{2}, make(chan struct{}))
	var m Message
	for seq := uint64(1); seq <= 20; seq++ {
		m = Message{Kind: Data, Sequence: seq, epoch: 1}
		c.offer(&m)
		if seq == 1 {
			c.publish()
			if b := c.Poll(1); len(b) != 1 || b[0].Sequence != 1 {
				t.Fatalf("first poll %v", b)
			}
		}
	}
	c.publish()
	var got []string
	for b := c.Poll(1); len(b) > 0; b = c.Poll(1) {
		for i := range b {
			if b[i].Kind == LossEvent {
				got = append(got, "L"+itoa(b[i].Sequence)+"-"+itoa(b[i].to))
			} else {
				got = append(got, itoa(b[i].Sequence))
			}
		}
	}
	// ring of 8 lapped: jump to 20-8+1 = 13 (+1 slack) = 14
	want := "L2-13 14 15 16 17 18 19 20"
	if s := join(got); s != want {
		t.Errorf("got %q, want %q", s, want)
	}
}

func itoa(v uint64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
		if v == 0 {
			return string(b)
		}
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// TestConflateKeepsEventsAndLatest: a Conflate consumer that reads nothing
// gets, after catching up, the events in order and the latest per instrument.
func TestConflateKeepsEventsAndLatest(t *testing.T) {
	c := newConsumer(ConsumerConfig{RingSize: 4, Policy: Conflate, ConflateSlots: 16}, 1, []decode.Format{decode.FormatQuote}, make(chan struct{}))
	var m Message
	offerQuote := func(seq uint64, inst uint32) {
		m = Message{Kind: Data, Sequence: seq, epoch: 1}
		b := decode.AppendQuote(m.data[:0], decode.QuoteFields{Instrument: inst, ExchangeTime: seq})
		m.n = uint8(len(b))
		c.offer(&m)
	}
	for seq := uint64(1); seq <= 4; seq++ { // fills the ring
		offerQuote(seq, uint32(seq))
	}
	offerQuote(5, 1)
	offerQuote(6, 2)
	m = Message{Kind: LossEvent, Sequence: 7, to: 7, reason: Unrecoverable, epoch: 1}
	c.offer(&m)
	offerQuote(8, 1) // after the event: queued behind it, 5 stays
	offerQuote(9, 3)
	offerQuote(10, 3) // replaces 9 (no event between them)
	c.publish()
	var got []string
	for round := 0; round < 4; round++ {
		for _, x := range c.Poll(64) {
			if x.Kind == LossEvent {
				got = append(got, "L"+itoa(x.Sequence))
			} else {
				got = append(got, itoa(x.Sequence))
			}
		}
		c.cf.flush(c.r)
		c.publish()
	}
	// Events are barriers: nothing that arrived after L7 comes before it.
	want := "1 2 3 4 5 6 L7 8 10"
	if s := join(got); s != want {
		t.Errorf("got %q, want %q", s, want)
	}
	if st := c.Stats(); st.Conflated != 1 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}
