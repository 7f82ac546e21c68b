package perf

import (
	"errors"
	"fmt"
)

var (
	// ErrSeriesMismatch is returned by Recorder.Merge when the two time series
	// do not share interval, start and length (the histograms are merged anyway).
	ErrSeriesMismatch = errors.New("perf: time series do not line up")
	// ErrNoMessages is returned when a replay file holds no usable message.
	ErrNoMessages = errors.New("perf: no messages to send")
	// ErrReplayTooLong is returned when a replay file holds a message longer
	// than fits in one packet.
	ErrReplayTooLong = errors.New("perf: replay message does not fit in a packet")
	// ErrInvalidConfig is wrapped by every Validate error.
	ErrInvalidConfig = errors.New("perf: invalid config")
)

// configError names the field, its value and the reason, as the team's
// Validate errors do: `perf: invalid config: rate "0": must be > 0`.
func configError(field, value, reason string) error {
	return fmt.Errorf("%w: %s %q: %s", ErrInvalidConfig, field, value, reason)
}
