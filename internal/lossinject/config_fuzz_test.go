package lossinject

import (
	"slices"
	"testing"
)

// FuzzParseEnv checks ParseEnv never panics, that whatever it accepts is
// valid, and that String formats it back to text that parses the same.
func FuzzParseEnv(f *testing.F) {
	for _, s := range []string{"", "rate=0.05,seed=7,seq=10:11:500", "rate=1", "seed=0x10", "seq=1:2:3",
		"rate=x", "rate=0.1,rate=0.2", "seq=::", ",", "=", "rate=1e-300", "seed=18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseEnv(s)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseEnv(%q) accepted an invalid config: %v", s, err)
		}
		again, err := ParseEnv(c.String())
		if err != nil {
			t.Fatalf("String %q of ParseEnv(%q) does not parse: %v", c.String(), s, err)
		}
		if again.Rate != c.Rate || again.Seed != c.Seed || !slices.Equal(again.Sequences, c.Sequences) {
			t.Fatalf("round trip %q -> %+v -> %q -> %+v", s, c, c.String(), again)
		}
		in := New(c)
		for i := uint64(0); i < 4; i++ {
			in.Drop(i)
		}
	})
}
