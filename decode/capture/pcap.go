package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Link-layer and protocol constants of the frames the reader understands.
const (
	etherHeaderLen = 14
	vlanTagLen     = 4
	sllHeaderLen   = 16 // LINKTYPE_LINUX_SLL
	sll2HeaderLen  = 20 // LINKTYPE_LINUX_SLL2
	ipv4MinLen     = 20
	udpHeaderLen   = 8

	etherTypeIPv4   = 0x0800
	etherTypeVLAN   = 0x8100
	etherTypeQinQ   = 0x88a8
	etherTypeQinQ91 = 0x9100
	protoUDP        = 17

	linkTypeSLL2 = 276 // LINKTYPE_LINUX_SLL2
)

// Stats counts what a PcapReader saw. Every frame is counted once in Frames
// and, unless it yielded a datagram, in exactly one of the skip counters.
type Stats struct {
	Frames    uint64 // frames read from the file
	Datagrams uint64 // UDP payloads returned
	NonUDP    uint64 // frames skipped: not IPv4, or IPv4 but not UDP
	Fragments uint64 // IPv4 fragments skipped (not reassembled)
	Malformed uint64 // frames skipped: bad or cut-short Ethernet/VLAN/IPv4/UDP header, or a payload cut by the snap length
	LinkType  uint64 // frames skipped: link type not Ethernet, raw IPv4 or Linux SLL
}

// counters are the live, atomically updated Stats.
type counters struct {
	frames, datagrams, nonUDP, fragments, malformed, linkType atomic.Uint64
}

// packetSource is what pcapgo's two readers have in common.
type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// PcapReader yields the UDP payloads of a pcap or pcapng capture (detected
// from the magic number). It is not safe for concurrent use, except Stats.
type PcapReader struct {
	src      packetSource
	ng       *pcapgo.NgReader // nil for classic pcap
	link     layers.LinkType  // classic pcap: the file's link type
	ts       time.Time
	src4     netip.AddrPort
	dst4     netip.AddrPort
	counters counters
	closer   io.Closer // set by OpenPcap
	err      error     // sticky
}

// OpenPcap opens the pcap or pcapng file at path. Close it when done.
func OpenPcap(path string) (*PcapReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	p, err := NewPcapReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.closer = f
	return p, nil
}

// Close closes the file opened by OpenPcap; it is a no-op otherwise.
func (p *PcapReader) Close() error {
	if p.closer == nil {
		return nil
	}
	c := p.closer
	p.closer = nil
	return c.Close()
}

// NewPcapReader reads the capture header from r and returns a reader for the
// frames that follow. It fails with ErrFormat when r is neither pcap nor
// pcapng, and with ErrCorrupt (wrapping the parser's message) on a bad header.
func NewPcapReader(r io.Reader) (*PcapReader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrFormat
		}
		return nil, err
	}
	p := &PcapReader{}
	switch binary.LittleEndian.Uint32(magic) {
	case 0x0a0d0d0a: // pcapng section header block
		ng, err := guard(func() (*pcapgo.NgReader, error) {
			return pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		})
		if err != nil {
			return nil, err
		}
		p.src, p.ng = ng, ng
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1: // pcap, µs or ns, either byte order
		pr, err := guard(func() (*pcapgo.Reader, error) { return pcapgo.NewReader(br) })
		if err != nil {
			return nil, err
		}
		p.src, p.link = pr, pr.LinkType()
	default:
		return nil, ErrFormat
	}
	return p, nil
}

// guard runs a pcapgo constructor, turning a panic or an error into ErrCorrupt.
func guard[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	v, err = f()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return v, ErrTruncated
		}
		return v, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return v, nil
}

// Next returns the UDP payload of the next UDP/IPv4 frame and its capture
// time, skipping (and counting) every other frame. The payload aliases the
// reader's buffer and is valid until the next call. At the clean end of the
// capture it returns io.EOF; other errors (ErrTruncated, ErrCorrupt) end the
// stream and are sticky.
func (p *PcapReader) Next() (payload []byte, ts time.Time, err error) {
	if p.err != nil {
		return nil, time.Time{}, p.err
	}
	for {
		data, ci, err := p.read()
		if err != nil {
			p.err = err
			return nil, time.Time{}, err
		}
		p.counters.frames.Add(1)
		link := p.link
		if p.ng != nil {
			iface, ierr := p.ng.Interface(ci.InterfaceIndex)
			if ierr != nil {
				p.counters.malformed.Add(1)
				continue
			}
			link = iface.LinkType
		}
		if pl, ok := p.frame(link, data); ok {
			p.counters.datagrams.Add(1)
			p.ts = ci.Timestamp
			return pl, ci.Timestamp, nil
		}
	}
}

