package ring

import (
	"fmt"
	"sync/atomic"
)

// Pool defaults, used for zero PoolConfig fields.
const (
	DefaultPoolPackets = 4096 // packets pre-allocated
	DefaultPoolBufSize = 2048 // bytes per packet buffer: a 1500-byte MTU datagram with room to spare
)

// Limits PoolConfig.Validate enforces.
const (
	maxPoolPackets = 1 << 24
	maxPoolBufSize = 1 << 20
)

// poolCacheLen is how many free packets Get moves from the shared free list
// to the owner's private stack at once, so the free list's per-slot atomics
// are paid in batches.
const poolCacheLen = 32

// PoolConfig sizes a Pool. Zero fields take the defaults.
type PoolConfig struct {
	Packets int `toml:"packets"`  // packets pre-allocated (DefaultPoolPackets)
	BufSize int `toml:"buf_size"` // bytes per packet buffer (DefaultPoolBufSize)
}

// Validate reports the first invalid field, naming it and the reason.
func (c PoolConfig) Validate() error {
	if c.Packets < 0 || c.Packets > maxPoolPackets {
		return fmt.Errorf("ring: pool.packets %d: must be between 0 (default) and %d", c.Packets, maxPoolPackets)
	}
	if c.BufSize < 0 || c.BufSize > maxPoolBufSize {
		return fmt.Errorf("ring: pool.buf_size %d: must be between 0 (default) and %d", c.BufSize, maxPoolBufSize)
	}
	return nil
}

func (c PoolConfig) withDefaults() PoolConfig {
	if c.Packets == 0 {
		c.Packets = DefaultPoolPackets
	}
	if c.BufSize == 0 {
		c.BufSize = DefaultPoolBufSize
	}
	return c
}

// PoolStats is a snapshot of a Pool's counters.
type PoolStats struct {
	Packets  int    // packets pre-allocated at construction
	Gets     uint64 // packets handed out by Get
	Allocs   uint64 // Gets that found the pool empty and allocated a new packet (misses)
	Releases uint64 // packets whose last reference was released
	Drops    uint64 // released packets the full free list could not take, left to the GC
	InUse    uint64 // Gets - Releases: packets held by someone now
}

// Pool is a fixed set of packets allocated once, at construction, and
// recycled by reference count.
//
// Get belongs to one goroutine, the owner (the agent that fills packets);
// the last Release of a packet may happen on any goroutine and puts it on a
// lock-free free list (an MPSC ring), so neither side ever blocks. Get and
// Release do not allocate while the pool has packets to spare; when it is
// empty Get allocates a new packet and counts it (Allocs), and that packet
// joins the pool when released if the free list has room, else it is left
// to the garbage collector and counted (Drops). Pool does not use sync.Pool,
// whose items may vanish at any GC.
type Pool struct {
	_       pad
	free    *MPSC[*Packet] // 8 B, read-only pointer: packets released by anyone
	bufSize int            // 8 B, read-only
	packets int            // 8 B, read-only

	// owner line(s): touched only by the goroutine calling Get.
	_      pad
	cacheN int                   // 8 B, hot path: packets in cache
	cache  [poolCacheLen]*Packet // 256 B, hot path: private stack refilled from free
	gets   atomic.Int64          // 8 B, hot path; single writer (the owner), read by Stats
	allocs atomic.Int64          // 8 B, slow path; single writer (the owner)
	_      pad

	// Released packets are counted by the free list's tail (every packet
	// it takes) plus drops, so the hot release path adds no counter of its
	// own.
	drops atomic.Uint64 // 8 B, slow path: any releasing goroutine
	_     pad
}

// NewPool allocates cfg.Packets packets of cfg.BufSize bytes each (from one
// packet array and one byte array) and returns the pool holding them.
func NewPool(cfg PoolConfig) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	free, err := NewMPSC[*Packet](nextPowerOfTwo(cfg.Packets))
	if err != nil {
		return nil, fmt.Errorf("ring: pool free list: %w", err)
	}
	p := &Pool{free: free, bufSize: cfg.BufSize, packets: cfg.Packets}
	pkts := make([]Packet, cfg.Packets)
	backing := make([]byte, cfg.Packets*cfg.BufSize)
	for i := range pkts {
		pk := &pkts[i]
		pk.Buf = backing[i*cfg.BufSize : (i+1)*cfg.BufSize : (i+1)*cfg.BufSize]
		pk.pool = p
		if !free.Offer(pk) {
			return nil, fmt.Errorf("ring: pool free list full at %d of %d packets", i, cfg.Packets)
		}
	}
	return p, nil
}

// nextPowerOfTwo returns the smallest power of two >= n, and at least 2.
func nextPowerOfTwo(n int) int {
	c := 2
	for c < n {
		c <<= 1
	}
	return c
}

// BufSize returns the capacity of every packet's Buf.
func (p *Pool) BufSize() int { return p.bufSize }

// Get returns a packet holding one reference, with Buf at full capacity and
// N, RecvNs, Seq, Skip and Line zeroed. Owner goroutine only. It never
// returns nil: when the pool is empty it allocates (counted in Allocs).
// Get does not allocate in steady state.
func (p *Pool) Get() *Packet {
	if p.cacheN == 0 {
		p.cacheN = p.free.Poll(p.cache[:])
		if p.cacheN == 0 {
			return p.alloc()
		}
	}
	p.cacheN--
	pk := p.cache[p.cacheN]
	p.cache[p.cacheN] = nil
	// Single-writer counter: a release store, not an atomic add (the
	// packet's own fields below are published later, by the ring that
	// carries it).
	storeRelease(&p.gets, p.gets.Load()+1)
	pk.Buf = pk.Buf[:cap(pk.Buf)]
	pk.N, pk.RecvNs, pk.Seq, pk.Skip, pk.Line = 0, 0, 0, 0, 0
	storeRelease32(&pk.refs, 1) // nobody else holds pk: it came off the free list
	return pk
}

// alloc is Get's slow path: the pool ran dry.
func (p *Pool) alloc() *Packet {
	storeRelease(&p.gets, p.gets.Load()+1)
	storeRelease(&p.allocs, p.allocs.Load()+1)
	pk := &Packet{Buf: make([]byte, p.bufSize), pool: p}
	pk.refs.Store(1)
	return pk
}

// put takes back a packet whose last reference was just released.
func (p *Pool) put(pk *Packet) {
	if !p.free.Offer(pk) {
		p.drops.Add(1)
	}
}

// Stats returns a snapshot of the counters; safe from any goroutine.
func (p *Pool) Stats() PoolStats {
	// Releases before gets: both only grow and a packet is got before it
	// is released, so InUse never wraps.
	drops := p.drops.Load()
	rel := uint64(p.free.tail.Load()-int64(p.packets)) + drops
	gets := uint64(p.gets.Load())
	return PoolStats{
		Packets:  p.packets,
		Gets:     gets,
		Allocs:   uint64(p.allocs.Load()),
		Releases: rel,
		Drops:    drops,
		InUse:    gets - rel,
	}
}
