package capture_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"mdcast/decode/capture"
)

// Sample files are described in ../testdata/ATTRIBUTION.md.
const (
	binaryFilePath = "../testdata/12302019_SNIPPET.NASDAQ_ITCH50"
	snippetPcap    = "../testdata/itch50_snippet_moldudp64.pcap"
	twoAddsPcap    = "../testdata/itch50_two_add_orders_moldudp64.pcap"
)

func TestBinaryFileSnippet(t *testing.T) {
	f, err := capture.OpenBinaryFile(binaryFilePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, bytesRead := 0, 0
	for {
		msg, err := f.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("message %d: %v", n, err)
		}
		if len(msg) == 0 {
			t.Fatalf("message %d is empty", n)
		}
		n++
		bytesRead += 2 + len(msg)
	}
	if n != 1000 || f.Messages() != 1000 {
		t.Fatalf("read %d messages (counter %d), want 1000", n, f.Messages())
	}
	st, _ := os.Stat(binaryFilePath)
	if int64(bytesRead) != st.Size() {
		t.Fatalf("consumed %d of %d bytes", bytesRead, st.Size())
	}
	if _, err := f.Next(); err != io.EOF {
		t.Fatalf("after end: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBinaryFileTruncated(t *testing.T) {
	data, err := os.ReadFile(binaryFilePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{1, 5} { // inside a length prefix, inside a message
		var b []byte
		// Keep the first record whole, then cut the second.
		first := 2 + int(binary.BigEndian.Uint16(data))
		b = append(b, data[:first+cut]...)
		r := capture.NewBinaryFile(bytes.NewReader(b))
		if _, err := r.Next(); err != nil {
			t.Fatalf("cut %d: first record: %v", cut, err)
		}
		if _, err := r.Next(); !errors.Is(err, capture.ErrTruncated) {
			t.Fatalf("cut %d: %v, want ErrTruncated", cut, err)
		}
		if _, err := r.Next(); !errors.Is(err, capture.ErrTruncated) {
			t.Fatalf("cut %d: error not sticky: %v", cut, err)
		}
	}
	if _, err := capture.NewBinaryFile(bytes.NewReader(nil)).Next(); err != io.EOF {
		t.Fatalf("empty file: %v", err)
	}
	if _, err := capture.OpenBinaryFile("testdata/does-not-exist"); err == nil {
		t.Fatal("opened a missing file")
	}
}

func TestPcapSnippet(t *testing.T) {
	r, err := capture.OpenPcap(snippetPcap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wantDst := netip.MustParseAddrPort("233.54.12.111:26477")
	wantSrc := netip.MustParseAddrPort("10.1.1.1:40000")
	var last time.Time
	n, minLen, maxLen := 0, 1<<30, 0
	for {
		pl, ts, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("datagram %d: %v", n, err)
		}
		if r.Dst() != wantDst || r.Src() != wantSrc {
			t.Fatalf("datagram %d: %v -> %v", n, r.Src(), r.Dst())
		}
		if !ts.After(last) || !r.Time().Equal(ts) {
			t.Fatalf("datagram %d: time %v not after %v", n, ts, last)
		}
		last = ts
		minLen, maxLen = min(minLen, len(pl)), max(maxLen, len(pl))
		n++
	}
	if n != 174 {
		t.Fatalf("%d datagrams, want 174", n)
	}
	// ATTRIBUTION.md: UDP payloads range from 34 to 1373 bytes.
	if minLen != 34 || maxLen != 1373 {
		t.Fatalf("payload sizes %d..%d, want 34..1373", minLen, maxLen)
	}
	// Capture times are 2019-12-30 midnight EST (05:00 UTC) plus the last ITCH
	// timestamp plus 1.5 µs; the last ITCH timestamp is 34,200,002,364,611 ns.
	want := time.Date(2019, 12, 30, 5, 0, 0, 0, time.UTC).Add(34_200_002_364_611*time.Nanosecond + 1500*time.Nanosecond)
	if !last.Equal(want) {
		t.Fatalf("last capture time %v, want %v", last, want)
	}
	if s := r.Stats(); s != (capture.Stats{Frames: 174, Datagrams: 174}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestPcapTwoAddsMicrosecond(t *testing.T) {
	r, err := capture.OpenPcap(twoAddsPcap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pl, _, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	// 20-byte header + 2 × (2 + 36).
	if len(pl) != 96 || string(pl[:10]) != "0000012345" {
		t.Fatalf("payload %d bytes, session %q", len(pl), pl[:10])
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("second Next: %v", err)
	}
}

// frame builds an Ethernet frame; vlans adds 802.1Q tags; proto and frag set
// the IPv4 protocol and flags/fragment field.
func frame(t testing.TB, vlans int, etherType layers.EthernetType, proto layers.IPProtocol, frag uint16, payload []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{
		SrcMAC:       []byte{2, 0, 0, 0, 0, 1},
		DstMAC:       []byte{1, 0, 0x5e, 0x7f, 0, 1},
		EthernetType: etherType,
	}
	ls := []gopacket.SerializableLayer{eth}
	if vlans > 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		for i := 0; i < vlans; i++ {
			next := layers.EthernetTypeDot1Q
			if i == vlans-1 {
				next = etherType
			}
			ls = append(ls, &layers.Dot1Q{VLANIdentifier: uint16(100 + i), Type: next})
		}
	}
	ip := &layers.IPv4{
		Version: 4, IHL: 5, TTL: 32, Protocol: proto,
		SrcIP: []byte{10, 1, 1, 2}, DstIP: []byte{239, 255, 1, 2},
		Flags: layers.IPv4Flag(frag >> 13), FragOffset: frag & 0x1fff,
	}
	switch {
	case etherType != layers.EthernetTypeIPv4:
		ls = append(ls, gopacket.Payload(payload))
	case proto == layers.IPProtocolUDP:
		udp := &layers.UDP{SrcPort: 5000, DstPort: 6000}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, ip, udp, gopacket.Payload(payload))
	default:
		ls = append(ls, ip, gopacket.Payload(payload))
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mixedFrames returns frames of every kind the reader must skip or take, and
// the payloads it must yield, in order.
func mixedFrames(t testing.TB) (frames [][]byte, want [][]byte) {
	add := func(f []byte, p []byte) {
		frames = append(frames, f)
		if p != nil {
			want = append(want, p)
		}
	}
	add(frame(t, 0, layers.EthernetTypeIPv4, layers.IPProtocolUDP, 0, []byte("plain")), []byte("plain"))
	add(frame(t, 1, layers.EthernetTypeIPv4, layers.IPProtocolUDP, 0, []byte("vlan")), []byte("vlan"))
	add(frame(t, 2, layers.EthernetTypeIPv4, layers.IPProtocolUDP, 0, []byte("qinq")), []byte("qinq"))
	add(frame(t, 0, layers.EthernetTypeARP, 0, 0, make([]byte, 28)), nil)                      // non-IP
	add(frame(t, 0, layers.EthernetTypeIPv4, layers.IPProtocolTCP, 0, make([]byte, 20)), nil)  // TCP
	add(frame(t, 0, layers.EthernetTypeIPv4, layers.IPProtocolUDP, 0x2000, []byte("mf")), nil) // more fragments
	add(frame(t, 0, layers.EthernetTypeIPv4, layers.IPProtocolUDP, 0, nil), []byte{})          // empty datagram
	// Long enough that the frame has no Ethernet padding to absorb the cut.
	bad := frame(t, 0, layers.EthernetTypeIPv4, layers.IPProtocolUDP, 0, bytes.Repeat([]byte("cut"), 30))
	add(bad[:len(bad)-2], nil) // cut: IPv4 total length runs past the frame
	add([]byte{1, 2, 3}, nil)  // shorter than Ethernet
	// Ethernet padding after a short datagram is not payload.
	padded := append(frame(t, 0, layers.EthernetTypeIPv4, layers.IPProtocolUDP, 0, []byte("pad")), 0, 0, 0, 0)
	add(padded, []byte("pad"))
	return frames, want
}

var mixedStats = capture.Stats{Frames: 10, Datagrams: 5, NonUDP: 2, Fragments: 1, Malformed: 2}

func checkMixed(t *testing.T, r *capture.PcapReader, want [][]byte) {
	t.Helper()
	for i, w := range want {
		pl, ts, err := r.Next()
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if !bytes.Equal(pl, w) {
			t.Fatalf("payload %d = %q, want %q", i, pl, w)
		}
		if r.Dst() != netip.MustParseAddrPort("239.255.1.2:6000") || r.Src() != netip.MustParseAddrPort("10.1.1.2:5000") {
			t.Fatalf("payload %d addrs %v -> %v", i, r.Src(), r.Dst())
		}
		if i == 0 && !ts.Equal(time.Unix(1700000000, 0)) && !ts.Equal(time.Unix(1700000000, 5)) {
			t.Fatalf("first payload time %v", ts)
		}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	if s := r.Stats(); s != mixedStats {
		t.Fatalf("stats %+v, want %+v", s, mixedStats)
	}
}

func TestPcapMixedFrames(t *testing.T) {
	frames, want := mixedFrames(t)
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000+int64(i), 5), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	r, err := capture.NewPcapReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	checkMixed(t, r, want)
}

func TestPcapngMixedFrames(t *testing.T) {
	frames, want := mixedFrames(t)
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000+int64(i), 0), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := capture.NewPcapReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	checkMixed(t, r, want)
}

func TestPcapErrors(t *testing.T) {
	if _, err := capture.NewPcapReader(bytes.NewReader(nil)); !errors.Is(err, capture.ErrFormat) {
		t.Fatalf("empty: %v", err)
	}
	if _, err := capture.NewPcapReader(bytes.NewReader([]byte("hello world, not a capture"))); !errors.Is(err, capture.ErrFormat) {
		t.Fatalf("junk: %v", err)
	}
	data, err := os.ReadFile(snippetPcap)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := capture.NewPcapReader(bytes.NewReader(data[:10])); err == nil {
		t.Fatal("header cut short accepted")
	}
	r, err := capture.NewPcapReader(bytes.NewReader(data[:len(data)-3]))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, _, err = r.Next()
		if err != nil {
			break
		}
		n++
	}
	if !errors.Is(err, capture.ErrTruncated) || n != 173 {
		t.Fatalf("cut capture: %d datagrams then %v", n, err)
	}
	if _, _, err2 := r.Next(); err2 != err {
		t.Fatalf("error not sticky: %v", err2)
	}
	// A record whose capture length exceeds its original length.
	bad := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	bad = binary.LittleEndian.AppendUint16(bad, 2)
	bad = binary.LittleEndian.AppendUint16(bad, 4)
	bad = append(bad, make([]byte, 8)...)              // thiszone, sigfigs
	bad = binary.LittleEndian.AppendUint32(bad, 65535) // snaplen
	bad = binary.LittleEndian.AppendUint32(bad, 1)     // Ethernet
	bad = append(bad, make([]byte, 8)...)              // ts
	bad = binary.LittleEndian.AppendUint32(bad, 10)    // caplen
	bad = binary.LittleEndian.AppendUint32(bad, 5)     // len
	bad = append(bad, make([]byte, 10)...)
	r, err = capture.NewPcapReader(bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Next(); !errors.Is(err, capture.ErrCorrupt) {
		t.Fatalf("caplen > len: %v, want ErrCorrupt", err)
	}
	if _, err := capture.OpenPcap(binaryFilePath); !errors.Is(err, capture.ErrFormat) {
		t.Fatalf("BinaryFILE opened as pcap: %v", err)
	}
}

// TestPcapLinkTypes reads the same datagram behind raw IPv4, Linux cooked
// (SLL and SLL2) headers, and skips a link type it does not know.
func TestPcapLinkTypes(t *testing.T) {
	eth := frame(t, 0, layers.EthernetTypeIPv4, layers.IPProtocolUDP, 0, []byte("payload"))
	ip := eth[14:]
	sll := append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00}, ip...)
	sll2 := append([]byte{0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, ip...)
	for _, c := range []struct {
		name string
		link layers.LinkType
		data []byte
		want capture.Stats
	}{
		{"raw", layers.LinkTypeRaw, ip, capture.Stats{Frames: 1, Datagrams: 1}},
		{"ipv4", layers.LinkTypeIPv4, ip, capture.Stats{Frames: 1, Datagrams: 1}},
		{"sll", layers.LinkTypeLinuxSLL, sll, capture.Stats{Frames: 1, Datagrams: 1}},
		{"sll2", layers.LinkType(276), sll2, capture.Stats{Frames: 1, Datagrams: 1}},
		{"802.11", layers.LinkTypeIEEE802_11, eth, capture.Stats{Frames: 1, LinkType: 1}},
	} {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		if err := w.WriteFileHeader(65535, c.link); err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(c.data), Length: len(c.data)}, c.data); err != nil {
			t.Fatal(err)
		}
		r, err := capture.NewPcapReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		pl, _, err := r.Next()
		if c.want.Datagrams == 1 {
			if err != nil || string(pl) != "payload" {
				t.Fatalf("%s: %q, %v", c.name, pl, err)
			}
			_, _, err = r.Next()
		}
		if err != io.EOF || r.Stats() != c.want {
			t.Fatalf("%s: %v, stats %+v", c.name, err, r.Stats())
		}
	}
}
