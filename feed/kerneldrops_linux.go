package feed

import (
	"bufio"
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// kernelDrops returns, for each descriptor in fds, the datagrams the kernel
// dropped on that socket because its receive buffer was full: the "drops"
// column of /proc/net/udp for the socket's inode. It reads the file once for
// all descriptors and is meant for Stats, not the hot path. A socket it
// cannot find reports 0.
func kernelDrops(fds []int) []uint64 {
	out := make([]uint64, len(fds))
	inodes := make(map[uint64]int, len(fds))
	for i, fd := range fds {
		var st unix.Stat_t
		if fd >= 0 && unix.Fstat(fd, &st) == nil {
			inodes[st.Ino] = i
		}
	}
	if len(inodes) == 0 {
		return out
	}
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(fields) < 13 {
			continue
		}
		ino, err := strconv.ParseUint(string(fields[9]), 10, 64)
		if err != nil {
			continue
		}
		i, ok := inodes[ino]
		if !ok {
			continue
		}
		if d, err := strconv.ParseUint(string(fields[12]), 10, 64); err == nil {
			out[i] = d
		}
	}
	return out
}
