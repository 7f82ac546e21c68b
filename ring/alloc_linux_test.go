//go:build linux

package ring

import (
	"testing"
	"time"
)

func blockAllocCases(t *testing.T) []struct {
	name string
	f    func()
} {
	w := newWaker(t)
	b, err := NewBlock(nil, w, time.Microsecond)
	if err != nil {
		t.Fatal(err)
	}
	return []struct {
		name string
		f    func()
	}{
		{"Block arm+park", func() { b.Idle(0); b.Idle(0) }},
		{"Waker Wake armed", func() { b.Idle(0); w.Wake(); b.Idle(0) }},
		{"Waker Wake idle consumer", func() { w.Wake() }},
	}
}
