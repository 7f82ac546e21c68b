package feed

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"mdcast/decode"
	"mdcast/ring"
)

// Messages built by tests carry their own sequence (8 bytes, big-endian), so
// a recorder can check that what it got is what the sequence says.
const testMsgLen = 8

var (
	sessA = mustSession("SESSION-A")
	sessB = mustSession("SESSION-B")
)

func mustSession(s string) decode.Session {
	v, err := decode.MakeSession(s)
	if err != nil {
		panic(err)
	}
	return v
}

// appendTestPacket appends a packet of n messages from seq, each holding
// its sequence.
func appendTestPacket(dst []byte, s decode.Session, seq uint64, n int) []byte {
	dst = decode.AppendPacketHeader(dst, s, seq, uint16(n))
	var m [testMsgLen]byte
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint64(m[:], seq+uint64(i))
		dst = decode.AppendMessage(dst, m[:])
	}
	return dst
}

// recorder is an Output that checks each packet and records the sequence
// of every new message it carries, then releases the packet.
type recorder struct {
	t       testing.TB
	seqs    []uint64
	packets int
	lines   map[uint8]int
	full    bool // refuse everything
	pk      decode.Packet
	bad     int // packets whose metadata or content contradicted each other
}

func (r *recorder) Offer(p *ring.Packet) bool {
	if r.full {
		p.Release() // Offer owns the reference even when it refuses
		return false
	}
	r.packets++
	if r.lines != nil {
		r.lines[p.Line]++
	}
	if err := r.pk.Wrap(p.Bytes()); err != nil {
		r.bad++
		r.t.Errorf("emitted packet does not wrap: %v", err)
	} else if r.pk.Sequence()+uint64(p.Skip) != p.Seq || p.Skip < 0 || int(p.Skip) >= r.pk.MessageCount() {
		r.bad++
		r.t.Errorf("packet seq %d count %d emitted with Seq %d Skip %d", r.pk.Sequence(), r.pk.MessageCount(), p.Seq, p.Skip)
	} else {
		it := r.pk.Messages()
		for i := 0; it.Next(); i++ {
			if i < int(p.Skip) {
				continue
			}
			m := it.Message()
			if len(m) == testMsgLen && binary.BigEndian.Uint64(m) != it.Sequence() {
				r.bad++
				r.t.Errorf("message %d holds %d", it.Sequence(), binary.BigEndian.Uint64(m))
			}
			r.seqs = append(r.seqs, it.Sequence())
		}
	}
	p.Release()
	return true
}

// harness drives an arbiter by hand.
type harness struct {
	t      *testing.T
	pool   *ring.Pool
	out    *recorder
	a      *arbiter
	lc     [3]LineCounters // A, B, recovery
	c      Counters
	reqs   []testRequest
	sendFn func(s decode.Session, seq uint64, count uint16) error
	losses [][2]uint64
	pk     decode.Packet
}

type testRequest struct {
	s     decode.Session
	seq   uint64
	count uint16
}

type harnessConfig struct {
	maxDistance uint64
	maxWait     time.Duration
	maxHeld     int
	recovery    bool
	timeout     time.Duration
	retries     int
	session     decode.Session
	fixed       bool
}

