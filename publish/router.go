package publish

import (
	"fmt"
	"sort"
)

// Router maps a message's routing key (ITCH stock locate or quote instrument
// id) to a channel index: key modulo the number of channels, or the channel of
// the explicit range holding the key. It is immutable after construction, safe
// for concurrent use, and Route does not allocate.
type Router struct {
	n      uint32       // number of channels (hash mode)
	ranges []routeRange // sorted by from, non-overlapping (ranges mode); nil in hash mode
}

type routeRange struct {
	from, to uint32
	ch       int
}

// NewRouter builds the router of cfg over channels. cfg.Mode "" means ranges
// when cfg.Ranges is not empty and hash otherwise.
func NewRouter(cfg RouteConfig, channels []ChannelConfig) (*Router, error) {
	return newRouter(cfg, channels)
}

func newRouter(cfg RouteConfig, channels []ChannelConfig) (*Router, error) {
	if len(channels) == 0 {
		return nil, invalid("channel: no channel configured")
	}
	mode := cfg.Mode
	if mode == "" {
		mode = RouteHash
		if len(cfg.Ranges) > 0 {
			mode = RouteRanges
		}
	}
	r := &Router{n: uint32(len(channels))}
	switch mode {
	case RouteHash:
		if len(cfg.Ranges) > 0 {
			return nil, invalid("route.mode %q: ranges given with mode hash", mode)
		}
		return r, nil
	case RouteRanges:
		if len(cfg.Ranges) == 0 {
			return nil, invalid("route.range: mode ranges with no range")
		}
	default:
		return nil, invalid("route.mode %q: not \"hash\" or \"ranges\"", mode)
	}
	byName := make(map[string]int, len(channels))
	for i, c := range channels {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("ch%d", i)
		}
		byName[name] = i
	}
	for i, rg := range cfg.Ranges {
		ch, ok := byName[rg.Channel]
		if !ok {
			return nil, invalid("route.range[%d].channel %q: no such channel", i, rg.Channel)
		}
		if rg.From > rg.To {
			return nil, invalid("route.range[%d]: from %d > to %d", i, rg.From, rg.To)
		}
		r.ranges = append(r.ranges, routeRange{from: rg.From, to: rg.To, ch: ch})
	}
	sort.Slice(r.ranges, func(i, j int) bool { return r.ranges[i].from < r.ranges[j].from })
	for i := 1; i < len(r.ranges); i++ {
		if p, q := r.ranges[i-1], r.ranges[i]; q.from <= p.to {
			return nil, invalid("route.range: %d..%d overlaps %d..%d", q.from, q.to, p.from, p.to)
		}
	}
	return r, nil
}

// Route returns the channel index for key, or -1 when no range holds it.
func (r *Router) Route(key uint32) int {
	if r.ranges == nil {
		return int(key % r.n)
	}
	// Binary search for the last range starting at or before key.
	lo, hi := 0, len(r.ranges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.ranges[m].from <= key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return -1
	}
	if rg := r.ranges[lo-1]; key <= rg.to {
		return rg.ch
	}
	return -1
}
