package affinity

import (
	"runtime"

	"github.com/klauspost/cpuid/v2"
)

// Topology describes the processor as CPUID reports it. Under a hypervisor
// these are the virtual machine's figures, which is what placement needs.
type Topology struct {
	LogicalCPUs    int    // hardware threads (CPUID; runtime.NumCPU if unknown)
	PhysicalCores  int    // cores (LogicalCPUs/ThreadsPerCore if unknown)
	ThreadsPerCore int    // SMT siblings per core (1 if unknown)
	CacheLine      int    // L1 data cache line in bytes (64 if unknown)
	Brand          string // processor brand string
}

// Detect reads the topology once from CPUID. Zero values CPUID cannot
// supply are replaced by the fallbacks noted on each field.
func Detect() Topology {
	c := cpuid.CPU
	t := Topology{
		LogicalCPUs:    c.LogicalCores,
		PhysicalCores:  c.PhysicalCores,
		ThreadsPerCore: c.ThreadsPerCore,
		CacheLine:      c.CacheLine,
		Brand:          c.BrandName,
	}
	if t.LogicalCPUs <= 0 {
		t.LogicalCPUs = runtime.NumCPU()
	}
	if t.ThreadsPerCore <= 0 {
		t.ThreadsPerCore = 1
	}
	if t.PhysicalCores <= 0 {
		t.PhysicalCores = max(1, t.LogicalCPUs/t.ThreadsPerCore)
	}
	if t.CacheLine <= 0 {
		t.CacheLine = 64
	}
	return t
}
