package publish

import "net/netip"

// RateLimiter gives each requester (address and port) a token bucket of bytes:
// it refills at a fixed rate up to a burst depth, and a response is sent only
// when the requester's bucket holds its size. The requester table is a fixed
// array allocated at construction; when it is full, the entry idle the longest
// whose bucket has refilled completely (so forgetting it changes nothing) is
// reused, and if there is none the new requester is refused.
//
// Time is passed in as nowNs. A RateLimiter is not safe for concurrent use
// and does not allocate after construction.
type RateLimiter struct {
	perNs   float64 // refill rate, bytes per nanosecond
	burst   float64 // bucket depth, bytes
	entries []rateEntry
}

type rateEntry struct {
	addr   netip.AddrPort
	tokens float64 // bytes available at lastNs
	lastNs int64
	used   bool
}

// NewRateLimiter returns a limiter of rateBytes per second with buckets of
// burst bytes for at most maxRequesters requesters at once.
func NewRateLimiter(rateBytes, burst, maxRequesters int) *RateLimiter {
	return &RateLimiter{
		perNs:   float64(rateBytes) / 1e9,
		burst:   float64(burst),
		entries: make([]rateEntry, maxRequesters),
	}
}

// Allow reports whether addr may be sent cost bytes now and, if so, takes
// them from its bucket. It returns full = true when the requester is new and
// the table has no room for it (nothing is taken then).
func (l *RateLimiter) Allow(addr netip.AddrPort, cost int, nowNs int64) (ok, full bool) {
	i := l.find(addr, nowNs)
	if i < 0 {
		return false, true
	}
	e := &l.entries[i]
	if e.tokens < float64(cost) {
		return false, false
	}
	e.tokens -= float64(cost)
	return true, false
}

// Check reports, like Allow, whether cost bytes could be sent to addr now,
// without taking them.
func (l *RateLimiter) Check(addr netip.AddrPort, cost int, nowNs int64) (ok, full bool) {
	i := l.find(addr, nowNs)
	if i < 0 {
		return false, true
	}
	return l.entries[i].tokens >= float64(cost), false
}

// find returns the index of addr's entry, refilled to nowNs, creating it if
// needed; -1 when the table is full of requesters still being limited.
func (l *RateLimiter) find(addr netip.AddrPort, nowNs int64) int {
	free, idle := -1, -1
	var idleSince int64
	for i := range l.entries {
		e := &l.entries[i]
		if !e.used {
			if free < 0 {
				free = i
			}
			continue
		}
		if e.addr == addr {
			l.refill(e, nowNs)
			return i
		}
		if idle < 0 || e.lastNs-idleSince < 0 {
			idle, idleSince = i, e.lastNs
		}
	}
	if free < 0 && idle >= 0 {
		e := &l.entries[idle]
		l.refill(e, nowNs)
		if e.tokens >= l.burst {
			free = idle
		}
	}
	if free < 0 {
		return -1
	}
	l.entries[free] = rateEntry{addr: addr, tokens: l.burst, lastNs: nowNs, used: true}
	return free
}

func (l *RateLimiter) refill(e *rateEntry, nowNs int64) {
	if d := nowNs - e.lastNs; d > 0 {
		e.tokens += float64(d) * l.perNs
		if e.tokens > l.burst {
			e.tokens = l.burst
		}
		e.lastNs = nowNs
	}
}
