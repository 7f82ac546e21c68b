package affinity

import "fmt"

// NoCPU marks a Layout role that has no CPU of its own: do not spin it.
const NoCPU = -1

// Layout says where busy-spinning agents should run on this machine. It is
// advice for the low-latency profile; the default profile spins nothing.
type Layout struct {
	// Agent is the CPU for the daemon's spinning inline agent (receive,
	// route, frame, send): the last allowed CPU, since CPU 0 usually takes
	// more interrupts and housekeeping. NoCPU when only one CPU is allowed:
	// a spinner there would starve everything else.
	Agent int
	// Load is the CPU for mdperf's load agent (paced sends and
	// non-blocking receives in one loop), on a different physical core from
	// Agent so two spinners never share a core. NoCPU if there is none.
	Load int
	// Spare lists the allowed CPUs neither role uses, where the Go runtime,
	// softirq work and other processes run. On 2 cores it is empty: the
	// machine has nothing left while both spin.
	Spare []int
}

// String formats the layout for startup logs and reports.
func (l Layout) String() string {
	return fmt.Sprintf("agent cpu %d, load cpu %d, spare %v", l.Agent, l.Load, l.Spare)
}

// DefaultLayout plans a Layout from the CPUs this process may use and
// their physical cores.
func DefaultLayout() (Layout, error) {
	cpus, err := CPUs()
	if err != nil {
		return Layout{Agent: NoCPU, Load: NoCPU}, err
	}
	return plan(cpus, coreOf(cpus)), nil
}

// plan picks Agent as the last allowed CPU and Load as the last allowed CPU
// on another core (core maps a CPU to its physical core; a missing entry
// means a core of its own).
func plan(allowed []int, core map[int]int) Layout {
	l := Layout{Agent: NoCPU, Load: NoCPU}
	if len(allowed) < 2 {
		l.Spare = append(l.Spare, allowed...)
		return l
	}
	coreID := func(cpu int) int {
		if c, ok := core[cpu]; ok {
			return c
		}
		return -1 - cpu // distinct from every real core id
	}
	l.Agent = allowed[len(allowed)-1]
	for i := len(allowed) - 2; i >= 0; i-- {
		if coreID(allowed[i]) != coreID(l.Agent) {
			l.Load = allowed[i]
			break
		}
	}
	for _, c := range allowed {
		if c != l.Agent && c != l.Load {
			l.Spare = append(l.Spare, c)
		}
	}
	return l
}
