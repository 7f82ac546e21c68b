package ring

import (
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mdcast/internal/affinity"
)

// testAgent counts its calls and signals once it has done enough rounds.
type testAgent struct {
	name     string
	startErr error
	workErr  func(call int) error // error to return on a given call, may be nil
	work     int                  // work reported per call

	started, closed atomic.Int32
	calls           atomic.Int64
	lastNow         atomic.Int64
	nowBackwards    atomic.Bool
	reached         chan struct{} // closed after `target` calls
	target          int64
	onStart         func() error
}

func newTestAgent(name string, target int64) *testAgent {
	return &testAgent{name: name, target: target, reached: make(chan struct{})}
}

func (a *testAgent) RoleName() string { return a.name }

func (a *testAgent) OnStart() error {
	a.started.Add(1)
	if a.onStart != nil {
		return a.onStart()
	}
	return a.startErr
}

func (a *testAgent) DoWork(nowNs int64) (int, error) {
	if prev := a.lastNow.Swap(nowNs); nowNs < prev {
		a.nowBackwards.Store(true)
	}
	c := a.calls.Add(1)
	if c == a.target {
		close(a.reached)
	}
	var err error
	if a.workErr != nil {
		err = a.workErr(int(c))
	}
	return a.work, err
}

func (a *testAgent) OnClose() { a.closed.Add(1) }

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestRunnerStartClose(t *testing.T) {
	a := newTestAgent("test", 1000)
	a.work = 1
	r := NewRunner(a, RunnerConfig{Idle: Yield{}, CPU: -1})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	if a.started.Load() != 1 {
		t.Fatal("Start returned before OnStart ran")
	}
	if err := r.Start(); !errors.Is(err, ErrRunnerStarted) {
		t.Fatalf("second Start: %v", err)
	}
	waitFor(t, a.reached, "1000 DoWork calls")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, r.Done(), "Done")
	if a.closed.Load() != 1 {
		t.Fatalf("OnClose ran %d times", a.closed.Load())
	}
	calls := a.calls.Load()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if a.calls.Load() != calls || a.closed.Load() != 1 {
		t.Fatal("agent ran after Close")
	}
	if a.nowBackwards.Load() || a.lastNow.Load() <= 0 {
		t.Fatal("nowNs not monotonic")
	}
	if r.Errors() != 0 || r.Role() != "test" {
		t.Fatalf("errors %d role %q", r.Errors(), r.Role())
	}
}

func TestRunnerOnError(t *testing.T) {
	boom := errors.New("boom")
	a := newTestAgent("err", 100)
	a.workErr = func(c int) error {
		if c%10 == 0 {
			return boom
		}
		return nil
	}
	var seen atomic.Int64
	r := NewRunner(a, RunnerConfig{CPU: -1, OnError: func(err error) {
		if errors.Is(err, boom) {
			seen.Add(1)
		}
	}})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a.reached, "100 calls")
	r.Close()
	want := a.calls.Load() / 10
	if r.Errors() != uint64(want) || seen.Load() != want {
		t.Fatalf("Errors %d OnError %d, want %d", r.Errors(), seen.Load(), want)
	}
}

func TestRunnerStartError(t *testing.T) {
	bad := errors.New("no socket")
	a := newTestAgent("bad", 1)
	a.startErr = bad
	r := NewRunner(a, RunnerConfig{CPU: -1})
	err := r.Start()
	if !errors.Is(err, bad) || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("Start = %v", err)
	}
	waitFor(t, r.Done(), "Done after a failed start")
	if a.calls.Load() != 0 || a.closed.Load() != 1 {
		t.Fatalf("calls %d closed %d", a.calls.Load(), a.closed.Load())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRunnerCloseBeforeStart(t *testing.T) {
	a := newTestAgent("never", 1)
	r := NewRunner(a, RunnerConfig{CPU: -1})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); !errors.Is(err, ErrRunnerStarted) {
		t.Fatalf("Start after Close = %v", err)
	}
	if a.started.Load() != 0 {
		t.Fatal("OnStart ran")
	}
}

func TestRunnerTerminate(t *testing.T) {
	a := newTestAgent("term", 1)
	a.workErr = func(c int) error {
		if c == 50 {
			return errors.Join(errors.New("done"), ErrTerminate)
		}
		return nil
	}
	r := NewRunner(a, RunnerConfig{CPU: -1, Idle: BusySpin{}})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, r.Done(), "the loop to end on ErrTerminate")
	if a.calls.Load() != 50 || r.Errors() != 0 || a.closed.Load() != 1 {
		t.Fatalf("calls %d errors %d closed %d", a.calls.Load(), r.Errors(), a.closed.Load())
	}
	r.Close()
}

// TestRunnerLockAndPin checks that OnStart runs on a thread pinned to the
// configured CPU.
func TestRunnerLockAndPin(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pinning is implemented on Linux only")
	}
	cpu := runtime.NumCPU() - 1
	a := newTestAgent("pinned", 10)
	var onCPUs []int
	a.onStart = func() error {
		var err error
		onCPUs, err = affinity.Current()
		return err
	}
	r := NewRunner(a, RunnerConfig{CPU: cpu, LockOSThread: true})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a.reached, "10 calls")
	r.Close()
	if len(onCPUs) != 1 || onCPUs[0] != cpu {
		t.Fatalf("agent thread allowed on CPUs %v, want [%d]", onCPUs, cpu)
	}
}

func TestComposite(t *testing.T) {
	boom := errors.New("boom")
	a, b := newTestAgent("a", 0), newTestAgent("b", 0)
	a.work, b.work = 2, 3
	c := Composite{a, b}
	if c.RoleName() != "[a,b]" {
		t.Fatalf("RoleName %q", c.RoleName())
	}
	if err := c.OnStart(); err != nil || a.started.Load() != 1 || b.started.Load() != 1 {
		t.Fatalf("OnStart %v", err)
	}
	if n, err := c.DoWork(42); n != 5 || err != nil || a.lastNow.Load() != 42 || b.lastNow.Load() != 42 {
		t.Fatalf("DoWork = %d, %v", n, err)
	}
	a.workErr = func(int) error { return boom }
	b.workErr = func(int) error { return ErrTerminate }
	n, err := c.DoWork(43)
	if n != 5 || !errors.Is(err, ErrTerminate) || b.calls.Load() != 2 {
		t.Fatalf("DoWork with errors = %d, %v (b calls %d)", n, err, b.calls.Load())
	}
	b.workErr = nil
	if _, err := c.DoWork(44); !errors.Is(err, boom) {
		t.Fatalf("first error lost: %v", err)
	}
	c.OnClose()
	if a.closed.Load() != 1 || b.closed.Load() != 1 {
		t.Fatal("OnClose not run on all")
	}
	b.startErr = errors.New("late")
	a2 := newTestAgent("a2", 0)
	if err := (Composite{a2, b}).OnStart(); err == nil || !strings.HasPrefix(err.Error(), "b: ") {
		t.Fatalf("OnStart error = %v, want it prefixed with the role", err)
	}
}

func TestRunnerPinError(t *testing.T) {
	a := newTestAgent("badcpu", 1)
	r := NewRunner(a, RunnerConfig{CPU: 1 << 20})
	if err := r.Start(); err == nil || !strings.Contains(err.Error(), "badcpu") {
		t.Fatalf("Start with an impossible CPU = %v", err)
	}
	waitFor(t, r.Done(), "Done after a failed pin")
	if a.started.Load() != 0 || a.closed.Load() != 0 {
		t.Fatalf("started %d closed %d, want neither", a.started.Load(), a.closed.Load())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
