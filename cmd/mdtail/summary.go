package main

import (
	"encoding/json"
	"io"
)

// summary is what -summary-json prints at the end.
type summary struct {
	Source     string            `json:"source"`
	Packets    uint64            `json:"packets"`
	Messages   uint64            `json:"messages"`
	Matched    uint64            `json:"matched"`
	ByType     map[string]uint64 `json:"by_type"`
	Gaps       uint64            `json:"gaps"`
	Recovered  uint64            `json:"recovered"`
	Lost       uint64            `json:"lost"`
	Duplicates uint64            `json:"duplicates"`
	Heartbeats uint64            `json:"heartbeats"`
	Malformed  uint64            `json:"malformed"`
	Events     map[string]uint64 `json:"events,omitempty"`

	matched uint64
	byType  [256]uint64
}

func (s *summary) message(msg []byte) {
	s.Messages++
	if len(msg) > 0 {
		s.byType[msg[0]]++
	}
}

func (s *summary) event(kind string) {
	if s.Events == nil {
		s.Events = map[string]uint64{}
	}
	s.Events[kind]++
}

func (s *summary) write(w io.Writer) error {
	s.Matched = s.matched
	s.ByType = map[string]uint64{}
	for t, n := range s.byType {
		if n > 0 {
			s.ByType[string(rune(t))] = n
		}
	}
	return json.NewEncoder(w).Encode(s)
}
