package publish

import "errors"

// Sentinel errors. Configuration errors are wrapped with the field's name at
// setup time; nothing on the publish path returns an error per message (drops
// are counted instead).
var (
	// ErrConfig is wrapped by every error Config.Validate returns.
	ErrConfig = errors.New("publish: invalid config")
	// errNoChannels: a worker constructed with an empty set of owned channels.
	errNoChannels = errors.New("publish: worker owns no channel")
	// errChannelIndex: a worker asked to own a channel index that is not in the config.
	errChannelIndex = errors.New("publish: channel index out of range")
	// errHistoryBounds: a History built with a bound smaller than one message.
	errHistoryBounds = errors.New("publish: history bounds must be positive")
)
