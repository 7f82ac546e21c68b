package subscriber

import "errors"

// Sentinel errors of this package. Setup errors wrap them with the field or
// address at fault; the hot path returns them unwrapped (they never allocate).
var (
	// ErrConfig: a Config or ConsumerConfig field is invalid (wrapped with the field and reason).
	ErrConfig = errors.New("subscriber: invalid config")
	// ErrClosed: the Subscriber (and so every Consumer) has been closed.
	ErrClosed = errors.New("subscriber: closed")
	// ErrStarted: Start was called twice.
	ErrStarted = errors.New("subscriber: already started")
	// ErrUnknownChannel: a ConsumerConfig names a channel the Subscriber does not have.
	ErrUnknownChannel = errors.New("subscriber: unknown channel")
	// ErrNotData: Quote or Loss was called on a message of another Kind.
	ErrNotData = errors.New("subscriber: message is not of that kind")
)