// read calls the pcapgo reader behind a recover, mapping its errors.
func (p *PcapReader) read() (data []byte, ci gopacket.CaptureInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	data, ci, err = p.src.ZeroCopyReadPacketData()
	switch {
	case err == nil, err == io.EOF:
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		err = ErrTruncated
	default:
		err = fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return data, ci, err
}

// frame extracts the UDP payload of one frame, counting why it could not.
func (p *PcapReader) frame(link layers.LinkType, b []byte) ([]byte, bool) {
	var etherType uint16
	switch link {
	case layers.LinkTypeEthernet:
		if len(b) < etherHeaderLen {
			p.counters.malformed.Add(1)
			return nil, false
		}
		etherType = binary.BigEndian.Uint16(b[12:])
		b = b[etherHeaderLen:]
		for etherType == etherTypeVLAN || etherType == etherTypeQinQ || etherType == etherTypeQinQ91 {
			if len(b) < vlanTagLen {
				p.counters.malformed.Add(1)
				return nil, false
			}
			etherType = binary.BigEndian.Uint16(b[2:])
			b = b[vlanTagLen:]
		}
	case layers.LinkTypeLinuxSLL:
		if len(b) < sllHeaderLen {
			p.counters.malformed.Add(1)
			return nil, false
		}
		etherType = binary.BigEndian.Uint16(b[14:])
		b = b[sllHeaderLen:]
	case linkTypeSLL2:
		if len(b) < sll2HeaderLen {
			p.counters.malformed.Add(1)
			return nil, false
		}
		etherType = binary.BigEndian.Uint16(b[0:])
		b = b[sll2HeaderLen:]
	case layers.LinkTypeRaw, layers.LinkTypeIPv4:
		if len(b) == 0 || b[0]>>4 != 4 {
			p.counters.nonUDP.Add(1)
			return nil, false
		}
		etherType = etherTypeIPv4
	default:
		p.counters.linkType.Add(1)
		return nil, false
	}
	if etherType != etherTypeIPv4 {
		p.counters.nonUDP.Add(1)
		return nil, false
	}
	return p.ipv4(b)
}

// ipv4 extracts the UDP payload of an IPv4 packet.
func (p *PcapReader) ipv4(b []byte) ([]byte, bool) {
	if len(b) < ipv4MinLen || b[0]>>4 != 4 {
		p.counters.malformed.Add(1)
		return nil, false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < ipv4MinLen || total < ihl || total > len(b) {
		// total > len(b): cut by the snap length (or a bad header).
		p.counters.malformed.Add(1)
		return nil, false
	}
	b = b[:total] // drop Ethernet padding
	if b[9] != protoUDP {
		p.counters.nonUDP.Add(1)
		return nil, false
	}
	if frag := binary.BigEndian.Uint16(b[6:]); frag&0x3fff != 0 { // MF flag or offset
		p.counters.fragments.Add(1)
		return nil, false
	}
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	u := b[ihl:]
	if len(u) < udpHeaderLen {
		p.counters.malformed.Add(1)
		return nil, false
	}
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < udpHeaderLen || ulen > len(u) {
		p.counters.malformed.Add(1)
		return nil, false
	}
	p.src4 = netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:]))
	p.dst4 = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(u[2:]))
	return u[udpHeaderLen:ulen:ulen], true
}

// Dst returns the UDP destination address and port of the last payload.
func (p *PcapReader) Dst() netip.AddrPort { return p.dst4 }

// Src returns the UDP source address and port of the last payload.
func (p *PcapReader) Src() netip.AddrPort { return p.src4 }

// Time returns the capture time of the last payload.
func (p *PcapReader) Time() time.Time { return p.ts }

// Stats returns a snapshot of the reader's counters. It is safe to call from
// any goroutine.
func (p *PcapReader) Stats() Stats {
	c := &p.counters
	return Stats{
		Frames:    c.frames.Load(),
		Datagrams: c.datagrams.Load(),
		NonUDP:    c.nonUDP.Load(),
		Fragments: c.fragments.Load(),
		Malformed: c.malformed.Load(),
		LinkType:  c.linkType.Load(),
	}
}
