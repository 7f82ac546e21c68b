package feed

import "time"

// logPeriod is the shortest interval between two log lines of one kind
// written while the receiver runs.
const logPeriod = int64(time.Second)

// throttle lets one log line through per period and counts the others, so
// a fault repeated thousands of times per second (a flapping upstream, a
// full consumer) costs a counter increment, not a log line each. It is
// owned by one goroutine. Like VictoriaMetrics' logger.WithThrottler, but
// time is passed in.
type throttle struct {
	periodNs   int64
	lastNs     int64
	armed      bool // lastNs is set
	suppressed uint64
}

func newThrottle(periodNs int64) throttle {
	return throttle{periodNs: periodNs}
}

// allow reports whether a line may be logged at nowNs. The caller builds
// the log arguments only when it returns true, so a throttled call does
// not allocate.
func (t *throttle) allow(nowNs int64) bool {
	if t.armed && nowNs-t.lastNs < t.periodNs {
		t.suppressed++
		return false
	}
	t.armed, t.lastNs = true, nowNs
	return true
}

// takeSuppressed returns the number of lines dropped since the last one
// allowed, and resets it.
func (t *throttle) takeSuppressed() uint64 {
	n := t.suppressed
	t.suppressed = 0
	return n
}
