package affinity

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// coreOf maps each CPU to an identifier of its physical core: the lowest
// CPU in its thread_siblings_list (SMT siblings share it). core_id alone is
// not unique across packages. CPUs whose topology cannot be read are left
// out, and plan treats each as a core of its own.
func coreOf(cpus []int) map[int]int {
	m := make(map[int]int, len(cpus))
	for _, cpu := range cpus {
		b, err := os.ReadFile(fmt.Sprintf("/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu))
		if err != nil {
			continue
		}
		if sib, ok := firstInList(strings.TrimSpace(string(b))); ok {
			m[cpu] = sib
		}
	}
	return m
}

// firstInList returns the first CPU of a kernel cpu list such as "0,4" or
// "2-3"; lists are ascending.
func firstInList(s string) (int, bool) {
	end := strings.IndexAny(s, ",-")
	if end < 0 {
		end = len(s)
	}
	n, err := strconv.Atoi(s[:end])
	return n, err == nil
}
