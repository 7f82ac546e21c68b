//go:build !linux

package ring

import "testing"

func blockAllocCases(t *testing.T) []struct {
	name string
	f    func()
} {
	return nil
}
