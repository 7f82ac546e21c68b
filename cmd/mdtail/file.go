package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"mdcast/decode"
	"mdcast/decode/capture"
)

// pcap and pcapng magic numbers (both byte orders, micro and nanosecond).
var captureMagics = [][]byte{
	{0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4},
	{0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d},
	{0x0a, 0x0d, 0x0d, 0x0a},
}

// runFile prints the messages of a capture (each UDP payload a MoldUDP64
// packet) or of a BinaryFILE (bare length-prefixed messages).
func runFile(ctx context.Context, o options, p *printer) error {
	f, err := os.Open(o.file)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(4)
	for _, m := range captureMagics {
		if bytes.Equal(magic, m) {
			p.sum.Source = "capture"
			return replayCapture(ctx, o, p, br)
		}
	}
	p.sum.Source = "binaryfile"
	bf := capture.NewBinaryFile(br)
	for !p.done(o) {
		if ctx.Err() != nil {
			return nil
		}
		msg, err := bf.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			p.sum.Malformed++
			return fmt.Errorf("%s: %w", o.file, err)
		}
		p.message("", 0, 0, msg)
	}
	return nil
}

// stream is one channel in a capture: destination and session.
type stream struct {
	dst     netip.AddrPort
	session decode.Session
}

func replayCapture(ctx context.Context, o options, p *printer, r io.Reader) error {
	pr, err := capture.NewPcapReader(r)
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	next := map[stream]uint64{}
	labels := map[netip.AddrPort]string{}
	for !p.done(o) {
		if ctx.Err() != nil {
			return nil
		}
		payload, _, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", o.file, err)
		}
		var pk decode.Packet
		if pk.Wrap(payload) != nil {
			p.sum.Malformed++
			continue
		}
		p.sum.Packets++
		dst := pr.Dst()
		label, ok := labels[dst]
		if !ok {
			label = dst.String()
			labels[dst] = label
		}
		key := stream{dst, pk.Session()}
		want, seen := next[key]
		seq, end := pk.Sequence(), pk.NextSequence()
		switch {
		case pk.IsHeartbeat() || pk.IsEndOfSession():
			p.sum.Heartbeats++
			if seen && seq > want {
				p.sum.Gaps++
			}
			if !seen || seq > want {
				next[key] = seq
			}
			continue
		case seen && seq > want:
			p.sum.Gaps++
		case seen && end <= want:
			p.sum.Duplicates += uint64(pk.MessageCount())
			continue
		}
		it := pk.Messages()
		for it.Next() {
			if seen && it.Sequence() < want {
				p.sum.Duplicates++
				continue
			}
			p.message(label, it.Sequence(), 0, it.Message())
			if p.done(o) {
				break
			}
		}
		if !seen || end > want {
			next[key] = end
		}
	}
	return nil
}

// done reports whether -n messages have been printed.
func (p *printer) done(o options) bool { return o.count > 0 && p.sum.matched >= o.count }
