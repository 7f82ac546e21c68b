package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	"mdcast/feed"
)

// replayer drives a feed line from a capture file: it sends the file toward
// the line's own address, so the replayed data takes the real receive path.
type replayer struct {
	line   string
	file   string
	r      *feed.Replayer
	cancel context.CancelFunc
	done   chan struct{}
}

func newReplayer(l feed.LineConfig, ifname string) (*replayer, error) {
	dst, err := netip.ParseAddrPort(l.Addr)
	if err != nil {
		return nil, fmt.Errorf("feed.line %s: addr %q: %w", l.Name, l.Addr, err)
	}
	if l.Interface != "" {
		ifname = l.Interface
	}
	r, err := feed.NewReplayer(l.Replay, dst, ifname)
	if err != nil {
		return nil, fmt.Errorf("feed.line %s: %w", l.Name, err)
	}
	return &replayer{line: l.Name, file: l.Replay.File, r: r, done: make(chan struct{})}, nil
}

func (rp *replayer) start(log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	rp.cancel = cancel
	go func() {
		defer close(rp.done)
		err := rp.r.Run(ctx)
		st := rp.r.Stats()
		if err != nil && ctx.Err() == nil {
			log.Error("replay failed", "line", rp.line, "file", rp.file, "err", err)
			return
		}
		log.Info("replay finished", "line", rp.line, "stats", st)
	}()
}

func (rp *replayer) stop() {
	if rp.cancel != nil {
		rp.cancel()
		<-rp.done
	}
	_ = rp.r.Close()
}
