package main

import (
	"fmt"
	"strconv"
)

// group formats an integer with thousands separators.
func group(v uint64) string {
	s := strconv.FormatUint(v, 10)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := 0; i < len(s); i++ {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// micros formats nanoseconds as microseconds.
func micros(ns int64) string {
	if ns == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fµs", float64(ns)/1000)
}
