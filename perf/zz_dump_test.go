package perf_test

import (
	"os"
	"testing"
)

func TestZZDump(t *testing.T) {
	r := syntheticReport(t)
	f, _ := os.Create("/tmp/perfwork/synth.html")
	r.WriteHTML(f)
	f.Close()
}
