package ring

import "syscall"

// osYield gives the CPU to another runnable thread, if any (sched_yield(2)).
// Raw: it never blocks, so the Go scheduler need not hear about it.
func osYield() { _, _, _ = syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
