//go:build linux

package ring

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// setThreadName names the calling (locked) OS thread, as shown by top -H
// and ps -L; Linux keeps the first 15 bytes. It writes /proc rather than
// calling prctl(PR_SET_NAME) so no pointer crosses a syscall wrapper as a
// uintptr. Failure only loses the name.
func setThreadName(name string) {
	if len(name) > 15 {
		name = name[:15]
	}
	path := fmt.Sprintf("/proc/self/task/%d/comm", unix.Gettid())
	_ = os.WriteFile(path, []byte(name), 0)
}
