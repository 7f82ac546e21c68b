package ring

import (
	"errors"
	"fmt"
	"strings"
)

// Agent is a unit of work run in a loop by a Runner, as in Agrona: it never
// starts goroutines of its own; the runner owns the goroutine, the OS
// thread, the idle strategy and the error counting.
//
// All four methods are called on the runner's goroutine: OnStart once
// before the loop, DoWork repeatedly, OnClose once after it.
type Agent interface {
	// RoleName names the agent in logs and errors (and the OS thread when
	// the runner locks one).
	RoleName() string
	// OnStart prepares the agent on its own goroutine (after thread
	// locking and pinning, so thread-local setup such as entering a
	// network namespace belongs here). An error stops the runner before
	// the loop and is returned by Runner.Start.
	OnStart() error
	// DoWork does one bounded round of work and returns how much it did
	// (0 when it found nothing, which lets the idle strategy back off).
	// nowNs is clock.Nanotime() read just before the call. A non-nil error
	// is counted and passed to RunnerConfig.OnError, and the loop goes on,
	// unless the error is (or wraps) ErrTerminate, which ends the loop.
	DoWork(nowNs int64) (int, error)
	// OnClose releases what the agent holds. It runs once after the loop
	// ends, and also after a failed OnStart.
	OnClose()
}

// Composite runs several agents on one goroutine, in order, as one agent
// (Agrona's CompositeAgent); DoWork returns the sum of their work. It is
// how several agents share a core without each spinning on its own.
type Composite []Agent

// RoleName joins the agents' role names with commas (setup use only; it
// allocates).
func (c Composite) RoleName() string {
	names := make([]string, len(c))
	for i, a := range c {
		names[i] = a.RoleName()
	}
	return "[" + strings.Join(names, ",") + "]"
}

// OnStart starts the agents in order and stops at the first error, which
// it returns prefixed with that agent's role. OnClose then closes all of
// them, so agents must tolerate OnClose without a successful OnStart.
func (c Composite) OnStart() error {
	for _, a := range c {
		if err := a.OnStart(); err != nil {
			return fmt.Errorf("%s: %w", a.RoleName(), err)
		}
	}
	return nil
}

// DoWork runs every agent once with the same nowNs and returns the total
// work. An error from one agent does not skip the others; the first error
// of the round is returned (so one round counts as at most one error), and
// ErrTerminate from any agent takes precedence so the loop always stops.
func (c Composite) DoWork(nowNs int64) (int, error) {
	total := 0
	var first error
	for _, a := range c {
		n, err := a.DoWork(nowNs)
		total += n
		if err != nil && (first == nil || errors.Is(err, ErrTerminate)) {
			first = err
		}
	}
	return total, first
}

// OnClose closes every agent, in order.
func (c Composite) OnClose() {
	for _, a := range c {
		a.OnClose()
	}
}
