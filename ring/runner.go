package ring

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"mdcast/internal/affinity"
	"mdcast/internal/clock"
)

// RunnerConfig says how a Runner runs its agent. It is built in code, not
// read from a file: daemons map their own config onto it.
type RunnerConfig struct {
	// Idle is how the agent waits when DoWork finds nothing; nil means
	// NewBackoff with the defaults (spin, yield, then park up to 1 ms).
	// The strategy belongs to this runner alone.
	Idle IdleStrategy
	// CPU pins the runner's OS thread to this CPU; -1 does not pin. Note
	// that the zero value, 0, pins to CPU 0. Pinning implies LockOSThread,
	// and the pinned thread is discarded when the runner ends rather than
	// returned to the Go scheduler with its affinity changed.
	CPU int
	// LockOSThread runs the agent on one OS thread of its own
	// (runtime.LockOSThread), named after the agent's role.
	LockOSThread bool
	// OnError, if set, is called on the runner's goroutine with every
	// error DoWork returns (after it is counted). It must not block or
	// call Close.
	OnError func(error)
}

// Runner owns one goroutine that runs an Agent's duty cycle:
//
//	for !closed {
//		work, err := agent.DoWork(clock.Nanotime())
//		count err; idle.Idle(work)
//	}
//
// Start, Close, Done and Errors are safe from any goroutine except the
// runner's own (Close from inside the agent would wait for itself).
type Runner struct {
	agent Agent
	cfg   RunnerConfig
	role  string

	_      pad
	stop   atomic.Bool   // set by Close, read by the loop every cycle
	errors atomic.Uint64 // DoWork errors; written by the loop only
	_      pad

	mu      sync.Mutex // guards started and closed (setup path only)
	started bool
	closed  bool
	done    chan struct{}
}

// NewRunner returns a runner for a, not yet started.
func NewRunner(a Agent, cfg RunnerConfig) *Runner {
	if cfg.Idle == nil {
		cfg.Idle = NewBackoff(0, 0, 0, 0)
	}
	return &Runner{agent: a, cfg: cfg, role: a.RoleName(), done: make(chan struct{})}
}

// Start starts the goroutine, locks and pins its thread as configured,
// runs OnStart and returns its error (or a pinning error); on nil the loop
// is running. On error the goroutine has already ended (Done is closed):
// after a failed OnStart it has run OnClose, after a failed pin it ran
// neither. Start may be called once (ErrRunnerStarted otherwise).
func (r *Runner) Start() error {
	r.mu.Lock()
	if r.started || r.closed {
		r.mu.Unlock()
		return ErrRunnerStarted
	}
	r.started = true
	r.mu.Unlock()

	ready := make(chan error, 1)
	go r.run(ready)
	return <-ready
}

// run is the runner's goroutine.
func (r *Runner) run(ready chan<- error) {
	defer close(r.done)
	if r.cfg.LockOSThread || r.cfg.CPU >= 0 {
		runtime.LockOSThread()
		if r.cfg.CPU < 0 {
			// An unpinned thread can go back to the scheduler. A pinned
			// one is left locked so it exits with the goroutine.
			defer runtime.UnlockOSThread()
		}
		setThreadName(r.role)
		if r.cfg.CPU >= 0 {
			if err := affinity.Pin(r.cfg.CPU); err != nil {
				ready <- fmt.Errorf("ring: %s: %w", r.role, err)
				return
			}
		}
	}
	if err := r.agent.OnStart(); err != nil {
		r.agent.OnClose()
		ready <- fmt.Errorf("ring: %s: start: %w", r.role, err)
		return
	}
	ready <- nil

	r.loop()
	r.agent.OnClose()
}

// loop is the duty cycle. Locals keep the interface values and the config
// out of the Runner's lines that Close writes.
func (r *Runner) loop() {
	agent, idle, onError := r.agent, r.cfg.Idle, r.cfg.OnError
	idle.Reset()
	for !r.stop.Load() {
		work, err := agent.DoWork(clock.Nanotime())
		if err != nil {
			if errors.Is(err, ErrTerminate) {
				return
			}
			r.errors.Add(1)
			if onError != nil {
				onError(err)
			}
		}
		idle.Idle(work)
	}
}

// Close stops the loop, waits until OnClose has run and the goroutine has
// ended, and returns nil. It wakes an agent parked in a Block with a Waker
// at once (see Waker.Wake for why the wake cannot be lost); other idle
// strategies finish their current park first (at most their maximum park).
// Close before Start just prevents a later Start; Close is idempotent.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	started := r.started
	r.mu.Unlock()
	if !started {
		return nil
	}
	r.stop.Store(true)
	if b, ok := r.cfg.Idle.(*Block); ok {
		// The loop arms the Waker before its last stop check ahead of
		// every park, and this Wake loads the flag after the stop store:
		// either the loop sees stop, or this Wake sees it armed.
		b.Wake()
	}
	<-r.done
	return nil
}

// Done is closed when the loop has ended (Close, ErrTerminate or a failed
// start) and OnClose has run.
func (r *Runner) Done() <-chan struct{} { return r.done }

// Errors returns how many errors DoWork has returned.
func (r *Runner) Errors() uint64 { return r.errors.Load() }

// Role returns the agent's role name.
func (r *Runner) Role() string { return r.role }
