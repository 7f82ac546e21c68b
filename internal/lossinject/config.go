package lossinject

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxSequences bounds Config.Sequences: the list is for a handful of
// chosen losses in a test, and the injector searches it per packet.
const MaxSequences = 1 << 16

// Config chooses what to drop. The zero value drops nothing.
type Config struct {
	// Rate is the fraction of Drop calls that drop, in [0, 1].
	Rate float64 `toml:"rate"`
	// Seed seeds the generator; the same seed repeats the same decisions.
	Seed uint64 `toml:"seed"`
	// Sequences are dropped once each, the first time Drop sees them.
	Sequences []uint64 `toml:"sequences"`
}

// Enabled reports whether the Config can drop anything.
func (c Config) Enabled() bool { return c.Rate > 0 || len(c.Sequences) > 0 }

// Validate checks Rate is a number in [0, 1] and Sequences is not longer
// than MaxSequences, naming the field and the reason.
func (c Config) Validate() error {
	if math.IsNaN(c.Rate) || c.Rate < 0 || c.Rate > 1 {
		return fmt.Errorf("%w: rate %v: not in [0, 1]", ErrInvalidConfig, c.Rate)
	}
	if len(c.Sequences) > MaxSequences {
		return fmt.Errorf("%w: sequences: %d listed, at most %d", ErrInvalidConfig, len(c.Sequences), MaxSequences)
	}
	return nil
}

// String formats c in ParseEnv's syntax, omitting zero fields.
func (c Config) String() string {
	var parts []string
	if c.Rate != 0 {
		parts = append(parts, "rate="+strconv.FormatFloat(c.Rate, 'g', -1, 64))
	}
	if c.Seed != 0 {
		parts = append(parts, "seed="+strconv.FormatUint(c.Seed, 10))
	}
	if len(c.Sequences) > 0 {
		seqs := make([]string, len(c.Sequences))
		for i, s := range c.Sequences {
			seqs[i] = strconv.FormatUint(s, 10)
		}
		parts = append(parts, "seq="+strings.Join(seqs, ":"))
	}
	return strings.Join(parts, ",")
}

// ParseEnv parses the compact form used in environment variables and flags:
// comma-separated key=value pairs, keys rate (a fraction in [0, 1]), seed
// (an unsigned integer, decimal or 0x-prefixed) and seq (sequences separated
// by colons), each at most once. For example "rate=0.05,seed=7,seq=10:11:500".
// Blank text is the zero Config. The result is validated.
func ParseEnv(s string) (Config, error) {
	var c Config
	if strings.TrimSpace(s) == "" {
		return c, nil
	}
	seen := map[string]bool{}
	for _, field := range strings.Split(s, ",") {
		key, val, ok := strings.Cut(field, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" {
			return Config{}, fmt.Errorf("%w: %q: want key=value", ErrSyntax, field)
		}
		if seen[key] {
			return Config{}, fmt.Errorf("%w: %q: %s given twice", ErrSyntax, s, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "rate":
			c.Rate, err = strconv.ParseFloat(val, 64)
		case "seed":
			c.Seed, err = strconv.ParseUint(val, 0, 64)
		case "seq":
			c.Sequences, err = parseSequences(val)
		default:
			return Config{}, fmt.Errorf("%w: unknown key %q (want rate, seed or seq)", ErrSyntax, key)
		}
		if err != nil {
			return Config{}, fmt.Errorf("%w: %s=%q: %v", ErrSyntax, key, val, unwrapNum(err))
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func parseSequences(val string) ([]uint64, error) {
	items := strings.Split(val, ":")
	if len(items) > MaxSequences {
		return nil, fmt.Errorf("%d sequences, at most %d", len(items), MaxSequences)
	}
	seqs := make([]uint64, 0, len(items))
	for _, it := range items {
		v, err := strconv.ParseUint(strings.TrimSpace(it), 10, 64)
		if err != nil {
			return nil, err
		}
		seqs = append(seqs, v)
	}
	return seqs, nil
}

// unwrapNum drops strconv's repetition of the input from its error.
func unwrapNum(err error) error {
	if ne, ok := err.(*strconv.NumError); ok {
		return ne.Err
	}
	return err
}
