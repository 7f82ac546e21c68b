package ring

// CacheLineBytes is the padding unit that keeps data written by different
// goroutines on different cache lines. It is 128 rather than 64 because
// Intel's spatial prefetcher pulls cache lines in adjacent pairs, so two
// writers 64 bytes apart still contend (the same reason sync.Pool pads its
// per-P state to 128 bytes).
const CacheLineBytes = 128

// pad is one cache-line unit of padding. The Go allocator does not align
// heap objects to 128 bytes, so writer groups are separated by a whole pad
// (not "the rest of the line"): whatever the alignment, two fields with a
// pad between them never share a line.
type pad [CacheLineBytes]byte
