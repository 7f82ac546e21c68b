package e2e

import (
	"context"
	"errors"
	"os"
	"time"

	"mdcast/internal/udpsock"
)

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// isTimeout reports an expired receive timeout (SO_RCVTIMEO) or a
// would-block from udpsock.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, udpsock.ErrWouldBlock)
}
