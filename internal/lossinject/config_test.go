package lossinject

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	good := []Config{{}, {Rate: 0}, {Rate: 1}, {Rate: 0.05, Seed: 7, Sequences: []uint64{1, 2}}}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", c, err)
		}
	}
	bad := map[string]Config{
		"rate": {Rate: -0.1}, "rate 1.5": {Rate: 1.5}, "rate NaN": {Rate: math.NaN()},
		"sequences": {Sequences: make([]uint64, MaxSequences+1)},
	}
	for want, c := range bad {
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), strings.Fields(want)[0]) {
			t.Errorf("Validate(%s) = %v, want an error naming %q", want, err, want)
		}
	}
}

func TestEnabled(t *testing.T) {
	if (Config{Seed: 1}).Enabled() || !(Config{Rate: 0.1}).Enabled() || !(Config{Sequences: []uint64{0}}).Enabled() {
		t.Fatal("Enabled wrong")
	}
}

func TestParseEnv(t *testing.T) {
	good := map[string]Config{
		"":                                 {},
		"  ":                               {},
		"rate=0.05,seed=7,seq=10:11:500":   {Rate: 0.05, Seed: 7, Sequences: []uint64{10, 11, 500}},
		" rate = 1 , seed = 0x10 ":         {Rate: 1, Seed: 16},
		"seq=18446744073709551615":         {Sequences: []uint64{math.MaxUint64}},
		"seed=18446744073709551615,rate=0": {Seed: math.MaxUint64},
	}
	for s, want := range good {
		got, err := ParseEnv(s)
		if err != nil {
			t.Errorf("ParseEnv(%q): %v", s, err)
			continue
		}
		if got.Rate != want.Rate || got.Seed != want.Seed || !slices.Equal(got.Sequences, want.Sequences) {
			t.Errorf("ParseEnv(%q) = %+v, want %+v", s, got, want)
		}
	}
	bad := map[string]string{ // input: text the error must contain
		"rate":                      "want key=value",
		"=1":                        "want key=value",
		"rate=x":                    "rate=",
		"rate=1.5":                  "not in [0, 1]",
		"rate=-0":                   "", // -0 is 0: accepted, checked below
		"rate=NaN":                  "not in [0, 1]",
		"seed=-1":                   "seed=",
		"seq=1::2":                  "seq=",
		"seq=":                      "seq=",
		"loss=1":                    `unknown key "loss"`,
		"rate=0.1,rate=0.2":         "rate given twice",
		"rate=0.1,":                 "want key=value",
		"seq=1:2:x":                 "seq=",
		"seed=99999999999999999999": "seed=",
	}
	for s, want := range bad {
		_, err := ParseEnv(s)
		if want == "" {
			if err != nil {
				t.Errorf("ParseEnv(%q): %v", s, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseEnv(%q) = %v, want an error containing %q", s, err, want)
		}
		if err != nil && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ParseEnv(%q) error %v wraps neither sentinel", s, err)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, c := range []Config{{}, {Rate: 0.05, Seed: 7, Sequences: []uint64{10, 11, 500}}, {Rate: 1e-9}, {Seed: 3}} {
		s := c.String()
		got, err := ParseEnv(s)
		if err != nil {
			t.Fatalf("ParseEnv(%q): %v", s, err)
		}
		if got.Rate != c.Rate || got.Seed != c.Seed || !slices.Equal(got.Sequences, c.Sequences) {
			t.Fatalf("round trip of %+v via %q gave %+v", c, s, got)
		}
	}
	if s := (Config{Rate: 0.05, Seed: 7, Sequences: []uint64{10, 11, 500}}).String(); s != "rate=0.05,seed=7,seq=10:11:500" {
		t.Fatalf("String = %q", s)
	}
}
