//go:build !race

package subscriber

// storeSlot and loadSlot copy a Message into and out of a ring slot. A
// DropOldest ring lets the producer overwrite a slot while a lapped consumer
// copies it; the consumer then detects the overwrite (tailIntent) and
// discards the copy, as a seqlock reader does. Plain copies are what the
// hardware does anyway; the race build (slot_race.go) copies word by word
// with atomics so the detector sees the intended synchronisation.
func storeSlot(dst, src *Message) { *dst = *src }

func loadSlot(dst, src *Message) { *dst = *src }

const raceEnabled = false
