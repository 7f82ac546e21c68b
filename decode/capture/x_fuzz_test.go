package capture_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"mdcast/decode/capture"
)

// Seeds: the samples of ../testdata (see ../testdata/ATTRIBUTION.md) and a
// synthetic pcapng with every frame kind the reader skips.
func FuzzPcap(f *testing.F) {
	for _, path := range []string{twoAddsPcap, snippetPcap} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 4096 {
			data = data[:4096]
		}
		f.Add(data)
	}
	frames, _ := mixedFrames(f)
	var ng bytes.Buffer
	w, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		f.Fatal(err)
	}
	for _, fr := range frames {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(fr), Length: len(fr)}, fr); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Fatal(err)
	}
	f.Add(ng.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := capture.NewPcapReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		var n uint64
		for i := 0; i < 100000; i++ {
			pl, _, err := r.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, capture.ErrTruncated) && !errors.Is(err, capture.ErrCorrupt) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(pl) > len(data) {
				t.Fatalf("payload of %d bytes from %d bytes of input", len(pl), len(data))
			}
			n++
		}
		s := r.Stats()
		if s.Datagrams != n || s.Frames != s.Datagrams+s.NonUDP+s.Fragments+s.Malformed+s.LinkType {
			t.Fatalf("stats do not add up: %+v (returned %d)", s, n)
		}
	})
}

func FuzzBinaryFile(f *testing.F) {
	data, err := os.ReadFile(binaryFilePath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data[:400])
	f.Add(data[:401])
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := capture.NewBinaryFile(bytes.NewReader(data))
		consumed := 0
		for {
			m, err := r.Next()
			if err == io.EOF {
				if consumed != len(data) {
					t.Fatalf("EOF after %d of %d bytes", consumed, len(data))
				}
				return
			}
			if err != nil {
				if !errors.Is(err, capture.ErrTruncated) || consumed >= len(data) {
					t.Fatalf("error %v after %d of %d bytes", err, consumed, len(data))
				}
				return
			}
			if !bytes.Equal(m, data[consumed+2:consumed+2+len(m)]) {
				t.Fatal("message differs from input")
			}
			consumed += 2 + len(m)
		}
	})
}
