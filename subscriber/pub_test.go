package subscriber_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/internal/udpsock"
	"mdcast/subscriber"
)

// testPub is a minimal mdcast channel for tests: it frames messages as
// MoldUDP64 with decode.PacketWriter, sends them to a loopback multicast
// group, keeps every message as history and answers re-requests from it on a
// unicast socket (one downstream packet per request, as the daemon does).
type testPub struct {
	t       tb
	group   netip.AddrPort
	send    *udpsock.Conn
	req     *udpsock.Conn
	payload int

	mu      sync.Mutex
	session decode.Session
	next    uint64   // next sequence to assign
	hist    [][]byte // hist[seq-1] = message (nil: never answer it)
	w       *decode.PacketWriter
	buf     []byte

	requests atomic.Uint64
	answered atomic.Uint64
	done     chan struct{}
}

// tb is the part of testing.TB the publisher uses; examples pass exampleTB.
type tb interface {
	Helper()
	Fatal(args ...any)
	Skipf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// exampleTB lets Example functions use testPub: failures panic, cleanups
// run at done.
type exampleTB struct{ cleanups []func() }

func (e *exampleTB) Helper()                      {}
func (e *exampleTB) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (e *exampleTB) Skipf(f string, args ...any)  { panic(fmt.Sprintf(f, args...)) }
func (e *exampleTB) Errorf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (e *exampleTB) Cleanup(f func())             { e.cleanups = append(e.cleanups, f) }
func (e *exampleTB) done() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

var groupSeq atomic.Uint32

// testGroup returns a 239.255.x.y:port unlikely to collide with parallel
// test processes: x from the pid, y from a counter, port ephemeral.
func testGroup(t tb) netip.AddrPort {
	n := groupSeq.Add(1)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 255, byte(os.Getpid() % 250), byte(n%250 + 1)}), uint16(port))
}

func newTestPub(t tb, session string) *testPub {
	t.Helper()
	s, err := decode.MakeSession(session)
	if err != nil {
		t.Fatal(err)
	}
	lo := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
	send, err := udpsock.NewSender(lo, "lo", udpsock.Options{Loop: true, SndBuf: 4 << 20})
	if err != nil {
		t.Skipf("no loopback multicast sender: %v", err)
	}
	req, err := udpsock.ListenUnicast(lo, udpsock.Options{})
	if err != nil {
		send.Close()
		t.Fatal(err)
	}
	p := &testPub{t: t, group: testGroup(t), send: send, req: req, payload: 1400,
		session: s, next: 1, buf: make([]byte, 1500), done: make(chan struct{})}
	p.w = decode.NewPacketWriter(p.buf, p.payload)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *testPub) close() {
	p.req.Close()
	<-p.done
	p.send.Close()
}

// channel returns the ChannelConfig a subscriber uses for this publisher.
func (p *testPub) channel(name string) subscriber.ChannelConfig {
	return subscriber.ChannelConfig{Name: name, Group: p.group.String(), RequestAddr: p.req.LocalAddr().String()}
}

// serve answers re-requests until the request socket is closed.
func (p *testPub) serve() {
	defer close(p.done)
	b := make([]byte, 64)
	out := make([]byte, 1500)
	for {
		n, from, err := p.req.ReadFrom(b)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var r decode.Request
		if r.Wrap(b[:n]) != nil {
			continue
		}
		p.requests.Add(1)
		p.mu.Lock()
		if r.Session() != p.session {
			p.mu.Unlock()
			continue
		}
		w := decode.NewPacketWriter(out, p.payload)
		w.Reset(p.session, r.Sequence())
		for seq := r.Sequence(); seq < r.Sequence()+uint64(r.Count()) && seq < p.next; seq++ {
			m := p.hist[seq-1]
			if m == nil || !w.Append(m) {
				break
			}
		}
		if w.Count() > 0 {
			_ = p.req.WriteTo(w.Bytes(), from)
			p.answered.Add(1)
		}
		p.mu.Unlock()
	}
}

