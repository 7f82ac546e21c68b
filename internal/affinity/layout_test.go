package affinity

import (
	"slices"
	"testing"
)

func TestPlan(t *testing.T) {
	cases := []struct {
		name    string
		allowed []int
		core    map[int]int
		agent   int
		load    int
		spare   []int
	}{
		{"this machine: 2 vCPUs, 2 cores", []int{0, 1}, map[int]int{0: 0, 1: 1}, 1, 0, nil},
		{"no topology known", []int{0, 1}, nil, 1, 0, nil},
		{"one CPU: nothing spins", []int{3}, nil, NoCPU, NoCPU, []int{3}},
		{"none", nil, nil, NoCPU, NoCPU, nil},
		{"one core, two SMT threads", []int{0, 1}, map[int]int{0: 0, 1: 0}, 1, NoCPU, []int{0}},
		{"2 cores x 2 SMT, siblings 0/2 and 1/3", []int{0, 1, 2, 3}, map[int]int{0: 0, 2: 0, 1: 1, 3: 1}, 3, 2, []int{0, 1}},
		{"2 cores x 2 SMT, siblings 0/1 and 2/3", []int{0, 1, 2, 3}, map[int]int{0: 0, 1: 0, 2: 2, 3: 2}, 3, 1, []int{0, 2}},
		{"taskset 2,5,7", []int{2, 5, 7}, nil, 7, 5, []int{2}},
	}
	for _, tc := range cases {
		l := plan(tc.allowed, tc.core)
		if l.Agent != tc.agent || l.Load != tc.load || !slices.Equal(l.Spare, tc.spare) {
			t.Errorf("%s: plan(%v) = %v; want agent %d load %d spare %v", tc.name, tc.allowed, l, tc.agent, tc.load, tc.spare)
		}
	}
}

func TestDetect(t *testing.T) {
	topo := Detect()
	t.Logf("%+v", topo)
	if topo.LogicalCPUs < 1 || topo.PhysicalCores < 1 || topo.ThreadsPerCore < 1 {
		t.Fatalf("implausible counts: %+v", topo)
	}
	if topo.PhysicalCores > topo.LogicalCPUs {
		t.Fatalf("more cores than logical CPUs: %+v", topo)
	}
	if cl := topo.CacheLine; cl < 16 || cl > 512 || cl&(cl-1) != 0 {
		t.Fatalf("cache line %d is not a power of two in [16, 512]", cl)
	}
}
