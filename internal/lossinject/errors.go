package lossinject

import "errors"

// ErrInvalidConfig is wrapped by Validate's errors.
var ErrInvalidConfig = errors.New("lossinject: invalid config")

// ErrSyntax is wrapped by ParseEnv's errors for malformed text.
var ErrSyntax = errors.New("lossinject: syntax error")
