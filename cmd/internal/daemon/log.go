package daemon

import (
	"io"
	"log/slog"
)

// NewLogger returns the slog logger the configuration asks for, writing to w.
// The level and format must have passed Validate.
func NewLogger(c LogConfig, w io.Writer) *slog.Logger {
	c = Config{Log: c}.WithDefaults().Log
	level, _ := parseLevel(c.Level)
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
