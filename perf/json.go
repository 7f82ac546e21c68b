package perf

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report as indented JSON. The daemon path's fields are
// at the top level ("sent", "received", "lost", "recovered", "latency_ns"
// {"p50", "p90", "p99", "p999", "max", "mean", ...}), the direct path under
// "baseline", and "ratio", "allocs_per_msg", "gc_cycles" and "cpu" beside
// them.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
