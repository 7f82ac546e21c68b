package publish_test

import (
	"log"
	"time"

	"mdcast/internal/clock"
	"mdcast/publish"
	"mdcast/ring"
)

// ExampleWorker publishes the default four loopback channels in pipeline
// mode: a producer on another thread hands upstream packets to the worker's
// Input ring; the worker runs under a ring.Runner. At shutdown it ends the
// session and keeps answering re-requests for the grace period.
func ExampleWorker() {
	cfg := publish.DefaultConfig()
	cfg.Session = publish.NewSessionName(time.Now()).String() // one session for every worker
	w, err := publish.NewWorker(cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	r := ring.NewRunner(w, ring.RunnerConfig{CPU: -1})
	if err := r.Start(); err != nil {
		log.Fatal(err)
	}

	// The producer (normally the feed) offers pooled packets; on false the
	// ring is full and the producer keeps, releases and counts the packet.
	pool, _ := ring.NewPool(ring.PoolConfig{})
	p := pool.Get()
	// ... fill p.Buf with an upstream MoldUDP64 packet, set p.N ...
	if !w.Input().Offer(p) {
		p.Release()
	}

	w.EndSession(clock.Nanotime())
	<-w.Done()
	if err := r.Close(); err != nil {
		log.Print(err)
	}
}