// publish frames msgs into as few packets as fit and sends them; skip(seq)
// (may be nil) suppresses the send of the packet starting at seq, as a loss
// on the wire would (the history still has it). It returns the sequence of
// the first message.
func (p *testPub) publish(msgs [][]byte, skip func(first uint64) bool) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	first := p.next
	p.w.Reset(p.session, p.next)
	flush := func() {
		if p.w.Count() == 0 {
			return
		}
		if skip == nil || !skip(p.w.Sequence()) {
			p.write(p.w.Bytes())
		}
		p.w.Reset(p.session, p.w.NextSequence())
	}
	for _, m := range msgs {
		if !p.w.Append(m) {
			flush()
			p.w.Append(m)
		}
		p.hist = append(p.hist, m)
		p.next++
	}
	flush()
	return first
}

// forget removes history for first..last so requests for them go unanswered.
func (p *testPub) forget(first, last uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := first; s <= last; s++ {
		p.hist[s-1] = nil
	}
}

// packet builds (without sending) a packet of msgs starting at seq.
func (p *testPub) packet(seq uint64, msgs ...[]byte) []byte {
	b := decode.AppendPacketHeader(nil, p.session, seq, uint16(len(msgs)))
	for _, m := range msgs {
		b = decode.AppendMessage(b, m)
	}
	return b
}

func (p *testPub) write(b []byte) {
	for i := 0; ; i++ {
		err := p.send.WriteTo(b, p.group)
		if err == nil {
			return
		}
		if !errors.Is(err, udpsock.ErrWouldBlock) || i > 1000 {
			p.t.Errorf("send: %v", err)
			return
		}
		time.Sleep(10 * time.Microsecond) // send buffer full: back off
	}
}

// heartbeat sends a heartbeat announcing the next sequence.
func (p *testPub) heartbeat() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.write(decode.AppendPacketHeader(nil, p.session, p.next, 0))
}

// endOfSession sends an end of session.
func (p *testPub) endOfSession() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.write(decode.AppendPacketHeader(nil, p.session, p.next, decode.EndOfSessionCount))
}

// newSession restarts the channel in another session from sequence 1.
func (p *testPub) newSession(name string) {
	s, err := decode.MakeSession(name)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.session, p.next, p.hist = s, 1, nil
}

// quotes returns n quotes for instruments 1..instruments, the i-th (from
// 0) with ExchangeTime = base+i so tests can check identity and order.
func quotes(n int, base uint64, instruments uint32) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = decode.AppendQuote(nil, decode.QuoteFields{
			Instrument:   uint32(i)%instruments + 1,
			ExchangeTime: base + uint64(i),
			BidPrice:     100_00000000 + int64(i),
			AskPrice:     100_01000000 + int64(i),
			BidSize:      100,
			AskSize:      200,
		})
	}
	return out
}

// collector gathers everything a consumer delivers (copied out of the batch).
type collector struct {
	mu   sync.Mutex
	msgs []subscriber.Message
	data atomic.Uint64
}

func (c *collector) add(batch []subscriber.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, batch...)
	c.mu.Unlock()
	for i := range batch {
		if batch[i].Kind == subscriber.Data {
			c.data.Add(1)
		}
	}
}

func (c *collector) snapshot() []subscriber.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]subscriber.Message(nil), c.msgs...)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// describe renders a delivered message for test failures.
func describe(m *subscriber.Message) string {
	switch m.Kind {
	case subscriber.LossEvent:
		l := m.Loss()
		return fmt.Sprintf("loss[%d..%d %v]", l.From, l.To, l.Reason)
	case subscriber.Data:
		return fmt.Sprintf("data[%d]", m.Sequence)
	}
	return fmt.Sprintf("%v[%d]", m.Kind, m.Sequence)
}
