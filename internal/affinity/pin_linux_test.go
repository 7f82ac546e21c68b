package affinity

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// onLockedThread runs fn on a fresh locked OS thread. The thread is
// discarded afterwards (the goroutine exits still locked), so a test's
// affinity never leaks into the scheduler's thread pool.
func onLockedThread(t *testing.T, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- fn()
	}()
	return <-done
}

func TestPinEachAllowedCPU(t *testing.T) {
	cpus, err := CPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) == 0 {
		t.Fatal("CPUs returned an empty set")
	}
	for _, cpu := range cpus {
		err := onLockedThread(t, func() error {
			if err := Pin(cpu); err != nil {
				return err
			}
			cur, err := Current()
			if err != nil {
				return err
			}
			if !slices.Equal(cur, []int{cpu}) {
				return fmt.Errorf("after Pin(%d) the thread may run on %v", cpu, cur)
			}
			// The process's allowed set is unchanged by pinning one thread.
			if all, err := CPUs(); err != nil || !slices.Equal(all, cpus) {
				return fmt.Errorf("CPUs after Pin = %v, %v; want %v", all, err, cpus)
			}
			if err := Unpin(); err != nil {
				return err
			}
			if cur, err = Current(); err != nil || !slices.Equal(cur, cpus) {
				return fmt.Errorf("after Unpin the thread may run on %v (%v), want %v", cur, err, cpus)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestPinRejects(t *testing.T) {
	cpus, err := CPUs()
	if err != nil {
		t.Fatal(err)
	}
	bad := []int{-1, cpuSetSize, 1 << 20}
	if last := cpus[len(cpus)-1]; last+1 < cpuSetSize {
		bad = append(bad, last+1) // beyond the allowed set
	}
	for _, cpu := range bad {
		err := onLockedThread(t, func() error { return Pin(cpu) })
		if !errors.Is(err, ErrNotAllowed) {
			t.Errorf("Pin(%d) = %v, want ErrNotAllowed", cpu, err)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("cpu %d", cpu)) {
			t.Errorf("Pin(%d) error %q does not name the cpu", cpu, err)
		}
	}
}

func TestDefaultLayoutHere(t *testing.T) {
	cpus, err := CPUs()
	if err != nil {
		t.Fatal(err)
	}
	l, err := DefaultLayout()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("allowed %v: %v", cpus, l)
	if len(cpus) < 2 {
		if l.Agent != NoCPU || l.Load != NoCPU {
			t.Fatalf("one CPU allowed but layout %v spins", l)
		}
		return
	}
	if l.Agent != cpus[len(cpus)-1] {
		t.Fatalf("Agent %d, want the last allowed CPU %d", l.Agent, cpus[len(cpus)-1])
	}
	if l.Load == l.Agent {
		t.Fatalf("Load and Agent share cpu %d", l.Agent)
	}
	if got := len(l.Spare) + 1 + btoi(l.Load != NoCPU); got != len(cpus) {
		t.Fatalf("layout %v accounts for %d CPUs, want %d", l, got, len(cpus))
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestFirstInList(t *testing.T) {
	for s, want := range map[string]int{"0": 0, "3": 3, "0,4": 0, "2-3": 2, "12-13,40": 12} {
		if got, ok := firstInList(s); !ok || got != want {
			t.Errorf("firstInList(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	if _, ok := firstInList(""); ok {
		t.Error(`firstInList("") succeeded`)
	}
}
