package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"mdcast/decode"
	"mdcast/decode/capture"
	"mdcast/internal/clock"
	"mdcast/internal/udpsock"
)

// binaryFileWindow bounds how far apart in ITCH time the messages of one
// packet built from a BinaryFILE may be: a packet is sent when the next
// message is more than this after its first one, or would not fit. It is
// the rule the pcap in decode/testdata was made with, so both replays of the
// same messages produce the same packets.
const binaryFileWindow = 10 * time.Microsecond

// Sleep versus spin: a wait longer than replaySleepMin sleeps until
// replaySpinAhead before the deadline (timer slack is tens of µs), then
// yields until it.
const (
	replaySleepMin  = 200 * time.Microsecond
	replaySpinAhead = 100 * time.Microsecond
)

// replaySource yields the packets of a replay, one at a time: the MoldUDP64
// datagram, its time on the source's clock (ns) and its message count.
type replaySource interface {
	next() (pkt []byte, t int64, msgs int, err error)
	close() error
}

// ReplayStats counts what a Replayer sent.
type ReplayStats struct {
	Packets    uint64 `json:"packets"`     // datagrams sent
	Messages   uint64 `json:"messages"`    // MoldUDP64 messages in them
	Bytes      uint64 `json:"bytes"`       // payload bytes sent
	Invalid    uint64 `json:"invalid"`     // capture payloads that are not valid MoldUDP64 (sent anyway)
	SendErrors uint64 `json:"send_errors"` // datagrams the socket refused
}

// Replayer sends the packets of a capture to a UDP address: each UDP
// payload of a pcap or pcapng unchanged, or the messages of a BinaryFILE
// packed into MoldUDP64 packets (session ReplayConfig.Session, sequences
// from 1, at most MaxPayload bytes, at most 10 µs of ITCH time apart). It
// paces them by their capture time (ITCH timestamps for a BinaryFILE)
// divided by Speed, or at Rate messages per second.
//
// Run sends the whole capture and returns; the Agent methods (RoleName,
// OnStart, DoWork, OnClose) run it under a ring.Runner instead, with Done
// closed at the end. Both forms belong to one goroutine; Stats may be read
// from any. The daemon runs one toward each line whose LineConfig.Replay
// names a file, and tests and mdperf -replay use it directly.
type Replayer struct {
	cfg  ReplayConfig
	dst  netip.AddrPort
	conn *udpsock.Conn
	src  replaySource

	// the packet waiting for its time
	pkt     []byte
	pktT    int64 // source time
	pktMsgs int
	due     int64 // Nanotime at which it is sent
	pending bool

	started   bool
	startNs   int64 // Nanotime of the first packet
	t0        int64 // source time of the first packet
	msgsSent  uint64
	nsPerMsg  float64 // fixed-rate pacing; 0 = by timestamps
	err       error   // end of the replay: nil after a clean end
	done      chan struct{}
	finished  bool
	timer     *time.Timer
	packets   atomic.Uint64
	messages  atomic.Uint64
	bytes     atomic.Uint64
	invalid   atomic.Uint64
	sendErrs  atomic.Uint64
	closeOnce bool
}

// NewReplayer opens cfg.File and a sending socket toward dst. For a
// multicast dst the datagrams leave through ifname (a name such as "lo" or
// an IPv4 address) with multicast loopback on, so members on this host
// receive them; for a unicast dst ifname is ignored.
func NewReplayer(cfg ReplayConfig, dst netip.AddrPort, ifname string) (*Replayer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if !dst.Addr().Is4() || dst.Port() == 0 {
		return nil, fmt.Errorf("feed: replay destination %v: not an IPv4 ip:port", dst)
	}
	src, err := openReplaySource(cfg)
	if err != nil {
		return nil, err
	}
	var conn *udpsock.Conn
	any4 := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if dst.Addr().IsMulticast() {
		if ifname == "" {
			ifname = DefaultInterface
		}
		conn, err = udpsock.NewSender(any4, ifname, udpsock.Options{Loop: true})
	} else {
		conn, err = udpsock.ListenUnicast(any4, udpsock.Options{})
	}
	if err != nil {
		src.close()
		return nil, fmt.Errorf("feed: replay socket: %w", err)
	}
	r := &Replayer{cfg: cfg, dst: dst, conn: conn, src: src, done: make(chan struct{})}
	if cfg.Rate > 0 {
		r.nsPerMsg = 1e9 / cfg.Rate
	}
	return r, nil
}

