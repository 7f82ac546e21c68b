package feed

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/internal/clock"
	"mdcast/internal/udpsock"
	"mdcast/ring"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// sender sends test packets from an ephemeral port.
type sender struct {
	t    testing.TB
	conn *udpsock.Conn
	buf  []byte
}

func newSender(t testing.TB) *sender {
	t.Helper()
	c, err := udpsock.NewSender(netip.AddrPort{}, "lo", udpsock.Options{Loop: true, SndBuf: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &sender{t: t, conn: c, buf: make([]byte, 0, 2048)}
}

// packet sends a packet of n test messages from seq to each destination.
func (s *sender) packet(sess decode.Session, seq uint64, n int, dsts ...netip.AddrPort) {
	s.t.Helper()
	s.raw(appendTestPacket(s.buf[:0], sess, seq, n), dsts...)
}

func (s *sender) raw(b []byte, dsts ...netip.AddrPort) {
	s.t.Helper()
	for _, d := range dsts {
		if err := s.conn.WriteTo(b, d); err != nil {
			s.t.Errorf("send to %v: %v", d, err)
		}
	}
}

// fakeUpstream is a MoldUDP64 re-request server for tests: it answers each
// request with one packet holding as many of the requested test messages
// as fit in 1400 bytes (the test messages are regenerated from their
// sequence, so it needs no history).
type fakeUpstream struct {
	addr     netip.AddrPort
	conn     *udpsock.Conn
	session  decode.Session
	requests atomic.Uint64
	answered atomic.Uint64
	readErrs atomic.Uint64
	silent   atomic.Bool // never answer
	wg       sync.WaitGroup
}

func startFakeUpstream(t testing.TB, s decode.Session) *fakeUpstream {
	t.Helper()
	c, err := udpsock.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"), udpsock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetRecvTimeout(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	u := &fakeUpstream{addr: c.LocalAddr(), conn: c, session: s}
	u.wg.Add(1)
	go u.serve(t)
	t.Cleanup(func() {
		c.Close()
		u.wg.Wait()
	})
	return u
}

func (u *fakeUpstream) serve(t testing.TB) {
	defer u.wg.Done()
	var in [64]byte
	out := make([]byte, 1400)
	var req decode.Request
	for {
		n, from, err := u.conn.ReadFrom(in[:])
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			u.readErrs.Add(1)
			t.Logf("fake upstream: read: %v", err)
			continue
		}
		if req.Wrap(in[:n]) != nil || req.Session() != u.session {
			t.Errorf("fake upstream: bad request % x", in[:n])
			continue
		}
		u.requests.Add(1)
		if u.silent.Load() {
			continue
		}
		w := decode.NewPacketWriter(out, 1400)
		w.Reset(u.session, req.Sequence())
		var m [testMsgLen]byte
		for seq := req.Sequence(); seq < req.Sequence()+uint64(req.Count()); seq++ {
			putSeq(m[:], seq)
			if !w.Append(m[:]) {
				break
			}
		}
		if w.Count() == 0 {
			continue
		}
		u.answered.Add(uint64(w.Count()))
		if err := u.conn.WriteTo(w.Bytes(), from); err != nil {
			t.Errorf("fake upstream: answer: %v", err)
		}
	}
}

func putSeq(m []byte, seq uint64) {
	for i := 7; i >= 0; i-- {
		m[i] = byte(seq)
		seq >>= 8
	}
}

// seqOutput is an Output that checks every new message arrives exactly
// once and in order, counting from the first one it sees. It runs on the
// receiver's goroutine; read it only after that stopped, or through the
// atomics.
type seqOutput struct {
	next     uint64 // next sequence expected; 0 until the first packet
	messages atomic.Uint64
	packets  atomic.Uint64
	errors   atomic.Uint64
	firstErr atomic.Pointer[string]
	target   uint64
	done     chan struct{}
	pk       decode.Packet
	keep     bool     // copy messages into msgs
	msgs     [][]byte // messages received, when keep
	lines    [256]uint64
}

func newSeqOutput(target uint64) *seqOutput {
	return &seqOutput{target: target, done: make(chan struct{})}
}

func (o *seqOutput) fail(s string) {
	o.errors.Add(1)
	o.firstErr.CompareAndSwap(nil, &s)
}

func (o *seqOutput) Offer(p *ring.Packet) bool {
	defer p.Release()
	if err := o.pk.Wrap(p.Bytes()); err != nil {
		o.fail("emitted packet does not wrap: " + err.Error())
		return true
	}
	if o.next == 0 {
		o.next = p.Seq
	}
	if p.Seq != o.next || o.pk.Sequence()+uint64(p.Skip) != p.Seq {
		o.fail("out of order or bad skip")
	}
	o.lines[p.Line]++
	it := o.pk.Messages()
	for i := 0; it.Next(); i++ {
		if i < int(p.Skip) {
			continue
		}
		if it.Sequence() != o.next {
			o.fail("sequence out of order")
		}
		o.next = it.Sequence() + 1
		if o.keep {
			o.msgs = append(o.msgs, append([]byte(nil), it.Message()...))
		}
		if m := it.Message(); !o.keep && (len(m) != testMsgLen || seqOf(m) != it.Sequence()) {
			o.fail("message content does not match its sequence")
		}
	}
	o.packets.Add(1)
	if n := o.messages.Add(uint64(o.pk.MessageCount() - int(p.Skip))); n == o.target {
		close(o.done)
	}
	return true
}

func seqOf(m []byte) uint64 {
	var v uint64
	for _, b := range m[:8] {
		v = v<<8 | uint64(b)
	}
	return v
}

func (o *seqOutput) check(t testing.TB) {
	t.Helper()
	if n := o.errors.Load(); n != 0 {
		t.Fatalf("%d output errors, first: %s", n, *o.firstErr.Load())
	}
}

// runReceiver runs r under a ring.Runner (yielding when idle) until the
// test ends or stop is called.
func runReceiver(t testing.TB, r *Receiver) (stop func()) {
	t.Helper()
	rn := ring.NewRunner(r, ring.RunnerConfig{Idle: ring.Yield{}, CPU: -1})
	if err := rn.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { rn.Close() }) }
	t.Cleanup(stop)
	return stop
}

// waitDone waits for ch with a deadline.
func waitDone(t testing.TB, ch <-chan struct{}, d time.Duration, what func() string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("timed out after %v: %s", d, what())
	}
}

// pump runs DoWork on the calling goroutine until cond holds or the
// deadline passes.
func pump(t testing.TB, r *Receiver, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if _, err := r.DoWork(clock.Nanotime()); err != nil {
			t.Fatalf("DoWork: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
	}
}