func newHarness(t *testing.T, hc harnessConfig) *harness {
	pool, err := ring.NewPool(ring.PoolConfig{Packets: 256, BufSize: 2048})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, pool: pool, out: &recorder{t: t, lines: map[uint8]int{}}}
	ac := arbiterConfig{
		out:          h.out,
		counters:     &h.c,
		session:      hc.session,
		fixed:        hc.fixed,
		maxDistance:  cmpOr(hc.maxDistance, DefaultGapMaxDistance),
		maxWaitNs:    int64(cmpOr(hc.maxWait, DefaultGapMaxWait)),
		maxHeld:      cmpOr(hc.maxHeld, DefaultGapMaxHeld),
		timeoutNs:    int64(cmpOr(hc.timeout, DefaultRecoveryTimeout)),
		retries:      cmpOr(hc.retries, DefaultRecoveryRetries),
		recoveryLine: LineRecovery,
		log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if hc.recovery {
		ac.send = func(s decode.Session, seq uint64, count uint16) error {
			h.reqs = append(h.reqs, testRequest{s, seq, count})
			if h.sendFn != nil {
				return h.sendFn(s, seq, count)
			}
			return nil
		}
	}
	h.a = newArbiter(ac)
	h.a.onLoss = func(from, to uint64) { h.losses = append(h.losses, [2]uint64{from, to}) }
	return h
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func lineCounter(h *harness, line uint8) *LineCounters {
	if line == LineRecovery {
		return &h.lc[2]
	}
	return &h.lc[line]
}

// data delivers a data packet of n messages from seq on line at now.
func (h *harness) data(line uint8, s decode.Session, seq uint64, n int, now int64) {
	h.t.Helper()
	p := h.pool.Get()
	p.N = len(appendTestPacket(p.Buf[:0], s, seq, n))
	p.RecvNs = now
	if err := h.pk.Wrap(p.Bytes()); err != nil {
		h.t.Fatal(err)
	}
	h.a.accept(p, &h.pk, line, lineCounter(h, line), now)
}

// control delivers a heartbeat (count 0) or an end of session.
func (h *harness) control(line uint8, s decode.Session, seq uint64, count uint16, now int64) {
	h.t.Helper()
	p := h.pool.Get()
	p.N = len(decode.AppendPacketHeader(p.Buf[:0], s, seq, count))
	if err := h.pk.Wrap(p.Bytes()); err != nil {
		h.t.Fatal(err)
	}
	h.a.accept(p, &h.pk, line, lineCounter(h, line), now)
}

// want checks the delivered sequences are exactly want, in order.
func (h *harness) want(want ...uint64) {
	h.t.Helper()
	if !slices.Equal(h.out.seqs, want) {
		h.t.Fatalf("delivered %v, want %v", h.out.seqs, want)
	}
}

// noLeak checks every packet went back to the pool once the arbiter let go.
func (h *harness) noLeak() {
	h.t.Helper()
	h.a.release()
	if st := h.pool.Stats(); st.InUse != 0 {
		h.t.Fatalf("%d packets not returned to the pool", st.InUse)
	}
}

func seqRange(from, to uint64) []uint64 { // [from, to]
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestArbiterInOrderAndLateStart(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	h.data(0, sessA, 100, 3, 0) // late start: nothing before 100 is owed
	h.data(0, sessA, 103, 2, 0)
	h.data(0, sessA, 105, 1, 0)
	if n := h.a.poll(int64(time.Second)); n != 0 {
		t.Fatalf("poll did %d actions with no hole", n)
	}
	h.want(seqRange(100, 105)...)
	if got := h.c.EmittedMessages.Load(); got != 6 {
		t.Fatalf("EmittedMessages %d, want 6", got)
	}
	if got := h.c.EmittedPackets.Load(); got != 3 {
		t.Fatalf("EmittedPackets %d, want 3", got)
	}
	if h.c.Gaps.Load() != 0 || h.c.UpstreamLost.Load() != 0 {
		t.Fatal("gap counted on an in-order stream")
	}
	if h.a.sessionName() != "SESSION-A" {
		t.Fatalf("session %q", h.a.sessionName())
	}
	h.noLeak()
}

func TestArbiterDuplicates(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	for seq := uint64(1); seq <= 10; seq += 2 {
		h.data(0, sessA, seq, 2, 0) // A first
		h.data(1, sessA, seq, 2, 0) // B's copy
	}
	h.data(1, sessA, 1, 4, 0) // old, larger packet
	h.want(seqRange(1, 10)...)
	b := &h.lc[1]
	if got := b.DuplicatePackets.Load(); got != 6 {
		t.Errorf("B DuplicatePackets %d, want 6", got)
	}
	if got := b.DuplicateMessages.Load(); got != 14 {
		t.Errorf("B DuplicateMessages %d, want 14", got)
	}
	if got := h.lc[0].DuplicatePackets.Load(); got != 0 {
		t.Errorf("A DuplicatePackets %d, want 0", got)
	}
	h.noLeak()
}

func TestArbiterPartialOverlap(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	h.data(0, sessA, 1, 4, 0) // 1..4
	h.data(1, sessA, 3, 5, 0) // 3..7: 3 and 4 are duplicates
	h.want(seqRange(1, 7)...)
	if got := h.lc[1].DuplicateMessages.Load(); got != 2 {
		t.Errorf("DuplicateMessages %d, want 2", got)
	}
	if got := h.lc[1].DuplicatePackets.Load(); got != 0 {
		t.Errorf("DuplicatePackets %d, want 0 (the packet carried new messages)", got)
	}
	if got := h.out.lines[1]; got != 1 {
		t.Errorf("line B emitted %d packets, want 1", got)
	}
	h.noLeak()
}

func TestArbiterReorderWithinLimits(t *testing.T) {
	h := newHarness(t, harnessConfig{maxDistance: 100, maxWait: time.Millisecond})
	h.data(0, sessA, 1, 2, 0)   // 1,2
	h.data(0, sessA, 7, 2, 100) // 7,8 held
	h.data(0, sessA, 5, 2, 200) // 5,6 held
	h.data(1, sessA, 7, 2, 250) // B copy of a held packet: duplicate
	h.a.poll(int64(500 * time.Microsecond))
	h.want(1, 2)
	if got := h.c.Held.Load(); got != 0 { // publish not called yet
		t.Fatalf("Held published early: %d", got)
	}
	h.a.publish()
	if got := h.c.Held.Load(); got != 2 {
		t.Fatalf("Held %d, want 2", got)
	}
	h.data(1, sessA, 3, 2, 600) // fills the hole from line B
	h.want(seqRange(1, 8)...)
	if got := h.c.ReorderHighWater.Load(); got != 2 {
		t.Errorf("ReorderHighWater %d, want 2", got)
	}
	if got := h.lc[1].DuplicatePackets.Load(); got != 1 {
		t.Errorf("B DuplicatePackets %d, want 1", got)
	}
	h.a.poll(int64(time.Second))
	if h.c.Gaps.Load() != 0 || len(h.losses) != 0 {
		t.Fatalf("gap declared for a hole filled in time: gaps %d losses %v", h.c.Gaps.Load(), h.losses)
	}
	h.noLeak()
}

func TestArbiterGapByDistance(t *testing.T) {
	h := newHarness(t, harnessConfig{maxDistance: 10, maxWait: time.Hour})
	h.data(0, sessA, 1, 1, 0)
	h.data(0, sessA, 8, 1, 0) // 6 ahead of next=2... end 9: distance 7
	if h.a.poll(0) != 0 {
		t.Fatal("gap declared within the distance")
	}
	h.data(0, sessA, 12, 2, 0) // end 14: distance 12 > 10
	if h.a.poll(0) == 0 {
		t.Fatal("no gap declared beyond the distance")
	}
	// Only the first hole is given up: the one behind 12 is within both
	// limits once next has moved to 9.
	h.want(1, 8)
	if want := [][2]uint64{{2, 7}}; !slices.Equal(h.losses, want) {
		t.Fatalf("losses %v, want %v", h.losses, want)
	}
	h.data(1, sessA, 9, 3, 0)
	h.want(1, 8, 9, 10, 11, 12, 13)
	if got := h.c.UpstreamLost.Load(); got != 6 {
		t.Errorf("UpstreamLost %d, want 6", got)
	}
	if got := h.c.Losses.Load(); got != 1 {
		t.Errorf("Losses %d, want 1", got)
	}
	if got := h.c.Gaps.Load(); got != 1 {
		t.Errorf("Gaps %d, want 1", got)
	}
	h.noLeak()
}

func TestArbiterGapByTime(t *testing.T) {
	ms := int64(time.Millisecond)
	h := newHarness(t, harnessConfig{maxWait: time.Millisecond})
	h.data(0, sessA, 1, 1, 0)
	h.data(0, sessA, 4, 1, 5*ms) // hole 2..3 seen at 5 ms
	h.a.poll(5*ms + ms/2)
	h.want(1)
	if len(h.losses) != 0 {
		t.Fatal("loss declared before MaxWait")
	}
	h.a.poll(5*ms + ms + 1)
	h.want(1, 4)
	if want := [][2]uint64{{2, 3}}; !slices.Equal(h.losses, want) {
		t.Fatalf("losses %v, want %v", h.losses, want)
	}
	h.noLeak()
}

// A hole shown only by a heartbeat (tail loss) is detected too, and the
// heartbeat itself is not emitted.
func TestArbiterHeartbeatShowsTailLoss(t *testing.T) {
	ms := int64(time.Millisecond)
	h := newHarness(t, harnessConfig{maxWait: time.Millisecond})
	h.data(0, sessA, 1, 2, 0)
	h.control(0, sessA, 3, 0, ms) // heartbeat, nothing missing
	h.a.poll(10 * ms)
	if len(h.losses) != 0 {
		t.Fatalf("loss on an up-to-date heartbeat: %v", h.losses)
	}
	h.control(1, sessA, 6, 0, 11*ms) // 3..5 never arrived
	h.a.poll(11*ms + ms/2)
	if len(h.losses) != 0 {
		t.Fatal("loss before MaxWait")
	}
	h.a.poll(13 * ms)
	if want := [][2]uint64{{3, 5}}; !slices.Equal(h.losses, want) {
		t.Fatalf("losses %v, want %v", h.losses, want)
	}
	h.want(1, 2)
	if got := h.lc[0].Heartbeats.Load() + h.lc[1].Heartbeats.Load(); got != 2 {
		t.Fatalf("Heartbeats %d, want 2", got)
	}
	h.data(0, sessA, 6, 1, 14*ms)
	h.want(1, 2, 6)
	h.noLeak()
}

func TestArbiterRecoverySuccess(t *testing.T) {
	ms := int64(time.Millisecond)
	h := newHarness(t, harnessConfig{maxWait: time.Millisecond, recovery: true, timeout: 2 * time.Millisecond})
	h.data(0, sessA, 1, 1, 0)
	h.data(0, sessA, 5, 2, 0) // hole 2..4
	h.a.poll(2 * ms)
	if want := []testRequest{{sessA, 2, 3}}; !slices.Equal(h.reqs, want) {
		t.Fatalf("requests %v, want %v", h.reqs, want)
	}
	// The server answers part of the range first, then the rest.
	h.data(LineRecovery, sessA, 2, 2, 2*ms+100)
	h.want(1, 2, 3)
	h.a.poll(2*ms + 200) // progress: ask for what is still missing at once
	if want := []testRequest{{sessA, 2, 3}, {sessA, 4, 1}}; !slices.Equal(h.reqs, want) {
		t.Fatalf("requests %v, want %v", h.reqs, want)
	}
	h.data(LineRecovery, sessA, 4, 1, 2*ms+300)
	h.want(seqRange(1, 6)...)
	h.a.poll(100 * ms)
	if len(h.losses) != 0 || h.c.UpstreamLost.Load() != 0 {
		t.Fatalf("loss after recovery: %v", h.losses)
	}
	if got := h.c.RecoveredMessages.Load(); got != 3 {
		t.Errorf("RecoveredMessages %d, want 3", got)
	}
	if got := h.c.RequestsSent.Load(); got != 2 {
		t.Errorf("RequestsSent %d, want 2", got)
	}
	if got := h.c.Gaps.Load(); got != 1 {
		t.Errorf("Gaps %d, want 1", got)
	}
	if got := h.out.lines[LineRecovery]; got != 2 {
		t.Errorf("%d packets emitted from recovery, want 2", got)
	}
	h.noLeak()
}

func TestArbiterRecoveryFailure(t *testing.T) {
	ms := int64(time.Millisecond)
	h := newHarness(t, harnessConfig{maxWait: time.Millisecond, recovery: true, timeout: 2 * time.Millisecond, retries: 2})
	h.sendFn = func(decode.Session, uint64, uint16) error { return nil }
	h.data(0, sessA, 1, 1, 0)
	h.data(0, sessA, 4, 1, 0) // hole 2..3
	now := 2 * ms
	h.a.poll(now) // request 1
	for i := 0; i < 10 && len(h.losses) == 0; i++ {
		now += 2*ms + 1
		h.a.poll(now)
	}
	if want := [][2]uint64{{2, 3}}; !slices.Equal(h.losses, want) {
		t.Fatalf("losses %v, want %v", h.losses, want)
	}
	if got := h.c.RequestsSent.Load(); got != 3 { // the first and two retries
		t.Errorf("RequestsSent %d, want 3", got)
	}
	if got := h.c.UpstreamLost.Load(); got != 2 {
		t.Errorf("UpstreamLost %d, want 2", got)
	}
	h.want(1, 4)
	// A late answer is a duplicate now, not a second delivery.
	h.data(LineRecovery, sessA, 2, 2, now)
	h.want(1, 4)
	if got := h.lc[2].DuplicatePackets.Load(); got != 1 {
		t.Errorf("recovery DuplicatePackets %d, want 1", got)
	}
	h.noLeak()
}

func TestArbiterRequestSendError(t *testing.T) {
	h := newHarness(t, harnessConfig{maxWait: time.Millisecond, recovery: true, timeout: time.Millisecond, retries: 1})
	h.sendFn = func(decode.Session, uint64, uint16) error { return errors.New("refused") }
	h.data(0, sessA, 1, 1, 0)
	h.data(0, sessA, 3, 1, 0)
	for now := int64(time.Millisecond); now < int64(10*time.Millisecond); now += int64(time.Millisecond) + 1 {
		h.a.poll(now)
	}
	if got := h.c.RequestErrors.Load(); got != 2 {
		t.Errorf("RequestErrors %d, want 2", got)
	}
	if got := h.c.RequestsSent.Load(); got != 0 {
		t.Errorf("RequestsSent %d, want 0", got)
	}
	if want := [][2]uint64{{2, 2}}; !slices.Equal(h.losses, want) {
		t.Fatalf("losses %v, want %v", h.losses, want)
	}
	h.noLeak()
}

func TestArbiterSessionChange(t *testing.T) {
	h := newHarness(t, harnessConfig{maxWait: time.Hour})
	h.data(0, sessA, 1, 3, 0)
	h.data(0, sessA, 6, 1, 0)         // held behind hole 4..5
	h.control(0, sessA, 8, 0xFFFF, 0) // end of session, 7 missing too
	h.control(1, sessA, 8, 0xFFFF, 0) // B's copy is not a second end
	if got := h.c.EndOfSessions.Load(); got != 1 {
		t.Fatalf("EndOfSessions %d, want 1", got)
	}
	h.data(0, sessB, 1, 2, 0) // upstream restarted
	h.data(1, sessA, 4, 2, 0) // B straggler of the old session: dropped
	h.data(1, sessB, 1, 3, 0)
	if got := h.c.SessionChanges.Load(); got != 1 {
		t.Fatalf("SessionChanges %d, want 1", got)
	}
	// The old session's holes are lost (reported), its held packet delivered,
	// then the new session from its first sequence.
	h.want(1, 2, 3, 6, 1, 2, 3)
	if want := [][2]uint64{{4, 5}, {7, 7}}; !slices.Equal(h.losses, want) {
		t.Fatalf("losses %v, want %v", h.losses, want)
	}
	if got := h.lc[1].WrongSession.Load(); got != 1 {
		t.Errorf("WrongSession %d, want 1", got)
	}
	if h.a.sessionName() != "SESSION-B" {
		t.Errorf("session %q, want SESSION-B", h.a.sessionName())
	}
	// A re-request answer never changes the session.
	h.data(LineRecovery, sessA, 4, 1, 0)
	if got := h.lc[2].WrongSession.Load(); got != 1 || h.c.SessionChanges.Load() != 1 {
		t.Errorf("recovery answer of another session: WrongSession %d, SessionChanges %d", got, h.c.SessionChanges.Load())
	}
	h.noLeak()
}

func TestArbiterFixedSession(t *testing.T) {
	h := newHarness(t, harnessConfig{session: sessB, fixed: true})
	h.data(0, sessA, 1, 3, 0)
	h.data(0, sessB, 10, 2, 0)
	h.data(1, sessA, 12, 3, 0)
	h.want(10, 11)
	if got := h.lc[0].WrongSession.Load() + h.lc[1].WrongSession.Load(); got != 2 {
		t.Errorf("WrongSession %d, want 2", got)
	}
	if h.c.SessionChanges.Load() != 0 {
		t.Error("a fixed session changed")
	}
	h.noLeak()
}

func TestArbiterReorderFull(t *testing.T) {
	h := newHarness(t, harnessConfig{maxHeld: 2, maxDistance: 1000, maxWait: time.Hour})
	h.data(0, sessA, 1, 1, 0)
	h.data(0, sessA, 5, 1, 0)
	h.data(0, sessA, 7, 1, 0)
	h.data(0, sessA, 9, 1, 0) // full: 2..4 given up, 5 delivered, then held
	h.want(1, 5)
	if want := [][2]uint64{{2, 4}}; !slices.Equal(h.losses, want) {
		t.Fatalf("losses %v, want %v", h.losses, want)
	}
	h.data(0, sessA, 3, 1, 0) // fills nothing: already given up
	h.data(0, sessA, 6, 1, 0)
	h.data(0, sessA, 8, 1, 0)
	h.want(1, 5, 6, 7, 8, 9)
	if got := h.c.ReorderFull.Load(); got != 1 {
		t.Errorf("ReorderFull %d, want 1", got)
	}
	// A packet that lands inside the first hole when the buffer is full
	// fills its part of the hole instead of being skipped.
	h.data(0, sessA, 20, 1, 0)
	h.data(0, sessA, 30, 1, 0)
	h.data(0, sessA, 15, 1, 0) // full again; 10..14 lost, 15 delivered
	h.want(1, 5, 6, 7, 8, 9, 15)
	if want := [][2]uint64{{2, 4}, {10, 14}}; !slices.Equal(h.losses, want) {
		t.Fatalf("losses %v, want %v", h.losses, want)
	}
	h.noLeak()
}

func TestArbiterOutputFull(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	h.data(0, sessA, 1, 2, 0)
	h.out.full = true
	h.data(0, sessA, 3, 3, 0)
	h.out.full = false
	h.data(0, sessA, 6, 1, 0)
	h.want(1, 2, 6)
	if got := h.c.OutputFullPackets.Load(); got != 1 {
		t.Errorf("OutputFullPackets %d, want 1", got)
	}
	if got := h.c.OutputFullMessages.Load(); got != 3 {
		t.Errorf("OutputFullMessages %d, want 3", got)
	}
	h.noLeak()
}