// openReplaySource recognises the file by its first four bytes: a pcap or
// pcapng magic number, else a BinaryFILE (which has no header).
func openReplaySource(cfg ReplayConfig) (replaySource, error) {
	f, err := os.Open(cfg.File)
	if err != nil {
		return nil, fmt.Errorf("feed: replay: %w", err)
	}
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("feed: replay %s: %w", cfg.File, ErrReplayFormat)
	}
	if isCaptureMagic(magic) {
		pr, err := capture.OpenPcap(cfg.File)
		if err != nil {
			return nil, fmt.Errorf("feed: replay %s: %w", cfg.File, err)
		}
		return &pcapSource{r: pr}, nil
	}
	bf, err := capture.OpenBinaryFile(cfg.File)
	if err != nil {
		return nil, fmt.Errorf("feed: replay: %w", err)
	}
	s, _ := decode.MakeSession(cfg.Session) // validated
	return newBinaryFileSource(bf, s, cfg.MaxPayload), nil
}

func isCaptureMagic(m [4]byte) bool {
	switch uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3]) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a:
		return true
	}
	return false
}

// RoleName names the agent after the destination.
func (r *Replayer) RoleName() string { return "replay-" + r.dst.String() }

// OnStart does nothing: the file and socket are opened by NewReplayer.
func (r *Replayer) OnStart() error { return nil }

// DoWork sends every packet whose time has come at nowNs and returns how
// many it sent. After the last packet it closes Done and returns 0.
func (r *Replayer) DoWork(nowNs int64) (int, error) {
	if r.finished {
		return 0, nil
	}
	work := 0
	for {
		if !r.pending && !r.load() {
			return work, nil
		}
		if !r.started {
			r.started, r.startNs, r.t0 = true, nowNs, r.pktT
			r.due = nowNs
		}
		if nowNs-r.due < 0 {
			return work, nil
		}
		r.sendPending()
		work++
	}
}

// load reads the next packet and computes its due time; false at the end.
func (r *Replayer) load() bool {
	pkt, t, msgs, err := r.src.next()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			r.err = fmt.Errorf("feed: replay %s: %w", r.cfg.File, err)
		}
		r.finish()
		return false
	}
	r.pkt, r.pktT, r.pktMsgs, r.pending = pkt, t, msgs, true
	if r.started {
		if r.nsPerMsg > 0 {
			r.due = r.startNs + int64(float64(r.msgsSent)*r.nsPerMsg)
		} else {
			r.due = r.startNs + int64(float64(t-r.t0)/r.cfg.Speed)
		}
	}
	return true
}

func (r *Replayer) sendPending() {
	r.pending = false
	if err := r.conn.WriteTo(r.pkt, r.dst); err != nil {
		r.sendErrs.Add(1)
	} else {
		r.packets.Add(1)
		r.bytes.Add(uint64(len(r.pkt)))
	}
	if r.pktMsgs < 0 {
		r.invalid.Add(1)
		return
	}
	r.msgsSent += uint64(r.pktMsgs)
	r.messages.Add(uint64(r.pktMsgs))
}

func (r *Replayer) finish() {
	if !r.finished {
		r.finished = true
		close(r.done)
	}
}

// Done is closed when the last packet has been sent (or reading failed).
func (r *Replayer) Done() <-chan struct{} { return r.done }

// Err returns why the replay ended early (nil after a clean end of file).
func (r *Replayer) Err() error { return r.err }

// OnClose closes the file and the socket.
func (r *Replayer) OnClose() {
	if r.closeOnce {
		return
	}
	r.closeOnce = true
	r.finish()
	r.src.close()
	r.conn.Close()
	if r.timer != nil {
		r.timer.Stop()
	}
}

