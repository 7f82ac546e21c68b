//go:build race

package subscriber

import (
	"sync/atomic"
	"unsafe"
)

// msgWords is the size of a Message in 64-bit words (the struct has 8-byte
// alignment and a size that is a multiple of 8).
const msgWords = unsafe.Sizeof(Message{}) / 8

// storeSlot copies src into the slot dst word by word with atomic stores, so
// the race detector accepts the seqlock-style overlap with loadSlot.
func storeSlot(dst, src *Message) {
	d := (*[msgWords]uint64)(unsafe.Pointer(dst))
	s := (*[msgWords]uint64)(unsafe.Pointer(src))
	for i := range d {
		atomic.StoreUint64(&d[i], s[i])
	}
}

// loadSlot copies the slot src into dst word by word with atomic loads.
func loadSlot(dst, src *Message) {
	d := (*[msgWords]uint64)(unsafe.Pointer(dst))
	s := (*[msgWords]uint64)(unsafe.Pointer(src))
	for i := range d {
		d[i] = atomic.LoadUint64(&s[i])
	}
}

const raceEnabled = true