// Close is OnClose for a replayer not run by a ring.Runner.
func (r *Replayer) Close() error {
	r.OnClose()
	return nil
}

// Run sends the whole capture, paced, and returns at its end, when ctx is
// done (ctx.Err()), or when reading the file fails. It does not close the
// replayer.
func (r *Replayer) Run(ctx context.Context) error {
	if r.closeOnce {
		return ErrReplayClosed
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.DoWork(clock.Nanotime())
		if r.finished {
			return r.err
		}
		if err := r.wait(ctx, r.due-clock.Nanotime()); err != nil {
			return err
		}
	}
}

// wait sleeps most of d and yields the rest.
func (r *Replayer) wait(ctx context.Context, d int64) error {
	if d <= 0 {
		return nil
	}
	if d > int64(replaySleepMin) {
		if r.timer == nil {
			r.timer = time.NewTimer(time.Duration(d) - replaySpinAhead)
		} else {
			r.timer.Reset(time.Duration(d) - replaySpinAhead)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.timer.C:
		}
		return nil
	}
	runtime.Gosched()
	return nil
}

// Stats returns a snapshot of the counters; safe from any goroutine.
func (r *Replayer) Stats() ReplayStats {
	return ReplayStats{
		Packets:    r.packets.Load(),
		Messages:   r.messages.Load(),
		Bytes:      r.bytes.Load(),
		Invalid:    r.invalid.Load(),
		SendErrors: r.sendErrs.Load(),
	}
}

// pcapSource yields the UDP payloads of a capture unchanged, timed by
// capture time. A payload that is not valid MoldUDP64 has msgs -1.
type pcapSource struct {
	r  *capture.PcapReader
	pk decode.Packet
}

func (s *pcapSource) next() ([]byte, int64, int, error) {
	b, ts, err := s.r.Next()
	if err != nil {
		return nil, 0, 0, err
	}
	msgs := -1
	if s.pk.Wrap(b) == nil {
		msgs = s.pk.MessageCount()
	}
	return b, ts.UnixNano(), msgs, nil
}

func (s *pcapSource) close() error { return s.r.Close() }

// binaryFileSource packs the messages of a BinaryFILE into MoldUDP64
// packets, timed by the ITCH timestamp of each packet's first message.
type binaryFileSource struct {
	f       *capture.BinaryFile
	w       *decode.PacketWriter
	buf     []byte
	carry   []byte // message read but not yet packed (Next reuses its buffer)
	hasNext bool
	eof     error
	seq     uint64
	session decode.Session
}

func newBinaryFileSource(f *capture.BinaryFile, s decode.Session, maxPayload int) *binaryFileSource {
	buf := make([]byte, maxPayload)
	return &binaryFileSource{f: f, w: decode.NewPacketWriter(buf, maxPayload), buf: buf,
		carry: make([]byte, 0, 64), seq: 1, session: s}
}

func (s *binaryFileSource) next() ([]byte, int64, int, error) {
	if !s.hasNext {
		if s.eof != nil {
			return nil, 0, 0, s.eof
		}
		if err := s.read(); err != nil {
			return nil, 0, 0, err
		}
	}
	s.w.Reset(s.session, s.seq)
	first := decode.Timestamp(s.carry)
	for s.hasNext {
		if s.w.Count() > 0 && decode.Timestamp(s.carry)-first > uint64(binaryFileWindow) {
			break
		}
		if !s.w.Append(s.carry) {
			if s.w.Count() == 0 { // a message larger than the budget on its own
				return nil, 0, 0, fmt.Errorf("feed: replay: message of %d bytes exceeds max_payload", len(s.carry))
			}
			break
		}
		if err := s.read(); err != nil {
			s.hasNext = false
			s.eof = err
		}
	}
	s.seq += uint64(s.w.Count())
	return s.w.Bytes(), int64(first), s.w.Count(), nil
}

// read loads the next message into carry.
func (s *binaryFileSource) read() error {
	m, err := s.f.Next()
	if err != nil {
		return err
	}
	s.carry = append(s.carry[:0], m...)
	s.hasNext = true
	return nil
}

func (s *binaryFileSource) close() error { return s.f.Close() }
